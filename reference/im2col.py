"""im2col: a convolution's input windows laid out as the columns of a matrix, a tile at a time.

With the windows of ``x_pad`` as the columns ``cols[g, (c, p), (n, i)] = x_pad[n, g·C/G + c, i·s + p·d]``,
the convolution of :mod:`reference.conv` is the matrix product ``y[g] = W[g] · cols[g]`` per group
and its weight gradient ``∂E/∂w[g] = gy[g] · cols[g]ᵀ``. :class:`Im2col` builds those columns
one tile at a time, in the layout that is cheapest for the call, and maps a tile's product
back to its output positions; :meth:`Im2col.scatter` is the adjoint (col2im).

**Layouts**, chosen by cost (:func:`choose_layout`), not by stride alone:

* ``flat`` (every stride 1): one column per flat index ``j`` of ``x_pad``'s spatial axes, whole
  rows of the first axis at a time: ``cols[g, (c, p), (n, j)]`` is ``x_pad[n, g·C/G + c]`` at flat
  index ``j + Σ_a p_a·d_a·S_a`` (:func:`reference.windows.flat_windows`). Output ``i`` is column
  ``j = Σ_a i_a·S_a``; the columns past the end of an output row read the next row and are
  computed and dropped. Each tap's block of a tile is one straight copy (for a 1×1 kernel
  without padding, no copy at all), not one copy per output row. ``x_pad`` gets one more zero
  row at the end of its first axis so the last row's columns stay inside it. The dropped
  columns cost work, ``waste = out₀·Π_{a≥1} P_a / |out|`` times the useful columns, so the layout
  is taken only while ``waste ≤`` :data:`FLAT_WASTE`. (Products meet the dropped columns only as
  ``value · 0``; with finite inputs that adds exact zeros, but an inf or NaN read there turns
  into NaN, as padding zeros already do.)
* ``dense`` (any stride): one column per output position, copied from the strided window view
  of ``x_pad``, which is cropped to the positions some window reads.
* ``gather``: the same columns, gathered by index from the input with one zero appended to each
  spatial axis (every padding position reads that zero), so no padded copy exists. Taken when
  the padded input would be more than :data:`PAD_FACTOR` times the input and output together:
  heavy padding with a large stride or dilation, where windows read a few of many padded positions.

**Tiles and chunks.** A tile is ``(samples, rows)`` of the output, rows along the first spatial
axis: several whole samples when they fit, else rows of one sample. When even one output row's
columns exceed the budget (a kernel as large as the input), the rows ``(c, p)`` of the
columns are cut into chunks too: whole channels, or taps ``p₀`` of the kernel's first axis within
one channel, and the tile's product is the sum of its chunks' products (still a direct sum of the
equation's products, grouped differently).

**Memory bound.** Beyond its arguments, output and gradients, an op holds at most

* one padded copy of its input (``flat``, ``dense``: at most :data:`PAD_FACTOR` × (input + output)
  by the layout rule), or the input with one zero per axis (``gather``: at most 2^D × input);
  an upstream gradient laid out with the flat layout's row width (at most :data:`FLAT_WASTE` ×
  the gradient);
* one tile's columns and one tile's product, each at most ``max(TILE_BYTES, U)``, where the unit
  ``U = itemsize · max(G · |k|/k₀ · W, O · W)``, ``W`` the columns of one output row (one
  channel's taps of one kernel row, and one output row of every channel); the matrices of
  weight size (a chunk of ``W``, ``Wᵀ``, the weight gradient being summed);
* for ``gather``, the tile's index arrays (one entry per tap and output position of an axis).

``tests/reference/test_memory.py`` holds it with ``tracemalloc`` on shapes that stress it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import padding, windows
from .windows import size

TILE_BYTES = 1 << 22
"""Target size of one tile's im2col: a few MiB, so it is still in cache when the matrix product
reads it, and its buffer is reused (never freshly paged in) from tile to tile."""

PAD_FACTOR = 2
"""The padded input is materialised only while it is at most this many times the input and the
output together; past it the columns are gathered from the input (the ``gather`` layout)."""

FLAT_WASTE = 1.5
"""The flat layout is used only while it computes at most this many columns per output column."""

LAYOUT: str | None = None
"""When set (the tests do), every im2col takes this layout where it applies (``flat``: stride 1,
and not for :meth:`Im2col.scatter`), whatever :func:`choose_layout` would pick."""


class Chunk(NamedTuple):
    """The rows ``(c, p)`` of one tile's columns that one matrix product covers: the local
    channels ``channels`` (of ``C/G``, in every group) and the taps ``taps`` of the kernel's first
    axis; ``first`` and ``last`` say where it stands among its tile's chunks."""

    channels: slice
    taps: slice
    first: bool
    last: bool

    @property
    def whole(self) -> bool:
        return self.first and self.last


WHOLE = Chunk(slice(None), slice(None), True, True)


def reach(geo) -> tuple[int, ...]:
    """Per axis, the padded positions some window reads: ``(out − 1)·s + d·(k − 1) + 1``."""
    return tuple((o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(geo.out_spatial, geo.stride, geo.dilation, geo.kernel))


def flat_waste(geo) -> float:
    """Columns the flat layout computes per output column: a row of ``x_pad`` per output row."""
    return geo.out_spatial[0] * size(reach(geo)[1:]) / max(size(geo.out_spatial), 1)


def choose_layout(geo, shape, out_channels: int, scatter: bool = False) -> str:
    """``gather`` when the padded input would outweigh input and output :data:`PAD_FACTOR` times;
    else ``flat`` for stride 1 while its dropped columns are at most :data:`FLAT_WASTE` (never for a
    ``scatter``: the adjoint of a stride-1 im2col is computed as a correlation); else ``dense``."""
    flat_allowed = not scatter and all(s == 1 for s in geo.stride)
    if LAYOUT is not None and (LAYOUT != "flat" or flat_allowed):
        return LAYOUT
    n, channels = shape[:2]
    padded = n * channels * size(reach(geo))
    if padded > PAD_FACTOR * (n * channels * size(shape[2:]) + n * out_channels * size(geo.out_spatial)):
        return "gather"
    if flat_allowed and flat_waste(geo) <= FLAT_WASTE:
        return "flat"
    return "dense"


def _axis_index(stride: int, dilation: int, left: int, length: int, taps: range, outputs: range) -> np.ndarray:
    """``pos[p, i] = i·s + p·d − left`` (the input position tap ``p`` of window ``i`` reads along one
    axis), with every position outside ``[0, L)`` sent to ``L``, the appended zero."""
    pos = np.asarray(outputs)[None, :] * stride + np.asarray(taps)[:, None] * dilation - left
    return np.where((pos >= 0) & (pos < length), pos, length).astype(np.intp)


class Im2col:
    """The im2col of one convolution's input (or, for :meth:`scatter`, its adjoint's target),
    a tile and a chunk at a time, in the ``flat``, ``dense`` or ``gather`` layout.

    ``geo`` is a :class:`reference.conv.Geometry`; ``shape`` the input's ``(N, C, *L)``;
    ``out_channels`` the channels of the products (it bounds a tile's product buffer). With
    ``x=None``, ``shape`` and ``dtype`` describe the input and only the adjoint is available
    (``scatter=True``).
    """

    def __init__(self, geo, x: np.ndarray | None, out_channels: int, shape=None, dtype=None, scatter: bool = False):
        self.geo = geo
        self.shape = tuple(x.shape if x is not None else shape)
        self.dtype = np.dtype(x.dtype if x is not None else dtype)
        self.out_channels = out_channels
        self.layout = choose_layout(geo, self.shape, out_channels, scatter)
        reached = reach(geo)
        if self.layout == "gather":
            self.pairs = [(2 + a, 0, 1) for a in range(geo.dims)]  # one zero at the end of each axis
            self.padded_shape = self.shape[:2] + tuple(n + 1 for n in self.shape[2:])
            self.row = size(geo.out_spatial[1:])
        else:
            self.pairs = [(2 + a, left, r - left - n) for a, ((left, _), r, n) in enumerate(zip(geo.pads, reached, self.shape[2:]))]
            if self.layout == "flat":
                axis, left, right = self.pairs[0]
                self.pairs[0] = (axis, left, right + 1)
            self.padded_shape = self.shape[:2] + tuple(n + left + right for n, (_, left, right) in zip(self.shape[2:], self.pairs))
            self.row = windows.flat_strides(self.padded_shape[2:])[0] if self.layout == "flat" else size(geo.out_spatial[1:])
        self.padded = any(left or right for _, left, right in self.pairs)
        self.x_pad = padding.constant(x, self.pairs, 0) if x is not None and self.padded else x  # only read

    # -- the plan: tiles and chunks ---------------------------------------------------------

    @property
    def copies(self) -> bool:
        """Whether a tile's columns must be copied: all but a 1×1 kernel read in place."""
        return not (self.layout == "flat" and size(self.geo.kernel) == 1 and self.row == size(self.geo.out_spatial[1:]))

    def _row_bytes(self) -> tuple[int, int]:
        """Bytes of one output row of one sample: its columns (every row ``(c, p)``) and its product."""
        cols = self.shape[1] * size(self.geo.kernel) * self.row * self.dtype.itemsize
        return cols, self.out_channels * self.row * self.dtype.itemsize

    def tiles(self) -> list[tuple]:
        """The tiles, as index tuples ``(samples, all channels, rows)`` into ``(N, ·, *out)``."""
        n, rows = self.shape[0], self.geo.out_spatial[0]
        if not self.copies:  # the columns are views: one whole sample at a time
            return [(slice(i, i + 1), slice(None), slice(0, rows)) for i in range(n)]
        per_tile = max(1, TILE_BYTES // max(max(self._row_bytes()), 1))
        if per_tile >= rows:
            step = per_tile // max(rows, 1)
            return [(slice(i, min(i + step, n)), slice(None), slice(0, rows)) for i in range(0, n, step)]
        return [(slice(i, i + 1), slice(None), slice(r, min(r + per_tile, rows))) for i in range(n) for r in range(0, rows, per_tile)]

    def chunks(self) -> list[Chunk]:
        """The chunks of every tile: :data:`WHOLE` unless one output row's columns exceed the budget."""
        cols_bytes = self._row_bytes()[0]
        if cols_bytes <= TILE_BYTES:
            return [WHOLE]
        cg, k0 = self.shape[1] // self.geo.groups, self.geo.kernel[0]
        per_channel = cols_bytes // cg
        if per_channel <= TILE_BYTES:
            step = TILE_BYTES // per_channel
            parts = [(slice(c, min(c + step, cg)), slice(0, k0)) for c in range(0, cg, step)]
        else:
            step = max(1, TILE_BYTES // (per_channel // k0))
            parts = [(slice(c, c + 1), slice(p, min(p + step, k0))) for c in range(cg) for p in range(0, k0, step)]
        return [Chunk(c, p, i == 0, i == len(parts) - 1) for i, (c, p) in enumerate(parts)]

    # -- the columns -------------------------------------------------------------------------

    def _grouped(self, view: np.ndarray) -> np.ndarray:
        """``(C, ...)`` as ``(G, C/G, ...)``: a view."""
        return view.reshape((self.geo.groups, view.shape[0] // self.geo.groups) + view.shape[1:])

    def windows(self) -> np.ndarray:
        """All windows as a view, no copy: ``(G, C/G, *k, N, columns)`` (flat) or ``(G, C/G, *k, N, *out)``."""
        geo, d = self.geo, self.geo.dims
        if self.layout == "flat":
            view = windows.flat_windows(self.x_pad, geo.kernel, geo.dilation, geo.out_spatial[0] * self.row)
            return self._grouped(np.moveaxis(view, 0, 1 + d))
        view = windows.windows(self.x_pad, geo.kernel, geo.stride, geo.dilation)  # (N, C, *out, *k)
        return self._grouped(view.transpose((1,) + tuple(range(2 + d, 2 + 2 * d)) + (0,) + tuple(range(2, 2 + d))))

    def _index(self, tile, chunk: Chunk) -> tuple:
        """Index of a tile's chunk in :meth:`windows`."""
        rows = tile[2]
        lead = (slice(None), chunk.channels, chunk.taps) + (slice(None),) * (self.geo.dims - 1)
        if self.layout == "flat":
            return lead + (tile[0], slice(rows.start * self.row, rows.stop * self.row))
        return lead + (tile[0], rows) + (slice(None),) * (self.geo.dims - 1)

    def _gather_index(self, tile, chunk: Chunk) -> tuple:
        """The index into the ``gather`` source ``(G, C/G, N, *(L + 1))`` of a tile's chunk:
        broadcast index arrays of shape ``(*k, B, *rows)``, one per axis, and the samples."""
        geo, d = self.geo, self.geo.dims
        taps0 = range(geo.kernel[0])[chunk.taps]
        outputs = [range(tile[2].start, tile[2].stop)] + [range(o) for o in geo.out_spatial[1:]]
        taps = [taps0] + [range(k) for k in geo.kernel[1:]]
        arrays = []
        for a in range(d):
            pos = _axis_index(geo.stride[a], geo.dilation[a], geo.pads[a][0], self.shape[2 + a], taps[a], outputs[a])
            shape = [1] * (2 * d + 1)
            shape[a], shape[d + 1 + a] = pos.shape
            arrays.append(pos.reshape(shape))
        samples = np.arange(self.shape[0])[tile[0]].reshape((1,) * d + (-1,) + (1,) * d)
        return (slice(None), chunk.channels, samples, *arrays)

    def _gather_source(self, a: np.ndarray) -> np.ndarray:
        """``(N, C, *L')`` as ``(G, C/G, N, *L')``: a view."""
        return self._grouped(a.swapaxes(0, 1))

    def columns(self):
        """Yield ``(tile, chunk, cols)``, cols ``(G, rows of the chunk, columns)``; the chunks of a
        tile come one after another. A copy (valid until the next yield) or a view."""
        tiles, chunks = self.tiles(), self.chunks()
        every_window = None if self.layout == "gather" else self.windows()
        buffer = None
        for tile in tiles:
            for chunk in chunks:
                if self.layout == "gather":  # fancy indexing makes a fresh array: no buffer
                    cols = self._gather_source(self.x_pad)[self._gather_index(tile, chunk)]
                elif not self.copies:  # a 1×1 kernel's columns are the input itself
                    cols = every_window[self._index(tile, chunk)]
                else:
                    view = every_window[self._index(tile, chunk)]
                    if buffer is None or buffer.size < view.size:
                        buffer = np.empty(view.size, dtype=self.dtype)
                    cols = buffer[: view.size].reshape(view.shape)
                    np.copyto(cols, view)
                yield tile, chunk, self._matrix_of(cols)

    def _matrix_of(self, cols: np.ndarray) -> np.ndarray:
        """``(G, c, *k, B, *rows)`` as ``(G, (c, p), (B, rows))`` (a view where the strides allow)."""
        d = self.geo.dims
        rows = size(cols.shape[1: 2 + d])  # explicit: columns may be 0
        return cols.reshape(cols.shape[0], rows, size(cols.shape[2 + d:]))

    # -- the matrices that meet the columns ----------------------------------------------------

    def _chunk_part(self, a: np.ndarray, chunk: Chunk, axis: int) -> np.ndarray:
        """The entries of ``a``'s rows axis ``axis`` (``(C/G)·|k|``, ordered ``(c, p)``) that ``chunk``
        covers, that axis split into ``(c, p₀, rest)``: a view where ``a`` is contiguous."""
        k0 = self.geo.kernel[0]
        cg = a.shape[axis] // size(self.geo.kernel)
        split = a.reshape(a.shape[:axis] + (cg, k0, a.shape[axis] // (cg * k0)) + a.shape[axis + 1:])
        return split[(slice(None),) * axis + (chunk.channels, chunk.taps)]

    def rows(self, a: np.ndarray, chunk: Chunk, axis: int = -1) -> np.ndarray:
        """The entries of ``a``'s rows axis ``axis`` (ordered ``(c, p)``) that ``chunk`` covers."""
        if chunk.whole:
            return a
        axis %= a.ndim
        part = self._chunk_part(a, chunk, axis)
        return part.reshape(part.shape[:axis] + (-1,) + part.shape[axis + 3:])

    def add_rows(self, a: np.ndarray, chunk: Chunk, axis: int, value: np.ndarray) -> None:
        """``a[rows of chunk] += value`` along ``a``'s rows axis ``axis`` (``a`` contiguous)."""
        if chunk.whole:
            a += value
            return
        part = self._chunk_part(a, chunk, axis % a.ndim)
        part += value.reshape(part.shape)

    def positions(self, matrix: np.ndarray, tile) -> np.ndarray:
        """View the ``(X, columns)`` matrix of a tile at its output positions, ``(X, B, rows, ...)``."""
        b, rows = tile[0].stop - tile[0].start, tile[2].stop - tile[2].start
        if self.layout != "flat":
            return matrix.reshape((matrix.shape[0], b, rows) + self.geo.out_spatial[1:])
        wide = matrix.reshape((matrix.shape[0], b, rows) + self.padded_shape[3:])
        return wide[(Ellipsis,) + tuple(slice(0, o) for o in self.geo.out_spatial[1:])]

    def direct_output(self, out: np.ndarray, tile) -> np.ndarray | None:
        """Where a tile's product can be written straight into ``out`` ``(N, X, *out)`` (one sample,
        no dropped columns): that part of ``out`` as ``(G, X/G, columns)``; else None."""
        if tile[0].stop - tile[0].start != 1 or self.row != size(self.geo.out_spatial[1:]):
            return None
        part = out[tile[0].start, :, tile[2]]
        if not part.flags.c_contiguous:
            return None
        return part.reshape(self.geo.groups, part.shape[0] // self.geo.groups, -1)

    def laid_out(self, a: np.ndarray) -> np.ndarray:
        """``a`` ``(N, C', *out)`` laid out like the columns, ``(N, C', columns)``: in the flat
        layout, padded with zeros on the right of every axis but the first to the row width."""
        if self.row != size(self.geo.out_spatial[1:]):  # flat, with dropped columns
            pads = [(2 + axis, 0, width - o) for axis, (width, o) in enumerate(zip(self.padded_shape[3:], self.geo.out_spatial[1:]), 1)]
            a = padding.constant(a, pads, 0)
        return a.reshape(a.shape[:2] + (self.geo.out_spatial[0] * self.row,))

    def matrix(self, laid_out: np.ndarray, tile) -> np.ndarray:
        """A tile of :meth:`laid_out` as ``(G, C'/G, columns)`` (a view when it holds one sample)."""
        part = laid_out[tile[0], :, slice(tile[2].start * self.row, tile[2].stop * self.row)].swapaxes(0, 1)
        return part.reshape(self.geo.groups, part.shape[0] // self.geo.groups, -1)

    # -- the adjoint: col2im -----------------------------------------------------------------

    def target(self) -> np.ndarray:
        """Zeros the shape of the (padded) source, for :meth:`scatter` to add into."""
        return np.zeros(self.padded_shape, dtype=self.dtype)

    def scatter(self, target: np.ndarray, grad_cols: np.ndarray, tile, chunk: Chunk) -> None:
        """Adjoint of :meth:`columns`: add a tile's chunk of column values ``(G, rows, columns)``
        back onto ``target`` (:meth:`target`) where they were read from (``dense`` or ``gather``)."""
        geo, d = self.geo, self.geo.dims
        b, rows = tile[0].stop - tile[0].start, tile[2].stop - tile[2].start
        cg = self.shape[1] // geo.groups
        channels = len(range(cg)[chunk.channels])
        taps = range(geo.kernel[0])[chunk.taps]
        shape = (geo.groups, channels, len(taps)) + geo.kernel[1:] + (b, rows) + geo.out_spatial[1:]
        cols = grad_cols.reshape(shape)
        if self.layout == "gather":
            np.add.at(self._gather_source(target), self._gather_index(tile, chunk), cols)
            return
        # (B, G, c, *k, *out), scattered into the target's part that this tile's chunk reaches
        cols = np.moveaxis(cols, 2 + d, 0)
        start = tile[2].start * geo.stride[0] + taps.start * geo.dilation[0]
        part = target[tile[0]].reshape((b, geo.groups, cg) + self.padded_shape[2:])[:, :, chunk.channels, start:]
        windows.scatter_windows(cols, part.shape[3:], (len(taps),) + geo.kernel[1:], geo.stride, geo.dilation, out=part)

    def unpadded(self, target: np.ndarray) -> np.ndarray:
        """The adjoint of the padding: the input positions' sums, padding and crops dropped."""
        return padding.constant_adjoint(target, self.pairs, self.shape) if self.padded else target
