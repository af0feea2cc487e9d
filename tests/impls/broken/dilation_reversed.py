"""Bug: a per-axis dilation tuple is applied in reverse axis order.

``dilation=(2, 3)`` is applied as (3, 2): the classic (W, H) vs (H, W) mix-up. An int, or a
tuple with equal entries, hides it, so only anisotropic cases reveal it; forward and backward
are the reference's with the reversed tuple (consistent with each other).

Revealed by: the output of any case with unequal dilations (``dilated`` (2, 3), the 3-d
``same`` case with (1, 2, 2), most anisotropic grid cases): values, the output shape, or a
refusal of a call torch accepts (the reversed kernel no longer fits). The same mix-up also
turns a refusal into an acceptance: ``dilated-kernel-too-large`` (dilation (2, 1)) fits once
reversed, so that invalid case fails on ``rejection``.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403  (pad is unaffected)

GATE = dict(ops=("conv2d", "conv3d"), dtypes=("float64",), quantity="output", also=("rejection",))


def _reversed(dilation):
    return tuple(reversed(dilation)) if isinstance(dilation, (tuple, list)) else dilation


def _mutant(dims):
    forward, backward = getattr(_ref, f"conv{dims}d"), getattr(_ref, f"conv{dims}d_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return forward(input, weight, bias, stride, padding, _reversed(dilation), groups)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return backward(grad_output, input, weight, bias, stride, padding, _reversed(dilation), groups)

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
