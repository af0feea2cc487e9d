"""Bug (second order): pad's grad_grad_output pads the cotangent with the forward's fill value.

The fill is a constant: it has no derivative, so ``∂Φ/∂g = P v`` pads with zeros. Calling the
forward on ``v`` with the case's own ``value`` keeps it.

Revealed by: grad_grad_output of the constant-mode pad cases with a non-zero ``value``.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("pad",), dtypes=("float64",), quantity="grad_grad_output", order=2, profile="quick")


def pad_double_backward(grad_grads, grad_output, input, pad, mode="constant", value=None):
    _, second = _ref.pad_double_backward(grad_grads, grad_output, input, pad, mode, value)
    return _ref.pad(grad_grads[0], pad, mode, value), second
