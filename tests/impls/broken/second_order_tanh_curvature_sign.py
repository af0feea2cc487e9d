"""Bug (second order): tanh's grad2_input has the wrong sign: ``+2y·v·g`` through the backward
instead of ``−2y·v·g`` (``tanh'' = −2·tanh·(1 − tanh²)``).

Revealed by: grad2_input of every tanh case with inputs away from 0.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("tanh",), dtypes=("float64",), quantity="grad2_input", order=2, profile="quick")


def tanh_double_backward(grad_grads, grad_output, input):
    first, _ = _ref.tanh_double_backward(grad_grads, grad_output, input)
    y = np.tanh(input)
    return first, _ref.tanh_backward(np.asarray(2 * y * grad_grads[0] * grad_output), input)[0]
