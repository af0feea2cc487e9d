"""Bug: circular padding with a negative amount pads first and crops after (numpy style).

``np.pad(x, positive_parts, 'wrap')`` then slicing the negative parts off wraps around the
*whole* axis; torch crops first and wraps what is left. With pad (-1, 2) on [a,b,c,d,e,f]
torch gives [b,c,d,e,f,b,c], the mutant [b,c,d,e,f,a,b]. Non-negative pads agree exactly.
Validation and the backward (the exact adjoint of the mutant's forward) are the reference's.

Revealed by: the output of ``pad-circular-x2x3x6-pad-1x2-crop-then-wrap`` only (the grid draws
non-negative circular pads), so the gate proves that named case is there and checked.
"""
import numpy as np

from reference import checks as _checks
from reference import functional as _ref
from reference import padding as _padding
from reference.functional import *  # noqa: F401,F403  (conv is unaffected)

GATE = dict(ops=("pad",), dtypes=("float64",), quantity="output")


def _source(length, left, right):
    if left >= 0 and right >= 0:
        return _padding.source_index(length, left, right, "circular")
    return np.arange(-left, length + right) % length  # wrap over the uncropped axis: the bug


def pad(input, pad, mode="constant", value=None):
    if mode != "circular":
        return _ref.pad(input, pad, mode, value)
    pairs, _ = _padding.plan("pad", input, pad, mode, value)
    y = input
    for axis, left, right in pairs:
        y = np.take(y, _source(input.shape[axis], left, right), axis=axis)
    return y.copy() if y is input else y


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    if mode != "circular":
        return _ref.pad_backward(grad_output, input, pad, mode, value)
    pairs, out_shape = _padding.plan("pad_backward", input, pad, mode, value)
    grad = _checks.grad_output("pad_backward", grad_output, input, out_shape)
    for axis, left, right in pairs:
        grad = _padding.scatter_axis(grad, axis, _source(input.shape[axis], left, right), input.shape[axis])
    return (grad.copy() if grad is grad_output else grad,)
