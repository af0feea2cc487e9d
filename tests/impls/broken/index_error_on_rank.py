"""Bug: an input of too low a rank raises IndexError, not ValueError.

The mutant reads the channel count (``input.shape[-dims - 1]``) to handle unbatched inputs
*before* checking the rank, so a 2-d input to conv2d dies with "tuple index out of range".
The call is rightly refused, but the contract says how: ValueError or TypeError naming the
argument, so that callers can catch it.

Revealed by: the rejection check of ``conv2d-k2x2-s1-p0-d1-x3x5-o2-input-rank``.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="rejection", reason="IndexError")


def _mutant(dims):
    forward = getattr(_ref, f"conv{dims}d")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        channels = input.shape[-dims - 1]  # noqa: F841  (the bug: indexes before the rank check)
        return forward(input, weight, bias, stride, padding, dilation, groups)

    return conv, getattr(_ref, f"conv{dims}d_backward")


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
