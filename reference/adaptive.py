"""N-d adaptive average and max pooling, as in PyTorch, and their backward, vectorised.

Adaptive pooling is given the output size instead of a window: along a spatial axis of length
``L`` pooled to ``O`` outputs, output ``i`` reads the inputs ``start(i) … end(i) − 1`` with

    start(i) = ⌊i·L/O⌋,    end(i) = ⌈(i + 1)·L/O⌉

(torch's rule). When ``O`` divides ``L`` these are the windows of an ordinary pooling with
kernel and stride ``L/O``; otherwise the windows differ in length by one and neighbours may
overlap by one input (``L = 5, O = 3``: ``[0, 2)``, ``[1, 4)``, ``[3, 5)``), and for ``O > L``
an input is read by several outputs. ``O`` must be at least 1 and a batched input must have
channels: torch 2.13's forward takes ``O = 0`` (and, in ``adaptive_avg_pool1d/2d``, no
channels), but its backward refuses both, so the reference refuses them. In ``D`` dimensions the
window is the product of one such range per axis, and ``output_size`` may say None for an axis
to keep its length (2-d and 3-d only, as in torch).

Average pooling divides the window's sum by its size:

    y[n, c, i] = Σ_{j ∈ W(i)} x[n, c, j] / |W(i)|,    |W(i)| = Π_a (end_a(i_a) − start_a(i_a)),

so ``∂E/∂x[n, c, j] = Σ_{i : j ∈ W(i)} gy[n, c, i] / |W(i)|``. Max pooling picks, as ordinary max
pooling does, the last NaN of the window if it holds one, else its first maximum in row-major
order, and returns that tap's flat offset into the ``(n, c)`` plane as the indices:

    y[n, c, i] = x[n, c, idx[n, c, i]],    ∂E/∂x[n, c, j] = Σ_{i : idx[n, c, i] = j} gy[n, c, i].

Vectorised: each axis's windows are a ``(O, w)`` table of taps, ``w`` the longest window,
with a mask for the taps past a shorter window's end. Average pooling sums one axis at a
time over that table (a window is a product of ranges, so its sum is separable) and scatters
back the same way; max pooling gathers every window whole, ``(…, *O, *w)``, which costs
``Π_a O_a·w_a ≈ Π_a (L_a + O_a)`` entries per plane. :mod:`reference.definitional_pooling`
walks the windows tap by tap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks, family, padding


@dataclass(frozen=True)
class Geometry:
    """A validated adaptive pooling call: everything but the arrays' values."""

    op: str
    dims: int
    batch_added: bool  # the input had no batch axis; one was added and is removed again
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]

    def bounds(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """``start(i)`` and ``end(i)`` of every window along ``axis``."""
        return window_bounds(self.in_spatial[axis], self.out_spatial[axis])


def window_bounds(length: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive windows: output ``i`` of ``out`` reads ``[⌊i·L/O⌋, ⌈(i + 1)·L/O⌉)``."""
    i = np.arange(out)
    return (i * length) // out, -(-(i + 1) * length // out)


def taps(length: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """The windows along one axis as a table: ``tap[i, p] = start(i) + p`` for ``p < w`` (the
    longest window), clipped into the input, and ``inside[i, p]``: whether ``p`` is a tap of
    window ``i`` (``start(i) + p < end(i)``)."""
    start, end = window_bounds(length, out)
    width = int((end - start).max()) if out else 0
    tap = start[:, None] + np.arange(width)
    return np.minimum(tap, length - 1), tap < end[:, None]


def check_output_size(op: str, dims: int, output_size, in_spatial) -> tuple[int, ...]:
    """torch's rules: in 1-d an int or one int in a sequence; in 2-d and 3-d a Python int
    (repeated on every axis) or a sequence of ``dims`` entries, each an int or None (the input's
    length on that axis). Every size at least 1 (module docstring)."""
    what = "an int or a tuple of one int" if dims == 1 else f"an int or a tuple of {dims} ints or None"
    if dims == 1 and checks.is_int(output_size):
        items = (output_size,)
    elif dims > 1 and isinstance(output_size, int) and not isinstance(output_size, bool):
        items = (output_size,) * dims  # torch's 2-d/3-d wrapper repeats a Python int only
    elif isinstance(output_size, (tuple, list)):
        items = tuple(output_size)
        allowed = (lambda v: checks.is_int(v) or (dims > 1 and v is None))
        if not all(allowed(v) for v in items):
            raise TypeError(f"{op}: output_size must be {what}, got output_size={output_size!r}")
        if len(items) != dims:
            raise ValueError(f"{op}: output_size must be {what}, got output_size={output_size!r}")
    else:
        raise TypeError(f"{op}: output_size must be {what}, got output_size={output_size!r}")
    sizes = tuple(n if v is None else int(v) for v, n in zip(items, in_spatial))
    if any(v < 1 for v in sizes):
        # torch 2.13's forward takes a size of 0 (an empty output), but its backward refuses
        # it: a layer that pools to nothing cannot be trained, so it is refused here
        raise ValueError(f"{op}: output_size must be positive, got output_size={output_size!r}")
    return sizes


def geometry(op: str, dims: int, input, output_size) -> Geometry:
    """Validate an adaptive pooling call the way torch does and describe its shapes."""
    checks.float_array(op, "input", input)
    checks.rank(op, "input", input, (dims + 1, dims + 2))
    batch_added = input.ndim == dims + 1
    shape = (1,) + input.shape if batch_added else input.shape
    # torch 2.13's adaptive_avg_pool1d/2d forward takes a batched input without channels, but
    # its backward refuses it (as every other adaptive pooling refuses it): refused here. An
    # unbatched input's first axis is read as the batch, and may be empty.
    if 0 in input.shape[1:]:
        raise ValueError(f"{op}: input's non-batch axes must be non-empty, got input.shape={input.shape}")
    out = check_output_size(op, dims, output_size, shape[2:])
    return Geometry(op, dims, batch_added, shape[2:], out)


def adaptive_avg_pool_family(dims: int, engine):
    """Build ``adaptive_avg_pool{dims}d`` and its backward on a computing ``engine``."""
    op = f"adaptive_avg_pool{dims}d"
    spatial = family.SPATIAL_AXES[dims]

    def forward(input, output_size):
        geo = geometry(op, dims, input, output_size)
        return family.output(geo, engine.adaptive_avg_pool(geo, family.batched(geo, input)), input.dtype)

    def backward(grad_output, input, output_size):
        geo = geometry(op + "_backward", dims, input, output_size)
        grad = family.grad_output(geo, grad_output, input, input.shape[-dims - 1], geo.out_spatial)
        gx = engine.adaptive_avg_pool_backward(geo, grad, family.batched(geo, input))
        return family.gradients(geo, (gx,), input.dtype)

    return family.named(
        op, forward, backward,
        f"{dims}-d adaptive average pooling as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {spatial}) or unbatched (C, {spatial}); output_size O per axis (None keeps the axis,\n"
        f"2-d and 3-d only). Returns (N, C, *O) with y[n, c, i] the mean of x[n, c, j] over the window\n"
        f"⌊i·L/O⌋ ≤ j < ⌈(i + 1)·L/O⌉ on every axis. Details in :mod:`reference.adaptive`.",
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,) with\n"
        f"grad_input[n, c, j] = Σ_(windows i holding j) grad_output[n, c, i] / |W(i)|.",
    )


def adaptive_max_pool_family(dims: int, engine):
    """Build ``adaptive_max_pool{dims}d`` and its backward on a computing ``engine``."""
    op = f"adaptive_max_pool{dims}d"
    spatial = family.SPATIAL_AXES[dims]

    def forward(input, output_size, return_indices=False):
        geo = geometry(op, dims, input, output_size)
        y, index = engine.adaptive_max_pool(geo, family.batched(geo, input))
        y = family.output(geo, y, input.dtype)
        return (y, family.unbatched(geo, index)) if return_indices else y

    def backward(grad_output, input, output_size, return_indices=False):
        geo = geometry(op + "_backward", dims, input, output_size)
        grad = family.grad_output(geo, grad_output, input, input.shape[-dims - 1], geo.out_spatial)
        gx = engine.adaptive_max_pool_backward(geo, grad, family.batched(geo, input))
        return family.gradients(geo, (gx,), input.dtype)

    return family.named(
        op, forward, backward,
        f"{dims}-d adaptive max pooling as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {spatial}) or unbatched (C, {spatial}); output_size as for adaptive average pooling.\n"
        f"Returns y (N, C, *O), and with return_indices also idx (int64, same shape): y[n, c, i] =\n"
        f"x[n, c, idx[n, c, i]], idx the flat offset into the (n, c) plane of the window's maximum (ties: the\n"
        f"first; NaN: the last NaN). Details in :mod:`reference.adaptive`.",
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input,) with\n"
        f"grad_input[n, c, j] = Σ_(i : idx[n, c, i] = j) grad_output[n, c, i].",
    )


def _window_sizes(geo) -> np.ndarray:
    """``|W(i)|`` for every output position, shape ``out_spatial``."""
    sizes = np.ones(geo.out_spatial, dtype=np.int64)
    for a in range(geo.dims):
        start, end = geo.bounds(a)
        sizes = sizes * (end - start).reshape((-1,) + (1,) * (geo.dims - 1 - a))
    return sizes


def _window_table(geo):
    """Every window whole: per axis ``a`` the taps ``(O_a, w_a)`` placed on axes ``a`` and
    ``D + a`` of a ``(*O, *w)`` grid (for fancy indexing), and the mask of real taps on it."""
    index, mask = [], np.ones((1,) * 2 * geo.dims, dtype=bool)
    for a in range(geo.dims):
        tap, inside = taps(geo.in_spatial[a], geo.out_spatial[a])
        shape = [1] * 2 * geo.dims
        shape[a], shape[geo.dims + a] = tap.shape
        index.append(tap.reshape(shape))
        mask = mask & inside.reshape(shape)
    return index, mask


class Vectorised:
    """The engine of :mod:`reference.functional`'s adaptive pooling (module docstring)."""

    @staticmethod
    def adaptive_avg_pool(geo, x):
        total = x
        for a in range(geo.dims):
            axis = 2 + a
            tap, inside = taps(geo.in_spatial[a], geo.out_spatial[a])
            windows = np.take(total, tap, axis=axis)  # (…, O_a, w_a, …)
            keep = inside.reshape(inside.shape + (1,) * (geo.dims - 1 - a))
            with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is NaN, as in torch
                total = np.where(keep, windows, 0).sum(axis=axis + 1)
        return total / _window_sizes(geo).astype(x.dtype)

    @staticmethod
    def adaptive_avg_pool_backward(geo, gy, x):
        """The adjoint of each axis's windowed sum, in turn: every window's share goes back to
        each of its taps (:func:`reference.padding.scatter_axis`, the adjoint of a gather, adds up
        the shares of an input that several windows read)."""
        grad = gy / _window_sizes(geo).astype(gy.dtype)
        for a in range(geo.dims):
            tap, inside = taps(geo.in_spatial[a], geo.out_spatial[a])
            moved = np.moveaxis(grad, 2 + a, -1)  # (…, O_a)
            shares = np.broadcast_to(moved[..., :, None], moved.shape + tap.shape[1:])[..., inside]
            grad = np.moveaxis(padding.scatter_axis(shares, -1, tap[inside], geo.in_spatial[a]), -1, 2 + a)
        return grad

    @staticmethod
    def adaptive_max_pool(geo, x):
        """Gather every window whole, then pick its tap: the last NaN, else the first real tap
        holding the maximum of the real taps (a masked tap is never chosen, even where every
        real tap is −inf)."""
        N, C = x.shape[:2]
        index, mask = _window_table(geo)
        windows = x[(slice(None), slice(None)) + tuple(index)]  # (N, C, *O, *w)
        flat = windows.reshape(windows.shape[: 2 + geo.dims] + (int(np.prod(windows.shape[2 + geo.dims:])),))
        real = np.broadcast_to(mask, windows.shape[2:]).reshape(flat.shape[2:])
        nans = real & np.isnan(flat)
        top = np.where(real & ~nans, flat, -np.inf).max(axis=-1, initial=-np.inf)
        first_top = np.argmax(real & (flat == top[..., None]), axis=-1)
        last_nan = flat.shape[-1] - 1 - np.argmax(nans[..., ::-1], axis=-1)
        tap = np.where(nans.any(axis=-1), last_nan, first_top)
        y = np.take_along_axis(flat, tap[..., None], axis=-1)[..., 0]
        return y, _plane_offsets(geo, tap)

    @staticmethod
    def adaptive_max_pool_backward(geo, gy, x):
        N, C = x.shape[:2]
        _, idx = Vectorised.adaptive_max_pool(geo, x)
        planes, windows = N * C, int(np.prod(geo.out_spatial))
        gx = np.zeros((planes, int(np.prod(geo.in_spatial))), dtype=gy.dtype)
        np.add.at(gx, (np.arange(planes)[:, None], idx.reshape(planes, windows)), gy.reshape(planes, windows))
        return gx.reshape(x.shape)


def _plane_offsets(geo, tap) -> np.ndarray:
    """Window tap numbers (row-major over ``(*w)``) as flat offsets ``Σ_a j_a·Π_{b>a} L_b``
    of the input positions they read."""
    widths = [taps(n, o)[0].shape[1] for n, o in zip(geo.in_spatial, geo.out_spatial)]
    steps = np.unravel_index(tap, widths)
    offset = np.zeros(tap.shape, dtype=np.int64)
    for a in range(geo.dims):
        start, _ = geo.bounds(a)
        position = start.reshape((-1,) + (1,) * (geo.dims - 1 - a)) + steps[a]
        offset = offset * geo.in_spatial[a] + position
    return offset


adaptive_avg_pool1d, adaptive_avg_pool1d_backward = adaptive_avg_pool_family(1, Vectorised)
adaptive_avg_pool2d, adaptive_avg_pool2d_backward = adaptive_avg_pool_family(2, Vectorised)
adaptive_avg_pool3d, adaptive_avg_pool3d_backward = adaptive_avg_pool_family(3, Vectorised)
adaptive_max_pool1d, adaptive_max_pool1d_backward = adaptive_max_pool_family(1, Vectorised)
adaptive_max_pool2d, adaptive_max_pool2d_backward = adaptive_max_pool_family(2, Vectorised)
adaptive_max_pool3d, adaptive_max_pool3d_backward = adaptive_max_pool_family(3, Vectorised)
