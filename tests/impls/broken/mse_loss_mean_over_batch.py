"""Bug: ``mse_loss(reduction='mean')`` divides the sum by the batch size, not by the number
of entries.

"Mean over the batch" (per-sample squared errors summed over features, then averaged over
samples) is a common loss, but torch's 'mean' averages over every element: ``Σ(x − t)²/x.size``.
The mutant returns ``Σ(x − t)²/N`` with N the first axis, and scales the gradients alike;
'none' and 'sum' are torch's.

Revealed by: the output of every 'mean' case whose input has more than one entry per sample
(grid cases ``mse_loss-mean-x3x4-t3x4``, ``mse_loss-mean-x2x3-t2x3``, ...); 1-d inputs and
(N, 1) inputs (N = size) hide it, and so do the named cases ('none' and 'sum').
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only mse_loss differs)

GATE = dict(ops=("mse_loss",), dtypes=("float64",), quantity="output")


def _batch(input):
    return input.shape[0] if input.ndim else 1


def mse_loss(input, target, reduction="mean"):
    if reduction != "mean":
        return _tb.mse_loss(input, target, reduction)
    total = _tb.mse_loss(input, target, "sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / _batch(input), dtype=input.dtype)  # the bug


def mse_loss_backward(grad_output, input, target, reduction="mean"):
    if reduction != "mean":
        return _tb.mse_loss_backward(grad_output, input, target, reduction)
    grads = _tb.mse_loss_backward(grad_output, input, target, "sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        return tuple(np.asarray(g / _batch(input), dtype=input.dtype) for g in grads)
