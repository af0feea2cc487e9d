"""Convolution and padding written out as matrices: the dense ``M`` with ``conv(x) = M·x``.

For one unbatched sample ``x`` of shape ``(C, *L)`` and a weight ``w`` of shape
``(O, C/G, *k)``, the convolution of :mod:`reference.conv` (bias aside) is linear in ``x``, so
it is a matrix acting on ``x.ravel()``. Rows are the output entries ``(o, i)`` and columns the
input entries ``(c, j)``, both flattened in C order (``np.ravel`` of ``(O, *L_out)`` and of
``(C, *L)``). With ``g = o // (O/G)`` the group of output channel ``o``:

    M[(o, i), (c, j)] = w[o, c − g·C/G, p]   where j = i·s + p·d − left,  g·C/G ≤ c < (g+1)·C/G

and 0 everywhere else: a row holds the ``(C/G)·|k|`` weights of one output channel, placed on
the input positions its window reads (a window tap that lands in the zero padding, ``j``
outside ``[0, L)``, reads nothing and adds no entry). This is the index equation of the
convolution, ``y[o, i] = Σ_{c, p} x_pad[g·C/G + c, i·s + p·d]·w[o, c, p]``, read as a matrix.

Two facts of backpropagation are then plain linear algebra:

* **Weight sharing.** The same ``w[o, c, p]`` sits in every row ``(o, i)`` whose window
  reaches an input (its *tied entries*, :func:`tied_positions`). For ``E`` with
  ``g_y = ∂E/∂y``, ``∂E/∂M = g_y·xᵀ`` (an outer product), and since ``w[o, c, p]`` enters ``E``
  through each of its tied entries, ``∂E/∂w[o, c, p] = Σ_{tied (r, q)} (g_y·xᵀ)[r, q]``
  (:func:`tied_sum`): the convolution's weight gradient.
* **The backward is the transpose.** ``∂E/∂x = Mᵀ·g_y``: the transposed convolution.

A padding mode other than zeros is a gather, ``pad(x) = P·x`` with one 1 per row of ``P``
(:func:`pad_matrix`), so a convolution with ``padding_mode`` m is ``M_valid·P``
(:func:`padded_conv_matrix`), and its input gradient ``Pᵀ·M_validᵀ·g_y``.

For small shapes only: ``M`` is dense, ``|O·L_out| × |C·L|``. The shapes and the arguments are
validated by the same code as the convolution's (:func:`reference.conv.geometry`) and the
padding's (:func:`reference.padding.plan`), so a call this module accepts is one the
convolution accepts, and the error messages are the same.
"""
from __future__ import annotations

import numpy as np

from . import checks, conv as _conv, padding as _padding


def _shape(op: str, input_shape, rank: int | None = None) -> tuple[int, ...]:
    """``input_shape`` as a tuple of non-negative ints (of ``rank`` entries when given)."""
    if not isinstance(input_shape, (tuple, list)) or not all(checks.is_int(n) for n in input_shape):
        raise TypeError(f"{op}: input_shape must be a tuple of ints, got input_shape={input_shape!r}")
    if any(n < 0 for n in input_shape):
        raise ValueError(f"{op}: input_shape must hold non-negative sizes, got input_shape={tuple(input_shape)}")
    if rank is not None and len(input_shape) != rank:
        raise ValueError(
            f"{op}: input_shape must be one unbatched sample (C, *spatial) with {rank - 1} spatial "
            f"axes, as weight has, got input_shape={tuple(input_shape)}"
        )
    return tuple(int(n) for n in input_shape)


def _geometry(op: str, input_shape, weight, stride, padding, dilation, groups) -> _conv.Geometry:
    """The convolution's own validation, on a stand-in input of ``input_shape`` (no data)."""
    checks.float_array(op, "weight", weight)
    if weight.ndim < 3:
        raise ValueError(f"{op}: weight must be (O, C/groups, *k) with at least one spatial axis, "
                         f"got weight.shape={weight.shape}")
    dims = weight.ndim - 2
    shape = _shape(op, input_shape, dims + 1)
    stand_in = np.broadcast_to(np.zeros((), dtype=weight.dtype), shape)
    return _conv.geometry(op, dims, stand_in, weight, None, stride, padding, dilation, groups)


def _column(values) -> np.ndarray:
    """Per-axis numbers as a column, to broadcast against index rows ``(dims, terms)``."""
    return np.asarray(values).reshape(-1, 1)


def conv_matrix_entries(input_shape, weight, stride=1, padding=0, dilation=1, groups=1, *, op="conv_matrix_entries"):
    """Where each weight entry lands in the convolution's matrix.

    Returns ``(rows, cols, taps, shape)``: ``M[rows[t], cols[t]] = weight.flat[taps[t]]`` for
    every term ``t`` of the index equation (module docstring) whose input position ``j`` lies
    inside the input, and ``shape = (O·|L_out|, C·|L|)``. One term per ``(o, c, i, p)``; the
    ``(row, col)`` pairs are distinct, since two taps of one window never read one input.
    """
    geo = _geometry(op, input_shape, weight, stride, padding, dilation, groups)
    out_channels, per_group = weight.shape[:2]
    channels, dims = per_group * geo.groups, geo.dims
    # Every term (o, c, i, p) of the equation as one column of index rows: o, c, i (dims rows), p (dims rows).
    terms = np.indices((out_channels, per_group) + geo.out_spatial + geo.kernel).reshape(2 + 2 * dims, -1)
    o, c, i, p = terms[0], terms[1], terms[2:2 + dims], terms[2 + dims:]
    j = i * _column(geo.stride) + p * _column(geo.dilation) - _column([left for left, _ in geo.pads])
    inside = np.all((j >= 0) & (j < _column(geo.in_spatial)), axis=0)  # taps on the zero padding read nothing
    o, c, i, p, j = o[inside], c[inside], i[:, inside], p[:, inside], j[:, inside]
    g = o // (out_channels // geo.groups)
    rows = np.ravel_multi_index((o, *i), (out_channels,) + geo.out_spatial)
    cols = np.ravel_multi_index((g * per_group + c, *j), (channels,) + geo.in_spatial)
    taps = np.ravel_multi_index((o, c, *p), weight.shape)
    shape = (out_channels * int(np.prod(geo.out_spatial)), channels * int(np.prod(geo.in_spatial)))
    return rows, cols, taps, shape


def output_shape(input_shape, weight, stride=1, padding=0, dilation=1, groups=1) -> tuple[int, ...]:
    """``(O, *L_out)``: the shape of the convolution's output for one sample of ``input_shape``,
    ``L_out = ⌊(L + left + right − d·(k − 1) − 1)/s⌋ + 1`` per axis (:mod:`reference.conv`)."""
    geo = _geometry("output_shape", input_shape, weight, stride, padding, dilation, groups)
    return (weight.shape[0],) + geo.out_spatial


def conv_matrix(input_shape, weight, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """The dense matrix ``M`` with ``conv(x, weight, ...).ravel() == M @ x.ravel()``.

    ``input_shape`` is one unbatched sample ``(C, *L)``; ``weight`` ``(O, C/groups, *k)`` with
    1, 2 or more spatial axes; ``stride``, ``padding`` (int, tuple, ``'valid'``, ``'same'``; zero
    padding), ``dilation`` and ``groups`` as in :func:`reference.functional.conv2d`.
    ``M`` has shape ``(O·|L_out|, C·|L|)`` and weight's dtype, with

        M[(o, i), (c, j)] = w[o, c − g·C/G, p]   where j = i·s + p·d − left,  g = o // (O/G)

    and zeros elsewhere (see the module docstring). The bias is not part of ``M``: it adds
    ``b[o]`` to every row of output channel ``o``.
    """
    rows, cols, taps, shape = conv_matrix_entries(input_shape, weight, stride, padding, dilation, groups, op="conv_matrix")
    matrix = np.zeros(shape, dtype=weight.dtype)
    np.add.at(matrix, (rows, cols), weight.ravel()[taps])
    return matrix


def tied_positions(input_shape, weight, tap, stride=1, padding=0, dilation=1, groups=1) -> list[tuple[int, int]]:
    """The ``(row, col)`` entries of :func:`conv_matrix` that hold ``weight[tap]``.

    ``tap`` is a full index ``(o, c, *p)`` into ``weight``. These are the tied entries of weight
    sharing: one per output position ``i`` whose tap ``p`` reads an input (not the padding).
    """
    tap = tuple(tap) if isinstance(tap, (tuple, list)) else tap
    if not isinstance(tap, tuple) or len(tap) != weight.ndim or not all(checks.is_int(t) for t in tap):
        raise TypeError(f"tied_positions: tap must be a tuple of {weight.ndim} ints indexing weight, got tap={tap!r}")
    if not all(0 <= t < n for t, n in zip(tap, weight.shape)):
        raise ValueError(f"tied_positions: tap={tap} is outside weight.shape={weight.shape}")
    rows, cols, taps, _ = conv_matrix_entries(input_shape, weight, stride, padding, dilation, groups, op="tied_positions")
    mine = taps == np.ravel_multi_index(tap, weight.shape)
    return [(int(r), int(q)) for r, q in zip(rows[mine], cols[mine])]


def tied_sum(grad_matrix, input_shape, weight, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """``∂E/∂w`` from ``∂E/∂M``: each weight entry collects the gradient of all its tied entries,

        ∂E/∂w[o, c, p] = Σ_{(r, q) tied to w[o, c, p]} ∂E/∂M[r, q]

    (the chain rule through ``M = M(w)``, linear in ``w`` with coefficient 1 at each tied entry).
    ``grad_matrix`` has :func:`conv_matrix`'s shape; the result has weight's shape and dtype.
    """
    rows, cols, taps, shape = conv_matrix_entries(input_shape, weight, stride, padding, dilation, groups, op="tied_sum")
    checks.float_array("tied_sum", "grad_matrix", grad_matrix)
    if grad_matrix.shape != shape:
        raise ValueError(f"tied_sum: grad_matrix must have the matrix's shape {shape}, got grad_matrix.shape={grad_matrix.shape}")
    total = np.zeros(weight.size, dtype=np.result_type(grad_matrix, weight))
    np.add.at(total, taps, grad_matrix[rows, cols])
    return total.reshape(weight.shape).astype(weight.dtype, copy=False)


def pad_matrix(input_shape, pad, mode="constant", *, dtype=np.float64) -> np.ndarray:
    """The matrix ``P`` with ``pad(x, pad, mode).ravel() == P @ x.ravel()`` for ``x`` of ``input_shape``.

    ``pad`` is ordered as in ``torch.nn.functional.pad`` (last axis first, ``(left, right)`` per
    axis; negative amounts crop); ``mode`` is ``'constant'`` (zero fill only: a non-zero fill
    would make padding affine, not linear), ``'reflect'``, ``'replicate'`` or ``'circular'``.
    Along each axis output position ``j`` reads input position ``src(j)``
    (:func:`reference.padding.source_index`; for constant, ``j − left`` when it is inside the
    input, else nothing), so

        P[(…, j, …), (…, src(j), …)] = 1,   all other entries 0:

    one 1 in each row that reads an input, none in a row of the zero fill. ``P`` has shape
    ``(|padded|, |input|)`` and ``dtype``; ``Pᵀ`` is :func:`reference.padding.pad_backward`.
    """
    op = "pad_matrix"
    shape = _shape(op, input_shape)
    stand_in = np.broadcast_to(np.zeros((), dtype=np.float64), shape)
    pairs, out_shape = _padding.plan(op, stand_in, pad, mode, None)
    sources = [np.arange(n) for n in shape]  # unpadded axes copy themselves
    for axis, left, right in pairs:
        if mode == "constant":
            sources[axis] = np.arange(-left, shape[axis] + right)  # outside [0, L): the fill, read below as "none"
        else:
            sources[axis] = _padding.source_index(shape[axis], left, right, mode)
    grids = np.meshgrid(*sources, indexing="ij")
    inside = np.ones(out_shape, dtype=bool)
    for grid, n in zip(grids, shape):
        inside &= (grid >= 0) & (grid < n)
    matrix = np.zeros((int(np.prod(out_shape)), int(np.prod(shape))), dtype=dtype)
    rows = np.flatnonzero(inside)
    cols = np.ravel_multi_index(tuple(grid[inside] for grid in grids), shape) if shape else np.zeros(1, dtype=np.intp)
    matrix[rows, cols] = 1
    return matrix


def torch_pad(pads) -> tuple[int, ...]:
    """Per-axis ``(left, right)`` pairs as a ``torch.nn.functional.pad`` tuple: last axis first."""
    return tuple(amount for pair in reversed(tuple(pads)) for amount in pair)


def padded_conv_matrix(input_shape, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """The matrix of ``torch.nn.ConvNd(..., padding_mode=padding_mode)`` on one sample: ``M_valid·P``.

    ``padding_mode='zeros'`` is :func:`conv_matrix` itself. The other modes pad first, by the
    same ``(left, right)`` amounts (``'same'`` splits as the convolution does), and convolve
    with no padding, so the matrix is the valid convolution's matrix on the padded shape times
    the padding matrix of :func:`pad_matrix`.
    """
    if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(
            f"padded_conv_matrix: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
            f"got padding_mode={padding_mode!r}"
        )
    geo = _geometry("padded_conv_matrix", input_shape, weight, stride, padding, dilation, groups)
    if padding_mode == "zeros":
        return conv_matrix(input_shape, weight, stride, padding, dilation, groups)
    padded = (input_shape[0],) + geo.padded_spatial
    valid = conv_matrix(padded, weight, stride, 0, dilation, groups)
    return valid @ pad_matrix(input_shape, torch_pad(geo.pads), padding_mode, dtype=weight.dtype)
