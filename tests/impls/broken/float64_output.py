"""Bug: a float32 call returns a float64 output (accumulated in float64, never cast back).

The values are *more* accurate than torch's float32, so only the dtype check can catch it:
the contract says the output dtype is the input dtype. Calls mixing dtypes pass through
untouched (rejections agree); the backward is the torch-backed one (right dtypes).

Revealed by: the output of every float32 conv case ("dtype float64 != float32"); float64
cases pass.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403

GATE = dict(ops=("conv1d",), dtypes=("float32",), quantity="output", reason="dtype float64")


def _widen(*arrays):
    """float64 copies when every array is float32; the arrays untouched otherwise."""
    given = [a for a in arrays if a is not None]
    if not all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in given):
        return arrays
    return tuple(None if a is None else a.astype(np.float64) for a in arrays)


def _mutant(dims):
    forward = getattr(_tb, f"conv{dims}d")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        x, w, b = _widen(input, weight, bias)
        return forward(x, w, b, stride, padding, dilation, groups)  # the bug: no cast back

    return conv, getattr(_tb, f"conv{dims}d_backward")


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
