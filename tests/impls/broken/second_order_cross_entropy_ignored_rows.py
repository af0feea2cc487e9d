"""Bug (second order): cross_entropy's grad2_input forgets the ignored targets (−100): every row
gets the curvature term ``J_softmax(g'·v_x)``, though an ignored row's gradient is 0 whatever ``x``.

Revealed by: grad2_input of the cross_entropy cases whose targets hold −100.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("cross_entropy",), dtypes=("float64",), quantity="grad2_input", order=2, profile="quick")


def cross_entropy_double_backward(grad_grads, grad_output, input, target, *, reduction="mean"):
    result = list(_ref.cross_entropy_double_backward(grad_grads, grad_output, input, target, reduction=reduction))
    dim = 0 if input.ndim == 1 else 1
    kept = int(np.count_nonzero(target != -100))
    scale = grad_output if reduction == "none" else (grad_output / kept if reduction == "mean" and kept else grad_output)
    scale = np.expand_dims(scale, dim) if reduction == "none" else scale
    result[1] = _ref.softmax_backward(np.asarray(scale * grad_grads[0]), input, dim)[0]
    return tuple(result)
