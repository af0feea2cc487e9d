"""Bug (second order): sigmoid's grad2_input is taken as 0, as if sigmoid were piecewise linear.

``∂Φ/∂x = g·v·σ''(x)`` with ``σ'' = σ(1 − σ)(1 − 2σ)``: zero only at ``x = 0`` and in the saturated
tails. Treating every activation like relu is the slip.

Revealed by: grad2_input of every sigmoid case with finite, unsaturated inputs.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("sigmoid",), dtypes=("float64",), quantity="grad2_input", order=2, profile="quick")


def sigmoid_double_backward(grad_grads, grad_output, input):
    first, _ = _ref.sigmoid_double_backward(grad_grads, grad_output, input)
    return first, np.zeros_like(input)
