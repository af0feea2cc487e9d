"""Bug (second order): linear's grad2_input multiplies the upstream gradient by the weight ``w``
instead of the weight's cotangent ``v_w``.

``∂Φ/∂x = g·v_w``: ``x`` meets ``g`` only in ``grad_weight = gᵀ·x``, whose cotangent is ``v_w``.

Revealed by: grad2_input of every linear case with a non-empty input.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("linear",), dtypes=("float64",), quantity="grad2_input", order=2, profile="quick")


def linear_double_backward(grad_grads, grad_output, input, weight, bias=None):
    result = list(_ref.linear_double_backward(grad_grads, grad_output, input, weight, bias))
    result[1] = np.asarray(_ref.linear_backward(grad_output, input, weight, None)[0])
    return tuple(result)
