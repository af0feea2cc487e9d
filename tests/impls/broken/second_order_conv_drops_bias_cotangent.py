"""Bug (second order): grad_grad_output of conv1d leaves out the bias's cotangent ``v_b``.

``∂Φ/∂g = B(v_x, w) + B(x, v_w) + v_b``: grad_bias ``Σ g`` is linear in ``g`` too, so its cotangent
is broadcast back over the output; this mutant adds the two forwards only.

Revealed by: grad_grad_output of every conv1d case with a bias and a non-empty output.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv1d",), dtypes=("float64",), quantity="grad_grad_output", order=2, profile="quick")


def conv1d_double_backward(grad_grads, grad_output, input, weight, bias=None, **kwargs):
    result = list(_ref.conv1d_double_backward(grad_grads, grad_output, input, weight, bias, **kwargs))
    result[0] = _ref.conv1d(grad_grads[0], weight, None, **kwargs) + _ref.conv1d(input, grad_grads[1], None, **kwargs)
    return tuple(result)
