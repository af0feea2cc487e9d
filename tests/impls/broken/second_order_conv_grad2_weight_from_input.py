"""Bug (second order): conv's grad2_weight differentiates grad_input's backward at the input ``x``
instead of the cotangent ``v_x``.

``∂Φ/∂w = B_wᵀ(g; v_x)``: the weight meets the upstream gradient in ``grad_input = B_xᵀ(g; w)``, whose
cotangent is ``v_x``. Reusing the forward's input there is the natural slip when grad_weight's
formula is copied from the first-order backward. Everything else is the reference's.

Revealed by: grad2_weight of every conv2d case with a non-empty batch.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="grad2_weight", order=2, profile="quick")


def conv2d_double_backward(grad_grads, grad_output, input, weight, bias=None, **kwargs):
    result = list(_ref.conv2d_double_backward(grad_grads, grad_output, input, weight, bias, **kwargs))
    result[2] = _ref.conv2d_backward(grad_output, input, weight, None, **kwargs)[1]
    return tuple(result)
