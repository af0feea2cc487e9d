"""Bug: a zero stride is read as "the default", 1 (``stride or 1``).

A falsy-default idiom: ``stride=0`` (or a 0 inside a tuple) silently becomes 1, where torch
refuses it ("non-positive stride is not supported"). Negative strides are still refused.

Revealed by: the rejection check of the invalid case ``conv2d-k2x2-s0-p0-d1-x1x3x5x5-o2``.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="rejection", reason="accepted a call torch rejects")


def _default_if_zero(stride):
    if isinstance(stride, (tuple, list)):
        return tuple(s or 1 for s in stride)
    return stride or 1


def _mutant(dims):
    forward, backward = getattr(_ref, f"conv{dims}d"), getattr(_ref, f"conv{dims}d_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return forward(input, weight, bias, _default_if_zero(stride), padding, dilation, groups)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return backward(grad_output, input, weight, bias, _default_if_zero(stride), padding, dilation, groups)

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
