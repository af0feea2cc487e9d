"""Bug: the backward writes grad_input into the input's own buffer (an in-place
"optimisation" that saves one allocation), and returns that buffer.

Every returned value is right, so only the harness's "inputs are never modified" check can
see it: the caller's input array now holds the gradient.

Revealed by: the ``input`` check of every case with a non-empty input (conv1d, conv2d, conv3d
here; the reference forward is untouched, so it is the backward that does it).
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403  (pad is unaffected)

GATE = dict(ops=("conv1d",), dtypes=("float64",), quantity="input", reason="modified in place")


def _mutant(dims):
    backward = getattr(_ref, f"conv{dims}d_backward")

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        gx, gw, gb = backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        np.copyto(input, gx)  # the bug: the caller's input is overwritten
        return input, gw, gb

    return getattr(_ref, f"conv{dims}d"), conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
