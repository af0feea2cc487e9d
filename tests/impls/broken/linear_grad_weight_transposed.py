"""Bug: linear's grad_weight is ``input.T @ grad_output``, shaped (in, out), not (out, in).

That is the gradient of ``y = x @ W`` with W stored (in, out), the textbook layout; torch's
``linear`` computes ``y = x @ W.T + b`` with W stored (out, in), whose gradient is
``grad_output.T @ input``. Output, grad_input and grad_bias are torch's.

Revealed by: grad_weight of every linear case: the shape where in ≠ out (most cases), the
values where the weight is square (``square``, where the transposed matrix is the wrong
one). An empty batch (``empty``) gives zeros, so only its shape shows the bug.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only linear's grad_weight differs)

GATE = dict(ops=("linear",), dtypes=("float64",), quantity="grad_weight")


def linear_backward(grad_output, input, weight, bias=None):
    gx, gw, gb = _tb.linear_backward(grad_output, input, weight, bias)
    if weight.ndim == 1:  # a 1-d weight has no axes to swap
        return gx, gw, gb
    x = input.reshape(int(np.prod(input.shape[:-1])), input.shape[-1])
    g = grad_output.reshape(x.shape[0], weight.shape[0])
    return gx, x.T @ g, gb  # the bug: (in, out)
