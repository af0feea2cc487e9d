"""The definitional tier of unfold and fold: each equation of :mod:`reference.unfold` as loops.

For tiny shapes only. It shares the argument checks and the shapes with :mod:`reference.unfold`
and nothing of the arithmetic: every column entry is read, or added back, one at a time, its
row ``c·|k| + p`` and column ``i`` counted as the loops go (loop variables use the equations'
letters: ``n`` sample, ``c`` channel, ``p`` tap, ``i`` window, ``j`` image position).
"""
from __future__ import annotations

import itertools

import numpy as np

from . import unfold as _unfold


def _positions(shape):
    return itertools.product(*(range(n) for n in shape))


def _terms(geo):
    """Yield ``(row, column, j)`` for every column entry of one sample and channel ``c = 0``:
    tap ``p`` and window ``i`` in row-major order, ``j = i·s + p·d − pad`` (None in the padding)."""
    for row, p in enumerate(_positions(geo.kernel)):
        for column, i in enumerate(_positions(geo.blocks)):
            j = tuple(ia * s + pa * d - pad for ia, pa, s, d, pad in zip(i, p, geo.stride, geo.dilation, geo.padding))
            inside = all(0 <= ja < L for ja, L in zip(j, geo.spatial))
            yield row, column, (j if inside else None)


class Loops:
    """cols[n, c·|k| + p, i] = x_pad[n, c, i·s + p·d] and its adjoint, literally."""

    @staticmethod
    def unfold(geo, x):
        taps = int(np.prod(geo.kernel))
        cols = np.zeros((x.shape[0], geo.channels * taps, int(np.prod(geo.blocks))), dtype=x.dtype)
        for n, c in itertools.product(range(x.shape[0]), range(geo.channels)):
            for row, column, j in _terms(geo):
                if j is not None:
                    cols[n, c * taps + row, column] = x[(n, c) + j]
        return cols

    @staticmethod
    def fold(geo, cols):
        taps = int(np.prod(geo.kernel))
        y = np.zeros((cols.shape[0], geo.channels) + geo.spatial, dtype=cols.dtype)
        for n, c in itertools.product(range(cols.shape[0]), range(geo.channels)):
            for row, column, j in _terms(geo):
                if j is not None:
                    y[(n, c) + j] += cols[n, c * taps + row, column]
        return y


unfold, unfold_backward = _unfold.unfold_family(Loops)
fold, fold_backward = _unfold.fold_family(Loops)
