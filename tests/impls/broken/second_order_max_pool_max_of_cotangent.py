"""Bug (second order): max_pool2d's grad_grad_output pools the cotangent, ``max_pool(v)``, instead
of reading ``v`` at the entries the forward selected from ``x``.

The backward routes ``g`` to ``x``'s argmax positions, so its adjoint reads ``v`` there; the
largest ``v`` in each window is another entry altogether.

Revealed by: grad_grad_output of every max_pool2d case with windows of more than one entry.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("max_pool2d",), dtypes=("float64",), quantity="grad_grad_output", order=2, profile="quick")


def max_pool2d_double_backward(grad_grads, grad_output, input, kernel_size, **kwargs):
    _, second = _ref.max_pool2d_double_backward(grad_grads, grad_output, input, kernel_size, **kwargs)
    pooled = _ref.max_pool2d(grad_grads[0], kernel_size, **kwargs)
    return (pooled[0] if isinstance(pooled, tuple) else pooled), second
