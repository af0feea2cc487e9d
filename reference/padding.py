"""Padding in the four modes of ``torch.nn.functional.pad``, and its exact adjoint.

Every mode is a gather along each padded axis: output position ``j`` of an axis of length
``L`` padded by ``(left, right)`` reads input coordinate ``i = j − left`` mapped back into
``[0, L)``:

    constant   i if 0 ≤ i < L, else the fill value (reads nothing)
    reflect    i ↦ −i below 0, 2(L−1) − i above L−1    (mirror without repeating the edge:
                                                          [1,2,3,4] by 2 → [3,2,1,2,3,4,3,2])
    replicate  i ↦ clip(i, 0, L−1)                        (numpy's 'edge')
    circular   i ↦ i mod L                                (numpy's 'wrap')

Negative amounts crop. Because padding is a gather ``y = P x``, its backward is the
scatter-add ``∂E/∂x = Pᵀ ∂E/∂y``: each input position receives the sum of the gradients of
every output position that copied it (an edge pixel under 'replicate' collects the whole
border), and the constant fill receives nothing.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import checks

MODES = ("constant", "reflect", "replicate", "circular")


def source_index(length: int, left: int, right: int, mode: str) -> np.ndarray:
    """For each output position along one axis, the input position it copies (gather modes).

    Negative amounts crop. reflect and replicate pad first and crop after (as numpy.pad then
    a slice); circular crops first and wraps what is left, as torch does.
    """
    if mode == "circular":
        kept = length + min(left, 0) + min(right, 0)
        j = np.arange(kept + max(left, 0) + max(right, 0))
        return max(-left, 0) + (j - max(left, 0)) % kept if kept else j
    i = np.arange(-left, length + right)
    if mode == "reflect":
        return np.where(i < 0, -i, np.where(i >= length, 2 * (length - 1) - i, i))
    return np.clip(i, 0, length - 1)  # replicate


def _pairs(pad, ndim: int):
    """``pad`` is ordered last axis first: (left_last, right_last, left_prev, right_prev, ...).
    Yields ``(axis, left, right)`` for every axis it names."""
    for k in range(len(pad) // 2):
        yield ndim - 1 - k, pad[2 * k], pad[2 * k + 1]


def _check_pad(op: str, input, pad, mode: str, value) -> tuple[int, ...]:
    checks.float_array(op, "input", input)
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of {MODES}, got mode={mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(checks.is_int(p) for p in pad):
        raise TypeError(f"{op}: pad must be a tuple of ints, got pad={pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError(f"{op}: pad must have an even length, got pad={pad} (length {len(pad)})")
    if len(pad) > 2 * input.ndim:
        raise ValueError(f"{op}: pad={pad} names more axes than input.shape={input.shape} has")
    if mode == "constant":
        _check_constant(op, input, pad, value)
    else:
        _check_gather(op, input, pad, mode, value)
    return pad


def _check_constant(op, input, pad, value):
    if value is not None and not isinstance(value, (numbers.Real, np.bool_)):
        raise TypeError(f"{op}: value must be a real number, got value={value!r}")
    for axis, left, right in _pairs(pad, input.ndim):
        size = input.shape[axis]
        if size + min(left, 0) < 0 or size + min(left, 0) + min(right, 0) < 0:
            raise ValueError(f"{op}: pad={pad} crops more than axis {axis} holds (input.shape={input.shape})")


def _check_gather(op, input, pad, mode, value):
    """reflect, replicate and circular: torch's rules for ranks, sizes and crops."""
    if value is not None and value != 0:
        raise ValueError(f"{op}: mode={mode!r} takes no fill value, got value={value!r}")
    spatial = len(pad) // 2
    if spatial not in (1, 2, 3) or input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"{op}: mode={mode!r} pads 1, 2 or 3 trailing axes of an input with one or two more "
            f"(pad of length 2, 4 or 6); got pad={pad} for input.shape={input.shape}"
        )
    non_batch = input.shape[1:] if input.ndim == spatial + 2 else input.shape
    if mode != "circular" and 0 in non_batch:
        raise ValueError(f"{op}: mode={mode!r} needs non-empty non-batch axes, got input.shape={input.shape}")
    for axis, left, right in _pairs(pad, input.ndim):
        size = input.shape[axis]
        out = size + left + right
        if mode == "reflect" and max(left, right) >= size:
            raise ValueError(
                f"{op}: mode='reflect' needs each pad smaller than the axis size, got pad={pad} "
                f"for axis {axis} of size {size} (input.shape={input.shape})"
            )
        if mode == "circular":
            kept = size + min(left, 0) + min(right, 0)
            if max(left, right) > size or out < 0:
                raise ValueError(
                    f"{op}: mode='circular' needs each pad at most the axis size and a non-negative result, "
                    f"got pad={pad} for axis {axis} of size {size} (input.shape={input.shape})"
                )
            if out > 0 and max(left, right) > kept:
                # torch returns uninitialised memory here: refuse rather than invent a result
                raise ValueError(
                    f"{op}: mode='circular' with a crop needs each pad at most the {kept} positions left "
                    f"after cropping, got pad={pad} for axis {axis} of size {size}"
                )
        elif out < (1 if spatial == 1 else 0):
            raise ValueError(f"{op}: pad={pad} leaves no positions on axis {axis} of input.shape={input.shape}")


def plan(op: str, input, pad, mode, value):
    """Validate a pad call; return its ``(axis, left, right)`` pairs and the output shape."""
    pairs = list(_pairs(_check_pad(op, input, pad, mode, value), input.ndim))
    out_shape = list(input.shape)
    for axis, left, right in pairs:
        out_shape[axis] += left + right
    return pairs, tuple(out_shape)


def pad(input, pad, mode="constant", value=None):
    """Pad ``input`` by ``pad`` (last axis first, as torch) in ``mode``.

    Shapes: each named axis grows from ``L`` to ``L + left + right``; other axes are kept.
    ``y[..., j] = x[..., src(j)]`` with ``src`` from :func:`source_index`; ``value`` (default 0)
    fills the positions a constant pad reads nothing for.
    """
    pairs, _ = plan("pad", input, pad, mode, value)
    if mode == "constant":
        return constant(input, pairs, 0 if value is None else value)
    y = input
    for axis, left, right in pairs:
        y = np.take(y, source_index(input.shape[axis], left, right, mode), axis=axis)
    return y.copy() if y is input else y


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    """Vector-Jacobian product of :func:`pad`: ``gx[..., i] = Σ_{j : src(j) = i} gy[..., j]``.

    Returns ``(grad_input,)``. The fill value is a constant, so it has no gradient.
    """
    pairs, out_shape = plan("pad_backward", input, pad, mode, value)
    grad = checks.grad_output("pad_backward", grad_output, input, out_shape)
    if mode == "constant":
        return (constant_adjoint(grad, pairs, input.shape),)
    for axis, left, right in pairs:
        grad = scatter_axis(grad, axis, source_index(input.shape[axis], left, right, mode), input.shape[axis])
    return (grad.copy() if grad is grad_output else grad,)


def _overlap(pairs, shape):
    """Slices of the padded output and of the input that hold the same values under a
    constant pad (negative amounts crop the input)."""
    dst = [slice(None)] * len(shape)
    src = [slice(None)] * len(shape)
    for axis, left, right in pairs:
        n = shape[axis]
        dst[axis] = slice(max(left, 0), max(left, 0) + max(n + min(left, 0) + min(right, 0), 0))
        src[axis] = slice(max(-left, 0), max(n - max(-right, 0), max(-left, 0)))
    return tuple(dst), tuple(src)


def constant(x: np.ndarray, pairs, value) -> np.ndarray:
    """Constant pad of the ``(axis, left, right)`` pairs in one allocation and one copy."""
    shape = list(x.shape)
    for axis, left, right in pairs:
        shape[axis] += left + right
    y = np.full(shape, value, dtype=x.dtype)
    dst, src = _overlap(pairs, x.shape)
    y[dst] = x[src]
    return y


def constant_adjoint(grad: np.ndarray, pairs, shape) -> np.ndarray:
    """Adjoint of :func:`constant`: the input positions that were copied get their gradient
    back, cropped ones get zero."""
    gx = np.zeros(shape, dtype=grad.dtype)
    dst, src = _overlap(pairs, shape)
    gx[src] = grad[dst]
    return gx


def scatter_axis(grad: np.ndarray, axis: int, src: np.ndarray, length: int) -> np.ndarray:
    """Adjoint of the gather ``y = take(x, src, axis)``: add each ``grad[..., j]`` into
    position ``src[j]`` of an axis of ``length``."""
    shape = list(grad.shape)
    shape[axis] = length
    out = np.zeros(shape, dtype=grad.dtype)
    np.add.at(np.moveaxis(out, axis, 0), src, np.moveaxis(grad, axis, 0))
    return out
