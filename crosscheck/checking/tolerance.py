"""The tolerance policy, in one place.

Every op checked here is multilinear: each entry of the output and of every gradient is a
sum of products of entries of the arrays (plus constants such as a bias or a fill value).
For such a sum computed in floating point, in *any* order and blocking, with or without
fused multiply-adds, the classical bound (Higham, *Accuracy and Stability of Numerical
Algorithms*, §3.1) is

    |computed − exact| ≤ γₙ · Σ|terms|,   γₙ = n·u / (1 − n·u),  u = eps/2,

with ``n`` the number of terms. The harness measures both factors per entry from torch
itself, in float64, by running the same computation twice more:

* **magnitude**: on ``|arrays|`` with ``|grad_output|``: every term becomes ``|term|``, so each
  entry is exactly ``Σ|terms|``;
* **count**: on arrays of ones with a ``grad_output`` of ones: each entry is ``n``.

The truth is torch in float64 on the very same values (float32 data is widened exactly).
Both it and the implementation obey the bound, so their difference is at most
``n·eps·Σ|terms|`` (the truth's share is ``eps_float64``-sized, negligible for float32). We
allow

    tol = (n + 1) · eps(dtype) · Σ|terms|

where the ``+1`` pays for the final rounding of the result into ``dtype``. This is a proof,
not a guess: a direct-summation implementation cannot exceed it, whatever the data, so
float32 never fails by chance; and float64 stays tight (for a 3×3 conv over 64 channels the
bound is 577·2.2e-16 ≈ 1.3e-13 of Σ|terms|, so a relative error of 1e-6 fails). An entry whose
terms are all zero (an input position no window reads) must be exactly zero. The bound
does not cover Winograd- or FFT-based kernels, whose errors are not entrywise.
"""
from __future__ import annotations

import numpy as np


def tolerance(count: np.ndarray, magnitude: np.ndarray, dtype) -> np.ndarray:
    """Entrywise bound for a result in ``dtype``; see the module docstring."""
    eps = float(np.finfo(dtype).eps)
    return (np.abs(count) + 1.0) * eps * np.abs(magnitude)


def excess(actual: np.ndarray, expected: np.ndarray, tol: np.ndarray):
    """Absolute error per entry and a mask of the entries that break the tolerance.

    NaN must sit where torch has NaN and infinities must match exactly; everywhere else
    the error is ``|actual − expected|`` and an entry fails when it exceeds ``tol``.
    """
    actual = actual.astype(np.float64)
    # a bound that is NaN or infinite (inf or NaN among the operands) allows no error at all:
    # a comparison with NaN would otherwise pass anything
    tol = np.where(np.isfinite(tol), tol, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(actual - expected)
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    inf_e = np.isinf(expected)
    exact = nan_a & nan_e | inf_e & (actual == expected)
    error = np.where(exact, 0.0, np.where(np.isnan(error), np.inf, error))
    return error, error > tol
