"""Bug: the transposed convolution's output size leaves out ``output_padding``.

The call is validated with every argument (so ``output_padding ≥ max(stride, dilation)`` is
still refused), but the output is sized ``(L − 1)s − 2p + d(k − 1) + 1``, as if
output_padding were 0: the entries it adds at the end of each axis are missing. Values are
torch's for that smaller output.

Revealed by: the output shape of every case with a non-zero output_padding
(``output-padding-max``, ``output-padding-below-dilation``, the grouped 2-d named case, the
3-d ``depthwise`` case and the ``op`` grid cases); output_padding 0 is exact.
"""
from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only conv_transpose differs)

GATE = dict(ops=("conv_transpose1d",), dtypes=("float64",), quantity="output", reason="shape")


def _mutant(dims):
    forward, backward = getattr(_tb, f"conv_transpose{dims}d"), getattr(_tb, f"conv_transpose{dims}d_backward")

    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        forward(input, weight, bias, stride, padding, output_padding, groups, dilation)  # validation only
        return forward(input, weight, bias, stride, padding, 0, groups, dilation)  # the bug

    def conv_transpose_backward(grad_output, input, weight, bias=None, stride=1, padding=0, output_padding=0,
                                groups=1, dilation=1):
        return backward(grad_output, input, weight, bias, stride, padding, 0, groups, dilation)

    return conv_transpose, conv_transpose_backward


conv_transpose1d, conv_transpose1d_backward = _mutant(1)
conv_transpose2d, conv_transpose2d_backward = _mutant(2)
conv_transpose3d, conv_transpose3d_backward = _mutant(3)
