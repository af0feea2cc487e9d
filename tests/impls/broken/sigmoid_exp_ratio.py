"""Bug: sigmoid computed as ``exp(x) / (1 + exp(x))``.

The textbook form is exact in real arithmetic but overflows for large positive x: ``exp(x)``
is inf beyond ~709 (float64) or ~88 (float32), and inf/inf is NaN where torch gives 1.
Moderate inputs agree to a few ulps. The backward is ``g·y(1 − y)`` from the mutant's own y.

Revealed by: the output of ``sigmoid-x3x4-input=large-saturated`` (normal × 1e4) and the
``large`` grid cases, and of the ``specials`` grid cases holding +inf; normal draws pass.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only sigmoid differs)

GATE = dict(ops=("sigmoid",), dtypes=("float64", "float32"), quantity="output")


def _sigmoid(x):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x)
        return (e / (1 + e)).astype(x.dtype)  # the bug: inf / inf for large x


def sigmoid(input):
    _tb.sigmoid(input)  # validation only
    return _sigmoid(input)


def sigmoid_backward(grad_output, input):
    _tb.sigmoid_backward(grad_output, input)  # validation only
    y = _sigmoid(input)
    return ((grad_output * y * (1 - y)).astype(input.dtype),)
