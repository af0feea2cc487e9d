"""The definitional tier: each op written as its index equation, loop by loop.

For tiny shapes only. It shares the argument checks and shape logic with the vectorised
tier (what a valid call is has one definition) and nothing of the arithmetic: the loops
below read like the equations in :mod:`reference.conv` and :mod:`reference.padding`, and the
tests hold the two tiers against each other and both against torch. This module follows the
same contract as :mod:`reference.functional`, so the harness can check it directly
(``python -m crosscheck --impl reference.definitional --profile quick``).
"""
from __future__ import annotations

import itertools

import numpy as np

from . import checks as _checks, conv as _conv, conv_transpose as _conv_transpose, padding as _padding
from .definitional_dense import (  # noqa: F401  (the dense, activation and loss tier)
    linear,
    linear_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
    softmax,
    softmax_backward,
    log_softmax,
    log_softmax_backward,
    mse_loss,
    mse_loss_backward,
    cross_entropy,
    cross_entropy_backward,
)
from .definitional_unfold import (  # noqa: F401  (unfold and fold)
    unfold,
    unfold_backward,
    fold,
    fold_backward,
)
from .definitional_pooling import (  # noqa: F401  (the pooling tier lives in its own module)
    max_pool1d,
    max_pool1d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_pool3d,
    max_pool3d_backward,
    avg_pool1d,
    avg_pool1d_backward,
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool3d,
    avg_pool3d_backward,
    adaptive_avg_pool1d,
    adaptive_avg_pool1d_backward,
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool3d,
    adaptive_avg_pool3d_backward,
    adaptive_max_pool1d,
    adaptive_max_pool1d_backward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    adaptive_max_pool3d,
    adaptive_max_pool3d_backward,
)


def _positions(shape):
    return itertools.product(*(range(n) for n in shape))


def _x_pad_read(geo, x, n, c, i, p):
    """``x_pad[n, c, i·s + p·d]``, read from the unpadded ``x`` (0 inside the padding)."""
    j = tuple(ia * s + pa * d - left for ia, pa, s, d, (left, _) in zip(i, p, geo.stride, geo.dilation, geo.pads))
    if all(0 <= ja < L for ja, L in zip(j, geo.in_spatial)):
        return x[(n, c) + j], j
    return 0.0, None


class Loops:
    """y[n, o, i] = b[o] + Σ_{c, p} x_pad[n, g·C/G + c, i·s + p·d] · w[o, c, p], literally."""

    @staticmethod
    def forward(geo, x, w, b):
        N, C = x.shape[:2]
        O = w.shape[0]
        Cg, Og = C // geo.groups, O // geo.groups
        y = np.zeros((N, O) + geo.out_spatial, dtype=x.dtype)
        for n, o in itertools.product(range(N), range(O)):
            g = o // Og
            for i in _positions(geo.out_spatial):
                total = 0.0 if b is None else b[o]
                for c in range(Cg):
                    for p in _positions(geo.kernel):
                        value, _ = _x_pad_read(geo, x, n, g * Cg + c, i, p)
                        total += value * w[(o, c) + p]
                y[(n, o) + i] = total
        return y

    @staticmethod
    def backward(geo, gy, x, w, b):
        """Each term x_pad[n, g·C/G + c, i·s + p·d] · w[o, c, p] of y[n, o, i] sends
        gy[n, o, i] · w[o, c, p] to that input position and gy[n, o, i] · x_pad[...] to w[o, c, p];
        b[o] receives gy[n, o, i]. Terms that read the padding send nothing to x."""
        N, C = x.shape[:2]
        O = w.shape[0]
        Cg, Og = C // geo.groups, O // geo.groups
        gx, gw = np.zeros_like(x), np.zeros_like(w)
        gb = None if b is None else np.zeros_like(b)
        for n, o in itertools.product(range(N), range(O)):
            g = o // Og
            for i in _positions(geo.out_spatial):
                upstream = gy[(n, o) + i]
                if gb is not None:
                    gb[o] += upstream
                for c in range(Cg):
                    for p in _positions(geo.kernel):
                        value, j = _x_pad_read(geo, x, n, g * Cg + c, i, p)
                        gw[(o, c) + p] += upstream * value
                        if j is not None:
                            gx[(n, g * Cg + c) + j] += upstream * w[(o, c) + p]
        return gx, gw, gb


class TransposeLoops:
    """y[n, g·O/G + o, j] = b + Σ_{c, i, p : i·s + p·d − left = j} x[n, g·C/G + c, i] · w[g·C/G + c, o, p],
    literally: every input entry sends x·w to each output position its kernel taps land on
    (``geo`` describes the convolution whose input gradient this is: its ``in_spatial`` is the
    output here)."""

    @staticmethod
    def _terms(geo, x, w):
        """Yield ``(n, c, i, o, p, j)`` for every term that lands inside the output."""
        N, C = x.shape[:2]
        Cg, Og = C // geo.groups, w.shape[1]
        for n, c in itertools.product(range(N), range(C)):
            g = c // Cg
            for i in _positions(geo.out_spatial):
                for o in range(Og):
                    for p in _positions(geo.kernel):
                        j = tuple(ia * s + pa * d - left
                                  for ia, pa, s, d, (left, _) in zip(i, p, geo.stride, geo.dilation, geo.pads))
                        if all(0 <= ja < L for ja, L in zip(j, geo.in_spatial)):
                            yield n, c, i, g * Og + o, o, p, j

    @staticmethod
    def forward(geo, x, w, b):
        y = np.zeros((x.shape[0], w.shape[1] * geo.groups) + geo.in_spatial, dtype=x.dtype)
        if b is not None:
            y += b.reshape((-1,) + (1,) * geo.dims)
        for n, c, i, out_c, o, p, j in TransposeLoops._terms(geo, x, w):
            y[(n, out_c) + j] += x[(n, c) + i] * w[(c, o) + p]
        return y

    @staticmethod
    def backward(geo, gy, x, w, b):
        """Each term x[n, c, i]·w[c, o, p] of y[n, out_c, j] sends gy·w to x and gy·x to w."""
        gx, gw = np.zeros_like(x), np.zeros_like(w)
        for n, c, i, out_c, o, p, j in TransposeLoops._terms(geo, x, w):
            gx[(n, c) + i] += gy[(n, out_c) + j] * w[(c, o) + p]
            gw[(c, o) + p] += gy[(n, out_c) + j] * x[(n, c) + i]
        gb = None if b is None else gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
        return gx, gw, gb


conv1d, conv1d_backward = _conv.conv_family(1, Loops)
conv2d, conv2d_backward = _conv.conv_family(2, Loops)
conv3d, conv3d_backward = _conv.conv_family(3, Loops)
conv_transpose1d, conv_transpose1d_backward = _conv_transpose.conv_transpose_family(1, TransposeLoops)
conv_transpose2d, conv_transpose2d_backward = _conv_transpose.conv_transpose_family(2, TransposeLoops)
conv_transpose3d, conv_transpose3d_backward = _conv_transpose.conv_transpose_family(3, TransposeLoops)


def _source(j: int, length: int, left: int, right: int, mode: str):
    """Where output position ``j`` of an axis padded by ``(left, right)`` reads from, by
    walking the rule rather than by formula: reflect bounces off the end points, replicate
    stops at the edge, constant reads nothing (None) outside ``[0, L)``, and circular first
    crops (negative amounts) and then wraps around what is left."""
    if mode == "circular":
        start, kept = max(-left, 0), length + min(left, 0) + min(right, 0)
        i = j - max(left, 0)
        while i < 0:
            i += kept
        while i >= kept:
            i -= kept
        return start + i
    i = j - left
    if mode == "constant":
        return i if 0 <= i < length else None
    if mode == "replicate":
        return min(max(i, 0), length - 1)
    while not 0 <= i < length:  # reflect
        i = -i if i < 0 else 2 * (length - 1) - i
    return i


def _pad_map(input, pairs, mode):
    """For each output position, the input position it copies (None: the fill)."""
    amounts = [(0, 0)] * input.ndim
    out_shape = list(input.shape)
    for axis, left, right in pairs:
        amounts[axis] = (left, right)
        out_shape[axis] += left + right
    for j in _positions(out_shape):
        src = [_source(ja, L, left, right, mode) for ja, L, (left, right) in zip(j, input.shape, amounts)]
        yield j, None if None in src else tuple(src)


def pad(input, pad, mode="constant", value=None):
    """y[j] = x[src(j)], or the fill value where a constant pad reads nothing."""
    pairs, out_shape = _padding.plan("pad", input, pad, mode, value)
    y = np.zeros(out_shape, dtype=input.dtype)
    for j, src in _pad_map(input, pairs, mode):
        y[j] = (0 if value is None else value) if src is None else input[src]
    return y


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    """gx[i] = Σ_{j : src(j) = i} gy[j]."""
    pairs, out_shape = _padding.plan("pad_backward", input, pad, mode, value)
    _checks.grad_output("pad_backward", grad_output, input, out_shape)
    gx = np.zeros_like(input)
    for j, src in _pad_map(input, pairs, mode):
        if src is not None:
            gx[src] += grad_output[j]
    return (gx,)


from . import second_order as _second_order  # noqa: E402  (after the ops it composes)

_second_order.define(globals())  # NAME_double_backward for every op above, from this tier's own loops
