"""Bug: computes in float32 whatever the input dtype, then casts back.

A float64 call is narrowed to float32 (arrays and upstream gradient), run through the
torch-backed implementation and widened again: the dtype is right, the values carry float32
rounding (~1e-7 relative), which the float64 tolerance (~1e-13 relative) must catch. Calls
mixing dtypes are passed through untouched, so rejections still agree with torch.

Revealed by: the output of every non-trivial float64 case; float32 cases pass.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403

GATE = dict(ops=("conv2d", "pad"), dtypes=("float64",), quantity="output")


def _narrow(*arrays):
    """float32 copies when every array is float64; the arrays untouched otherwise."""
    given = [a for a in arrays if a is not None]
    if not all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in given):
        return arrays
    return tuple(None if a is None else a.astype(np.float32) for a in arrays)


def _widen(result, like):
    return result.astype(like.dtype) if isinstance(like, np.ndarray) else result


def _mutant(dims):
    forward, backward = getattr(_tb, f"conv{dims}d"), getattr(_tb, f"conv{dims}d_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        x, w, b = _narrow(input, weight, bias)
        return _widen(forward(x, w, b, stride, padding, dilation, groups), input)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        g, x, w, b = _narrow(grad_output, input, weight, bias)
        grads = backward(g, x, w, b, stride, padding, dilation, groups)
        return tuple(None if r is None else _widen(r, input) for r in grads)

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)


def pad(input, pad, mode="constant", value=None):
    (x,) = _narrow(input)
    return _widen(_tb.pad(x, pad, mode, value), input)


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    g, x = _narrow(grad_output, input)
    return (_widen(_tb.pad_backward(g, x, pad, mode, value)[0], input),)
