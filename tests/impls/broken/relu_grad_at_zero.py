"""Bug: relu's gradient is 1 at exactly 0 (mask ``x >= 0``, torch's is ``x > 0``).

relu is not differentiable at 0; torch passes no gradient there (``threshold_backward``
zeroes entries whose value is ≤ 0), and the contract is torch's vector-Jacobian product. The
mutant keeps the upstream gradient where x = 0 (and −0.0). NaN passes through both. The
output is torch's.

Revealed by: grad_input of cases holding a 0: ``relu-x3x4-input=zeros-at-zero`` (every third
entry +0.0, one −0.0, in both dtypes), ``relu-x2x5-input=specials`` (±0.0 among the specials)
and integer grid cases (integers in [−3, 3], a seventh of them 0); normal draws are never 0.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only relu's backward differs)

GATE = dict(ops=("relu",), dtypes=("float64", "float32"), quantity="grad_input")


def relu_backward(grad_output, input):
    _tb.relu_backward(grad_output, input)  # validation only
    return (np.where(input < 0, 0, grad_output).astype(input.dtype),)  # the bug: 0 passes
