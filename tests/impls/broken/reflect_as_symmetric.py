"""Bug: mode='reflect' implemented as numpy's 'symmetric' (the edge is repeated).

torch's reflect mirrors without repeating the edge: [1,2,3,4] padded by 2 is
[3,2,1,2,3,4,3,2]; numpy's 'symmetric' gives [2,1,1,2,3,4,4,3]. The mutant validates
exactly like the reference (so rejections agree) and its backward is the exact adjoint of its
own forward.

Revealed by: the output of every reflect case with a positive pad
(``pad-reflect-x1x4-pad2x2-numpy-reflect-not-symmetric`` and the reflect cases of the grid).
"""
import numpy as np

from reference import checks as _checks
from reference import functional as _ref
from reference import padding as _padding
from reference.functional import *  # noqa: F401,F403  (conv is unaffected)

GATE = dict(ops=("pad",), dtypes=("float64",), quantity="output")


def _source(length, left, right, mode):
    if mode != "reflect":
        return _padding.source_index(length, left, right, mode)
    i = np.arange(-left, length + right)
    return np.where(i < 0, -i - 1, np.where(i >= length, 2 * length - 1 - i, i))  # numpy 'symmetric'


def pad(input, pad, mode="constant", value=None):
    if mode != "reflect":
        return _ref.pad(input, pad, mode, value)
    pairs, _ = _padding.plan("pad", input, pad, mode, value)
    y = input
    for axis, left, right in pairs:
        y = np.take(y, _source(input.shape[axis], left, right, mode), axis=axis)
    return y.copy() if y is input else y


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    if mode != "reflect":
        return _ref.pad_backward(grad_output, input, pad, mode, value)
    pairs, out_shape = _padding.plan("pad_backward", input, pad, mode, value)
    grad = _checks.grad_output("pad_backward", grad_output, input, out_shape)
    for axis, left, right in pairs:
        grad = _padding.scatter_axis(grad, axis, _source(input.shape[axis], left, right, mode), input.shape[axis])
    return (grad.copy() if grad is grad_output else grad,)
