"""Bug (second order): log_softmax's grad_grad_output applies the transposed Jacobian,
``v − p·Σv`` (the backward on ``v``), instead of the Jacobian itself, ``v − ⟨v, p⟩``.

For softmax ``J`` is symmetric and the backward on ``v`` is right; for log_softmax
``J = I − 1pᵀ`` is not, and reusing the first-order backward is the slip.

Revealed by: grad_grad_output of every log_softmax case whose rows have more than one entry.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("log_softmax",), dtypes=("float64",), quantity="grad_grad_output", order=2, profile="quick")


def log_softmax_double_backward(grad_grads, grad_output, input, dim):
    _, second = _ref.log_softmax_double_backward(grad_grads, grad_output, input, dim)
    return _ref.log_softmax_backward(grad_grads[0], input, dim)[0], second
