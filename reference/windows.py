"""Window geometry shared by convolution, transposed convolution and pooling.

Along one spatial axis of length ``L`` (already padded), a window of ``k`` taps with stride
``s`` and dilation ``d`` starts at ``i·s`` and reads positions ``i·s + p·d`` for
``p = 0 … k−1``. The number of whole windows is

    out = ⌊(L − d·(k − 1) − 1) / s⌋ + 1.

:func:`windows` returns a read-only strided view ``v[..., i₁…i_D, p₁…p_D] = x[..., i·s + p·d]``
(no copy), and :func:`scatter_windows` is its adjoint: it adds window values back onto the
positions they were read from. With the flat view and the row-phase layout below, they are
the only places in the package that know how a window is laid out in memory.

For stride 1 there is a second view, by flat position. In a C-contiguous array the spatial
position ``j`` sits at flat index ``Σ_a j_a·S_a`` with ``S_a = Π_{b>a} L_b``, so window ``i`` reads
flat index ``Σ_a i_a·S_a + Σ_a p_a·d_a·S_a``: for each tap ``p``, the windows of a run of
consecutive output rows read one contiguous run of ``x``. :func:`flat_windows` views those runs
(copying them is a straight copy, not one short row at a time); the flat indices in between
(past the end of an output row) belong to no output.

For a stride along the last axis, :func:`split_rows` stores the padded last axis by stride
phase, the rows of one phase one after another: a tap's reads over every row and window are
then one contiguous run of that copy (:func:`row_runs`), and :func:`merge_rows` is the adjoint.
Pooling pools its last axis this way.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided


def size(shape) -> int:
    """Number of entries of an array of ``shape`` (``|out|``, ``|k|`` in the docstrings)."""
    return int(np.prod(shape))


def output_length(length: int, kernel: int, stride: int, dilation: int) -> int:
    """⌊(L − d·(k − 1) − 1)/s⌋ + 1 whole windows fit in ``length`` positions."""
    return (length - dilation * (kernel - 1) - 1) // stride + 1


def first_read(starts: np.ndarray, kernel: int, dilation: int, length: int):
    """For windows starting at ``starts`` along one axis: the first tap ``p`` with ``start + p·d ≥ 0``
    and whether that tap lies inside ``[0, L)`` (whether the window reads the input at all)."""
    p = (np.maximum(-starts, 0) + dilation - 1) // dilation
    return p, (p < kernel) & (starts + p * dilation < length)


def windows(x: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """View ``x[..., *L]`` as ``v[..., *out, *k]`` with ``v[..., i, p] = x[..., i·s + p·d]``.

    The last ``len(kernel)`` axes of ``x`` are the spatial ones. No data is copied.
    """
    dims = len(kernel)
    lead, spatial = x.shape[:-dims], x.shape[-dims:]
    out = tuple(output_length(n, k, s, d) for n, k, s, d in zip(spatial, kernel, stride, dilation))
    axis_strides = x.strides[-dims:]
    strides = (
        x.strides[:-dims]
        + tuple(a * s for a, s in zip(axis_strides, stride))
        + tuple(a * d for a, d in zip(axis_strides, dilation))
    )
    return as_strided(x, lead + out + tuple(kernel), strides, writeable=False)


def flat_strides(shape) -> tuple[int, ...]:
    """``S_a = Π_{b>a} L_b``: how far apart, in elements, neighbours along each axis of a
    C-contiguous array of ``shape`` are."""
    return tuple(int(np.prod(shape[a + 1:])) for a in range(len(shape)))


def flat_windows(x: np.ndarray, kernel, dilation, length: int) -> np.ndarray:
    """View ``x[..., *L]`` (C-contiguous spatial axes) as ``v[..., *k, j]`` with
    ``v[..., p, j] = x_flat[..., j + Σ_a p_a·d_a·S_a]`` for ``j < length``: the stride-1 window of
    output position ``i`` is column ``j = Σ_a i_a·S_a``. The caller keeps every read inside
    ``x``: ``length − 1 + Σ_a (k_a − 1)·d_a·S_a < |L|``. No data is copied.
    """
    dims = len(kernel)
    lead, spatial = x.shape[:-dims], x.shape[-dims:]
    flat = x.reshape(lead + (int(np.prod(spatial)),))
    taps = tuple(d * s * x.itemsize for d, s in zip(dilation, flat_strides(spatial)))
    return as_strided(flat, lead + tuple(kernel) + (length,), flat.strides[:-1] + taps + (x.itemsize,), writeable=False)


def scatter_windows(cols: np.ndarray, spatial, kernel, stride, dilation, out=None) -> np.ndarray:
    """Adjoint of :func:`windows`: ``x[..., i·s + p·d] += cols[..., p, i]``.

    ``cols`` is laid out ``(..., *k, *out)`` (kernel taps before output positions, the order
    the convolution's matrix product produces). One strided slice-add per kernel tap, or, where
    the kernel has more taps than there are windows (a kernel as large as the input), one
    slice-add per window: the Python loop runs over the smaller of the two. The sums go into
    ``out`` when given (an array of shape ``(..., *spatial)``, added to), else into zeros.
    """
    dims = len(kernel)
    n_out = cols.shape[-dims:]
    lead = cols.shape[: -2 * dims]
    x = np.zeros(lead + tuple(spatial), dtype=cols.dtype) if out is None else out
    if size(kernel) > size(n_out):
        for window in itertools.product(*(range(n) for n in n_out)):
            region = tuple(slice(i * s, i * s + d * (k - 1) + 1, d) for i, s, d, k in zip(window, stride, dilation, kernel))
            x[(Ellipsis,) + region] += cols[(Ellipsis,) + (slice(None),) * dims + window]
        return x
    for tap in itertools.product(*(range(k) for k in kernel)):
        region = tuple(
            slice(p * d, p * d + s * (n - 1) + 1, s) for p, d, s, n in zip(tap, dilation, stride, n_out)
        )
        x[(Ellipsis,) + region] += cols[(Ellipsis,) + tap + (slice(None),) * dims]
    return x


def _row_phases(length, before, stride):
    """For each phase ``r < s`` of an axis of ``length`` padded by ``before``: the unpadded
    positions of that phase (a slice) and the slots ``m`` they take (``m·s + r`` is the padded
    position), as ``(r, positions, slots)``."""
    for r in range(stride):
        first = (r - before) % stride  # first unpadded position w with (w + before) ≡ r (mod s)
        count = len(range(first, length, stride))
        slot = (first + before) // stride
        yield r, slice(first, length, stride), slice(slot, slot + count)


def phase_length(padded: int, stride: int) -> int:
    """``M = ⌈P / s⌉``: the slots of one phase of an axis of ``P`` (padded) positions."""
    return -(-padded // stride)


def split_rows(x: np.ndarray, before: int, after: int, stride: int, value, slack: int) -> np.ndarray:
    """Pad the last axis of ``x`` with ``value`` and store it by stride phase, the rows of a
    phase one after another:

        y[r, row·M + m] = x_pad[row, m·s + r],    M = ⌈(before + L + after) / s⌉,

    ``row`` running over the leading positions of ``x`` in C order, then ``slack`` entries of
    ``value``; slots past the padded row hold ``value`` too. One allocation and one copy.

    Why: a window tap reads ``x_pad[row, i·s + p·d]``, every ``s``-th position, and NumPy runs a
    loop over short strided rows several times slower than one over a long contiguous run.
    With ``p·d = q·s + r`` the tap reads ``y[r, row·M + i + q]``: over all rows and windows, one
    contiguous run (:func:`row_runs`).
    """
    lead, length = x.shape[:-1], x.shape[-1]
    rows, slots = int(np.prod(lead)), phase_length(before + length + after, stride)
    y = np.empty((stride, rows * slots + slack), dtype=x.dtype)
    y[:, rows * slots:] = value
    for r, positions, taken in _row_phases(length, before, stride):
        plane = y[r, : rows * slots].reshape(lead + (slots,))
        plane[..., : taken.start] = value
        plane[..., taken.stop:] = value
        plane[..., taken] = x[..., positions]
    return y


def row_runs(rows: int, slots: int, kernel: int, stride: int, dilation: int):
    """The index ``(r, slice(q, q + rows·M))`` into a :func:`split_rows` array of every
    tap ``p < k`` (``p·d = q·s + r``): entry ``row·M + i`` of that run is ``x_pad[row, i·s + p·d]``
    for the windows ``i`` that fit in the row; the run positions past them (``i`` up to ``M``)
    read the next row or the slack and belong to no window. The slack must be at least the
    largest ``q``, ``(k − 1)·d // s``."""
    for p in range(kernel):
        q, r = divmod(p * dilation, stride)
        yield r, slice(q, q + rows * slots)


def merge_rows(y: np.ndarray, before: int, slots: int, out: np.ndarray) -> np.ndarray:
    """Adjoint of :func:`split_rows` (``M = slots``): the entries of ``y`` that hold input
    positions, written into ``out`` (every entry of it); padding, unused slots and slack are
    dropped."""
    lead, length = out.shape[:-1], out.shape[-1]
    rows = int(np.prod(lead))
    for r, positions, taken in _row_phases(length, before, y.shape[0]):
        out[..., positions] = y[r, : rows * slots].reshape(lead + (slots,))[..., taken]
    return out
