"""Per-entry tolerances for each family of ops: how far a correct implementation may be
from the float64 truth. Each bound is derived from the op's arithmetic, not tuned to pass.

A bound takes ``(case, arrays, grad_output, truth, grads)``: the case, its (pristine) array
arguments, the upstream gradient, and torch's float64 output and gradients; and returns the
tolerance of the output and of each gradient (None where the gradient is None).
"""
from __future__ import annotations

import numpy as np

from .tolerance import tolerance


def _aux(case, arrays, grad_output, transform, grad_transform):
    """torch in float64 on transformed arrays and upstream gradient (see multilinear)."""
    from .compare import torch_forward_backward

    changed = [None if a is None else transform(name, a) for name, a in zip(case.arg_names, arrays)]
    result = torch_forward_backward(case.op, changed, case.kwargs, grad_transform(grad_output))
    return result.output, result.grads


def multilinear(case, arrays, grad_output, truth, grads):
    """For ops whose every result entry is a sum of products of argument entries (conv,
    pad, linear, average pooling): ``(n + 1)·eps·Σ|terms|``, with ``Σ|terms|`` measured by a run
    on absolute values and ``n`` by a run on ones (see :mod:`crosscheck.tolerance`)."""
    mag, mag_grads = _aux(case, arrays, grad_output, lambda _, a: np.abs(a), np.abs)
    count, count_grads = _aux(case, arrays, grad_output, lambda _, a: np.ones_like(a), np.ones_like)
    dtype = case.dtype
    return tolerance(count, mag, dtype), [
        None if m is None else tolerance(n, m, dtype) for n, m in zip(count_grads, mag_grads)
    ]


def selection(case, arrays, grad_output, truth, grads):
    """For ops that select entries (max pooling, relu): the output is a copy of input
    entries, so it must be exact; each gradient entry is a sum of the upstream entries
    routed to it, sized like a multilinear sum by rerunning with |grad_output| and with ones
    on the *same* inputs (so the same entries are selected)."""
    _, mag_grads = _aux(case, arrays, grad_output, lambda _, a: a, np.abs)
    _, count_grads = _aux(case, arrays, grad_output, lambda _, a: a, np.ones_like)
    return np.zeros(np.shape(truth)), [
        None if m is None else tolerance(n, m, case.dtype) for n, m in zip(count_grads, mag_grads)
    ]
