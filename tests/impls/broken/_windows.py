"""Pooling in NumPy for the pooling mutants: every rule torch follows, each behind a switch.

Not a mutant (the leading underscore keeps the gate from collecting it). With the default
switches it agrees with torch on every accepted default-profile call: outputs and indices
exactly, gradients up to summation order. Each mutant turns exactly one switch:

* ``tie``: which of equal maxima wins, ``'first'`` (torch) or ``'last'``;
* ``nan``: ``'propagate'`` (torch: a NaN wins, the last NaN of the window) or ``'ignore'``
  (``np.fmax``: NaN only where the window holds nothing else);
* ``last_window_rule``: with ceil_mode, drop a last window that starts in the right padding;
* ``overhang``: count the ceil-mode overhang past the right padding in the average's divisor;
* ``dilated_padding_limit``: validate max pooling's padding against the dilated kernel.

The layout is torch's: ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; windows are read
in row-major order of the kernel offsets, and padding acts as −inf (max) or 0 (average).
"""
from __future__ import annotations

import numpy as np


def _per_axis(op, name, value, dims):
    if isinstance(value, (tuple, list)):
        if len(value) not in (1, dims) or not all(isinstance(v, int) for v in value):
            raise ValueError(f"{op}: {name} must be an int or a tuple of 1 or {dims} ints, got {name}={value!r}")
        return tuple(value) * (dims if len(value) == 1 else 1)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {name}={value!r}")
    return (value,) * dims


def geometry(op, dims, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
             last_window_rule=True, dilated_padding_limit=False):
    """``(k, s, p, d, out)`` per spatial axis, validated as torch validates max pooling (the
    average pooling mutants let torch validate and only use the sizes)."""
    if not isinstance(input, np.ndarray) or input.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: input must be a float32/float64 numpy.ndarray, got {type(input).__name__}")
    if input.ndim not in (dims + 1, dims + 2) or 0 in input.shape[-dims - 1:]:
        raise ValueError(f"{op}: input must be (N, C, *spatial) or (C, *spatial), {dims} spatial axes, all but N "
                         f"non-empty, got input.shape={input.shape}")
    k = _per_axis(op, "kernel_size", kernel_size, dims)
    s = k if stride is None or stride == () or stride == [] else _per_axis(op, "stride", stride, dims)
    p = _per_axis(op, "padding", padding, dims)
    d = _per_axis(op, "dilation", dilation, dims)
    for name, values in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if min(values) <= 0:
            raise ValueError(f"{op}: {name} must be positive, got {name}={values}")
    if min(p) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got padding={p}")
    span = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    limit = span if dilated_padding_limit else k
    if any(pi > li // 2 for pi, li in zip(p, limit)):
        raise ValueError(f"{op}: padding={p} must be at most half the kernel {tuple(limit)}")
    out = []
    for length, ki, si, pi, wi in zip(input.shape[-dims:], k, s, p, span):
        reach = length + 2 * pi - wi  # negative for a kernel longer than the padded input: ceil_mode may still fit one
        n = (reach + (si - 1 if ceil_mode else 0)) // si + 1
        if ceil_mode and last_window_rule and n > 0 and (n - 1) * si >= length + pi:
            n -= 1
        if n <= 0:
            raise ValueError(f"{op}: output size {n} is too small for input.shape={input.shape}, kernel_size={k}")
        out.append(n)
    return k, s, p, d, tuple(out)


def _layout(spatial, k, s, p, d, out):
    """``(valid, flat)``, both shaped (*out, K) with K the kernel volume in row-major order:
    whether each tap of each window reads the input (not padding), and its offset in the plane."""
    dims = len(spatial)
    valid = np.ones([1] * (2 * dims), bool)
    flat = np.zeros([1] * (2 * dims), np.int64)
    for axis in range(dims):
        pos = np.arange(out[axis])[:, None] * s[axis] - p[axis] + d[axis] * np.arange(k[axis])[None, :]
        shape = [1] * (2 * dims)
        shape[axis], shape[dims + axis] = out[axis], k[axis]
        pos = pos.reshape(shape)
        valid = valid & (pos >= 0) & (pos < spatial[axis])
        flat = flat * spatial[axis] + pos
    window_shape = tuple(out) + tuple(k)
    flat_shape = tuple(out) + (int(np.prod(k)),)
    return (np.broadcast_to(valid, window_shape).reshape(flat_shape),
            np.broadcast_to(flat, window_shape).reshape(flat_shape))


def _planes(array, dims):
    """``array`` as (rows, plane): one row per (sample, channel)."""
    lead = array.shape[:-dims]
    return array.reshape((int(np.prod(lead)), int(np.prod(array.shape[-dims:]))))


def _windows(x, dims, k, s, p, d, out, fill):
    """``(values, valid, flat)``: every window's entries, shaped (*lead, *out, K), ``fill``
    where a tap reads padding; and the layout of :func:`_layout`."""
    valid, flat = _layout(x.shape[-dims:], k, s, p, d, out)
    values = np.where(valid, _planes(x, dims)[:, np.where(valid, flat, 0)], fill).astype(x.dtype, copy=False)
    return values.reshape(x.shape[:-dims] + valid.shape), valid, flat


def max_pool(x, dims, k, s, p, d, out, *, tie="first", nan="propagate"):
    """``(output, indices)``: the selected entry of each window and its offset in the plane."""
    values, valid, flat = _windows(x, dims, k, s, p, d, out, -np.inf)
    isnan = np.isnan(values) & valid
    best = np.max(np.where(isnan, -np.inf, values), axis=-1, keepdims=True)
    hit = valid & ~isnan & (values == best)
    hit = np.where(hit.any(axis=-1, keepdims=True), hit, valid)  # only NaN: its first tap
    count = values.shape[-1]
    if tie == "last":
        choice = count - 1 - np.argmax(hit[..., ::-1], axis=-1)
    else:
        choice = np.argmax(hit, axis=-1)
    if nan == "propagate":  # torch: a NaN beats everything, and a later NaN an earlier one
        last_nan = count - 1 - np.argmax(isnan[..., ::-1], axis=-1)
        choice = np.where(isnan.any(axis=-1), last_nan, choice)
    output = np.take_along_axis(values, choice[..., None], axis=-1)[..., 0]
    index = np.take_along_axis(np.broadcast_to(flat, values.shape), choice[..., None], axis=-1)[..., 0]
    return np.ascontiguousarray(output), np.ascontiguousarray(index, dtype=np.int64)


def scatter(grad_output, index, input_shape, dims, dtype):
    """Each upstream entry added to the input entry its index names (the max pool backward)."""
    grad = np.zeros(input_shape, dtype)
    rows = _planes(grad, dims)
    np.add.at(rows, (np.arange(rows.shape[0])[:, None], _planes(index, dims)), _planes(grad_output, dims))
    return grad


def divisors(spatial, k, s, p, out, count_include_pad, *, overhang=False):
    """The average's divisor per output position, shaped (*out): the window clipped to
    ``[-p, L + p)`` (torch; ``overhang`` keeps the whole kernel), or to ``[0, L)`` without
    ``count_include_pad``."""
    total = np.ones((), np.int64)
    for length, ki, si, pi, n in zip(spatial, k, s, p, out):
        start = np.arange(n) * si - pi
        end = start + ki
        if not overhang:
            end = np.minimum(end, length + pi)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, length)
        total = np.multiply.outer(total, end - start)
    return total


def avg_pool(x, dims, k, s, p, out, divisor):
    """Window sums over ``divisor`` (padding reads 0)."""
    values, _, _ = _windows(x, dims, k, s, p, (1,) * dims, out, 0)
    return np.ascontiguousarray(values.sum(axis=-1) / divisor, dtype=x.dtype)


def avg_pool_backward(grad_output, input_shape, dims, k, s, p, out, divisor, dtype):
    """Each upstream entry over its divisor, added to every input entry of its window."""
    valid, flat = _layout(input_shape[-dims:], k, s, p, (1,) * dims, out)
    share = (grad_output / divisor).astype(dtype)
    share = _planes(share, dims)[:, :, None] * np.ones(valid.shape[-1:], dtype)  # (rows, windows, K)
    share = share.reshape(share.shape[0], *valid.shape)
    grad = np.zeros(input_shape, dtype)
    rows = _planes(grad, dims)
    np.add.at(rows, (slice(None), flat[valid]), share[:, valid])
    return grad


def max_pool_family(dims, *, validate_with=None, geometry_switches=None, pool_switches=None):
    """``max_pool{dims}d`` and its backward on this module, with the switches a mutant turns.

    ``validate_with``: a module whose ``max_pool{dims}d`` first validates the call (torch's
    rules through the torch-backed module), or None to validate with :func:`geometry` alone.
    """
    op = f"max_pool{dims}d"

    def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        if validate_with is not None:
            getattr(validate_with, op)(input, kernel_size, stride, padding, dilation, ceil_mode)
        k, s, p, d, out = geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode,
                                   **(geometry_switches or {}))
        return max_pool(input, dims, k, s, p, d, out, **(pool_switches or {}))

    def forward(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        output, indices = pool(input, kernel_size, stride, padding, dilation, ceil_mode)
        return (output, indices) if return_indices else output

    def backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        _, indices = pool(input, kernel_size, stride, padding, dilation, ceil_mode)
        return (scatter(grad_output, indices, input.shape, dims, input.dtype),)

    return forward, backward
