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

Vectorised as one matrix product per sample and group: the strided window view of ``x_pad``
is laid out as ``cols[n, g, (c, p), i]`` (im2col), so ``y = W · cols``, ``∂E/∂w = Σ_n gy · colsᵀ``
and ``∂E/∂cols = Wᵀ · gy``, which :func:`reference._windows.scatter_windows` adds back onto
the input positions it was read from (col2im).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _check, _windows, padding as _padding


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
    def pad_pairs(self):
        """``(axis, left, right)`` for the spatial axes of the batched input."""
        return [(2 + a, left, right) for a, (left, right) in enumerate(self.pads)]

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
    return tuple((p, p) for p in _check.int_tuple(op, "padding", padding, dims, minimum=0))


def geometry(op, dims, input, weight, bias, stride, padding, dilation, groups) -> Geometry:
    """Validate a convolution call the way torch does and describe its shapes."""
    _check.float_array(op, "input", input)
    _check.float_array(op, "weight", weight)
    if bias is not None:
        _check.float_array(op, "bias", bias)
    _check.same_dtype(op, input=input, weight=weight, bias=bias)
    _check.rank(op, "input", input, (dims + 1, dims + 2))
    _check.rank(op, "weight", weight, (dims + 2,))
    groups = _check.int_arg(op, "groups", groups)
    if groups < 1:
        raise ValueError(f"{op}: groups must be positive, got groups={groups}")
    stride = _check.int_tuple(op, "stride", stride, dims, minimum=1)
    dilation = _check.int_tuple(op, "dilation", dilation, dims, minimum=1)
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
    out = tuple(_windows.output_length(n, k, s, d) for n, k, s, d in zip(padded, kernel, stride, dilation))
    return Geometry(op, dims, batch_added, groups, kernel, stride, dilation, pads, in_spatial, out)


def check_grad_output(geo: Geometry, grad_output, input, weight):
    """``grad_output`` must be an array of the forward output's shape and dtype."""
    op = geo.op + "_backward"
    _check.float_array(op, "grad_output", grad_output)
    _check.same_dtype(op, grad_output=grad_output, input=input)
    batch = () if geo.batch_added else input.shape[:1]
    expected = batch + (weight.shape[0],) + geo.out_spatial
    if grad_output.shape != expected:
        raise ValueError(
            f"{op}: grad_output must have the output's shape {expected}, got grad_output.shape={grad_output.shape}"
        )
    return grad_output[None] if geo.batch_added else grad_output


def _cols(geo: Geometry, x: np.ndarray) -> np.ndarray:
    """im2col: ``cols[n, g, (c, p), i] = x_pad[n, g·C/G + c, i·s + p·d]`` as one array."""
    x_pad = _padding.constant(x, geo.pad_pairs, 0)
    view = _windows.windows(x_pad, geo.kernel, geo.stride, geo.dilation)  # (N, C, *out, *k)
    d = geo.dims
    view = view.transpose((0, 1) + tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2, 2 + d)))
    n, c = x.shape[:2]
    return view.reshape(n, geo.groups, (c // geo.groups) * int(np.prod(geo.kernel)), int(np.prod(geo.out_spatial)))


def _weight_matrix(geo: Geometry, weight: np.ndarray) -> np.ndarray:
    """``W[g, o, (c, p)] = w[g·O/G + o, c, p]``."""
    return weight.reshape(geo.groups, weight.shape[0] // geo.groups, weight.shape[1] * int(np.prod(geo.kernel)))


class Vectorised:
    """im2col and one batched matrix product; the fast tier."""

    @staticmethod
    def forward(geo: Geometry, x, weight, bias):
        n = x.shape[0]
        y = np.matmul(_weight_matrix(geo, weight), _cols(geo, x))  # (N, G, O/G, P)
        y = y.reshape((n, weight.shape[0]) + geo.out_spatial)
        if bias is not None:
            y += bias.reshape((-1,) + (1,) * geo.dims)
        return y

    @staticmethod
    def backward(geo: Geometry, grad, x, weight, bias):
        n, out_channels = grad.shape[:2]
        gy = grad.reshape(n, geo.groups, out_channels // geo.groups, int(np.prod(geo.out_spatial)))  # (N, G, O/G, P)
        cols = _cols(geo, x)
        grad_weight = np.matmul(gy, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(weight.shape)
        grad_cols = np.matmul(_weight_matrix(geo, weight).transpose(0, 2, 1), gy)  # (N, G, (c, p), P)
        grad_cols = grad_cols.reshape((n, x.shape[1]) + geo.kernel + geo.out_spatial)
        grad_x_pad = _windows.scatter_windows(grad_cols, geo.padded_spatial, geo.kernel, geo.stride, geo.dilation)
        grad_x = _padding.constant_adjoint(grad_x_pad, geo.pad_pairs, x.shape)
        grad_bias = None if bias is None else grad.sum(axis=(0,) + tuple(range(2, grad.ndim)))
        return grad_x, grad_weight, grad_bias


def conv_family(dims: int, engine):
    """Build ``conv{dims}d`` and ``conv{dims}d_backward`` on a computing ``engine``.

    The engine sees validated, batched arrays; batching, checks and dtype are handled here,
    so every tier shares one definition of what a valid call is.
    """
    op = f"conv{dims}d"

    def forward(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        geo = geometry(op, dims, input, weight, bias, stride, padding, dilation, groups)
        x = input[None] if geo.batch_added else input
        y = engine.forward(geo, x, weight, bias).astype(input.dtype, copy=False)
        return y[0] if geo.batch_added else y

    def backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        geo = geometry(op + "_backward", dims, input, weight, bias, stride, padding, dilation, groups)
        grad = check_grad_output(geo, grad_output, input, weight)
        x = input[None] if geo.batch_added else input
        grad_x, grad_w, grad_b = engine.backward(geo, grad, x, weight, bias)
        grad_x = grad_x[0] if geo.batch_added else grad_x
        return tuple(None if g is None else g.astype(input.dtype, copy=False) for g in (grad_x, grad_w, grad_b))

    spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[dims]
    forward.__name__ = forward.__qualname__ = op
    backward.__name__ = backward.__qualname__ = op + "_backward"
    forward.__doc__ = (
        f"{dims}-d convolution (cross-correlation) as ``torch.nn.functional.{op}``.\n\n"
        f"input (N, C, {spatial}) or unbatched (C, {spatial}); weight (O, C/groups, *k); bias (O,) or None.\n"
        f"Returns (N, O, *L_out) with L_out = ⌊(L + left + right − d·(k − 1) − 1)/s⌋ + 1 per axis.\n"
        f"The index equation and the derivation of the backward are in :mod:`reference.conv`."
    )
    backward.__doc__ = (
        f"Vector-Jacobian product of :func:`{op}`: returns (grad_input, grad_weight, grad_bias),\n"
        f"grad_bias None when bias is None. Takes the upstream gradient and the forward's arguments."
    )
    return forward, backward


conv1d, conv1d_backward = conv_family(1, Vectorised)
conv2d, conv2d_backward = conv_family(2, Vectorised)
conv3d, conv3d_backward = conv_family(3, Vectorised)
