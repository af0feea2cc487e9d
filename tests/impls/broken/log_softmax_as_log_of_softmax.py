"""Bug: log_softmax as ``log(softmax(x))``.

The softmax is the stable one (maximum subtracted), but a probability below the dtype's
smallest subnormal rounds to 0, and its log is −inf where torch's ``x − m − log Σ exp(x − m)``
is a finite, large negative number (≈ −2e4 for logits of scale 1e4). Moderate logits agree.
The backward ``g − p·Σ g`` is computed from the same probabilities, correctly.

Revealed by: the output of ``log_softmax-dim-1-x3x5-input=large-large-logits`` and the
``large`` grid cases; normal draws agree.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only log_softmax differs)

GATE = dict(ops=("log_softmax",), dtypes=("float64",), quantity="output")


def _softmax(x, dim):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x - np.max(x, axis=dim, keepdims=True))
        return e / np.sum(e, axis=dim, keepdims=True)


def log_softmax(input, dim):
    _tb.log_softmax(input, dim)  # validation only
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(_softmax(input, dim)).astype(input.dtype)  # the bug: log of an underflowed 0


def log_softmax_backward(grad_output, input, dim):
    _tb.log_softmax_backward(grad_output, input, dim)  # validation only
    p = _softmax(input, dim)
    with np.errstate(invalid="ignore"):
        return ((grad_output - p * np.sum(grad_output, axis=dim, keepdims=True)).astype(input.dtype),)
