"""Bug: true convolution instead of cross-correlation (the kernel is flipped).

The textbook "rotate the kernel by 180° first" convolution, implemented consistently: the
forward flips every spatial axis of the weight, and the backward is the exact adjoint of that
(so the gradients are self-consistent, just of the wrong function). torch does not flip.

Revealed by: the output of any case whose kernel is not symmetric under the flip (the seed
example: [[23,33],[53,63]] instead of torch's [[37,47],[67,77]]); 1×1 kernels hide it.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403  (pad is unaffected)

GATE = dict(ops=("conv1d", "conv2d"), dtypes=("float64",), quantity="output")


def _flip(weight):
    if not isinstance(weight, np.ndarray) or weight.ndim < 3:
        return weight  # let the reference reject it
    return np.flip(weight, axis=tuple(range(2, weight.ndim))).copy()


def _mutant(dims):
    forward, backward = getattr(_ref, f"conv{dims}d"), getattr(_ref, f"conv{dims}d_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return forward(input, _flip(weight), bias, stride, padding, dilation, groups)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        gx, gw, gb = backward(grad_output, input, _flip(weight), bias, stride, padding, dilation, groups)
        return gx, _flip(gw), gb

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
