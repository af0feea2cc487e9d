"""Bug: softmax as ``exp(x) / Σ exp(x)``, without subtracting the maximum first.

Exact in real arithmetic, but ``exp`` overflows to inf for logits beyond ~709 (float64) or
~88 (float32), and underflows to 0 for very negative ones: a row of large logits gives
inf/inf = NaN, a row of very negative ones 0/0 = NaN. torch subtracts the row's maximum.
The backward is ``y·(g − Σ g·y)`` from the mutant's own y.

Revealed by: the output of ``softmax-dim1-x3x5-input=large-large-logits`` (normal × 1e4) and
the ``large`` grid cases; normal draws agree.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only softmax differs)

GATE = dict(ops=("softmax",), dtypes=("float64",), quantity="output")


def _softmax(x, dim):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x)  # the bug: no x − max(x)
        return (e / np.sum(e, axis=dim, keepdims=True)).astype(x.dtype)


def softmax(input, dim):
    _tb.softmax(input, dim)  # validation only
    return _softmax(input, dim)


def softmax_backward(grad_output, input, dim):
    _tb.softmax_backward(grad_output, input, dim)  # validation only
    y = _softmax(input, dim)
    with np.errstate(invalid="ignore"):
        return ((y * (grad_output - np.sum(grad_output * y, axis=dim, keepdims=True))).astype(input.dtype),)
