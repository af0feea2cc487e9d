"""Window geometry shared by convolution, transposed convolution and pooling.

Along one spatial axis of length ``L`` (already padded), a window of ``k`` taps with stride
``s`` and dilation ``d`` starts at ``i·s`` and reads positions ``i·s + p·d`` for
``p = 0 … k−1``. The number of whole windows is

    out = ⌊(L − d·(k − 1) − 1) / s⌋ + 1.

:func:`windows` returns a read-only strided view ``v[..., i₁…i_D, p₁…p_D] = x[..., i·s + p·d]``
(no copy), and :func:`scatter_windows` is its adjoint: it adds window values back onto the
positions they were read from. The pair is the only place in the package that knows how a
window is laid out in memory.

For stride 1 there is a second view, by flat position. In a C-contiguous array the spatial
position ``j`` sits at flat index ``Σ_a j_a·S_a`` with ``S_a = Π_{b>a} L_b``, so window ``i`` reads
flat index ``Σ_a i_a·S_a + Σ_a p_a·d_a·S_a``: for each tap ``p``, the windows of a run of
consecutive output rows read one contiguous run of ``x``. :func:`flat_windows` views those runs
(copying them is a straight copy, not one short row at a time); the flat indices in between
(past the end of an output row) belong to no output.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided


def output_length(length: int, kernel: int, stride: int, dilation: int) -> int:
    """⌊(L − d·(k − 1) − 1)/s⌋ + 1 whole windows fit in ``length`` positions."""
    return (length - dilation * (kernel - 1) - 1) // stride + 1


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
    the convolution's matrix product produces). One strided slice-add per kernel tap, so the
    Python loop runs over the kernel volume, never over output positions. The sums go into
    ``out`` when given (an array of shape ``(..., *spatial)``, added to), else into zeros.
    """
    dims = len(kernel)
    n_out = cols.shape[-dims:]
    lead = cols.shape[: -2 * dims]
    x = np.zeros(lead + tuple(spatial), dtype=cols.dtype) if out is None else out
    for tap in itertools.product(*(range(k) for k in kernel)):
        region = tuple(
            slice(p * d, p * d + s * (n - 1) + 1, s) for p, d, s, n in zip(tap, dilation, stride, n_out)
        )
        x[(Ellipsis,) + region] += cols[(Ellipsis,) + tap + (slice(None),) * dims]
    return x



def _phase_runs(spatial, before, stride):
    """For each phase ``r`` (a multi-index, ``0 ≤ r_a < s_a``) of an input padded by ``before``:
    the input positions of that phase (slices of the unpadded axes) and the slots they take in
    the phase's plane (slices ``m``, with ``m·s + r`` the padded position)."""
    for r in itertools.product(*(range(s) for s in stride)):
        src, dst = [], []
        for r_a, n, b, s in zip(r, spatial, before, stride):
            first = (r_a - b) % s  # first unpadded position w with (w + b) ≡ r (mod s)
            count = len(range(first, n, s))
            src.append(slice(first, n, s))
            dst.append(slice((first + b) // s, (first + b) // s + count))
        yield r, tuple(src), tuple(dst)


def phase_shape(lead, padded, stride) -> tuple[int, ...]:
    """Shape of the :func:`split_phases` layout of an array ``(*lead, *padded)``: ``(*lead, *s,
    M_0 + 1, M_1, …)`` with ``M_a = ⌈P_a / s_a⌉`` (one slack slab along the first axis)."""
    plane = tuple(-(-n // s) for n, s in zip(padded, stride))
    return tuple(lead) + tuple(stride) + (plane[0] + 1,) + plane[1:]


def split_phases(x: np.ndarray, before, after, stride, value) -> np.ndarray:
    """Pad the last ``D = len(stride)`` axes of ``x`` with ``value`` and store them by phase:
    ``y[..., r, m] = x_pad[..., m·s + r]``, ``y`` of :func:`phase_shape` (the slack slab and
    the padding hold ``value``). One allocation and one copy.

    Why: a window tap reads ``x_pad[..., i·s + p·d]``, every ``s``-th position, and a strided
    NumPy loop over short rows runs several times slower than a contiguous one. With
    ``p·d = q·s + r`` the tap reads ``y[..., r, i + q]``, and in the flattened phase plane the
    positions ``Σ_a (i_a + q_a)·S_a`` of all windows lie in one contiguous run
    (:func:`phase_taps`).
    """
    dims = len(stride)
    lead, spatial = x.shape[:-dims], x.shape[-dims:]
    padded = tuple(n + b + a for n, b, a in zip(spatial, before, after))
    y = np.full(phase_shape(lead, padded, stride), value, dtype=x.dtype)
    for r, src, dst in _phase_runs(spatial, before, stride):
        y[(Ellipsis,) + r + dst] = x[(Ellipsis,) + src]
    return y


def merge_phases(y: np.ndarray, before, shape) -> np.ndarray:
    """Adjoint of :func:`split_phases`: the entries of ``y`` that hold input positions, back in
    an array of ``shape``; padding and slack are dropped."""
    dims = len(before)
    stride = y.shape[-2 * dims: -dims]
    x = np.empty(shape, dtype=y.dtype)
    for r, src, dst in _phase_runs(shape[-dims:], before, stride):
        x[(Ellipsis,) + src] = y[(Ellipsis,) + r + dst]
    return x


def phase_taps(y: np.ndarray, kernel, stride, dilation, out):
    """The windows of a :func:`split_phases` array ``y``, one view per kernel tap in row-major
    order, each ``v_p[..., Σ_a i_a·S_a] = x_pad[..., i·s + p·d]`` over one contiguous run of
    ``out_0·S_0`` entries of the flat phase plane (``S_a = Π_{b>a} M_b``). Run positions whose
    ``i_a ≥ out_a`` on a later axis are not windows: they read neighbouring rows (:func:`crop`
    drops them; a writer must add zeros there). Views are basic slices: writing through one
    writes ``y``."""
    dims = len(kernel)
    plane = y.shape[-dims:]
    flat = y.reshape(y.shape[:-dims] + (int(np.prod(plane)),))
    strides = flat_strides(plane)
    length = out[0] * strides[0]
    for tap in itertools.product(*(range(k) for k in kernel)):
        q, r = zip(*(divmod(p * d, s) for p, d, s in zip(tap, dilation, stride)))
        start = sum(q_a * s_a for q_a, s_a in zip(q, strides))
        yield flat[(Ellipsis,) + r + (slice(start, start + length),)]


def crop(run: np.ndarray, plane, out) -> np.ndarray:
    """The window entries ``a[..., i]`` (``i < out``) of a run laid out like :func:`phase_taps`'s
    views (a view, no copy)."""
    dims = len(out)
    shaped = run.reshape(run.shape[:-1] + (out[0],) + tuple(plane[1:dims]))
    return shaped[(Ellipsis,) + tuple(slice(0, o) for o in out)]
