"""The vectorised tier of pooling: separable passes, one spatial axis at a time.

The equations are those of :mod:`reference.pooling`, which validates each call, describes it
as a :class:`reference.pooling.Geometry` (the ``geo`` of every function here) and hands
:class:`Vectorised` the batched input; the passes, blocks and layouts are planned by
:mod:`reference.passes`.

Computed separably, one spatial axis at a time. A window is a box, the product of one
1-d window per axis, so its maximum is the maximum along the last axis of the maxima along
the others, and its sum likewise: pooling ``D`` axes is ``D`` one-axis passes, last axis first,
each over the previous pass's output. A pass costs ``k_a`` taps per output entry where the
box costs ``Π k_a``, and the outer passes run on data already shrunk by the inner ones.

* Winners. A pass keeps, per output entry, the first of its taps holding the maximum (with a
  NaN, the last NaN). Together the passes pick torch's tap: the first maximum in row-major
  order lies in the first row (earliest outer tap) that holds the maximum, at that row's first
  maximum, and the last NaN lies in the last row holding a NaN, at that row's last NaN.
* The backward runs the passes' adjoints in reverse: each sends its upstream gradient to the
  tap that won (max) or spreads it over all its taps (average), so a position shared by
  overlapping windows collects its terms in another order than torch: equal up to rounding.
  The average forward sums per axis, not in torch's row-major order: also equal up to
  rounding (the division by ``D(i)`` comes last, as in torch). The max forward is a selection
  and is exact.
"""
from __future__ import annotations

import numpy as np

from . import passes
from .passes import Pass, Plan


def _fold(ufunc, one: Pass, source: np.ndarray, fill) -> np.ndarray:
    """``out[i] = ufunc`` over the taps that window ``i`` reads (``fill`` where none does): the
    taps that serve every window first, the first two of them in one step, then the others."""
    out = np.empty(one.out_shape, dtype=source.dtype)
    reads = sorted(one.reads, key=lambda read: not read.full)
    full = [read for read in reads if read.full]
    if len(full) >= 2:
        ufunc(source[full[0].source].reshape(out.shape), source[full[1].source].reshape(out.shape), out=out)
        reads = reads[2:]
    elif full:
        np.copyto(out, source[full[0].source].reshape(out.shape))
        reads = reads[1:]
    else:
        out.fill(fill)
    for read in reads:
        target = out[read.region]
        ufunc(target, source[read.source].reshape(target.shape), out=target)
    return out


def _first_maximum(one: Pass, source: np.ndarray, best: np.ndarray) -> np.ndarray:
    """The first tap (in tap order) whose value equals ``best``, the pass's maximum, where no
    value is NaN.

    Counted, not searched: with ``found_t`` = "some tap ≤ t equals the maximum", the first such
    tap is ``t* = Σ_{t < k−1} (1 − found_t)``, so the winner ``(k − 1) − Σ found_t`` is a sum of
    booleans (a masked write per tap would cost three times as much).
    """
    by_tap = {read.tap: read for read in one.reads}
    found = np.zeros(best.shape, dtype=bool)
    equal = np.empty(best.shape, dtype=bool)
    passed = None  # Σ found_t so far
    for tap in range(one.kernel - 1):
        read = by_tap.get(tap)
        if read is not None:
            target = equal[read.region]
            np.equal(source[read.source].reshape(target.shape), best[read.region], out=target)
            found[read.region] |= target
        if passed is None:
            passed = found.astype(np.uint8 if one.kernel < 2**8 else np.int32)
        else:
            np.add(passed, found, out=passed)
    if passed is None:  # a single tap
        return np.zeros(best.shape, dtype=np.uint8)
    return np.subtract(one.kernel - 1, passed, out=passed)


def _scan_maximum(one: Pass, source: np.ndarray) -> np.ndarray:
    """The winning tap by torch's own scan, which NaN needs: taps in order keep the running
    maximum (from −∞, at the first tap inside the input) and its tap, and a tap replaces it
    when strictly larger (so ties keep the first) or NaN (so the last NaN wins)."""
    best = np.full(one.out_shape, -np.inf, dtype=source.dtype)
    winner = np.empty(one.out_shape, dtype=np.int32)
    winner[...] = one.first_inside
    take = np.empty(one.out_shape, dtype=bool)
    for read in one.reads:
        target, chosen = best[read.region], take[read.region]
        value = source[read.source].reshape(target.shape)
        np.greater(value, target, out=chosen)
        chosen |= np.isnan(value)
        np.copyto(target, value, where=chosen)
        np.copyto(winner[read.region], read.tap, where=chosen)
    return winner


def _max_values(geo, plan: Plan, x: np.ndarray) -> list:
    """Max-pool a block of planes pass by pass: each pass's source, then the last pass's
    output (``[layout, out_1, …, out_D]``), what :func:`_winners` needs too."""
    sources = [passes.split(geo, plan, x, -np.inf)]
    for one in plan.passes:
        sources.append(_fold(np.maximum, one, sources[-1], -np.inf))
    return sources


def _winners(geo, plan: Plan, sources: list) -> list:
    """Each pass's winning tap per output entry, from :func:`_max_values`'s arrays.

    Each pass picks the first tap holding its maximum, or by the scan where a NaN is present
    (one in any window shows in the output), and the taps the passes pick together are torch's:
    the first maximum in row-major order is in the first row (earliest outer tap) that holds
    the maximum, at that row's first maximum; the last NaN in row-major order is in the last row
    that has one, at its last NaN; a window of only −∞ takes its first tap inside the input on
    every axis. The stored padding of the row-phase layout is −∞: never a maximum, but the
    first tap equal to an all −∞ maximum, so those entries take their first tap inside instead.
    """
    if np.isnan(sources[-1]).any():
        return [_scan_maximum(one, source) for one, source in zip(plan.passes, sources)]
    chosen = [_first_maximum(one, source, best) for one, source, best in zip(plan.passes, sources, sources[1:])]
    if plan.phased and geo.padding[-1] and (sources[-1] == -np.inf).any():  # only an all −∞ window
        # uses an all −∞ row; a pass read in place never reads padding
        empty = sources[1] == -np.inf
        np.copyto(chosen[0], np.broadcast_to(plan.passes[0].first_inside, empty.shape), where=empty,
                  casting="unsafe")
    return chosen


def _offsets(geo, plan: Plan, chosen) -> np.ndarray:
    """int64 offsets into the unpadded plane of the winners the passes chose, outermost axis
    first: the winner along axis ``a`` is read at the positions already fixed on axes ``< a``."""
    lead, out = plan.lead, geo.out_spatial
    flat = np.zeros(lead + out, dtype=np.int64)  # Σ_{b<a} j_b·Π_{b<c<a} L_c, over the axes done
    for a in range(geo.dims):
        winner = passes.unrun(geo, chosen[geo.dims - 1 - a])  # lead + in[:a] + out[a:]
        winner = winner.reshape(lead + (int(np.prod(geo.in_spatial[:a])),) + out[a:])
        index = flat.reshape(lead + (int(np.prod(out[:a])),) + out[a:])
        tap = np.take_along_axis(winner, index, axis=2).reshape(lead + out).astype(np.int64)
        start = geo.starts(a).reshape((-1,) + (1,) * (geo.dims - 1 - a))
        flat = flat * geo.in_spatial[a] + start + tap * geo.dilation[a]
    return flat


def _route(one: Pass, g: np.ndarray, winner: np.ndarray, grad: np.ndarray) -> None:
    """The adjoint of one pass of max pooling: ``g`` goes to the source entry of the tap that
    won, into ``grad`` (zeros laid out like the pass's input). A finite ``g`` is routed by
    multiplying with the 0/1 mask (a masked write costs ten times as much); a non-finite one
    needs ``where``, since ∞·0 is NaN and the taps that lost get exactly 0. The first tap of
    each group writes its share into the zeros, the others add theirs."""
    finite = bool(np.isfinite(g).all())
    mask = np.empty(g.shape, dtype=bool)
    share = np.empty(g.shape, dtype=g.dtype)
    written = set()
    for read in one.reads:
        chosen, upstream = mask[read.region], g[read.region]
        np.equal(winner[read.region], read.tap, out=chosen)
        target = grad[read.source].reshape(chosen.shape)
        first = read.group not in written
        written.add(read.group)
        out = target if first else share[read.region]
        if finite:
            np.multiply(upstream, chosen, out=out)
        else:
            out[...] = 0
            np.copyto(out, upstream, where=chosen)
        if not first:
            target += out


def _spread(one: Pass, g: np.ndarray, grad: np.ndarray) -> None:
    """The adjoint of one pass of average pooling: ``g`` is added onto the source entry of every
    tap, into ``grad`` (zeros laid out like the pass's input); the first tap of each group
    writes instead of adding."""
    written = set()
    for read in one.reads:
        upstream = g[read.region]
        target = grad[read.source].reshape(upstream.shape)
        if read.group in written:
            target += upstream
        else:
            np.copyto(target, upstream)
            written.add(read.group)


def divisor(geo) -> np.ndarray:
    """``D(i)`` of average pooling for every output position (the equation in :mod:`reference.pooling`)."""
    if geo.divisor_override is not None:
        return np.full(geo.out_spatial, geo.divisor_override, dtype=np.int64)
    total = np.ones(geo.out_spatial, dtype=np.int64)
    for a, (n, k, p) in enumerate(zip(geo.in_spatial, geo.kernel, geo.padding)):
        start = geo.starts(a)
        if geo.count_include_pad:
            count = np.minimum(start + k, n + p) - start
        else:
            count = np.minimum(start + k, n) - np.maximum(start, 0)
        total = total * count.reshape((-1,) + (1,) * (geo.dims - 1 - a))
    return total


def _has_negative_zero(x: np.ndarray) -> bool:
    return bool((np.signbit(x) & (x == 0)).any())


class Vectorised:
    """Separable passes, one vectorised step per tap and axis, a block of planes at a time.

    Signed zeros and NaN are torch's: a max-pooling output is the input entry its index names
    (of two equal zeros, the first's sign; of several NaN, the last one's bits), and an exact
    zero among the averages and the gradients is +0.0 (torch accumulates them onto +0.0, and
    ``0.0 + (−0.0)`` is +0.0).
    """

    @staticmethod
    def max_pool(geo, x: np.ndarray, return_indices: bool = True):
        """The window maxima, and (if asked) their plane offsets from the passes' winners. The
        maxima are the passes' values, except where a value tells less than the entry: a NaN,
        or a zero where the block holds a −0.0; there the output is gathered at the offsets."""
        y = np.empty(x.shape[:2] + geo.out_spatial, dtype=x.dtype)
        index = np.empty(y.shape, dtype=np.int64) if return_indices else None
        x_planes, y_planes = passes.as_planes(x), passes.as_planes(y)  # once: a non-contiguous x is copied here
        for plan, block in passes.blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
            planes, out = x_planes[block], y_planes[block]
            sources = _max_values(geo, plan, planes)
            out[...] = passes.unrun(geo, sources[-1])
            gather = bool(np.isnan(out).any()) or ((out == 0).any() and _has_negative_zero(planes))
            if return_indices or gather:
                offsets = _offsets(geo, plan, _winners(geo, plan, sources))
                if return_indices:
                    passes.as_planes(index)[block] = offsets
                if gather:
                    flat = planes.reshape(planes.shape[:2] + (-1,))
                    picked = np.take_along_axis(flat, offsets.reshape(flat.shape[:2] + (-1,)), axis=2)
                    out[...] = picked.reshape(out.shape)
        return y, index

    @staticmethod
    def max_pool_backward(geo, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The passes' adjoints in reverse order, each routing its upstream gradient to the taps
        that won it, then the row-phase layout merged back with the padding dropped."""
        grad = np.empty(x.shape, dtype=x.dtype)
        x_planes, gy_planes, grad_planes = passes.as_planes(x), passes.as_planes(gy), passes.as_planes(grad)
        with np.errstate(invalid="ignore", over="ignore"):  # shares that overflow, or inf − inf, as in torch
            for plan, block in passes.blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
                chosen = _winners(geo, plan, _max_values(geo, plan, x_planes[block]))
                g = passes.as_run(geo, plan, gy_planes[block])
                for one, winner in zip(reversed(plan.passes), reversed(chosen)):
                    into = np.zeros(one.in_shape, dtype=x.dtype)
                    _route(one, g, winner, into)
                    g = into
                passes.unsplit(geo, plan, g, grad_planes[block])
        return grad

    @staticmethod
    def avg_pool(geo, x: np.ndarray) -> np.ndarray:
        """Sum the taps pass by pass over the zero-padded input, then divide by ``D(i)``."""
        y = np.empty(x.shape[:2] + geo.out_spatial, dtype=x.dtype)
        count = divisor(geo).astype(x.dtype)
        x_planes, y_planes = passes.as_planes(x), passes.as_planes(y)
        with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is NaN, overflow is inf, as in torch
            for plan, block in passes.blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
                total = passes.split(geo, plan, x_planes[block], 0)
                for one in plan.passes:
                    total = _fold(np.add, one, total, 0)
                out = np.divide(passes.unrun(geo, total), count, out=y_planes[block])
                out += 0.0  # an exact zero is +0.0 in torch, whatever the signs of the taps and divisor
        return y

    @staticmethod
    def avg_pool_backward(geo, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Every tap of window ``i`` receives ``gy[i] / D(i)``: the share is spread back through
        the passes in reverse order (each adds it onto the taps it summed), then merged back
        from the row-phase layout with the padding dropped."""
        grad = np.empty(x.shape, dtype=x.dtype)
        count = divisor(geo).astype(x.dtype)
        gy_planes, grad_planes = passes.as_planes(gy), passes.as_planes(grad)
        with np.errstate(invalid="ignore", over="ignore"):  # overlapping shares meet as inf − inf or overflow
            for plan, block in passes.blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
                g = passes.as_run(geo, plan, gy_planes[block] / count)
                for one in reversed(plan.passes):
                    into = np.zeros(one.in_shape, dtype=x.dtype)
                    _spread(one, g, into)
                    g = into
                passes.unsplit(geo, plan, g, grad_planes[block])
        return grad
