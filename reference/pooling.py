"""N-d max and average pooling, as in PyTorch, and their backward, vectorised.

One implementation serves 1, 2 and 3 spatial dimensions; channels are pooled independently.
Along each spatial axis of length ``L``, window ``i`` with kernel ``k``, stride ``s``, padding
``pad`` and dilation ``d`` (1 for average pooling) starts at ``start = i·s − pad`` and reads
the taps ``j = start + p·d`` for ``p = 0 … k−1``; ``i``, ``p`` and ``j`` are multi-indices over
the ``D`` axes, taps in row-major order. The output length is torch's

    L_out = ⌊(L + 2·pad − d·(k − 1) − 1 + (ceil_mode ? s − 1 : 0)) / s⌋ + 1,
    and with ceil_mode, if (L_out − 1)·s ≥ L + pad, L_out − 1 instead:

the last window must start inside the input or the left padding, never in the right padding
(L = 5, k = 2, s = 2, pad = 1, ceil_mode: 3 windows, not 4). A ceil-mode window may overhang
the right padding. Every ``L_out`` must be at least 1, and ``pad ≤ k // 2`` on every axis (for
max pooling the raw ``k``: dilation does not count). ``avg_pool3d`` alone also needs ``L ≥ k``
before padding. One deliberate difference: a max-pooling window that reads only padding (with
dilation the first window can step over a short input: L = 3, k = 2, d = 4, pad = 1 reads −1
and 3) is refused; torch 2.13 gives it an index outside its plane and its backward writes
through that index into the next plane or past the end of the buffer.

Max pooling, over the taps inside the input (padding acts as −∞ and is never chosen):

    y[n, c, i]   = x[n, c, idx[n, c, i]]
    idx[n, c, i] = the last tap whose value is NaN if there is one, else the first tap (in
                   row-major order) holding max_{p : 0 ≤ j < L} x[n, c, j]; an all −∞ window
                   picks its first tap inside the input

with ``idx`` the flat offset ``Σ_a j_a·Π_{b>a} L_b`` into each unpadded ``(n, c)`` plane (the
int64 indices ``return_indices=True`` returns). ``y`` is a gather, so its backward is the
scatter-add

    ∂E/∂x[n, c, j] = Σ_{i : idx[n, c, i] = j} gy[n, c, i]

(the selected tap takes the whole gradient, a maximum shared by overlapping windows collects
one share per window, every other position gets 0).

Average pooling, summing the taps inside the input:

    y[n, c, i] = (1 / D(i)) · Σ_{p : 0 ≤ j < L} x[n, c, start + p]
    D(i)       = divisor_override if given, else Π_a D_a(i_a) with
                 D_a = min(start + k, L + pad) − start          count_include_pad=True
                 D_a = min(start + k, L) − max(start, 0)        count_include_pad=False

so padding counts in the divisor but the ceil-mode overhang past it never does. ``y`` is
linear in ``x`` with coefficient ``1/D(i)`` on every tap of window ``i``, so

    ∂E/∂x[n, c, j] = Σ_{i, p : start(i) + p = j} gy[n, c, i] / D(i).

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
* Layout. The last axis's pass reads the input padded (−∞ for max, 0 for average) and stored
  by stride phase (:func:`reference.windows.split_rows`), where each tap is one contiguous run
  over every row: NumPy's maximum over strided float64 is several times slower than over a
  contiguous run. The outer passes read only positions inside the input (their padding is
  clipped away, never stored), and so does the last axis's pass where at least half of the
  layout's slots would be no window (few windows over a long axis).
* Blocks. Planes are pooled a block of about :data:`BLOCK_BYTES` at a time, so that a block's
  passes and temporaries stay in the cache and main memory sees the input read and the
  result written about once rather than once per NumPy step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import checks, windows


@dataclass(frozen=True)
class Geometry:
    """A validated pooling call: everything but the arrays' values."""

    op: str
    dims: int
    batch_added: bool  # the input had no batch axis; one was added and is removed again
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    count_include_pad: bool = True  # average pooling only
    divisor_override: int | None = None  # average pooling only

    @property
    def extent(self) -> tuple[int, ...]:
        """Per axis, the padded length the windows read: ``L + 2·pad``, or more where a
        ceil-mode window overhangs the right padding."""
        axes = zip(self.in_spatial, self.padding, self.out_spatial, self.stride, self.dilation, self.kernel)
        return tuple(max(n + 2 * p, (o - 1) * s + d * (k - 1) + 1) for n, p, o, s, d, k in axes)

    def starts(self, axis: int) -> np.ndarray:
        """``start = i·s − pad`` of every window along ``axis``, in input coordinates."""
        return np.arange(self.out_spatial[axis]) * self.stride[axis] - self.padding[axis]


def output_length(length: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """torch's pooling output length, with the last-window rule of ceil_mode (module docstring)."""
    n = windows.output_length(length + 2 * padding + (stride - 1 if ceil_mode else 0), kernel, stride, dilation)
    if ceil_mode and (n - 1) * stride >= length + padding:
        n -= 1
    return n


def first_read(starts: np.ndarray, kernel: int, dilation: int, length: int):
    """For windows starting at ``starts`` along one axis: the first tap ``p`` with ``start + p·d ≥ 0``
    and whether that tap lies inside ``[0, L)`` (whether the window reads the input at all)."""
    p = (np.maximum(-starts, 0) + dilation - 1) // dilation
    return p, (p < kernel) & (starts + p * dilation < length)


def check_flag(op: str, name: str, value) -> bool:
    """torch takes only a Python bool here (not 0/1, not numpy.bool_)."""
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a bool, got {name}={value!r}")
    return value


def check_window(op: str, dims: int, kernel_size, stride, padding, dilation=1):
    """Per-axis ``(kernel, stride, padding, dilation)``: stride None (or empty) means the
    kernel, as in torch, and padding may be at most half the kernel on every axis."""
    kernel = checks.int_tuple(op, "kernel_size", kernel_size, dims, minimum=1)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernel if empty else checks.int_tuple(op, "stride", stride, dims, minimum=1)
    pads = checks.int_tuple(op, "padding", padding, dims, minimum=0)
    dilations = checks.int_tuple(op, "dilation", dilation, dims, minimum=1)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(
            f"{op}: padding must be at most half of kernel_size on every axis, got padding={padding!r}, "
            f"kernel_size={kernel_size!r}" + (" (dilation does not count)" if op.lower().startswith("max") else "")
        )
    return kernel, strides, pads, dilations


def check_divisor_override(op: str, divisor_override):
    """``None``, or a non-zero int (torch's rule; a negative divisor is allowed)."""
    if divisor_override is None:
        return None
    if not checks.is_int(divisor_override):
        raise TypeError(f"{op}: divisor_override must be an int or None, got divisor_override={divisor_override!r}")
    if divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must not be zero, got divisor_override={divisor_override!r}")
    return int(divisor_override)


def geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode,
             count_include_pad=True, divisor_override=None) -> Geometry:
    """Validate a pooling call the way torch does and describe its shapes."""
    checks.float_array(op, "input", input)
    checks.rank(op, "input", input, (dims + 1, dims + 2))
    kernel, strides, pads, dilations = check_window(op, dims, kernel_size, stride, padding, dilation)
    ceil_mode = check_flag(op, "ceil_mode", ceil_mode)
    count_include_pad = check_flag(op, "count_include_pad", count_include_pad)
    divisor_override = check_divisor_override(op, divisor_override)

    batch_added = input.ndim == dims + 1
    shape = (1,) + input.shape if batch_added else input.shape
    if 0 in shape[1:]:
        raise ValueError(f"{op}: input's non-batch axes must be non-empty, got input.shape={input.shape}")
    in_spatial = shape[2:]
    if op.startswith("avg_pool3d") and any(n < k for n, k in zip(in_spatial, kernel)):
        # avg_pool3d alone in torch 2.13 (not 1-d or 2-d, not max pooling), padding or not
        raise ValueError(
            f"{op}: input must be at least kernel_size={kernel_size!r} on every spatial axis before padding, "
            f"got input.shape={input.shape}"
        )
    out = tuple(output_length(*args, ceil_mode) for args in zip(in_spatial, kernel, strides, pads, dilations))
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: kernel_size={kernel_size!r}, stride={stride!r}, padding={padding!r}, dilation={dilation!r}, "
            f"ceil_mode={ceil_mode} leave no output positions (output size {out}) for input.shape={input.shape}"
        )
    geo = Geometry(op, dims, batch_added, kernel, strides, pads, dilations, ceil_mode, in_spatial, out,
                   count_include_pad, divisor_override)
    for a in range(dims):
        _, reads = first_read(geo.starts(a), kernel[a], dilations[a], in_spatial[a])
        if not reads.all():
            # torch 2.13 gives such a window the value −∞ and an index outside the plane, and its
            # backward writes through that index out of bounds (heap corruption): refuse it.
            raise ValueError(
                f"{op}: with dilation={dilation!r} and padding={padding!r}, window {int(np.argmin(reads))} along "
                f"spatial axis {a} reads only padding (input.shape={input.shape}, kernel_size={kernel_size!r})"
            )
    return geo


def check_grad_output(geo: Geometry, grad_output, input) -> np.ndarray:
    """``grad_output`` must be an array of the forward output's shape and dtype; returned batched.
    ``geo`` is the backward's own geometry, so its op already names the backward."""
    op = geo.op
    checks.float_array(op, "grad_output", grad_output)
    checks.same_dtype(op, grad_output=grad_output, input=input)
    expected = input.shape[: input.ndim - geo.dims] + geo.out_spatial
    if grad_output.shape != expected:
        raise ValueError(
            f"{op}: grad_output must have the output's shape {expected}, got grad_output.shape={grad_output.shape}"
        )
    return grad_output[None] if geo.batch_added else grad_output


class Read(NamedTuple):
    """One kernel tap of a pass: the output entries ``region`` combine the input entries ``source``."""

    tap: int
    region: tuple
    source: tuple
    full: bool  # the region is every output entry of the pass
    group: int  # taps of different groups never read the same input entry


@dataclass(frozen=True)
class Pass:
    """Pooling along one spatial axis of a block of planes, the other axes left as they are.

    The last spatial axis goes first, read from the input in the row-phase layout of
    :func:`reference.windows.split_rows` (padding stored, each tap one contiguous run); its
    output keeps ``M`` entries per row, the windows ``i < out`` and then a few that belong to no
    window (they are carried along and dropped at the end). Each earlier axis then pools the
    previous pass's output, reading only positions inside the input (padding clipped away).
    """

    axis: int  # the spatial axis
    kernel: int
    in_shape: tuple
    out_shape: tuple
    reads: tuple  # of Read
    first_inside: np.ndarray  # per window (broadcast over out_shape): its first tap inside the input


@dataclass(frozen=True)
class Plan:
    """The passes over a block of ``planes`` planes (lead axes ``(planes, 1)``), last axis first."""

    passes: tuple
    slots: int  # M, the entries per row of the last pass's output (``out`` when not phased)
    slack: int  # entries after the last row, so that every tap's run stays inside the array
    lead: tuple
    phased: bool  # the last axis is read from the row-phase layout (else in place, clipped)
    stride: int  # the row-phase layout's stride


def _first_inside_along(geo: Geometry, a: int) -> np.ndarray:
    return first_read(geo.starts(a), geo.kernel[a], geo.dilation[a], geo.in_spatial[a])[0].astype(np.int32)


def _row_pass(geo: Geometry, lead: tuple, slots: int, slack: int, s: int) -> Pass:
    """The pass over the last spatial axis from the row-phase layout of stride ``s``: tap ``p``
    reads one run of it, padding included; the taps of one phase form a group (they share
    entries, those of two phases never do)."""
    a = geo.dims - 1
    k, d = geo.kernel[a], geo.dilation[a]
    row_shape, out_shape = lead + geo.in_spatial[:-1], lead + geo.in_spatial[:-1] + (slots,)
    rows = int(np.prod(row_shape))
    runs = list(windows.row_runs(rows, slots, k, s, d))
    reads = tuple(Read(p, (Ellipsis,), run, True, run[0]) for p, run in enumerate(runs))
    first = np.zeros(slots, dtype=np.int32)  # the entries past the windows take tap 0
    first[: geo.out_spatial[a]] = _first_inside_along(geo, a)
    return Pass(a, k, (s, rows * slots + slack), out_shape, reads, first)


def _clipped_pass(geo: Geometry, a: int, in_shape: tuple) -> Pass:
    """The pass over spatial axis ``a`` of an array ``in_shape`` (``L`` on axis ``2 + a``), read in
    place: tap ``p`` serves the windows ``i`` (a slice) whose position ``i·s − pad + p·d`` is
    inside the input, and reads those positions (a slice with step ``s``). Each tap is a group
    of its own where no position is read twice along the axis, else all taps form one group."""
    k, s, d, pad, n, out = (geo.kernel[a], geo.stride[a], geo.dilation[a], geo.padding[a], geo.in_spatial[a],
                            geo.out_spatial[a])
    lead = (slice(None),) * (2 + a)
    read_at = (np.arange(out)[:, None] * s + np.arange(k) * d).ravel()
    disjoint = np.unique(read_at).size == read_at.size
    reads = []
    for p in range(k):
        offset = p * d - pad
        first = max(0, -(offset // s))  # the first window whose tap p is at position ≥ 0
        last = min(out, (n - 1 - offset) // s + 1)  # one past the last whose tap p is < L
        if last > first:
            positions = slice(first * s + offset, (last - 1) * s + offset + 1, s)
            reads.append(Read(p, lead + (slice(first, last),), lead + (positions,), first == 0 and last == out,
                              p if disjoint else 0))
    first_inside = _first_inside_along(geo, a).reshape((-1,) + (1,) * (len(in_shape) - 3 - a))
    return Pass(a, k, in_shape, in_shape[: 2 + a] + (out,) + in_shape[3 + a:], tuple(reads), first_inside)


def _plan(geo: Geometry, planes: int) -> Plan:
    """The last axis is read from the row-phase layout unless most of its ``M`` slots per row
    would be no window (few windows over a long axis, as in a global pooling with stride 1):
    then it is read in place, like the other axes. A stride past the extent leaves one window,
    which a layout of stride ``extent`` reads alike, with ``extent`` phases instead of ``s``."""
    a = geo.dims - 1
    lead = (planes, 1)
    stride = min(geo.stride[a], geo.extent[a])
    slots = windows.phase_length(geo.extent[a], stride)
    phased = 2 * geo.out_spatial[a] >= slots
    if phased:
        slack = (geo.kernel[a] - 1) * geo.dilation[a] // stride
        passes = [_row_pass(geo, lead, slots, slack, stride)]
    else:
        slots, slack = geo.out_spatial[a], 0
        passes = [_clipped_pass(geo, a, lead + geo.in_spatial)]
    for axis in reversed(range(a)):
        passes.append(_clipped_pass(geo, axis, passes[-1].out_shape))
    return Plan(tuple(passes), slots, slack, lead, phased, stride)


BLOCK_BYTES = 2**21
"""Input bytes pooled at a time: a block's passes and their temporaries stay in the cache, so
main memory sees the input read and the result written about once, not once per NumPy step."""


def _blocks(geo: Geometry, planes: int, itemsize: int):
    """``(plan, block)`` over the ``planes`` (n, c) planes, ``block`` a slice of them."""
    per = max(1, BLOCK_BYTES // (int(np.prod(geo.in_spatial)) * itemsize))
    plans = {}
    for start in range(0, planes, per):
        count = min(per, planes - start)
        if count not in plans:
            plans[count] = _plan(geo, count)
        yield plans[count], slice(start, start + count)


def _planes(a: np.ndarray) -> np.ndarray:
    """``(N, C, *spatial)`` as ``(N·C, 1, *spatial)``: one plane per entry of the first axis."""
    return a.reshape((-1, 1) + a.shape[2:])


def _split(geo: Geometry, plan: Plan, x: np.ndarray, value) -> np.ndarray:
    """A block of planes in the row-phase layout of the last axis, padded with ``value`` (the
    planes themselves where the last axis is read in place)."""
    if not plan.phased:
        return x
    a = geo.dims - 1
    after = geo.extent[a] - geo.in_spatial[a] - geo.padding[a]
    return windows.split_rows(x, geo.padding[a], after, plan.stride, value, plan.slack)


def _unsplit(geo: Geometry, plan: Plan, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`_split`, written into ``out``, then +0.0 added: a tap that lost
    holds ``g·0``, −0.0 where ``g < 0``, and torch, which adds onto +0.0, has +0.0 there."""
    if plan.phased:
        windows.merge_rows(grad, geo.padding[-1], plan.slots, out=out)
    else:
        np.copyto(out, grad)
    out += 0.0
    return out


def _unrun(geo: Geometry, run: np.ndarray) -> np.ndarray:
    """The windows (``i < out`` on the last axis) of the last pass's output."""
    return run[..., : geo.out_spatial[-1]]


def _as_run(geo: Geometry, plan: Plan, a: np.ndarray) -> np.ndarray:
    """``a`` (``(planes, 1, *out)``) in the last pass's output layout, zeros past the windows."""
    if plan.slots == geo.out_spatial[-1]:
        return a
    run = np.zeros(a.shape[:-1] + (plan.slots,), dtype=a.dtype)
    run[..., : a.shape[-1]] = a
    return run


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


def _max_values(geo: Geometry, plan: Plan, x: np.ndarray) -> list:
    """Max-pool a block of planes pass by pass: each pass's source, then the last pass's
    output (``[layout, out_1, …, out_D]``), what :func:`_winners` needs too."""
    sources = [_split(geo, plan, x, -np.inf)]
    for one in plan.passes:
        sources.append(_fold(np.maximum, one, sources[-1], -np.inf))
    return sources


def _winners(geo: Geometry, plan: Plan, sources: list) -> list:
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


def _offsets(geo: Geometry, plan: Plan, chosen) -> np.ndarray:
    """int64 offsets into the unpadded plane of the winners the passes chose, outermost axis
    first: the winner along axis ``a`` is read at the positions already fixed on axes ``< a``."""
    lead, out = plan.lead, geo.out_spatial
    flat = np.zeros(lead + out, dtype=np.int64)  # Σ_{b<a} j_b·Π_{b<c<a} L_c, over the axes done
    for a in range(geo.dims):
        winner = _unrun(geo, chosen[geo.dims - 1 - a])  # lead + in[:a] + out[a:]
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


def divisor(geo: Geometry) -> np.ndarray:
    """``D(i)`` of average pooling for every output position (module docstring)."""
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
    def max_pool(geo: Geometry, x: np.ndarray, return_indices: bool = True):
        """The window maxima, and (if asked) their plane offsets from the passes' winners. The
        maxima are the passes' values, except where a value tells less than the entry: a NaN,
        or a zero where the block holds a −0.0; there the output is gathered at the offsets."""
        y = np.empty(x.shape[:2] + geo.out_spatial, dtype=x.dtype)
        index = np.empty(y.shape, dtype=np.int64) if return_indices else None
        x_planes, y_planes = _planes(x), _planes(y)  # once: a non-contiguous x is copied here
        for plan, block in _blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
            planes, out = x_planes[block], y_planes[block]
            sources = _max_values(geo, plan, planes)
            out[...] = _unrun(geo, sources[-1])
            gather = bool(np.isnan(out).any()) or ((out == 0).any() and _has_negative_zero(planes))
            if return_indices or gather:
                offsets = _offsets(geo, plan, _winners(geo, plan, sources))
                if return_indices:
                    _planes(index)[block] = offsets
                if gather:
                    flat = planes.reshape(planes.shape[:2] + (-1,))
                    picked = np.take_along_axis(flat, offsets.reshape(flat.shape[:2] + (-1,)), axis=2)
                    out[...] = picked.reshape(out.shape)
        return y, index

    @staticmethod
    def max_pool_backward(geo: Geometry, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The passes' adjoints in reverse order, each routing its upstream gradient to the taps
        that won it, then the row-phase layout merged back with the padding dropped."""
        grad = np.empty(x.shape, dtype=x.dtype)
        x_planes, gy_planes, grad_planes = _planes(x), _planes(gy), _planes(grad)
        with np.errstate(invalid="ignore", over="ignore"):  # shares that overflow, or inf − inf, as in torch
            for plan, block in _blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
                chosen = _winners(geo, plan, _max_values(geo, plan, x_planes[block]))
                g = _as_run(geo, plan, gy_planes[block])
                for one, winner in zip(reversed(plan.passes), reversed(chosen)):
                    into = np.zeros(one.in_shape, dtype=x.dtype)
                    _route(one, g, winner, into)
                    g = into
                _unsplit(geo, plan, g, grad_planes[block])
        return grad

    @staticmethod
    def avg_pool(geo: Geometry, x: np.ndarray) -> np.ndarray:
        """Sum the taps pass by pass over the zero-padded input, then divide by ``D(i)``."""
        y = np.empty(x.shape[:2] + geo.out_spatial, dtype=x.dtype)
        count = divisor(geo).astype(x.dtype)
        x_planes, y_planes = _planes(x), _planes(y)
        with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is NaN, overflow is inf, as in torch
            for plan, block in _blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
                total = _split(geo, plan, x_planes[block], 0)
                for one in plan.passes:
                    total = _fold(np.add, one, total, 0)
                out = np.divide(_unrun(geo, total), count, out=y_planes[block])
                out += 0.0  # an exact zero is +0.0 in torch, whatever the signs of the taps and divisor
        return y

    @staticmethod
    def avg_pool_backward(geo: Geometry, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Every tap of window ``i`` receives ``gy[i] / D(i)``: the share is spread back through
        the passes in reverse order (each adds it onto the taps it summed), then merged back
        from the row-phase layout with the padding dropped."""
        grad = np.empty(x.shape, dtype=x.dtype)
        count = divisor(geo).astype(x.dtype)
        gy_planes, grad_planes = _planes(gy), _planes(grad)
        with np.errstate(invalid="ignore", over="ignore"):  # overlapping shares meet as inf − inf or overflow
            for plan, block in _blocks(geo, x.shape[0] * x.shape[1], x.itemsize):
                g = _as_run(geo, plan, gy_planes[block] / count)
                for one in reversed(plan.passes):
                    into = np.zeros(one.in_shape, dtype=x.dtype)
                    _spread(one, g, into)
                    g = into
                _unsplit(geo, plan, g, grad_planes[block])
        return grad


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


def _batched(geo: Geometry, a: np.ndarray) -> np.ndarray:
    return a[None] if geo.batch_added else a


def _unbatched(geo: Geometry, a: np.ndarray) -> np.ndarray:
    return a[0] if geo.batch_added else a


def max_pool_family(dims: int, engine):
    """Build ``max_pool{dims}d`` and ``max_pool{dims}d_backward`` on a computing ``engine``.

    The engine sees validated, batched arrays; batching and checks are handled here, so every
    tier shares one definition of what a valid call is.
    """
    op = f"max_pool{dims}d"

    def forward(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        geo = geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
        y, index = engine.max_pool(geo, _batched(geo, input), return_indices)
        return (_unbatched(geo, y), _unbatched(geo, index)) if return_indices else _unbatched(geo, y)

    def backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        geo = geometry(op + "_backward", dims, input, kernel_size, stride, padding, dilation, ceil_mode)
        grad = check_grad_output(geo, grad_output, input)
        return (_unbatched(geo, engine.max_pool_backward(geo, grad, _batched(geo, input))),)

    forward.__name__ = forward.__qualname__ = op
    backward.__name__ = backward.__qualname__ = op + "_backward"
    forward.__doc__ = (
        f"{dims}-d max pooling as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {_SPATIAL[dims]}) or unbatched (C, {_SPATIAL[dims]}). Returns y (N, C, *L_out), and\n"
        f"with return_indices also idx (int64, same shape): y[n, c, i] = x[n, c, idx[n, c, i]], idx the flat offset\n"
        f"into the (n, c) plane of the window's maximum (ties: the first; NaN: the last NaN).\n"
        f"L_out = ⌊(L + 2·pad − d·(k − 1) − 1 + (ceil_mode ? s − 1 : 0))/s⌋ + 1, minus 1 in ceil_mode when that\n"
        f"last window would start at or past L + pad. Details in :mod:`reference.pooling`."
    )
    backward.__doc__ = (
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,) with\n"
        f"grad_input[n, c, j] = Σ_(i : idx[n, c, i] = j) grad_output[n, c, i]. Takes the gradient of the\n"
        f"output (not of the indices) and the forward's arguments."
    )
    return forward, backward


def avg_pool_family(dims: int, engine):
    """Build ``avg_pool{dims}d`` and ``avg_pool{dims}d_backward`` on a computing ``engine``;
    ``avg_pool1d`` has no ``divisor_override``, as in torch."""
    op = f"avg_pool{dims}d"

    def run(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        geo = geometry(op, dims, input, kernel_size, stride, padding, 1, ceil_mode, count_include_pad, divisor_override)
        return _unbatched(geo, engine.avg_pool(geo, _batched(geo, input)))

    def run_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        geo = geometry(op + "_backward", dims, input, kernel_size, stride, padding, 1, ceil_mode,
                       count_include_pad, divisor_override)
        grad = check_grad_output(geo, grad_output, input)
        return (_unbatched(geo, engine.avg_pool_backward(geo, grad, _batched(geo, input))),)

    if dims == 1:
        def forward(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
            return run(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)

        def backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
            return run_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)
    else:
        def forward(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                    divisor_override=None):
            return run(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)

        def backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                     divisor_override=None):
            return run_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)

    forward.__name__ = forward.__qualname__ = op
    backward.__name__ = backward.__qualname__ = op + "_backward"
    forward.__doc__ = (
        f"{dims}-d average pooling as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {_SPATIAL[dims]}) or unbatched (C, {_SPATIAL[dims]}). Returns (N, C, *L_out) with\n"
        f"y[n, c, i] = Σ_(taps inside the input) x[n, c, i·s − pad + p] / D(i); D(i) counts the window clipped to\n"
        f"[−pad, L + pad) (count_include_pad) or to [0, L), or is divisor_override. L_out as for max pooling\n"
        f"with d = 1. Details in :mod:`reference.pooling`."
    )
    backward.__doc__ = (
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,) with\n"
        f"grad_input[n, c, j] = Σ_(i, p : i·s − pad + p = j) grad_output[n, c, i] / D(i)."
    )
    return forward, backward


max_pool1d, max_pool1d_backward = max_pool_family(1, Vectorised)
max_pool2d, max_pool2d_backward = max_pool_family(2, Vectorised)
max_pool3d, max_pool3d_backward = max_pool_family(3, Vectorised)
avg_pool1d, avg_pool1d_backward = avg_pool_family(1, Vectorised)
avg_pool2d, avg_pool2d_backward = avg_pool_family(2, Vectorised)
avg_pool3d, avg_pool3d_backward = avg_pool_family(3, Vectorised)
