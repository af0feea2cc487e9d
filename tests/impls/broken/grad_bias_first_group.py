"""Bug: with groups > 1, every group's grad_bias is the first group's.

The bias gradient is reduced per group from ``gy`` viewed as (N, G, O/G, ...), and the
group axis is then broadcast from group 0 instead of kept. With groups = 1 it is exact.

Revealed by: grad_bias of any case with groups > 1 and a bias (the g2 named case,
``depthwise``, ``multiplier`` and the grouped cases of the grid). Everything else is the
reference's, so no other quantity may fail.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="grad_bias")


def _mutant(dims):
    backward = getattr(_ref, f"conv{dims}d_backward")

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        gx, gw, gb = backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        if gb is not None and groups > 1:
            per_group = gb.reshape(groups, -1)
            gb = np.broadcast_to(per_group[:1], per_group.shape).reshape(gb.shape).copy()  # the bug
        return gx, gw, gb

    return getattr(_ref, f"conv{dims}d"), conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
