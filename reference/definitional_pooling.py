"""The definitional tier of pooling: each op written as its index equation, loop by loop.

For tiny shapes only. It shares the argument checks and the output shape with
:mod:`reference.pooling` (what a valid call is has one definition) and nothing of the
arithmetic: the windows are walked tap by tap, the divisor is counted, the maximum is found by
its definition (not by a running scan), and gradients are added one term at a time. The
equations are those of the :mod:`reference.pooling` and :mod:`reference.adaptive` docstrings;
loop variables use their letters (``n, c`` plane, ``i`` output position, ``p`` tap, ``j`` input
position).
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

from . import adaptive as _adaptive, pooling as _pooling


def _positions(shape):
    return itertools.product(*(range(n) for n in shape))


def _window(geo, i):
    """The input positions ``j = i·s − pad + p·d`` of window ``i`` that lie inside the input,
    taps ``p`` in row-major order."""
    for p in _positions(geo.kernel):
        j = tuple(ia * s - pad + pa * d for ia, pa, s, pad, d in zip(i, p, geo.stride, geo.padding, geo.dilation))
        if all(0 <= ja < L for ja, L in zip(j, geo.in_spatial)):
            yield j


def _pick(plane, window):
    """The last NaN of ``window`` (positions, in row-major order) if it has one, else its first
    position holding the maximum (padding is −∞, so never chosen while the window reads the input)."""
    nans = [j for j in window if math.isnan(plane[j])]
    if nans:
        return nans[-1]
    top = max(plane[j] for j in window)
    return next(j for j in window if plane[j] == top)


def _selected(geo, plane, i):
    """``idx``: the pick of the taps of window ``i`` that lie inside the input."""
    return _pick(plane, list(_window(geo, i)))


def _gathered(x, out_spatial, in_spatial, select):
    """``y[n, c, i] = x[n, c, select(plane, i)]`` and the flat offsets of the picks."""
    N, C = x.shape[:2]
    y = np.zeros((N, C) + out_spatial, dtype=x.dtype)
    idx = np.zeros((N, C) + out_spatial, dtype=np.int64)
    for n, c in itertools.product(range(N), range(C)):
        for i in _positions(out_spatial):
            j = select(x[n, c], i)
            y[(n, c) + i] = x[(n, c) + j]
            idx[(n, c) + i] = np.ravel_multi_index(j, in_spatial)
    return y, idx


def _routed_back(gy, x, out_spatial, select):
    """``y[n, c, i] = x[n, c, select(plane, i)]`` sends ``gy[n, c, i]`` to that position and
    nothing elsewhere."""
    N, C = x.shape[:2]
    gx = np.zeros_like(x)
    for n, c in itertools.product(range(N), range(C)):
        for i in _positions(out_spatial):
            gx[(n, c) + select(x[n, c], i)] += gy[(n, c) + i]
    return gx


def _divisor(geo, i):
    """``D(i)``: the override, or the taps counted one by one, inside ``[−pad, L + pad)`` along
    every axis (count_include_pad) or inside ``[0, L)``."""
    if geo.divisor_override is not None:
        return geo.divisor_override
    low = [0 if not geo.count_include_pad else -pad for pad in geo.padding]
    high = [L + (pad if geo.count_include_pad else 0) for L, pad in zip(geo.in_spatial, geo.padding)]
    count = 0
    for p in _positions(geo.kernel):
        j = [ia * s - pad + pa for ia, pa, s, pad in zip(i, p, geo.stride, geo.padding)]
        count += all(lo <= ja < hi for ja, lo, hi in zip(j, low, high))
    return count


class Loops:
    """y[n, c, i] = x[n, c, idx(i)] and y[n, c, i] = Σ_p x[n, c, i·s − pad + p] / D(i), literally."""

    @staticmethod
    def max_pool(geo, x, return_indices=True):
        return _gathered(x, geo.out_spatial, geo.in_spatial, lambda plane, i: _selected(geo, plane, i))

    @staticmethod
    def max_pool_backward(geo, gy, x):
        return _routed_back(gy, x, geo.out_spatial, lambda plane, i: _selected(geo, plane, i))

    @staticmethod
    def avg_pool(geo, x):
        N, C = x.shape[:2]
        y = np.zeros((N, C) + geo.out_spatial, dtype=x.dtype)
        for n, c in itertools.product(range(N), range(C)):
            for i in _positions(geo.out_spatial):
                total = x.dtype.type(0)
                with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is NaN, as in torch
                    for j in _window(geo, i):
                        total += x[(n, c) + j]
                    y[(n, c) + i] = total / x.dtype.type(_divisor(geo, i))
        return y

    @staticmethod
    def avg_pool_backward(geo, gy, x):
        """Each tap x[n, c, j] of window i enters y[n, c, i] with weight 1/D(i): it receives
        gy[n, c, i] / D(i)."""
        N, C = x.shape[:2]
        gx = np.zeros_like(x)
        for n, c in itertools.product(range(N), range(C)):
            for i in _positions(geo.out_spatial):
                share = gy[(n, c) + i] / x.dtype.type(_divisor(geo, i))
                for j in _window(geo, i):
                    gx[(n, c) + j] += share
        return gx


def _adaptive_window(geo, i):
    """The input positions of adaptive window ``i``: on every axis ``a``, ``j_a`` from
    ``⌊i_a·L_a/O_a⌋`` to ``⌈(i_a + 1)·L_a/O_a⌉ − 1``, in row-major order."""
    ranges = []
    for ia, L, O in zip(i, geo.in_spatial, geo.out_spatial):
        start = math.floor(Fraction(ia * L, O))
        end = math.ceil(Fraction((ia + 1) * L, O))
        ranges.append(range(start, end))
    return itertools.product(*ranges)


class AdaptiveLoops:
    """y[n, c, i] = Σ_(j ∈ W(i)) x[n, c, j] / |W(i)| and y[n, c, i] = x[n, c, idx(i)], literally."""

    @staticmethod
    def adaptive_avg_pool(geo, x):
        N, C = x.shape[:2]
        y = np.zeros((N, C) + geo.out_spatial, dtype=x.dtype)
        for n, c in itertools.product(range(N), range(C)):
            for i in _positions(geo.out_spatial):
                total, count = x.dtype.type(0), 0
                with np.errstate(invalid="ignore", over="ignore"):  # inf − inf is NaN, as in torch
                    for j in _adaptive_window(geo, i):
                        total += x[(n, c) + j]
                        count += 1
                    y[(n, c) + i] = total / x.dtype.type(count)
        return y

    @staticmethod
    def adaptive_avg_pool_backward(geo, gy, x):
        """Each tap of window i enters y[n, c, i] with weight 1/|W(i)|: it receives gy[n, c, i]/|W(i)|."""
        N, C = x.shape[:2]
        gx = np.zeros_like(x)
        for n, c in itertools.product(range(N), range(C)):
            for i in _positions(geo.out_spatial):
                window = list(_adaptive_window(geo, i))
                for j in window:
                    gx[(n, c) + j] += gy[(n, c) + i] / x.dtype.type(len(window))
        return gx

    @staticmethod
    def adaptive_max_pool(geo, x):
        return _gathered(x, geo.out_spatial, geo.in_spatial, lambda plane, i: _pick(plane, list(_adaptive_window(geo, i))))

    @staticmethod
    def adaptive_max_pool_backward(geo, gy, x):
        return _routed_back(gy, x, geo.out_spatial, lambda plane, i: _pick(plane, list(_adaptive_window(geo, i))))

max_pool1d, max_pool1d_backward = _pooling.max_pool_family(1, Loops)
max_pool2d, max_pool2d_backward = _pooling.max_pool_family(2, Loops)
max_pool3d, max_pool3d_backward = _pooling.max_pool_family(3, Loops)
avg_pool1d, avg_pool1d_backward = _pooling.avg_pool_family(1, Loops)
avg_pool2d, avg_pool2d_backward = _pooling.avg_pool_family(2, Loops)
avg_pool3d, avg_pool3d_backward = _pooling.avg_pool_family(3, Loops)
adaptive_avg_pool1d, adaptive_avg_pool1d_backward = _adaptive.adaptive_avg_pool_family(1, AdaptiveLoops)
adaptive_avg_pool2d, adaptive_avg_pool2d_backward = _adaptive.adaptive_avg_pool_family(2, AdaptiveLoops)
adaptive_avg_pool3d, adaptive_avg_pool3d_backward = _adaptive.adaptive_avg_pool_family(3, AdaptiveLoops)
adaptive_max_pool1d, adaptive_max_pool1d_backward = _adaptive.adaptive_max_pool_family(1, AdaptiveLoops)
adaptive_max_pool2d, adaptive_max_pool2d_backward = _adaptive.adaptive_max_pool_family(2, AdaptiveLoops)
adaptive_max_pool3d, adaptive_max_pool3d_backward = _adaptive.adaptive_max_pool_family(3, AdaptiveLoops)
