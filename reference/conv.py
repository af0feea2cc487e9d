"""N-d convolution (cross-correlation, as in PyTorch) and its backward, vectorised.

One implementation serves 1, 2 and 3 spatial dimensions. With ``D`` spatial axes, groups
``G``, ``C/G`` input channels per group and ``O/G`` output channels per group, output channel
``o`` of group ``g = o // (O/G)`` is

    y[n, o, i] = b[o] + Σ_{c < C/G} Σ_{p < k} x_pad[n, g·C/G + c, i·s + p·d] · w[o, c, p]

with ``i`` and ``p`` multi-indices over the ``D`` axes, ``x_pad`` the zero-padded input and
no kernel flip. Along each axis the output length is

    L_out = ⌊(L + left + right − d·(k − 1) − 1) / s⌋ + 1

(``left = right = padding``, or for ``'same'``: ``left = ⌊d(k−1)/2⌋``, ``right = d(k−1) − left``).

Backward, by the chain rule on that one equation (each term ``x·w`` sends ``gy·w`` to ``x``
and ``gy·x`` to ``w``):

    ∂E/∂x_pad[n, g·C/G + c, j] = Σ_{o in g} Σ_{i, p : i·s + p·d = j} gy[n, o, i] · w[o, c, p]
        the transposed convolution of gy with the same kernel; positions no window reads get 0,
        and cropping the padding back off gives ∂E/∂x
    ∂E/∂w[o, c, p]            = Σ_{n, i} gy[n, o, i] · x_pad[n, g·C/G + c, i·s + p·d]
        the correlation of the input with gy, summed over the batch
    ∂E/∂b[o]                  = Σ_{n, i} gy[n, o, i]

Vectorised as matrix products over im2col (:mod:`reference.im2col`): the strided window view of ``x_pad`` is laid out
as ``cols[g, (c, p), (n, i)]``, so ``y = W · cols`` and ``∂E/∂w = gy · colsᵀ``. For stride 1,
∂E/∂x is itself a convolution (of ``gy``, padded by ``d(k−1) − left`` and ``d(k−1) − right``,
with the flipped kernel, in and out channels swapped), and ∂E/∂w is read from that same
im2col of ``gy`` (see :func:`_backward_transposed`); that is how it is computed where the input
is also at most twice the output (:func:`by_correlation`). Otherwise ``∂E/∂cols = Wᵀ · gy`` is
added back onto the input positions it was read from (col2im, :meth:`reference.im2col.Im2col.scatter`). Every result is still a direct sum of the
products in the equations above, only grouped into matrix products; the work is done one
cache-sized tile of the output at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks, family, im2col, windows
from .windows import size


@dataclass(frozen=True)
class Geometry:
    """A validated convolution call: everything but the arrays' values."""

    op: str
    dims: int
    batch_added: bool  # the input had no batch axis; one was added and is removed again
    groups: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]  # (left, right) per spatial axis
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]

    @property
    def padded_spatial(self):
        return tuple(n + left + right for n, (left, right) in zip(self.in_spatial, self.pads))


def resolve_padding(op: str, padding, dims: int, kernel, stride, dilation):
    """``padding`` as ``(left, right)`` per axis: an int or tuple pads both sides equally,
    ``'valid'`` is 0, ``'same'`` splits ``d·(k−1)`` with the odd extra at the end."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * dims
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got padding={padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions, got stride={stride}")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((p, p) for p in checks.int_tuple(op, "padding", padding, dims, minimum=0))


def check_arrays(op, dims, input, weight, bias, groups) -> int:
    """What every (transposed) convolution checks first: float arrays of one dtype, the
    ranks, and a positive int ``groups`` (returned)."""
    checks.float_array(op, "input", input)
    checks.float_array(op, "weight", weight)
    if bias is not None:
        checks.float_array(op, "bias", bias)
    checks.same_dtype(op, input=input, weight=weight, bias=bias)
    checks.rank(op, "input", input, (dims + 1, dims + 2))
    checks.rank(op, "weight", weight, (dims + 2,))
    groups = checks.int_arg(op, "groups", groups)
    if groups < 1:
        raise ValueError(f"{op}: groups must be positive, got groups={groups}")
    return groups


def geometry(op, dims, input, weight, bias, stride, padding, dilation, groups) -> Geometry:
    """Validate a convolution call the way torch does and describe its shapes."""
    groups = check_arrays(op, dims, input, weight, bias, groups)
    stride = checks.int_tuple(op, "stride", stride, dims, minimum=1)
    dilation = checks.int_tuple(op, "dilation", dilation, dims, minimum=1)
    kernel = weight.shape[2:]
    pads = resolve_padding(op, padding, dims, kernel, stride, dilation)

    batch_added = input.ndim == dims + 1
    shape = (1,) + input.shape if batch_added else input.shape
    channels, in_spatial = shape[1], shape[2:]
    out_channels = weight.shape[0]
    if out_channels == 0 or weight.shape[1] == 0:
        # torch rejects O = 0; for C/G = 0 it returns an output with 0 channels, not O (bias
        # ignored), which no convolution equation gives, so that call is refused here too.
        raise ValueError(f"{op}: weight must have at least one output and one input channel, got weight.shape={weight.shape}")
    if out_channels % groups:
        raise ValueError(
            f"{op}: weight.shape[0] (output channels) must be divisible by groups, "
            f"got weight.shape={weight.shape}, groups={groups}"
        )
    if channels != weight.shape[1] * groups:
        raise ValueError(
            f"{op}: input has {channels} channels but weight.shape={weight.shape} with groups={groups} "
            f"expects {weight.shape[1] * groups} (input.shape={input.shape})"
        )
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},), got bias.shape={bias.shape}")
    if shape[0] > 0 and 0 in in_spatial:
        raise ValueError(f"{op}: only an empty batch may have empty spatial axes, got input.shape={input.shape}")
    padded = tuple(n + left + right for n, (left, right) in zip(in_spatial, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(k == 0 for k in kernel) or any(e > n for e, n in zip(span, padded)):
        raise ValueError(
            f"{op}: the dilated kernel {span} must be non-empty and fit the padded input {padded}; "
            f"got weight.shape={weight.shape}, input.shape={input.shape}, padding={padding!r}, dilation={dilation}"
        )
    out = tuple(windows.output_length(n, k, s, d) for n, k, s, d in zip(padded, kernel, stride, dilation))
    return Geometry(op, dims, batch_added, groups, kernel, stride, dilation, pads, in_spatial, out)


def weight_matrix(geo: Geometry, weight: np.ndarray) -> np.ndarray:
    """``W[g, o, (c, p)] = w[g·O/G + o, c, p]``."""
    return weight.reshape(geo.groups, weight.shape[0] // geo.groups, weight.shape[1] * size(geo.kernel))


def _products(unrolled: im2col.Im2col, w_mat: np.ndarray, out: np.ndarray):
    """Write ``W · cols`` of every tile of ``unrolled`` into its output positions in ``out``
    ``(N, X, *out)``, summing a tile's chunks; yield each ``(tile, chunk, cols)`` once its product
    is taken, for a caller that needs the columns too."""
    total = None
    for tile, chunk, cols in unrolled.columns():
        w = unrolled.rows(w_mat, chunk)
        direct = unrolled.direct_output(out, tile) if chunk.whole else None
        if direct is not None:  # one sample, no dropped columns: straight into the output
            np.matmul(w, cols, out=direct)
        else:
            product = np.matmul(w, cols)
            total = product if chunk.first else total + product
            if chunk.last:
                out[tile] = unrolled.positions(total.reshape(out.shape[1], -1), tile).swapaxes(0, 1)
        yield tile, chunk, cols


def correlate(geo: Geometry, x: np.ndarray, w_mat: np.ndarray) -> np.ndarray:
    """``y[n, g·O/G + o, i] = Σ_{(c, p)} W[g, o, (c, p)] · x_pad[n, g·C/G + c, i·s + p·d]``: the
    convolution without bias, ``(N, O, *out)``, one tile's im2col and product at a time."""
    out_channels = w_mat.shape[0] * w_mat.shape[1]
    y = np.empty((x.shape[0], out_channels) + geo.out_spatial, dtype=x.dtype)
    for _ in _products(im2col.Im2col(geo, x, out_channels), w_mat, y):
        pass
    return y


def _transposed_geometry(geo: Geometry) -> Geometry:
    """The stride-1 convolution that maps ∂E/∂y back to ∂E/∂x.

    With ``s = 1``, ``∂E/∂x[j] = Σ_{o, p} gy[j + left − p·d] · w[o, c, p]``: re-index ``p ↦ k−1−p``
    and it is the correlation of ``gy`` padded by ``d(k−1) − left`` on the left and
    ``d(k−1) − right`` on the right (negative amounts crop) with the flipped kernel, whose output
    is exactly ``L`` long.
    """
    pads = tuple(
        (d * (k - 1) - left, d * (k - 1) - right) for k, d, (left, right) in zip(geo.kernel, geo.dilation, geo.pads)
    )
    return Geometry(geo.op, geo.dims, False, geo.groups, geo.kernel, geo.stride, geo.dilation,
                    pads, geo.out_spatial, geo.in_spatial)


def _flip_taps(a: np.ndarray, first_tap_axis: int, dims: int) -> np.ndarray:
    """``a`` with its ``dims`` kernel axes, from ``first_tap_axis`` on, reversed: ``p ↦ k−1−p``."""
    index = [slice(None)] * a.ndim
    index[first_tap_axis:first_tap_axis + dims] = [slice(None, None, -1)] * dims
    return a[tuple(index)]


def _transposed_weight_matrix(geo: Geometry, weight: np.ndarray) -> np.ndarray:
    """``Wᵀ[g, c, (o, p)] = w[g·O/G + o, c, k−1−p]``: in and out channels swapped within each
    group, taps reversed."""
    og, cg = weight.shape[0] // geo.groups, weight.shape[1]
    flipped = _flip_taps(weight, 2, geo.dims).reshape((geo.groups, og, cg) + geo.kernel)
    return np.ascontiguousarray(flipped.swapaxes(1, 2)).reshape(geo.groups, cg, og * size(geo.kernel))


def _backward_transposed(geo: Geometry, grad: np.ndarray, x: np.ndarray, weight: np.ndarray):
    """∂E/∂x and ∂E/∂w of a stride-1 convolution, both from one im2col of the padded ``gy``.

    With ``gy_t`` the padding of :func:`_transposed_geometry`, ``cols[(o, p), j] = gy_t[o, j + p·d]``
    and ``p̄ = k−1−p``:

        ∂E/∂x[c, j]    = Σ_{o, p} Wᵀ[c, (o, p)] · cols[(o, p), j]      (Wᵀ from the flipped kernel)
        ∂E/∂w[o, c, p] = Σ_j cols[(o, p̄), j] · x[c, j]                 (= Σ_i gy[o, i] · x_pad[c, i + p·d])

    the second because ``cols[(o, p̄), j] = gy[o, j + left − p·d]``: the same products as the
    definition, indexed by input position ``j`` instead of output position ``i``.
    """
    groups, og, cg = geo.groups, weight.shape[0] // geo.groups, weight.shape[1]
    t_geo = _transposed_geometry(geo)
    w_t = _transposed_weight_matrix(geo, weight)  # (G, C/G, (o, p))
    grad_x = np.empty(x.shape, dtype=x.dtype)
    grad_w_t = np.zeros((groups, og * size(geo.kernel), cg), dtype=x.dtype)  # (G, (o, p̄), C/G)
    unrolled = im2col.Im2col(t_geo, grad, x.shape[1])
    x_columns = unrolled.laid_out(x)
    for tile, chunk, cols in _products(unrolled, w_t, grad_x):
        unrolled.add_rows(grad_w_t, chunk, 1, np.matmul(cols, unrolled.matrix(x_columns, tile).transpose(0, 2, 1)))
    grad_w = _flip_taps(grad_w_t.reshape((groups, og) + geo.kernel + (cg,)), 2, geo.dims)
    return grad_x, np.moveaxis(grad_w, -1, 2).reshape(weight.shape)


def weight_grad(geo: Geometry, grad: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``∂E/∂w = Σ gy · colsᵀ``, accumulated over im2col tiles of ``x_pad`` (any stride)."""
    groups = geo.groups
    out_channels = grad.shape[1]
    # summed as ∂E/∂wᵀ = cols · gyᵀ, ((c, p), o): OpenBLAS runs that orientation 20-40 % faster
    # than gy · colsᵀ on these shapes (benchmarks/README.md)
    grad_w_t = np.zeros((groups, (x.shape[1] // groups) * size(geo.kernel), out_channels // groups), dtype=x.dtype)
    unrolled = im2col.Im2col(geo, x, out_channels)
    gy_columns = unrolled.laid_out(grad)
    for tile, chunk, cols in unrolled.columns():
        unrolled.add_rows(grad_w_t, chunk, 1, np.matmul(cols, unrolled.matrix(gy_columns, tile).transpose(0, 2, 1)))
    return np.ascontiguousarray(grad_w_t.transpose(0, 2, 1)).reshape((out_channels, x.shape[1] // groups) + geo.kernel)


def _input_grad_col2im(geo: Geometry, grad: np.ndarray, weight: np.ndarray, x_shape) -> np.ndarray:
    """``∂E/∂cols = Wᵀ · gy`` added back where each column was read (col2im, any stride), a tile
    and a chunk at a time, then the padding cropped off."""
    unrolled = im2col.Im2col(geo, None, grad.shape[1], shape=x_shape, dtype=grad.dtype, scatter=True)
    w_mat = weight_matrix(geo, weight)  # (G, O/G, (c, p))
    # each chunk's Wᵀ, (G, (c, p) of the chunk, O/G), made contiguous once: a product with the
    # transposed view runs at a fraction of the rate
    chunks = [(chunk, np.ascontiguousarray(unrolled.rows(w_mat, chunk).transpose(0, 2, 1))) for chunk in unrolled.chunks()]
    gy_columns = unrolled.laid_out(grad)
    target = unrolled.target()
    for tile in unrolled.tiles():
        gy = unrolled.matrix(gy_columns, tile)  # (G, O/G, columns)
        for chunk, w in chunks:
            # one output channel per group: the product is one term, a broadcast multiply
            grad_cols = w * gy if w.shape[-1] == 1 else np.matmul(w, gy)
            unrolled.scatter(target, grad_cols, tile, chunk)
    return unrolled.unpadded(target)


def by_correlation(geo: Geometry) -> bool:
    """Whether ∂E/∂x is computed as the correlation of :func:`_transposed_geometry` rather than by
    col2im. Both do ``|k|·O/G`` products per entry they produce, the correlation per input
    position, col2im per output position: so the correlation needs stride 1 and an input not much
    larger than the output. (A kernel as large as its input has one output position and ``|k|``
    input positions: the correlation would do ``|k|`` times the work, mostly on padding.)"""
    return all(s == 1 for s in geo.stride) and size(geo.in_spatial) <= 2 * size(geo.out_spatial)


def input_grad(geo: Geometry, grad: np.ndarray, weight: np.ndarray, x_shape) -> np.ndarray:
    """``∂E/∂x`` alone: the transposed convolution of ``gy`` with the kernel. Where
    :func:`by_correlation`, the correlation of the padded ``gy`` with the flipped kernel
    (:func:`_transposed_geometry`), else col2im."""
    if by_correlation(geo):
        return correlate(_transposed_geometry(geo), grad, _transposed_weight_matrix(geo, weight))
    return _input_grad_col2im(geo, grad, weight, x_shape)


class Vectorised:
    """im2col and matrix products, one cache-sized tile of the output at a time; the fast tier."""

    @staticmethod
    def forward(geo: Geometry, x, weight, bias):
        y = correlate(geo, x, weight_matrix(geo, weight))
        if bias is not None:
            y += bias.reshape((-1,) + (1,) * geo.dims)
        return y

    @staticmethod
    def backward(geo: Geometry, grad, x, weight, bias):
        if by_correlation(geo):  # one im2col of gy serves both gradients
            grad_x, grad_w = _backward_transposed(geo, grad, x, weight)
        else:
            grad_x, grad_w = _input_grad_col2im(geo, grad, weight, x.shape), weight_grad(geo, grad, x)
        grad_bias = None if bias is None else grad.sum(axis=(0,) + tuple(range(2, grad.ndim)))
        return grad_x, grad_w, grad_bias


def conv_family(dims: int, engine):
    """Build ``conv{dims}d`` and ``conv{dims}d_backward`` on a computing ``engine``.

    The engine sees validated, batched arrays; batching, checks and dtype are handled as for
    every op (:mod:`reference.family`), so every tier shares one definition of a valid call.
    """
    op = f"conv{dims}d"

    def forward(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        geo = geometry(op, dims, input, weight, bias, stride, padding, dilation, groups)
        return family.output(geo, engine.forward(geo, family.batched(geo, input), weight, bias), input.dtype)

    def backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        geo = geometry(op + "_backward", dims, input, weight, bias, stride, padding, dilation, groups)
        grad = family.grad_output(geo, grad_output, input, weight.shape[0], geo.out_spatial)
        grads = engine.backward(geo, grad, family.batched(geo, input), weight, bias)
        return family.gradients(geo, grads, input.dtype)

    spatial = family.SPATIAL_AXES[dims]
    return family.named(
        op, forward, backward,
        f"{dims}-d convolution (cross-correlation) as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {spatial}) or unbatched (C, {spatial}); weight (O, C/groups, *k); bias (O,) or None.\n"
        f"Returns (N, O, *L_out) with L_out = ⌊(L + left + right − d·(k − 1) − 1)/s⌋ + 1 per axis.\n"
        f"The index equation and the derivation of the backward are in :mod:`reference.conv`.",
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input, grad_weight, grad_bias),\n"
        f"grad_bias None when bias is None. Takes the upstream gradient and the forward's arguments.",
    )


conv1d, conv1d_backward = conv_family(1, Vectorised)
conv2d, conv2d_backward = conv_family(2, Vectorised)
conv3d, conv3d_backward = conv_family(3, Vectorised)
