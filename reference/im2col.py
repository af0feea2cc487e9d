"""im2col: a convolution's input windows laid out as the columns of a matrix, a tile at a time.

With the windows of ``x_pad`` as the columns ``cols[g, (c, p), (n, i)] = x_pad[n, g·C/G + c, i·s + p·d]``,
the convolution of :mod:`reference.conv` is the matrix product ``y[g] = W[g] · cols[g]`` per group
and its weight gradient ``∂E/∂w[g] = gy[g] · cols[g]ᵀ``. :class:`Im2col` builds those columns
one cache-sized tile of the output at a time (:data:`TILE_BYTES`), in the layout that makes the
copy cheapest, and maps a tile's product back to its output positions.
"""
from __future__ import annotations

import numpy as np

from . import padding, windows
from .windows import size

TILE_BYTES = 1 << 22
"""Target size of one tile's im2col: a few MiB, so it is still in cache when the matrix product
reads it, and its buffer is reused (never freshly paged in) from tile to tile."""


class Im2col:
    """The im2col of one convolution's input, a tile at a time, in one of two column layouts.

    dense (any stride): one column per output position,
        ``cols[g, (c, p), (n, i)] = x_pad[n, g·C/G + c, i·s + p·d]``.
    flat (stride 1): one column per flat index ``j`` of ``x_pad``'s spatial axes, whole rows of
        the first axis at a time: ``cols[g, (c, p), (n, j)]`` is ``x_pad[n, g·C/G + c]`` at flat
        index ``j + Σ_a p_a·d_a·S_a`` (see :func:`reference.windows.flat_windows`). Output ``i``
        is column ``j = Σ_a i_a·S_a``; the columns past the end of an output row read the next
        row and are computed and dropped. Each tap's block of a tile is then one straight copy,
        not one copy per output row, which is what makes im2col cheap. ``x_pad`` gets one more
        zero row at the end of its first axis so the last row's columns stay inside it.
        (Products meet the dropped columns only as ``value · 0``; with finite inputs that adds
        exact zeros, but an inf or NaN read there turns into NaN, as padding zeros already do.)

    A tile is ``(samples, all channels, rows)``, rows along the first spatial axis, with about
    :data:`TILE_BYTES` of columns: several whole samples when they fit, else rows of one sample.
    """

    def __init__(self, geo, x: np.ndarray):
        """Pad ``x`` (``(N, C, *L)``) for ``geo`` (a :class:`reference.conv.Geometry`) and pick
        the layout: flat when every stride is 1."""
        self.geo = geo
        self.flat = all(s == 1 for s in geo.stride)
        pairs = geo.pad_pairs
        if self.flat:
            axis, left, right = pairs[0]
            pairs = [(axis, left, right + 1)] + pairs[1:]
        self.x_pad = padding.constant(x, pairs, 0)
        self.row = windows.flat_strides(self.x_pad.shape[2:])[0] if self.flat else size(geo.out_spatial[1:])

    def tiles(self) -> list[tuple]:
        """The tiles, as index tuples ``(samples, all channels, rows)`` into ``(N, ·, *out)``."""
        n, channels = self.x_pad.shape[:2]
        rows = self.geo.out_spatial[0]
        per_tile = max(1, TILE_BYTES // max(channels * size(self.geo.kernel) * self.row * self.x_pad.itemsize, 1))
        if per_tile >= rows:
            step = per_tile // max(rows, 1)
            return [(slice(i, min(i + step, n)), slice(None), slice(0, rows)) for i in range(0, n, step)]
        return [(slice(i, i + 1), slice(None), slice(r, min(r + per_tile, rows))) for i in range(n) for r in range(0, rows, per_tile)]

    def windows(self) -> np.ndarray:
        """All windows as a view, no copy: ``(C, *k, N, columns)`` (flat) or ``(C, *k, N, *out)``."""
        geo, d = self.geo, self.geo.dims
        if self.flat:
            view = windows.flat_windows(self.x_pad, geo.kernel, geo.dilation, geo.out_spatial[0] * self.row)
            return np.moveaxis(view, 0, 1 + d)
        view = windows.windows(self.x_pad, geo.kernel, geo.stride, geo.dilation)  # (N, C, *out, *k)
        return view.transpose((1,) + tuple(range(2 + d, 2 + 2 * d)) + (0,) + tuple(range(2, 2 + d)))

    def _index(self, tile) -> tuple:
        """Index of a tile's samples and columns in the trailing ``(N, columns)`` or ``(N, *out)``."""
        rows = tile[2]
        if self.flat:
            return (Ellipsis, tile[0], slice(rows.start * self.row, rows.stop * self.row))
        return (Ellipsis, tile[0], rows) + (slice(None),) * (self.geo.dims - 1)

    def columns(self):
        """Yield ``(tile, cols)``, cols ``(G, (C/G)·|k|, columns)``, copied into one buffer
        reused from tile to tile (valid until the next tile)."""
        tiles, every_window = self.tiles(), self.windows()
        buffer = np.empty(max((every_window[self._index(tile)].size for tile in tiles[:1]), default=0), dtype=self.x_pad.dtype)
        for tile in tiles:
            view = every_window[self._index(tile)]
            cols = buffer[: view.size].reshape(view.shape)
            np.copyto(cols, view)
            rows = size(view.shape[: 1 + self.geo.dims]) // self.geo.groups  # explicit: columns may be 0
            yield tile, cols.reshape(self.geo.groups, rows, size(view.shape[1 + self.geo.dims:]))

    def positions(self, matrix: np.ndarray, tile) -> np.ndarray:
        """View the ``(X, columns)`` matrix of a tile at its output positions, ``(X, B, rows, ...)``."""
        b, rows = tile[0].stop - tile[0].start, tile[2].stop - tile[2].start
        if not self.flat:
            return matrix.reshape((matrix.shape[0], b, rows) + self.geo.out_spatial[1:])
        wide = matrix.reshape((matrix.shape[0], b, rows) + self.x_pad.shape[3:])
        return wide[(Ellipsis,) + tuple(slice(0, o) for o in self.geo.out_spatial[1:])]

    def laid_out(self, a: np.ndarray) -> np.ndarray:
        """``a`` ``(N, C', *out)`` laid out like the columns, ``(N, C', columns)``: in the flat
        layout, padded with zeros on the right of every axis but the first to the row width."""
        if self.row != size(self.geo.out_spatial[1:]):  # flat, with dropped columns
            pads = [(2 + axis, 0, width - o) for axis, (width, o) in enumerate(zip(self.x_pad.shape[3:], self.geo.out_spatial[1:]), 1)]
            a = padding.constant(a, pads, 0)
        return a.reshape(a.shape[:2] + (self.geo.out_spatial[0] * self.row,))

    def matrix(self, laid_out: np.ndarray, tile) -> np.ndarray:
        """A tile of :meth:`laid_out` as ``(G, C'/G, columns)`` (a view when it holds one sample)."""
        part = laid_out[tile[0], :, slice(tile[2].start * self.row, tile[2].stop * self.row)].swapaxes(0, 1)
        return part.reshape(self.geo.groups, part.shape[0] // self.geo.groups, -1)
