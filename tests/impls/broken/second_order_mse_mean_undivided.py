"""Bug (second order): mse_loss's grad_grad_output for ``reduction='mean'`` sums the terms without
dividing by the number of entries ``D``.

``∂Φ/∂g = Σ 2(x − t)(v_x − v_t) / D``: the mean's ``1/D`` multiplies every first-order gradient,
so it multiplies their derivative with respect to ``g`` too.

Revealed by: grad_grad_output of every mse_loss case with reduction 'mean' (the default) and
more than one entry.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("mse_loss",), dtypes=("float64",), quantity="grad_grad_output", order=2, profile="quick")


def mse_loss_double_backward(grad_grads, grad_output, input, target, *, reduction="mean"):
    result = list(_ref.mse_loss_double_backward(grad_grads, grad_output, input, target, reduction=reduction))
    if reduction == "mean":
        d = input - target
        result[0] = np.asarray(np.sum(2 * d * grad_grads[0] - 2 * d * grad_grads[1]), dtype=input.dtype)
    return tuple(result)
