"""Bug: the input gradient scatters each window back without the stride.

grad_input adds each window's gradient back onto the positions the window read,
``i·s + p·d``; this mutant writes to ``i + p·d``, as if the stride were 1 (the col2im loop
has the right bounds and a missing step). Equivalently, it embeds ``grad_output`` in the
first positions of the stride-1 output instead of every s-th, then takes the stride-1 input
gradient. Output, grad_weight and grad_bias are the reference's; stride 1 is exact.

Revealed by: grad_input of any case with a stride > 1 on some axis (``stem``,
``unread-inputs``, the strided cases of the grid).
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv1d", "conv2d"), dtypes=("float64",), quantity="grad_input")


def _strides(stride, dims):
    return tuple(stride) * (dims if len(stride) == 1 else 1) if isinstance(stride, (tuple, list)) else (stride,) * dims


def _mutant(dims):
    forward, backward = getattr(_ref, f"conv{dims}d"), getattr(_ref, f"conv{dims}d_backward")

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        gx, gw, gb = backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        if all(s == 1 for s in _strides(stride, dims)):
            return gx, gw, gb
        dense = forward(input, weight, None, 1, padding, dilation, groups)  # the stride-1 output's shape
        spread = np.zeros_like(dense)
        spread[(Ellipsis,) + tuple(slice(0, n) for n in grad_output.shape[-dims:])] = grad_output  # the bug: step 1
        gx = backward(spread, input, weight, None, 1, padding, dilation, groups)[0]
        return gx, gw, gb

    return forward, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
