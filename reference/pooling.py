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

Vectorised over kernel taps: the input is padded (with −∞ for max, 0 for average) up to the
extent the windows read and stored by phase (:func:`reference._windows.split_phases`), where
each tap's reads over all windows form one contiguous run, so every step is a contiguous
whole-array NumPy operation and the Python loops run over kernel taps only. The forwards keep
torch's order of operations (taps scanned, or summed, in row-major order) and come out bitwise
equal to torch's on CPU. The backwards add tap by tap: a position that one window sends its
gradient to gets it exactly; one shared by several windows sums them in another order than
torch, equal up to rounding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _check, _windows


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

    @property
    def pad_pairs(self):
        """``(axis, left, right)`` that pad the batched input to :attr:`extent`."""
        return [(2 + a, p, e - n - p) for a, (n, p, e) in enumerate(zip(self.in_spatial, self.padding, self.extent))]

    def starts(self, axis: int) -> np.ndarray:
        """``start = i·s − pad`` of every window along ``axis``, in input coordinates."""
        return np.arange(self.out_spatial[axis]) * self.stride[axis] - self.padding[axis]


def output_length(length: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """torch's pooling output length, with the last-window rule of ceil_mode (module docstring)."""
    n = _windows.output_length(length + 2 * padding + (stride - 1 if ceil_mode else 0), kernel, stride, dilation)
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
    kernel = _check.int_tuple(op, "kernel_size", kernel_size, dims, minimum=1)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernel if empty else _check.int_tuple(op, "stride", stride, dims, minimum=1)
    pads = _check.int_tuple(op, "padding", padding, dims, minimum=0)
    dilations = _check.int_tuple(op, "dilation", dilation, dims, minimum=1)
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
    if not _check.is_int(divisor_override):
        raise TypeError(f"{op}: divisor_override must be an int or None, got divisor_override={divisor_override!r}")
    if divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must not be zero, got divisor_override={divisor_override!r}")
    return int(divisor_override)


def geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode,
             count_include_pad=True, divisor_override=None) -> Geometry:
    """Validate a pooling call the way torch does and describe its shapes."""
    _check.float_array(op, "input", input)
    _check.rank(op, "input", input, (dims + 1, dims + 2))
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
    _check.float_array(op, "grad_output", grad_output)
    _check.same_dtype(op, grad_output=grad_output, input=input)
    expected = input.shape[: input.ndim - geo.dims] + geo.out_spatial
    if grad_output.shape != expected:
        raise ValueError(
            f"{op}: grad_output must have the output's shape {expected}, got grad_output.shape={grad_output.shape}"
        )
    return grad_output[None] if geo.batch_added else grad_output


def _pads(geo: Geometry):
    """Per spatial axis, the padding before and after that extends the input to :attr:`Geometry.extent`."""
    return tuple(left for _, left, _ in geo.pad_pairs), tuple(right for _, _, right in geo.pad_pairs)


def _taps_of(geo: Geometry, x: np.ndarray, value):
    """``x`` padded with ``value`` in the phase layout of :func:`reference._windows.split_phases`,
    and one run per kernel tap (row-major) over the windows: ``run_p[n, c, i] = x_pad[n, c, i·s + p·d]``
    at the run positions of :func:`reference._windows.phase_taps`."""
    phased = _windows.split_phases(x, *_pads(geo), geo.stride, value)
    return phased, list(_windows.phase_taps(phased, geo.kernel, geo.stride, geo.dilation, geo.out_spatial))


def _first_inside(geo: Geometry) -> np.ndarray:
    """Per output position, the number of the window's first tap inside the input."""
    first = [first_read(geo.starts(a), k, d, n)[0]
             for a, (k, d, n) in enumerate(zip(geo.kernel, geo.dilation, geo.in_spatial))]
    return _tap_numbers(geo, first)


def _max_and_first_tap(runs) -> tuple[np.ndarray, np.ndarray]:
    """``best``, the window maximum, and ``winner``, the row-major number of the first tap that
    holds it, over the taps' runs, when the input holds no NaN: one pass per tap for the
    maximum, one per tap for the winner, each a contiguous NumPy step.

    The winner is counted, not searched: with ``found_t`` = "some tap ≤ t equals the maximum",
    the first such tap is ``t* = Σ_{t < T−1} (1 − found_t)``, so ``winner = (T − 1) − Σ found_t``
    is a sum of booleans (a masked write per tap would cost three times as much).
    """
    best = runs[0].copy()
    for run in runs[1:]:
        np.maximum(best, run, out=best)
    count = len(runs)
    passed = np.zeros(best.shape, dtype=np.uint8 if count < 2**8 else np.int32)  # Σ found_t so far
    found = np.zeros(best.shape, dtype=bool)
    equal = np.empty(best.shape, dtype=bool)
    for run in runs[:-1]:
        np.equal(run, best, out=equal)
        found |= equal
        np.add(passed, found, out=passed)
    return best, (count - 1) - passed.astype(np.int32)


def _max_scan(runs) -> tuple[np.ndarray, np.ndarray]:
    """``best`` and ``winner`` as :func:`_max_and_first_tap`, by torch's own scan, which NaN
    needs: taps in row-major order keep the running maximum and its tap, and a tap replaces it
    when strictly larger (so ties keep the first) or NaN (so the last NaN wins)."""
    best = np.full(runs[0].shape, -np.inf, dtype=runs[0].dtype)
    winner = np.zeros(best.shape, dtype=np.int32)
    take = np.empty(best.shape, dtype=bool)
    for number, run in enumerate(runs):
        np.greater(run, best, out=take)
        take |= np.isnan(run)
        np.copyto(best, run, where=take)
        np.copyto(winner, number, where=take)
    return best, winner


def _max_pool(geo: Geometry, x: np.ndarray):
    """``(best, winner, phased)`` with ``best`` and ``winner`` shaped ``(N, C, *out)``: the scan
    where NaN needs it, else the counting version; ``phased`` is the padded input the runs read.

    Padding holds −∞ and is never the maximum, except in a window whose taps inside the input
    are all −∞: there torch's scan, starting at −∞ with the first tap inside, never moves, so
    those windows take their first tap inside.
    """
    phased, runs = _taps_of(geo, x, -np.inf)
    scan = _max_scan if np.isnan(x).any() else _max_and_first_tap
    plane = phased.shape[-geo.dims:]
    best, winner = (_windows.crop(a, plane, geo.out_spatial) for a in scan(runs))
    best, winner = np.ascontiguousarray(best), np.ascontiguousarray(winner)
    empty = best == -np.inf
    if empty.any():
        np.copyto(winner, np.broadcast_to(_first_inside(geo), winner.shape), where=empty)
    return best, winner, phased


def _as_run(a: np.ndarray, phased: np.ndarray, geo: Geometry, fill) -> np.ndarray:
    """``a`` (``(N, C, *out)``) laid out on the taps' runs, ``fill`` at the run positions that
    are not windows."""
    plane = phased.shape[-geo.dims:]
    run = np.full(a.shape[:2] + (geo.out_spatial[0] * int(np.prod(plane[1:])),), fill, dtype=a.dtype)
    _windows.crop(run, plane, geo.out_spatial)[...] = a
    return run


def _tap_numbers(geo: Geometry, per_axis) -> np.ndarray:
    """Row-major tap numbers ``Σ_a p_a·Π_{b>a} k_b`` from per-axis tap arrays (one per output
    index), broadcast to ``out_spatial``."""
    total = np.zeros(geo.out_spatial, dtype=np.int32)
    for a, p in enumerate(per_axis):
        total = total * geo.kernel[a] + p.reshape((-1,) + (1,) * (geo.dims - 1 - a))
    return total


def _offsets_of_taps(geo: Geometry, numbers: np.ndarray) -> np.ndarray:
    """int64 offsets into the unpadded plane of the taps numbered ``numbers`` (row-major)."""
    offsets = np.zeros(numbers.shape, dtype=np.int64)
    strides = _windows.flat_strides(geo.in_spatial)
    rest = numbers.astype(np.int64)
    for a in reversed(range(geo.dims)):
        p = rest % geo.kernel[a]
        rest //= geo.kernel[a]
        start = geo.starts(a).reshape((-1,) + (1,) * (geo.dims - 1 - a))
        offsets += (start + p * geo.dilation[a]) * strides[a]
    return offsets


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


class Vectorised:
    """Strided window views, one vectorised step per kernel tap; the fast tier."""

    @staticmethod
    def max_pool(geo: Geometry, x: np.ndarray, return_indices: bool = True):
        """The window maxima, and (if asked) their plane offsets: winning tap numbers become
        offsets once, at the end."""
        best, winner, _ = _max_pool(geo, x)
        return best, (_offsets_of_taps(geo, winner) if return_indices else None)

    @staticmethod
    def max_pool_backward(geo: Geometry, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``∂E/∂x[n, c, idx[n, c, i]] += gy[n, c, i]``, tap by tap: the windows whose winner is
        tap ``p`` add their ``gy`` at ``i·s + p·d`` through the run that read them, into a padded
        buffer in the phase layout that is then merged back and cropped. Run positions that
        are not windows carry ``gy = 0`` and no winner, so they add nothing. A finite ``gy`` is
        routed by multiplying with the 0/1 mask (a masked write costs ten times as much); a
        non-finite one needs ``where``, since ∞·0 is NaN and the taps that lost get exactly 0."""
        _, winner, phased = _max_pool(geo, x)
        gy_run = _as_run(gy, phased, geo, 0)
        winner_run = _as_run(winner, phased, geo, -1)
        grad_phased = phased  # the padded input is spent: reuse its memory, already paged in
        grad_phased[...] = 0
        finite = bool(np.isfinite(gy).all())
        share = np.empty(gy_run.shape, dtype=gy.dtype)
        chosen = np.empty(gy_run.shape, dtype=bool)
        taps_of_grad = _windows.phase_taps(grad_phased, geo.kernel, geo.stride, geo.dilation, geo.out_spatial)
        for number, target in enumerate(taps_of_grad):
            np.equal(winner_run, number, out=chosen)
            if finite:
                np.multiply(gy_run, chosen, out=share)
            else:
                np.copyto(share, 0)
                np.copyto(share, gy_run, where=chosen)
            np.add(target, share, out=target)
        return _windows.merge_phases(grad_phased, _pads(geo)[0], x.shape)

    @staticmethod
    def avg_pool(geo: Geometry, x: np.ndarray) -> np.ndarray:
        """Sum the taps' runs over the zero-padded input in row-major order (torch's order),
        divide by ``D(i)``."""
        phased, runs = _taps_of(geo, x, 0)
        total = runs[0].copy()
        with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is NaN, overflow is inf, as in torch
            for run in runs[1:]:
                total += run
            total = _windows.crop(total, phased.shape[-geo.dims:], geo.out_spatial)
            return total / divisor(geo).astype(x.dtype)

    @staticmethod
    def avg_pool_backward(geo: Geometry, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Every tap of window ``i`` receives ``gy[i] / D(i)``: the share is added back through
        each tap's run (the adjoint of reading it) into a padded buffer in the phase layout,
        which is merged back with the padding dropped."""
        grad_phased = np.zeros(_windows.phase_shape(x.shape[:2], geo.extent, geo.stride), dtype=x.dtype)
        with np.errstate(over="ignore"):  # a tiny divisor_override may overflow, as in torch
            share = _as_run(gy / divisor(geo).astype(x.dtype), grad_phased, geo, 0)
        for target in _windows.phase_taps(grad_phased, geo.kernel, geo.stride, geo.dilation, geo.out_spatial):
            np.add(target, share, out=target)
        return _windows.merge_phases(grad_phased, _pads(geo)[0], x.shape)


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
