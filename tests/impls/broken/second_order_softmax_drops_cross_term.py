"""Bug (second order): softmax's grad2_input leaves out the term ``−g·⟨v, y⟩`` of ``∂Φ/∂y``.

``Φ = ⟨v, y ⊙ (g − ⟨g, y⟩)⟩`` depends on ``y`` in the product and in the sum ``⟨g, y⟩``; this mutant
differentiates the product only: ``∂Φ/∂y = v ⊙ (g − ⟨g, y⟩)``.

Revealed by: grad2_input of every softmax case whose rows have more than one entry.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("softmax",), dtypes=("float64",), quantity="grad2_input", order=2, profile="quick")


def softmax_double_backward(grad_grads, grad_output, input, dim):
    first, _ = _ref.softmax_double_backward(grad_grads, grad_output, input, dim)
    x, v, g = (np.atleast_1d(a) for a in (input, grad_grads[0], grad_output))
    y = np.atleast_1d(_ref.softmax(input, dim))
    through_y = v * (g - np.sum(g * y, axis=dim, keepdims=True))
    return first, _ref.softmax_backward(through_y.reshape(input.shape), input, dim)[0]
