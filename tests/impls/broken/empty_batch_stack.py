"""Bug: an empty batch (N = 0) crashes: the batch is processed sample by sample and
``np.stack`` of zero results raises.

torch accepts N = 0 (an empty output of the right shape, empty or zero gradients), and the
contract says an empty batch works wherever it works in torch. The call is validated first
(exactly as the reference), so rejections agree; N ≥ 1 is exact.

Revealed by: the output of the ``empty-batch`` cases (conv2d, conv3d, and
``empty-batch-and-spatial``), where the mutant raises ValueError on a call torch accepts.
"""
import numpy as np

from reference import conv as _conv
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403  (pad is unaffected)

GATE = dict(ops=("conv2d", "conv3d"), dtypes=("float64",), quantity="output", reason="raised ValueError")


def _mutant(dims):
    op = f"conv{dims}d"
    forward, backward = getattr(_ref, op), getattr(_ref, op + "_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        _conv.geometry(op, dims, input, weight, bias, stride, padding, dilation, groups)
        if input.ndim == dims + 1:
            return forward(input, weight, bias, stride, padding, dilation, groups)
        return np.stack([forward(x, weight, bias, stride, padding, dilation, groups) for x in input])

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        _conv.geometry(op + "_backward", dims, input, weight, bias, stride, padding, dilation, groups)
        if input.ndim == dims + 1:
            return backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        per_sample = [backward(g, x, weight, bias, stride, padding, dilation, groups) for g, x in zip(grad_output, input)]
        gx = np.stack([r[0] for r in per_sample])
        gw = np.sum([r[1] for r in per_sample], axis=0)
        gb = None if bias is None else np.sum([r[2] for r in per_sample], axis=0)
        return gx, gw, gb

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
