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

Vectorised over the strided window view of :mod:`reference._windows`: the input is padded
(with −∞ for max, 0 for average) up to the extent the windows read, and the Python loops run
over kernel taps only. The forwards keep torch's order of operations (taps scanned, or summed,
in row-major order) and the max backward adds in torch's order (output positions in order, plane
by plane), so they come out bitwise equal to torch's on CPU (the tests assert it for max
pooling); the average backward adds tap by tap, a different order, equal up to rounding.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from . import _check, _windows, padding as _padding


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


def _flag(op: str, name: str, value) -> bool:
    """torch takes only a Python bool here (not 0/1, not numpy.bool_)."""
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a bool, got {name}={value!r}")
    return value


def geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode,
             count_include_pad=True, divisor_override=None) -> Geometry:
    """Validate a pooling call the way torch does and describe its shapes."""
    _check.float_array(op, "input", input)
    _check.rank(op, "input", input, (dims + 1, dims + 2))
    kernel = _check.int_tuple(op, "kernel_size", kernel_size, dims, minimum=1)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernel if empty else _check.int_tuple(op, "stride", stride, dims, minimum=1)
    pads = _check.int_tuple(op, "padding", padding, dims, minimum=0)
    dilations = _check.int_tuple(op, "dilation", dilation, dims, minimum=1)
    ceil_mode = _flag(op, "ceil_mode", ceil_mode)
    count_include_pad = _flag(op, "count_include_pad", count_include_pad)
    if divisor_override is not None:
        if not _check.is_int(divisor_override):
            raise TypeError(f"{op}: divisor_override must be an int or None, got divisor_override={divisor_override!r}")
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be zero, got divisor_override={divisor_override!r}")
        divisor_override = int(divisor_override)

    batch_added = input.ndim == dims + 1
    shape = (1,) + input.shape if batch_added else input.shape
    if 0 in shape[1:]:
        raise ValueError(f"{op}: input's non-batch axes must be non-empty, got input.shape={input.shape}")
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(
            f"{op}: padding must be at most half of kernel_size on every axis, got padding={padding!r}, "
            f"kernel_size={kernel_size!r}" + (" (dilation does not count)" if op.startswith("max") else "")
        )
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


def taps(kernel):
    """Kernel taps ``p`` in row-major order (the order torch scans a window)."""
    return itertools.product(*(range(k) for k in kernel))


def _tiles_input(geo: Geometry) -> bool:
    """Whether the windows tile the input without gaps, overlaps or padding (stride = kernel,
    no dilation, no padding, every window inside): the common 2×2, stride-2 pooling."""
    return all(s == k and d == 1 and p == 0 and o * k <= n for s, k, d, p, o, n in
               zip(geo.stride, geo.kernel, geo.dilation, geo.padding, geo.out_spatial, geo.in_spatial))


def _max_pool_tiled(geo: Geometry, x: np.ndarray):
    """Max pooling when the windows tile the input (:func:`_tiles_input`) and hold no NaN: lay
    each window out as one row, ``(N, C, *out, taps)`` in row-major tap order, and take the
    first maximum of each row (``argmax``), which is the scan's rule for ties."""
    dims = geo.dims
    inside = x[(Ellipsis,) + tuple(slice(0, o * k) for o, k in zip(geo.out_spatial, geo.kernel))]
    split = inside.reshape(x.shape[:2] + tuple(v for o, k in zip(geo.out_spatial, geo.kernel) for v in (o, k)))
    order = (0, 1) + tuple(2 + 2 * a for a in range(dims)) + tuple(3 + 2 * a for a in range(dims))
    rows = split.transpose(order).reshape(x.shape[:2] + geo.out_spatial + (int(np.prod(geo.kernel)),))
    winner = rows.argmax(axis=-1)
    best = np.take_along_axis(rows, winner[..., None], axis=-1)[..., 0]
    return best, _offsets_of_taps(geo, winner)


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
    def max_pool(geo: Geometry, x: np.ndarray):
        """Scan the taps in row-major order keeping the running maximum and the number of the
        tap that holds it; a tap replaces it when strictly larger (so ties keep the first) or
        NaN (so the last NaN wins). Padding holds −∞, which never replaces: the scan starts at
        −∞ with the window's first tap inside the input. The winning taps become plane offsets
        once, at the end."""
        nan_inside = bool(np.isnan(x).any())  # the NaN rule costs a pass per tap: only when needed
        if not nan_inside and _tiles_input(geo):
            return _max_pool_tiled(geo, x)
        view = _windows.windows(_padding.constant(x, geo.pad_pairs, -np.inf), geo.kernel, geo.stride, geo.dilation)
        best = np.full(x.shape[:2] + geo.out_spatial, -np.inf, dtype=x.dtype)
        first = [first_read(geo.starts(a), k, d, n)[0]
                 for a, (k, d, n) in enumerate(zip(geo.kernel, geo.dilation, geo.in_spatial))]
        winner = np.empty(best.shape, dtype=np.int32)
        winner[...] = _tap_numbers(geo, first)
        take = np.empty(best.shape, dtype=bool)
        for number, tap in enumerate(taps(geo.kernel)):
            value = view[(Ellipsis,) + tap]
            np.greater(value, best, out=take)
            if nan_inside:
                take |= np.isnan(value)
            np.copyto(best, value, where=take)
            np.copyto(winner, number, where=take)
        return best, _offsets_of_taps(geo, winner)

    @staticmethod
    def max_pool_backward(geo: Geometry, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``∂E/∂x[n, c, idx[n, c, i]] += gy[n, c, i]``: one weighted histogram of the flat
        indices (in float64, then rounded once to the input's dtype)."""
        _, index = Vectorised.max_pool(geo, x)
        planes, plane = x.shape[0] * x.shape[1], int(np.prod(geo.in_spatial))
        target = index.reshape(planes, int(np.prod(geo.out_spatial))) + (np.arange(planes, dtype=np.int64) * plane)[:, None]
        grad = np.bincount(target.ravel(), weights=gy.ravel(), minlength=planes * plane)
        return grad.astype(x.dtype).reshape(x.shape)

    @staticmethod
    def avg_pool(geo: Geometry, x: np.ndarray) -> np.ndarray:
        """Sum the taps of the zero-padded window view in row-major order, divide by ``D(i)``."""
        view = _windows.windows(_padding.constant(x, geo.pad_pairs, 0), geo.kernel, geo.stride, geo.dilation)
        total = np.zeros(x.shape[:2] + geo.out_spatial, dtype=x.dtype)
        with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is NaN, overflow is inf, as in torch
            for tap in taps(geo.kernel):
                total += view[(Ellipsis,) + tap]
            return total / divisor(geo).astype(x.dtype)

    @staticmethod
    def avg_pool_backward(geo: Geometry, gy: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Every tap of window ``i`` receives ``gy[i] / D(i)``: the share is broadcast over the
        taps, added back where each tap was read (the adjoint of the window view), and the
        padding cropped off."""
        with np.errstate(over="ignore"):  # a tiny divisor_override may overflow, as in torch
            share = gy / divisor(geo).astype(x.dtype)
        cols = share.reshape(share.shape[:2] + (1,) * geo.dims + geo.out_spatial)
        cols = np.broadcast_to(cols, share.shape[:2] + geo.kernel + geo.out_spatial)
        grad_pad = _windows.scatter_windows(cols, geo.extent, geo.kernel, geo.stride, geo.dilation)
        return _padding.constant_adjoint(grad_pad, geo.pad_pairs, x.shape)


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
        y, index = engine.max_pool(geo, _batched(geo, input))
        y, index = _unbatched(geo, y), _unbatched(geo, index)
        return (y, index) if return_indices else y

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
