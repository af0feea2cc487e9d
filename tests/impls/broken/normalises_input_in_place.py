"""Bug: the forward rescales its input in place ("normalise for stability") and never
restores it.

``input /= scale`` with a power-of-two scale (exact), convolve, multiply the output back:
the output is right, but the caller's input array now holds input / scale. The contract says
inputs are never modified.

Revealed by: the ``input`` check right after the forward, on every case whose input has an
entry of magnitude ≥ 1 (so the scale is not 1): nearly all non-empty conv cases.
"""
import math

import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403  (pad is unaffected)

GATE = dict(ops=("conv2d",), dtypes=("float64", "float32"), quantity="input", reason="modified in place")


def _mutant(dims):
    forward = getattr(_ref, f"conv{dims}d")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        largest = float(np.abs(input).max()) if isinstance(input, np.ndarray) and input.size else 0.0
        if not np.isfinite(largest) or largest == 0.0:
            return forward(input, weight, bias, stride, padding, dilation, groups)
        scale = 2.0 ** math.ceil(math.log2(largest))  # a Python float: no dtype promotion
        input /= scale  # the bug: in place, on the caller's array
        b = bias / scale if isinstance(bias, np.ndarray) else bias
        return forward(input, weight, b, stride, padding, dilation, groups) * scale

    return conv, getattr(_ref, f"conv{dims}d_backward")


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
