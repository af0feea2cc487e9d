"""Bug: ``cross_entropy(reduction='mean')`` divides the summed loss by the number of classes.

The mean is over the samples (every target entry): ``Σ_n loss_n / N``. The mutant divides by
C, the size of the class axis (a mix-up of the two axes of an (N, C) input), and scales the
gradient alike; 'none' and 'sum' are torch's.

Revealed by: the output of every 'mean' case with N ≠ C (``cross_entropy-mean-x4x5-t4``, the
``large-logits`` case (3, 6), grid cases); N = C hides it. Where a loss is infinite (a target
logit of −inf, ``input=fixed:ce-logits``) the mean is inf either way and only the gradient shows it.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only cross_entropy differs)

GATE = dict(ops=("cross_entropy",), dtypes=("float64",), quantity="output", also=("grad_input",))


def _classes(input):
    return input.shape[1] if input.ndim > 1 else input.shape[0]


def cross_entropy(input, target, reduction="mean"):
    if reduction != "mean":
        return _tb.cross_entropy(input, target, reduction)
    total = _tb.cross_entropy(input, target, "sum")
    return np.asarray(total / _classes(input), dtype=input.dtype)  # the bug


def cross_entropy_backward(grad_output, input, target, reduction="mean"):
    if reduction != "mean":
        return _tb.cross_entropy_backward(grad_output, input, target, reduction)
    grad_input, _ = _tb.cross_entropy_backward(grad_output, input, target, "sum")
    return (grad_input / _classes(input)).astype(input.dtype), None
