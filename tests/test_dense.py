"""linear, the activations and the losses (reference.dense, .activations, .losses).

* each op, forward and backward, against torch's forward and autograd in float64 on the same
  values (the truth), in float64 and float32, with a random upstream gradient, over 1-d,
  unbatched, empty, K-dim, broadcast, ±1e4 and NaN/±inf cases; the definitional loops too;
* the vectorised tier against the definitional loops in double precision;
* special values where parity is easy to get wrong: relu at exactly ±0, NaN and ±inf through
  every activation and softmax, sigmoid's tails, ignored and out-of-range class targets;
* rejection parity: a call torch refuses raises ValueError or TypeError naming the argument;
* the deliberate differences from torch, each pinned against torch so it is revisited if
  torch changes.

Every tolerance is an entrywise error bound, derived next to the function that computes it.
``eps`` is the dtype's machine epsilon (twice the unit roundoff ``u``).
"""
from __future__ import annotations

import inspect
import math
import os
import subprocess
import sys
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.activations as A
import reference.definitional_dense as DD
import reference.dense as DN
import reference.losses as L
from crosscheck.checking.tolerance import excess, tolerance

VECTORISED = {name: getattr(m, name) for m in (DN, A, L) for name in dir(m) if not name.startswith("_")}
TORCH = {
    "linear": T.linear,
    "relu": T.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": T.softmax,
    "log_softmax": T.log_softmax,
    "mse_loss": T.mse_loss,
    "cross_entropy": T.cross_entropy,
}
DTYPES = ("float64", "float32")
INF, NAN = np.inf, np.nan


# cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One call: ``op(*arrays, **kwargs)``. Each array is described by a spec:

    ``(2, 3)``                 standard normal draws of that shape
    ``("scaled", shape, s)``   normal × s (s = 1e4: logits whose exp overflows unless shifted)
    ``("labels", shape, C)``   int64 class indices in [0, C), about a fifth of them −100 (ignored)
    ``("classes", shape, C)``  int64 class indices in [0, C), none ignored
    ``("probs", shape)``       uniform [0, 1) class probabilities (not normalised: torch doesn't ask)
    ``("fixed", values)``      exactly these values (NaN, ±inf, ±0, ...)
    ``("fixed-int", values)``  exactly these int64 class indices
    ``None``                   the argument is None
    """

    id: str
    op: str
    specs: tuple
    kwargs: dict = field(default_factory=dict)
    warns: bool = False  # the forward warns (mse_loss with broadcast shapes), like torch

    def arrays(self, dtype):
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return [_draw(rng, spec, np.dtype(dtype)) for spec in self.specs]


def _draw(rng, spec, dtype):
    if spec is None:
        return None
    if spec == () or isinstance(spec[0], int):
        return rng.standard_normal(spec).astype(dtype)
    kind, *rest = spec
    if kind == "scaled":
        return (rng.standard_normal(rest[0]) * rest[1]).astype(dtype)
    if kind in ("labels", "classes"):
        shape, classes = rest
        labels = rng.integers(0, max(classes, 1), size=shape)
        if kind == "labels":
            labels = np.where(rng.random(shape) < 0.2, L.IGNORE_INDEX, labels)
        return labels.astype(np.int64)
    if kind == "probs":
        return rng.random(rest[0]).astype(dtype)
    if kind == "fixed":
        return np.array(rest[0], dtype=dtype)
    if kind == "fixed-int":
        return np.array(rest[0], dtype=np.int64)
    raise ValueError(spec)


SPECIALS = [0.0, -0.0, 1.0, -1.0, NAN, INF, -INF, 1e4, -1e4, 20.0, -20.0, 100.0, -100.0, 750.0, -750.0]
SPECIAL_ROWS = [[INF, 0, 1], [INF, INF, 0], [-INF, 0, 1], [-INF, -INF, -INF], [NAN, 0, 1], [1e4, -1e4, 0], [0, 1, 2]]
CE_SPECIAL = [[-INF, 0, 0], [-INF, 0, 0], [NAN, 0, 0], [INF, 0, 1], [1e4, -1e4, 0]]
CE_SPECIAL_PROBS = [[0, 0.5, 0.5], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [1, 0, 0], [0, 1, 0]]  # 0·(−inf) is NaN


def _cases():
    c = []
    # linear: y = x·wᵀ + b, leading axes of any number, 1-d weight and 0-d bias as torch documents
    c += [
        Case("linear-2x3x4-w5x4-b5", "linear", ((2, 3, 4), (5, 4), (5,))),
        Case("linear-4-w5x4-b5", "linear", ((4,), (5, 4), (5,))),
        Case("linear-3x4-w5x4-nobias", "linear", ((3, 4), (5, 4), None)),
        Case("linear-3x4-w5x4-b0d", "linear", ((3, 4), (5, 4), ())),
        Case("linear-2x3x4-w4-b0d", "linear", ((2, 3, 4), (4,), ())),
        Case("linear-3x4-w4-nobias", "linear", ((3, 4), (4,), None)),
        Case("linear-4-w4-b0d", "linear", ((4,), (4,), ())),
        Case("linear-0x4-w5x4-b5", "linear", ((0, 4), (5, 4), (5,))),
        Case("linear-3x0-w5x0-b5", "linear", ((3, 0), (5, 0), (5,))),
        Case("linear-3x4-w0x4-b0", "linear", ((3, 4), (0, 4), (0,))),
        Case("linear-1x2x1x6-w3x6-b3", "linear", ((1, 2, 1, 6), (3, 6), (3,))),
    ]
    for op in ("relu", "sigmoid", "tanh"):
        c += [
            Case(f"{op}-2x3x4", op, ((2, 3, 4),)),
            Case(f"{op}-0d", op, ((),)),
            Case(f"{op}-0x3", op, ((0, 3),)),
            Case(f"{op}-tails-x40", op, (("scaled", (4, 6), 40.0),)),
            Case(f"{op}-specials", op, (("fixed", SPECIALS),)),
        ]
    for op in ("softmax", "log_softmax"):
        c += [Case(f"{op}-2x3x4-dim{d}", op, ((2, 3, 4),), {"dim": d}) for d in (0, 1, 2, -1, -3)]
        c += [
            Case(f"{op}-5-dim0", op, ((5,),), {"dim": 0}),
            Case(f"{op}-0d-dim0", op, ((),), {"dim": 0}),
            Case(f"{op}-0d-dim-1", op, ((),), {"dim": -1}),
            Case(f"{op}-0x3-dim1", op, ((0, 3),), {"dim": 1}),
            Case(f"{op}-2x0-dim1", op, ((2, 0),), {"dim": 1}),
            Case(f"{op}-large-3x4-dim1", op, (("scaled", (3, 4), 1e4),), {"dim": 1}),
            Case(f"{op}-specials-dim1", op, (("fixed", SPECIAL_ROWS),), {"dim": 1}),
            Case(f"{op}-specials-dim0", op, (("fixed", SPECIAL_ROWS),), {"dim": 0}),
        ]
    for r in ("mean", "sum", "none"):
        def mse(name, x, t, warns=False):
            return Case(f"mse_loss-{name}-{r}", "mse_loss", (x, t), {"reduction": r}, warns)

        def ce(name, x, t):
            return Case(f"cross_entropy-{name}-{r}", "cross_entropy", (x, t), {"reduction": r})

        c += [
            mse("2x3x4", (2, 3, 4), (2, 3, 4)),
            mse("0d", (), ()),
            mse("0x3", (0, 3), (0, 3)),
            mse("2x3x4-bcast-3x1", (2, 3, 4), (3, 1), warns=True),
            mse("3x1-bcast-1x4", (3, 1), (1, 4), warns=True),
            mse("specials", ("fixed", SPECIALS), ("fixed", SPECIALS[::-1])),
            mse("inf-inf", ("fixed", [INF, INF, 1e18, 1.0]), ("fixed", [INF, -INF, -1e18, NAN])),
            ce("4x5", (4, 5), ("classes", (4,), 5)),
            ce("6x5-ignored", (6, 5), ("labels", (6,), 5)),
            ce("5-unbatched", (5,), ("classes", (), 5)),
            ce("2x3x4x2-kdim", (2, 3, 4, 2), ("labels", (2, 4, 2), 3)),
            ce("0x3", (0, 3), ("classes", (0,), 3)),
            ce("all-ignored", (2, 3), ("fixed-int", [-100, -100])),
            ce("large-4x3", ("scaled", (4, 3), 1e4), ("classes", (4,), 3)),
            ce("specials", ("fixed", CE_SPECIAL), ("fixed-int", [0, 1, -100, 2, 1])),
            ce("probs-4x5", (4, 5), ("probs", (4, 5))),
            ce("probs-5-unbatched", (5,), ("probs", (5,))),
            ce("probs-2x3x4-kdim", (2, 3, 4), ("probs", (2, 3, 4))),
            ce("probs-large-3x4", ("scaled", (3, 4), 1e4), ("probs", (3, 4))),
            ce("probs-specials", ("fixed", CE_SPECIAL), ("fixed", CE_SPECIAL_PROBS)),
        ]
    return c


CASES = _cases()
PARAMS = [pytest.param(case, dtype, id=f"{case.id}-{dtype}") for case in CASES for dtype in DTYPES]


# running a case -----------------------------------------------------------------------


def _torch(op, arrays, kwargs, grad):
    """torch's output and the gradient of each float array, in float64 on the same values.
    ``grad`` is the upstream gradient, or a function of the output's shape that makes one."""
    tensors = [
        None if a is None
        else torch.tensor(a, dtype=torch.float64, requires_grad=True) if a.dtype.kind == "f"
        else torch.from_numpy(a.copy())
        for a in arrays
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own warning for mse_loss with broadcast shapes
        out = TORCH[op](*tensors, **kwargs)
    grad = grad(tuple(out.shape)) if callable(grad) else grad
    wanted = [t for t in tensors if t is not None and t.requires_grad]
    got = iter(torch.autograd.grad(out, wanted, torch.tensor(grad, dtype=torch.float64), allow_unused=True))
    grads = [None if t is None or not t.requires_grad else next(got).numpy() for t in tensors]
    return out.detach().numpy(), grads, grad


def _upstream(dtype):
    """Standard normal upstream gradients in ``dtype`` (never ones: a sum would hide a
    permuted gradient), widened exactly to float64 for the truth."""
    rng = np.random.default_rng(7)
    return lambda shape: rng.standard_normal(shape).astype(dtype).astype(np.float64)


def _run(functions, case, arrays, grad):
    """``(output, gradients)`` of one implementation. A numpy warning (overflow, invalid value,
    division by zero; underflow to 0 is the right answer) fails the test; mse_loss with
    broadcast shapes must warn, as torch does."""
    forward, backward = functions[case.op], functions[case.op + "_backward"]
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        warnings.simplefilter("error")
        if case.warns:
            with pytest.warns(UserWarning, match="broadcast") as record:
                out = forward(*arrays, **case.kwargs)
            if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampolines add frames of their own
                assert record[0].filename == __file__  # the warning points at the line that called the op
        else:
            out = forward(*arrays, **case.kwargs)
        grads = backward(grad, *arrays, **case.kwargs)
    return out, grads


def _wide(a):
    return None if a is None else a.astype(np.float64) if a.dtype.kind == "f" else a


def _assert_within(what, got, want, tol, dtype):
    assert isinstance(got, np.ndarray), f"{what}: expected an ndarray, got {type(got).__name__}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, truth {want.shape}"
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), want.shape)
    error, bad = excess(got, want, tol)
    if bad.any():
        at = np.unravel_index(np.argmax(np.where(bad, error, -1)), bad.shape)
        raise AssertionError(
            f"{what}: {int(bad.sum())} entries out of tolerance; at {at}: got {got[at]!r}, "
            f"truth {want[at]!r}, error {error[at]:.3g}, tolerance {tol[at]:.3g}"
        )


def _check(case, dtype, arrays, grad, result, truth):
    """Output and gradients against the truth within the op's bound; gradients None exactly
    where the truth has none; nothing returned shares memory with an argument."""
    (out, grads), (want, want_grads) = result, truth
    wide = [_wide(a) for a in arrays]
    out_tol, grad_tols = TOLERANCES[case.op](case, wide, grad.astype(np.float64), want, want_grads, dtype)
    _assert_within(f"{case.id} output", out, want, out_tol, dtype)
    assert isinstance(grads, tuple) and len(grads) == len(arrays), f"backward must return {len(arrays)} entries"
    for k, (g, expected, tol) in enumerate(zip(grads, want_grads, grad_tols)):
        if expected is None:
            assert g is None, f"{case.id} gradient {k}: must be None"
        else:
            _assert_within(f"{case.id} gradient {k}", g, expected, tol, dtype)
    for r in (out, *grads):
        assert r is None or not any(np.shares_memory(r, a) for a in (*arrays, grad) if a is not None), "aliased result"


@pytest.mark.parametrize("tier", ["vectorised", "definitional"])
@pytest.mark.parametrize("case, dtype", PARAMS)
def test_matches_torch(case, dtype, tier):
    arrays = case.arrays(dtype)
    pristine = [None if a is None else a.copy() for a in arrays]
    want, want_grads, grad = _torch(case.op, [_wide(a) for a in arrays], case.kwargs, _upstream(dtype))
    grad = grad.astype(dtype)  # exact: the truth used its widening
    functions = VECTORISED if tier == "vectorised" else vars(DD)
    _check(case, np.dtype(dtype), arrays, grad, _run(functions, case, arrays, grad), (want, want_grads))
    for a, b in zip(arrays, pristine):
        assert a is None or np.array_equal(a, b, equal_nan=True), "an input was modified"


@pytest.mark.parametrize("case, dtype", PARAMS)
def test_vectorised_equals_definitional(case, dtype):
    """The two tiers: the loops, in double precision on the same values, are the truth (torch
    only sizes the tolerance of linear and mse_loss, from absolute values and ones)."""
    arrays = case.arrays(dtype)
    wide = [_wide(a) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loops warn about broadcast shapes too
        want = getattr(DD, case.op)(*wide, **case.kwargs)
        grad = _upstream(dtype)(want.shape)
        want_grads = getattr(DD, case.op + "_backward")(grad, *wide, **case.kwargs)
    grad = grad.astype(dtype)
    _check(case, np.dtype(dtype), arrays, grad, _run(VECTORISED, case, arrays, grad), (want, want_grads))


def test_every_op_is_covered_in_both_tiers():
    assert {c.op for c in CASES} == set(TORCH)
    for op in TORCH:
        for name in (op, op + "_backward"):
            assert callable(VECTORISED[name]) and callable(getattr(DD, name))


# tolerances ---------------------------------------------------------------------------


def _eps(dtype):
    return float(np.finfo(dtype).eps)


def _tiny(dtype):
    """The smallest normal number: a result in the subnormal range has lost relative precision
    and is only good to about this much, absolutely."""
    return float(np.finfo(dtype).tiny)


def _linear_tol(case, arrays, grad, truth, grads, dtype):
    """linear is multilinear: each entry of y and of every gradient is a sum of ``n`` products,
    so a direct summation in any order and blocking is within ``(n + 1)·eps·Σ|terms|`` of exact
    (the harness's proven bound, :mod:`crosscheck.checking.tolerance`). ``n`` and ``Σ|terms|`` per entry
    come from torch on arrays of ones and on absolute values."""
    ones, absolute = ([None if a is None else f(a) for a in arrays] for f in (np.ones_like, np.abs))
    count, count_grads, _ = _torch("linear", ones, {}, np.ones_like(grad))
    mag, mag_grads, _ = _torch("linear", absolute, {}, np.abs(grad))
    grad_tols = [None if m is None else tolerance(n, m, dtype) for n, m in zip(count_grads, mag_grads)]
    return tolerance(count, mag, dtype), grad_tols


def _relu_tol(case, arrays, grad, truth, grads, dtype):
    """relu selects: its output is a copy of an input entry or 0, its gradient a copy of an
    upstream entry or 0. No arithmetic, so both must be exact."""
    return 0.0, [0.0]


def _smooth_tol(case, arrays, grad, truth, grads, dtype):
    """sigmoid and tanh: ``y`` takes a few roundings (exp or tanh within 2 ulp, an add, a divide),
    so ``8·eps·|y|`` leaves a factor of 2. The gradient is computed from ``y``: a relative error
    ``δ`` of ``y`` moves ``y(1 − y)`` by at most ``|y|·δ`` and ``1 − y²`` by ``2y²·δ``, and the two
    products round twice more: ``8·eps·(|∂E/∂x| + 2|g|·|y|)``. Plus the smallest normal number
    for results in the subnormal range (sigmoid far below 0, where torch itself returns 0)."""
    eps, tiny = _eps(dtype), _tiny(dtype)
    y, g = np.abs(truth), np.abs(grad)
    return 8 * eps * y + tiny, [8 * eps * (np.abs(grads[0]) + 2 * g * y) + tiny]


def _softmax_parts(x, dim):
    """Along ``dim`` of float64 ``x`` (0-d read as one entry), with ``m = max x`` and
    ``S = Σ exp(x − m)``: ``gap = |x − m|`` (0 where x is infinite: its probability is an exact 0,
    or the whole row is NaN), ``p``, ``ℓ = log p``, ``|log S|``, ``n``, and the row's
    ``A = n + 3 + log n + Σ p·gap``, the relative error of ``S`` in units of ``u``: ``n`` roundings
    in the sum, one per exp, and ``u·gap`` from each rounded ``x − m``, passed through exp."""
    x = x.reshape(1) if x.ndim == 0 else x
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z = x - (np.max(x, axis=dim, keepdims=True) if x.size else 0)
        total = np.sum(np.exp(z), axis=dim, keepdims=True)
        p, logp = np.exp(z) / total, z - np.log(total)
        gap = np.where(np.isfinite(z), np.abs(z), 0.0)
        n = x.shape[dim]
        budget = n + 3 + np.log(max(n, 1)) + np.sum(np.where(np.isnan(p), 0, p) * gap, axis=dim, keepdims=True)
        return gap, p, logp, np.abs(np.log(total)), budget, n


def _finite(a):
    return np.where(np.isfinite(a), np.abs(a), 0.0)


def _log_softmax_entry_tol(x, dim, eps):
    """Absolute bound for ``ℓ_i = (x_i − m) − log S``: ``x_i − m`` is off by ``u·gap``, ``log S``
    by ``u·A`` (the relative error of ``S``) and its own rounding, the subtraction by ``u·|ℓ|``;
    ``2·eps·(gap + |log S| + A + |ℓ|)`` leaves a factor of 2 over their sum."""
    gap, p, logp, log_total, budget, n = _softmax_parts(x, dim)
    return 2 * eps * (gap + log_total + budget + _finite(logp))


def _softmax_tol(case, arrays, grad, truth, grads, dtype):
    """``y_i = exp(x_i − m)/S`` is relatively off by ``u·gap_i`` (exp of a rounded argument) and
    ``u·A`` (the sum): ``2·eps·(A + gap)·y``. Backward ``y_i·(g_i − Σ_j g_j y_j)``: each ``y`` is
    relatively off by at most ``eps·(A + gap)`` and the inner product adds ``n·u``:
    ``4·eps·y_i·(A + n + gap_i)·(|g_i| + 2·Σ_j |g_j|·y_j·(1 + gap_j))``."""
    eps, tiny, x = _eps(dtype), _tiny(dtype), arrays[0]
    dim = case.kwargs["dim"] % max(x.ndim, 1)
    gap, p, _, _, budget, n = _softmax_parts(x, dim)
    g = np.abs(grad).reshape(p.shape)
    with np.errstate(invalid="ignore"):
        weighted = np.sum(np.where(np.isnan(p), 0, g * p * (1 + gap)), axis=dim, keepdims=True)
        out = 2 * eps * (budget + gap) * p + tiny
        gx = 4 * eps * p * (budget + n + gap) * (g + 2 * weighted) + tiny
    return out.reshape(x.shape), [gx.reshape(x.shape)]


def _log_softmax_tol(case, arrays, grad, truth, grads, dtype):
    """Output: :func:`_log_softmax_entry_tol`. Backward ``g_i − p_i·Σ_j g_j``, with ``p = exp(ℓ)``
    relatively off by ℓ's absolute error: ``2·eps·(|g_i| + p_i·Σ_j|g_j|·(n + 2 + gap + |log S| + A))``."""
    eps, tiny, x = _eps(dtype), _tiny(dtype), arrays[0]
    dim = case.kwargs["dim"] % max(x.ndim, 1)
    gap, p, _, log_total, budget, n = _softmax_parts(x, dim)
    g = np.abs(grad).reshape(p.shape)
    with np.errstate(invalid="ignore"):
        gx = 2 * eps * (g + p * np.sum(g, axis=dim, keepdims=True) * (n + 2 + gap + log_total + budget)) + tiny
    return _log_softmax_entry_tol(x, dim, eps).reshape(x.shape), [gx.reshape(x.shape)]


def _mse_tol(case, arrays, grad, truth, grads, dtype):
    """``d = x − t`` and ``d²`` round at most 3 times: ``4·eps·d²`` per entry. 'sum' and 'mean' add
    a D-term sum of non-negative terms and a divide: ``(D + 4)·eps·|loss|``. A gradient entry
    ``±2·d·g'`` rounds about 4 times; where its argument was broadcast, ``k`` of them are summed
    (``k`` = broadcast size / argument size): ``(k + 4)·eps·Σ|terms|``, with ``Σ|terms|`` from torch
    on ``|d|`` against 0 with ``|g|``."""
    eps, tiny = _eps(dtype), _tiny(dtype)
    x, t = arrays
    shape = np.broadcast_shapes(x.shape, t.shape)
    size = int(np.prod(shape))
    factor = 4 if case.kwargs["reduction"] == "none" else size + 4
    with np.errstate(invalid="ignore"):
        d = np.abs(x - t)
        terms = _torch("mse_loss", [d, np.zeros(shape)], case.kwargs, np.abs(grad))[1][0]
    grad_tols = [(size // max(a.size, 1) + 4) * eps * np.abs(L.sum_to(np.abs(terms), a.shape)) + tiny for a in (x, t)]
    return factor * eps * np.abs(truth) + tiny, grad_tols


def _cross_entropy_tol(case, arrays, grad, truth, grads, dtype):
    """Per entry, ``L = −ℓ[t]`` (class index; exactly 0 when ignored) or ``−Σ_c t_c·ℓ_c``
    (probabilities), each ``ℓ`` within :func:`_log_softmax_entry_tol` and the class sum adding
    ``(C + 2)·eps·Σ_c|t_c·ℓ_c|``. 'sum' and 'mean' add a K-term sum and a divide:
    ``(K + 2)·eps·Σ|L|`` (over the count for 'mean'). Backward, with ``g'`` the upstream gradient
    of each entry (over the count for 'mean'): ``∂E/∂x = G − p·ΣG``, ``G = −g'·onehot(t)`` or
    ``−g'·t``, within ``2·eps·(2|G| + p·Σ_c|G_c|·(C + 2 + gap + |log S| + A))``; and ``∂E/∂t = −g'·ℓ``
    within ``|g'|·tol(ℓ) + 2·eps·|g'·ℓ|``."""
    eps, tiny = _eps(dtype), _tiny(dtype)
    x, target = arrays
    dim = 0 if x.ndim == 1 else 1
    reduction = case.kwargs["reduction"]
    gap, p, logp, log_total, budget, n = _softmax_parts(x, dim)
    ell_tol = _log_softmax_entry_tol(x, dim, eps)
    if target.dtype.kind == "f":
        weights = np.abs(target)
        count = x.size / n if n else np.nan
    else:
        kept = target != L.IGNORE_INDEX
        weights = np.zeros_like(x)
        index = np.expand_dims(np.where(kept, target, 0), dim)
        np.put_along_axis(weights, index, np.expand_dims(kept, dim).astype(float), dim)
        count = int(kept.sum())
    with np.errstate(invalid="ignore"):
        terms = np.sum(weights * _finite(logp), axis=dim)
        entry = np.sum(weights * ell_tol, axis=dim) + (n + 2) * eps * terms
        divisor = count if reduction == "mean" and count else 1
        if reduction == "none":
            out, scale = entry, np.expand_dims(np.abs(grad), dim)
        else:
            out = (np.sum(entry) + (entry.size + 2) * eps * np.sum(terms)) / divisor
            scale = np.abs(grad) / divisor
        G = scale * weights
        gx = 2 * eps * (2 * G + p * np.sum(G, axis=dim, keepdims=True) * (n + 2 + gap + log_total + budget))
        gt = scale * ell_tol + 2 * eps * scale * _finite(logp)
    return out + tiny, [gx + tiny, gt + tiny if target.dtype.kind == "f" else None]


TOLERANCES = {
    "linear": _linear_tol,
    "relu": _relu_tol,
    "sigmoid": _smooth_tol,
    "tanh": _smooth_tol,
    "softmax": _softmax_tol,
    "log_softmax": _log_softmax_tol,
    "mse_loss": _mse_tol,
    "cross_entropy": _cross_entropy_tol,
}


# special values -----------------------------------------------------------------------


def _torch_exact(fn, x, grad):
    """torch's output and input gradient in x's own dtype, for bit-for-bit comparisons."""
    t = torch.from_numpy(x.copy()).requires_grad_()
    out = fn(t)
    (gx,) = torch.autograd.grad(out, [t], torch.from_numpy(grad))
    return out.detach().numpy(), gx.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_at_zero_nan_and_inf_is_torch_bit_for_bit(dtype):
    x = np.array([0.0, -0.0, 1.0, -1.0, NAN, INF, -INF, 0.0, -1.0, 0.0, 2.0], dtype)
    grad = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, NAN, INF, -INF, NAN], dtype)
    want, want_grad = _torch_exact(T.relu, x, grad)
    out, (got_grad,) = A.relu(x), A.relu_backward(grad, x)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(want))  # relu(−0.0) is −0.0 in torch
    np.testing.assert_array_equal(got_grad, want_grad)
    # the derivative at exactly 0 is 0; a NaN input passes its gradient through (torch tests
    # x ≤ 0, false for NaN); an upstream NaN or inf where x ≤ 0 is dropped, not multiplied by 0
    np.testing.assert_array_equal(got_grad, [0, 0, 5, 0, 5, 5, 0, 0, 0, 0, NAN])
    for tier in (A, DD):
        np.testing.assert_array_equal(tier.relu_backward(grad, x)[0], want_grad)
        np.testing.assert_array_equal(np.signbit(tier.relu(x)), np.signbit(want))


@pytest.mark.parametrize("dtype, below", [("float32", -88.8), ("float64", -709.9)])
def test_sigmoid_tails_are_exact_where_torch_flushes(dtype, below):
    """torch's 1/(1 + e^{−x}) overflows e^{−x} below ``below`` and returns 0; the reference
    returns the subnormal that is the correctly rounded σ(x) (within one subnormal step), with
    no warning; above the overflow point both give the same."""
    x = np.array([below, below - 5.0, below + 1.0, -30.0, 30.0, 1e4, -1e4], dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = A.sigmoid(x)
    exact = np.array([math.exp(v) / (1 + math.exp(v)) if v < 0 else 1 / (1 + math.exp(-v)) for v in x.astype(float)])
    step = float(np.finfo(dtype).smallest_subnormal)
    assert np.all(np.abs(y - exact) <= np.maximum(np.finfo(dtype).eps * exact, step))
    torch_y = torch.sigmoid(torch.from_numpy(x)).numpy()
    assert torch_y[0] == 0.0 < y[0] < np.finfo(dtype).tiny  # the one documented difference
    np.testing.assert_allclose(y[2:], torch_y[2:], rtol=2 * np.finfo(dtype).eps, atol=0)  # two formulas, an ulp apart


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_non_finite_rows_match_torch(op):
    """A row holding +inf or NaN is NaN throughout, an all −inf row is NaN, a single −inf
    entry gets probability 0 (log −inf) and logits of ±1e4 give 1 and 0 (log 0 and −2e4), as in
    torch: NaN and infinities in the same places, finite values within 4 ulps (exp and a divide)."""
    x = np.array(SPECIAL_ROWS[:-1])
    want = getattr(T, op)(torch.from_numpy(x), 1).numpy()
    got = getattr(A, op)(x, 1)
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(x.dtype).eps, atol=0)  # NaN where torch has NaN
    assert np.isnan(got[[0, 1, 3, 4]]).all() and not np.isnan(got[[2, 5]]).any()
    assert np.array_equal(got[5], [0.0, -2e4, -1e4] if op == "log_softmax" else [1.0, 0.0, 0.0])


def test_cross_entropy_ignored_targets(rng):
    """−100 (torch's default ignore_index) adds 0, is not counted by 'mean', gets no gradient;
    all ignored: the mean is NaN (0/0) and the gradient 0, as in torch."""
    x = rng.standard_normal((3, 4))
    target = np.array([1, -100, 3])
    losses = L.cross_entropy(x, target, reduction="none")
    assert losses[1] == 0.0
    assert L.cross_entropy(x, target) == pytest.approx((losses[0] + losses[2]) / 2, rel=1e-15)
    grad_x, grad_t = L.cross_entropy_backward(np.array(1.0), x, target)
    assert grad_t is None and np.all(grad_x[1] == 0)
    ignored = np.array([-100, -100, -100])
    assert np.isnan(L.cross_entropy(x, ignored))
    np.testing.assert_array_equal(L.cross_entropy_backward(np.array(1.0), x, ignored)[0], np.zeros_like(x))
    assert np.isnan(T.cross_entropy(torch.from_numpy(x), torch.from_numpy(ignored)).item())


def test_losses_return_zero_dimensional_arrays(rng):
    x, t = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    for value in (L.mse_loss(x, t), L.mse_loss(x, t, reduction="sum"), L.cross_entropy(x, np.array([0, 2]))):
        assert isinstance(value, np.ndarray) and value.shape == () and value.dtype == x.dtype


# rejection parity ---------------------------------------------------------------------


def _f(*shape, dtype=np.float64):
    return np.ones(shape, dtype=dtype)


def _i(*values, dtype=np.int64):
    return np.array(values, dtype=dtype)


REJECTED = [
    # (id, op, arrays, kwargs, the argument the message must name)
    ("linear-0d-input", "linear", [np.array(1.0), _f(4, 3)], {}, "input"),
    ("linear-3d-weight", "linear", [_f(2, 3), _f(1, 4, 3)], {}, "weight"),
    ("linear-0d-weight", "linear", [_f(2, 3), np.array(1.0)], {}, "weight"),
    ("linear-features", "linear", [_f(2, 3), _f(4, 5)], {}, "weight"),
    ("linear-bias-size", "linear", [_f(2, 3), _f(4, 3), _f(5)], {}, "bias"),
    ("linear-bias-3d", "linear", [_f(2, 3), _f(4, 3), _f(1, 1, 4)], {}, "bias"),
    ("linear-1d-weight-bias-2d-input", "linear", [_f(2, 3), _f(3), np.array(0.0)], {}, "bias"),
    ("linear-1d-weight-bias-1", "linear", [_f(3), _f(3), _f(1)], {}, "bias"),
    ("linear-mixed", "linear", [_f(2, 3, dtype=np.float32), _f(4, 3)], {}, "dtype"),
    ("linear-mixed-bias", "linear", [_f(2, 3), _f(4, 3), _f(4, dtype=np.float32)], {}, "bias.dtype"),
    ("linear-list", "linear", [[[1.0, 2.0, 3.0]], _f(4, 3)], {}, "input"),
    ("relu-list", "relu", [[1.0, -1.0]], {}, "input"),
    ("sigmoid-list", "sigmoid", [[1.0, -1.0]], {}, "input"),
    ("tanh-list", "tanh", [[1.0, -1.0]], {}, "input"),
    ("softmax-dim-high", "softmax", [_f(2, 3)], {"dim": 2}, "dim"),
    ("softmax-dim-low", "softmax", [_f(2, 3)], {"dim": -3}, "dim"),
    ("softmax-0d-dim1", "softmax", [np.array(1.0)], {"dim": 1}, "dim"),
    ("softmax-dim-float", "softmax", [_f(2, 3)], {"dim": 1.0}, "dim"),
    ("softmax-dim-bool", "softmax", [_f(2, 3)], {"dim": True}, "dim"),
    ("softmax-dim-tuple", "softmax", [_f(2, 3)], {"dim": (0,)}, "dim"),
    ("softmax-int64", "softmax", [np.ones((2, 3), np.int64)], {"dim": 1}, "input"),
    ("log_softmax-dim-high", "log_softmax", [_f(2, 3)], {"dim": 2}, "dim"),
    ("log_softmax-dim-float", "log_softmax", [_f(2, 3)], {"dim": 0.0}, "dim"),
    ("mse_loss-shapes", "mse_loss", [_f(2, 3), _f(4)], {}, "target"),
    ("mse_loss-reduction", "mse_loss", [_f(2, 3), _f(2, 3)], {"reduction": "avg"}, "reduction"),
    ("mse_loss-reduction-none-object", "mse_loss", [_f(2, 3), _f(2, 3)], {"reduction": None}, "reduction"),
    ("mse_loss-reduction-int", "mse_loss", [_f(2, 3), _f(2, 3)], {"reduction": 1}, "reduction"),
    ("mse_loss-int64", "mse_loss", [np.ones((2, 3), np.int64), np.ones((2, 3), np.int64)], {}, "input"),
    ("cross_entropy-target-high", "cross_entropy", [_f(2, 3), _i(0, 3)], {}, "target"),
    ("cross_entropy-target-negative", "cross_entropy", [_f(2, 3), _i(0, -1)], {}, "target"),
    ("cross_entropy-target-high-kdim", "cross_entropy", [_f(2, 3, 4), np.full((2, 4), 3)], {}, "target"),
    ("cross_entropy-target-high-unbatched", "cross_entropy", [_f(3), np.array(3)], {}, "target"),
    ("cross_entropy-target-high-none", "cross_entropy", [_f(2, 3), _i(0, 3)], {"reduction": "none"}, "target"),
    ("cross_entropy-no-classes", "cross_entropy", [_f(2, 0), _i(0, 0)], {}, "target"),
    ("cross_entropy-target-int32", "cross_entropy", [_f(2, 3), _i(0, 2, dtype=np.int32)], {}, "target.dtype"),
    ("cross_entropy-target-int16", "cross_entropy", [_f(2, 3), _i(0, 2, dtype=np.int16)], {}, "target.dtype"),
    ("cross_entropy-target-bool", "cross_entropy", [_f(2, 3), _i(0, 1, dtype=np.bool_)], {}, "target.dtype"),
    ("cross_entropy-target-float-1d", "cross_entropy", [_f(2, 3), _f(2)], {}, "target.dtype"),
    ("cross_entropy-probs-shape", "cross_entropy", [_f(2, 3), _f(2, 4)], {}, "target"),
    ("cross_entropy-int-target-input-shape", "cross_entropy", [_f(2, 3), _i(*[0] * 6).reshape(2, 3)], {}, "target.dtype"),
    ("cross_entropy-unbatched-1-class-int", "cross_entropy", [_f(1), _i(0)], {}, "target.dtype"),
    ("cross_entropy-batch", "cross_entropy", [_f(2, 3), _i(0, 1, 2)], {}, "target.shape"),
    ("cross_entropy-0d-target-batched", "cross_entropy", [_f(2, 3), np.array(2)], {}, "target.shape"),
    ("cross_entropy-target-2d", "cross_entropy", [_f(2, 3), np.zeros((1, 2), np.int64)], {}, "target.shape"),
    ("cross_entropy-unbatched-2", "cross_entropy", [_f(3), _i(2, 1)], {}, "target.shape"),
    ("cross_entropy-kdim-shape", "cross_entropy", [_f(2, 3, 4, 5), np.zeros((2, 5, 4), np.int64)], {}, "target.shape"),
    ("cross_entropy-unbatched-kdim", "cross_entropy", [_f(3, 4), np.zeros(4, np.int64)], {}, "target.shape"),
    ("cross_entropy-0d-input", "cross_entropy", [np.array(1.0), np.array(0)], {}, "input"),
    ("cross_entropy-0d-input-float", "cross_entropy", [np.array(1.0), np.array(1.0)], {}, "input"),
    ("cross_entropy-reduction", "cross_entropy", [_f(2, 3), _i(0, 2)], {"reduction": "avg"}, "reduction"),
]


def _torch_call(op, arrays, kwargs):
    tensors = [torch.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TORCH[op](*tensors, **kwargs)


@pytest.mark.parametrize("id, op, arrays, kwargs, blame", REJECTED, ids=[r[0] for r in REJECTED])
def test_rejects_what_torch_rejects(id, op, arrays, kwargs, blame):
    with pytest.raises(Exception):  # torch signals rejection with several exception types
        _torch_call(op, arrays, kwargs)
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in arrays]
    for name, functions, call in [
        (op, VECTORISED, lambda f: f(*arrays, **kwargs)),
        (op + "_backward", VECTORISED, lambda f: f(np.ones(3), *arrays, **kwargs)),
        (op, vars(DD), lambda f: f(*arrays, **kwargs)),
    ]:
        with pytest.raises((ValueError, TypeError)) as info:
            call(functions[name])
        message = str(info.value)
        assert message.startswith(name + ":"), message
        assert blame in message, f"{blame!r} not named in: {message}"
    for a, b in zip(arrays, before):
        assert not isinstance(a, np.ndarray) or np.array_equal(a, b)


@pytest.mark.parametrize(
    "op, arrays, kwargs, grad",
    [
        ("linear", [_f(2, 3), _f(4, 3)], {}, _f(2, 3)),
        ("relu", [_f(2, 3)], {}, _f(3, 2)),
        ("softmax", [_f(2, 3)], {"dim": 1}, _f(2, 3, dtype=np.float32)),
        ("mse_loss", [_f(2, 3), _f(2, 3)], {}, _f(2, 3)),
        ("mse_loss", [_f(2, 3), _f(2, 3)], {"reduction": "none"}, np.array(1.0)),
        ("cross_entropy", [_f(2, 3), _i(0, 1)], {"reduction": "none"}, _f(2, 3)),
    ],
)
def test_backward_rejects_a_grad_output_of_the_wrong_shape_or_dtype(op, arrays, kwargs, grad):
    for functions in (VECTORISED, vars(DD)):
        with pytest.raises((ValueError, TypeError), match="grad_output"):
            functions[op + "_backward"](grad, *arrays, **kwargs)


# the contract's signatures and the deliberate differences from torch -------------------


SIGNATURES = {
    "linear": "(input, weight, bias=None)",
    "relu": "(input)",
    "sigmoid": "(input)",
    "tanh": "(input)",
    "softmax": "(input, dim)",
    "log_softmax": "(input, dim)",
    "mse_loss": "(input, target, *, reduction='mean')",
    "cross_entropy": "(input, target, *, reduction='mean')",
}


@pytest.mark.parametrize("op", SIGNATURES)
def test_signatures_are_the_contracts(op):
    for functions in (VECTORISED, vars(DD)):
        assert str(inspect.signature(functions[op])) == SIGNATURES[op]
        assert str(inspect.signature(functions[op + "_backward"])) == "(grad_output, " + SIGNATURES[op][1:]


def test_reduction_is_keyword_only_because_torch_reads_a_third_positional_differently(rng):
    """torch's third positional is size_average (mse_loss) or weight (cross_entropy):
    ``mse_loss(x, t, 'sum')`` is a deprecated *mean* there. The reference refuses the positional form."""
    x, t = rng.standard_normal(4), rng.standard_normal(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_value = T.mse_loss(torch.from_numpy(x), torch.from_numpy(t), "sum").item()
    assert torch_value == pytest.approx(np.mean((x - t) ** 2))
    with pytest.raises(TypeError):
        L.mse_loss(x, t, "sum")
    with pytest.raises(TypeError):  # torch: weight must be a Tensor; here: no third positional
        L.cross_entropy(rng.standard_normal((2, 3)), np.array([0, 1]), "sum")


@pytest.mark.parametrize("kwargs", [{"weight": None}, {"ignore_index": 1}, {"label_smoothing": 0.1}, {"size_average": 1}])
def test_torch_only_keywords_are_refused_by_the_signature(kwargs, rng):
    x, t = rng.standard_normal((2, 3)), np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # size_average is deprecated
        T.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), **kwargs)
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.cross_entropy(x, t, **kwargs)


def test_softmax_dim_none_torch_guesses_a_dim(rng):
    """torch picks dim 0 for a 3-d input (across the batch) with a deprecation warning."""
    x = rng.standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = T.softmax(torch.from_numpy(x), None).numpy()
    # which dim torch picked: dim 0 agrees to rounding (a few ulps in float64), any other dim differs by O(1)
    np.testing.assert_allclose(out, A.softmax(x, 0), rtol=1e-15)
    for op in (A.softmax, A.log_softmax, DD.softmax):
        with pytest.raises(TypeError, match="dim=None"):
            op(x, None)


@pytest.mark.parametrize("bias_shape", [(1,), (1, 4), (2, 4), (2, 1)])
def test_linear_bias_shapes_torch_broadcasts_but_does_not_document(bias_shape, rng):
    """torch documents a bias (out_features,) or (); its addmm also broadcasts these for a 2-d input."""
    x, w, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal(bias_shape)
    assert tuple(T.linear(*map(torch.from_numpy, (x, w, b))).shape) == (2, 4)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\) or \(\)"):
        DN.linear(x, w, b)


def test_float_dtype_mixing_torch_promotes_the_losses(rng):
    x, t = rng.standard_normal((2, 3)).astype(np.float32), rng.random((2, 3))
    assert T.mse_loss(torch.from_numpy(x), torch.from_numpy(t)).dtype == torch.float64
    assert T.cross_entropy(torch.from_numpy(x), torch.from_numpy(t)).dtype == torch.float64
    for op in (L.mse_loss, L.cross_entropy):
        with pytest.raises(TypeError, match="target.dtype=float64"):
            op(x, t)


def test_uint8_class_targets_torch_takes_them_for_2d_input_only(rng):
    x = rng.standard_normal((2, 3))
    T.cross_entropy(torch.from_numpy(x), torch.tensor([0, 2], dtype=torch.uint8))
    with pytest.raises(RuntimeError, match="Long"):
        T.cross_entropy(torch.randn(2, 3, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.uint8))
    with pytest.raises(TypeError, match="target.dtype=uint8"):
        L.cross_entropy(x, np.array([0, 2], np.uint8))


def test_unbatched_target_of_shape_1_torch_forward_accepts_but_backward_fails(rng):
    x = torch.from_numpy(rng.standard_normal(3)).requires_grad_()
    loss = T.cross_entropy(x, torch.tensor([2]))
    with pytest.raises(RuntimeError, match="size mismatch"):
        loss.backward()
    with pytest.raises(ValueError, match=r"target.shape=\(1,\)"):
        L.cross_entropy(x.detach().numpy(), np.array([2]))


def test_the_new_modules_import_without_torch():
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "import reference.dense, reference.activations, reference.losses, reference.definitional_dense\n"
        "assert reference.losses.cross_entropy(np.zeros((1, 2)), np.array([1])) > 0\n"
        "assert not any(n == 'torch' or n.startswith('torch.') for n, m in sys.modules.items() if m is not None)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
