"""Bug: a negative convolution padding is clamped to 0 instead of rejected.

``padding = max(padding, 0)`` per axis ("be lenient"): torch refuses negative padding
("negative padding is not supported"), so the contract requires a ValueError/TypeError.
Valid calls are the reference's, exactly.

Revealed by: the rejection check of the invalid cases ``conv2d-k2x2-s1-p-1-d1-x1x3x5x5-o2`` and
``conv2d-k2x2-s1-p0x-1-d1-x1x3x5x5-o2``.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="rejection", reason="accepted a call torch rejects")


def _clamp(padding):
    if isinstance(padding, int):
        return max(padding, 0)
    if isinstance(padding, (tuple, list)) and all(isinstance(p, int) for p in padding):
        return tuple(max(p, 0) for p in padding)
    return padding


def _mutant(dims):
    forward, backward = getattr(_ref, f"conv{dims}d"), getattr(_ref, f"conv{dims}d_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return forward(input, weight, bias, stride, _clamp(padding), dilation, groups)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return backward(grad_output, input, weight, bias, stride, _clamp(padding), dilation, groups)

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
