"""Bug: an unbatched input (C, *spatial) is read as a batch of C one-channel inputs.

docs/semantics.md, the unbatched-input confusion: a 3-d input to conv2d is one (C, H, W) image, not C grey
images. The mutant adds the channel axis instead of the batch axis, so it refuses the call
(channel mismatch) when the weight expects C > 1 channels, and returns an output of the
wrong shape (C, O, ...) when it expects 1. Batched inputs are the reference's.

Revealed by: the output of the ``unbatched`` cases (conv1d, conv2d, conv3d) and the unbatched
cases of the grid: a ValueError on a call torch accepts, or a shape mismatch.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403  (pad is unaffected)

GATE = dict(ops=("conv1d", "conv2d"), dtypes=("float64",), quantity="output")


def _mutant(dims):
    forward, backward = getattr(_ref, f"conv{dims}d"), getattr(_ref, f"conv{dims}d_backward")

    def _as_batch(input):
        unbatched = isinstance(input, np.ndarray) and input.ndim == dims + 1
        return (input[:, None], True) if unbatched else (input, False)

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        x, _ = _as_batch(input)
        return forward(x, weight, bias, stride, padding, dilation, groups)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        x, added = _as_batch(input)
        gx, gw, gb = backward(grad_output, x, weight, bias, stride, padding, dilation, groups)
        return (gx[:, 0] if added else gx), gw, gb

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
