"""Bug: conv_transpose's grad_weight has its two channel axes reshaped, not swapped, within
each group.

A transposed convolution's weight is laid out ``(C_in, C_out/G, *k)``, the reverse of a
convolution's ``(C_out, C_in/G, *k)``. This mutant computes each group's weight gradient in
the convolution layout ``(C_out/G, C_in/G, *k)`` and ``reshape``s it to ``(C_in/G, C_out/G, *k)``
where a ``swapaxes`` belongs: the shape is right, the entries are scrambled. Output,
grad_input and grad_bias are torch's.

Revealed by: grad_weight of every case with more than one input and more than one output
channel per group (the grouped 2-d named case, ``upsample-x2``, most of the grid). With one
input or one output channel per group (``depthwise``, single-channel grid cases) reshape and
swap agree, and the bug hides.
"""
from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only conv_transpose's grad_weight differs)

GATE = dict(ops=("conv_transpose2d",), dtypes=("float64",), quantity="grad_weight")


def _reshaped(grad_weight, groups):
    """Per group, the (C_in/G, C_out/G) block read as (C_out/G, C_in/G) and reshaped back."""
    c_in, c_out = grad_weight.shape[0] // groups, grad_weight.shape[1]
    blocks = grad_weight.reshape(groups, c_in, c_out, *grad_weight.shape[2:])
    conv_layout = blocks.swapaxes(1, 2)  # (G, C_out/G, C_in/G, *k): what the conv backward produced
    return conv_layout.reshape(grad_weight.shape).copy()  # the bug: reshape, not swapaxes


def _mutant(dims):
    backward = getattr(_tb, f"conv_transpose{dims}d_backward")

    def conv_transpose_backward(grad_output, input, weight, bias=None, stride=1, padding=0, output_padding=0,
                                groups=1, dilation=1):
        gx, gw, gb = backward(grad_output, input, weight, bias, stride, padding, output_padding, groups, dilation)
        return gx, _reshaped(gw, groups), gb

    return getattr(_tb, f"conv_transpose{dims}d"), conv_transpose_backward


conv_transpose1d, conv_transpose1d_backward = _mutant(1)
conv_transpose2d, conv_transpose2d_backward = _mutant(2)
conv_transpose3d, conv_transpose3d_backward = _mutant(3)
