"""Bug: output channel j reads input group j % G instead of j // (O/G).

torch assigns output channels to groups in contiguous blocks; this mutant interleaves them
(channel 0 → group 0, channel 1 → group 1, ...). It is consistent in the backward (the exact
adjoint of its own forward). When O/G = 1 (depthwise without multiplier) or G = 1 the two
mappings coincide.

Revealed by: the output of any case with groups > 1 and more than one output channel per
group (the g2 named case with O=6, ``multiplier``, grouped grid cases).
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="output")


def _order(weight, groups):
    """``order[j]``: where the mutant's output channel j sits in the reference's layout."""
    out = weight.shape[0]
    j = np.arange(out)
    return (j % groups) * (out // groups) + j // groups


def _applies(input, weight, groups):
    return (isinstance(input, np.ndarray) and isinstance(weight, np.ndarray) and isinstance(groups, int)
            and groups > 1 and weight.ndim > 0 and weight.shape[0] % groups == 0)


def _mutant(dims):
    forward, backward = getattr(_ref, f"conv{dims}d"), getattr(_ref, f"conv{dims}d_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if not _applies(input, weight, groups):
            return forward(input, weight, bias, stride, padding, dilation, groups)
        order = _order(weight, groups)
        w = np.empty_like(weight)
        w[order] = weight
        b = None
        if bias is not None:
            b = np.empty_like(bias)
            b[order] = bias
        y = forward(input, w, b, stride, padding, dilation, groups)
        channel = input.ndim - dims - 1
        return np.take(y, order, axis=channel)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if not _applies(input, weight, groups):
            return backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        order = _order(weight, groups)
        w = np.empty_like(weight)
        w[order] = weight
        b = None
        if bias is not None:
            b = np.empty_like(bias)
            b[order] = bias
        channel = input.ndim - dims - 1
        g = np.empty_like(grad_output)
        index = [slice(None)] * grad_output.ndim
        index[channel] = order
        g[tuple(index)] = grad_output
        gx, gw, gb = backward(g, input, w, b, stride, padding, dilation, groups)
        return gx, gw[order], None if gb is None else gb[order]

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
