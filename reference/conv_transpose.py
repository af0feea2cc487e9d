"""N-d transposed convolution: the input gradient of a convolution, used as a layer.

A transposed convolution with weight ``w`` of shape ``(C_in, C_out/G, *k)`` sends each input
entry through the kernel to the output positions a convolution would have read it from:

    y[n, g·C_out/G + o, j] = b[·] + Σ_{c < C_in/G} Σ_{i, p : i·s + p·d − left = j} x[n, g·C_in/G + c, i] · w[g·C_in/G + c, o, p]

It is *exactly* ``∂E/∂x`` of the convolution ``conv(z, w, stride, padding, dilation, groups)``
(whose weight has the same memory layout: ``C_in`` is that convolution's output channels)
evaluated at ``gy = x``; nothing here computes it another way. Along each axis

    L_out = (L − 1)·s − 2·p + d·(k − 1) + output_padding + 1,

and ``output_padding < max(s, d)`` only chooses among the input lengths that the convolution
maps onto the same ``L``: it adds ``output_padding`` positions at the end, which receive what
the padding would otherwise have cropped (zero beyond it). In the convolution's terms, the
padding is ``(p, p − output_padding)``: a negative right amount crops.

Backward, by the adjoint of an adjoint:

    ∂E/∂x = conv(gy, w, stride, padding, dilation, groups)           (the forward convolution)
    ∂E/∂w = that convolution's weight gradient with input gy and upstream gradient x
    ∂E/∂b = Σ_{n, j} gy[n, ·, j]
"""
from __future__ import annotations

from . import checks, family
from .conv import Geometry, check_arrays, correlate, input_grad, weight_grad, weight_matrix


def check_arguments(op, dims, stride, padding, output_padding, dilation):
    """The integer arguments as per-axis tuples, with torch's rule that ``output_padding`` be
    smaller than the stride or the dilation on each axis."""
    stride = checks.int_tuple(op, "stride", stride, dims, minimum=1)
    padding = checks.int_tuple(op, "padding", padding, dims, minimum=0)
    output_padding = checks.int_tuple(op, "output_padding", output_padding, dims, minimum=0)
    dilation = checks.int_tuple(op, "dilation", dilation, dims, minimum=1)
    if any(q >= max(s, d) for q, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding must be smaller than stride or dilation on each axis, "
            f"got output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    return stride, padding, output_padding, dilation


def geometry(op, dims, input, weight, bias, stride, padding, output_padding, groups, dilation) -> Geometry:
    """Validate a transposed-convolution call as torch does; describe it as the convolution
    whose input gradient it is (``in_spatial`` is this op's output, ``out_spatial`` its input)."""
    groups = check_arrays(op, dims, input, weight, bias, groups)
    stride, padding, output_padding, dilation = check_arguments(op, dims, stride, padding, output_padding, dilation)
    batch_added = input.ndim == dims + 1
    shape = (1,) + input.shape if batch_added else input.shape
    channels, in_spatial, kernel = shape[1], shape[2:], weight.shape[2:]
    if weight.shape[0] == 0 or weight.shape[1] == 0 or any(k == 0 for k in kernel):
        raise ValueError(f"{op}: weight must have non-empty axes, got weight.shape={weight.shape}")
    if weight.shape[0] % groups:
        raise ValueError(f"{op}: weight.shape[0] (input channels) must be divisible by groups, "
                         f"got weight.shape={weight.shape}, groups={groups}")
    if channels != weight.shape[0]:
        raise ValueError(f"{op}: input has {channels} channels but weight.shape={weight.shape} expects "
                         f"{weight.shape[0]} (input.shape={input.shape})")
    out_channels = weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},), got bias.shape={bias.shape}")
    if shape[0] > 0 and 0 in in_spatial:
        raise ValueError(f"{op}: only an empty batch may have empty spatial axes, got input.shape={input.shape}")
    out = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + q + 1
        for n, s, p, d, k, q in zip(in_spatial, stride, padding, dilation, kernel, output_padding)
    )
    if any(n <= 0 for n in out):  # torch's float64 path refuses 0 too; its float32 (oneDNN) path returns it
        raise ValueError(
            f"{op}: the output would be empty, (L − 1)·s − 2p + d(k − 1) + output_padding + 1 = {out} for "
            f"input.shape={input.shape}, weight.shape={weight.shape}, stride={stride}, padding={padding}, "
            f"output_padding={output_padding}, dilation={dilation}"
        )
    pads = tuple((p, p - q) for p, q in zip(padding, output_padding))
    return Geometry(op, dims, batch_added, groups, kernel, stride, dilation, pads, out, in_spatial)


class Vectorised:
    """Each direction is one of the convolution's: its input gradient, forward and weight gradient."""

    @staticmethod
    def forward(geo: Geometry, x, weight, bias):
        out_channels = weight.shape[1] * geo.groups
        y = input_grad(geo, x, weight, (x.shape[0], out_channels) + geo.in_spatial)
        if bias is not None:
            y += bias.reshape((-1,) + (1,) * geo.dims)
        return y

    @staticmethod
    def backward(geo: Geometry, grad, x, weight, bias):
        grad_x = correlate(geo, grad, weight_matrix(geo, weight))
        grad_w = weight_grad(geo, x, grad)
        grad_b = None if bias is None else grad.sum(axis=(0,) + tuple(range(2, grad.ndim)))
        return grad_x, grad_w, grad_b


def conv_transpose_family(dims: int, engine):
    """Build ``conv_transpose{dims}d`` and its backward on a computing ``engine`` (batched,
    validated arrays in; see :func:`reference.conv.conv_family` and :mod:`reference.family`)."""
    op = f"conv_transpose{dims}d"

    def forward(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        geo = geometry(op, dims, input, weight, bias, stride, padding, output_padding, groups, dilation)
        return family.output(geo, engine.forward(geo, family.batched(geo, input), weight, bias), input.dtype)

    def backward(grad_output, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        geo = geometry(op + "_backward", dims, input, weight, bias, stride, padding, output_padding, groups, dilation)
        grad = family.grad_output(geo, grad_output, input, weight.shape[1] * geo.groups, geo.in_spatial)
        grads = engine.backward(geo, grad, family.batched(geo, input), weight, bias)
        return family.gradients(geo, grads, input.dtype)

    return family.named(
        op, forward, backward,
        f"{dims}-d transposed convolution as ``torch.nn.functional.{op}``: the input gradient of\n"
        f"conv{dims}d. input (N, C_in, *L) or unbatched; weight (C_in, C_out/groups, *k); bias (C_out,).\n"
        f"Returns (N, C_out, *L_out), L_out = (L − 1)s − 2p + d(k − 1) + output_padding + 1.\n"
        f"The equations are in :mod:`reference.conv_transpose`.",
        f"Vector-Jacobian product of :func:`{op}`: (grad_input, grad_weight, grad_bias).",
    )


conv_transpose1d, conv_transpose1d_backward = conv_transpose_family(1, Vectorised)
conv_transpose2d, conv_transpose2d_backward = conv_transpose_family(2, Vectorised)
conv_transpose3d, conv_transpose3d_backward = conv_transpose_family(3, Vectorised)
