"""Second order (``--order 2``): the vector-Jacobian product of each op's backward, against torch.

After the first-order checks pass, :func:`crosscheck.checking.compare.run_case` calls the implementation's

    NAME_double_backward(grad_grads, grad_output, *arrays, **kwargs)
        -> (grad_grad_output, grad2_<array>, ...)

is called with random cotangents ``grad_grads`` (one per gradient of ``NAME_backward``, None where
that gradient is None) and compared with torch's ``autograd.grad(grads, (grad_output, *arrays),
grad_grads)`` after a first ``autograd.grad(..., create_graph=True)``: quantity by quantity
(``grad_grad_output``, then ``grad2_input``, ``grad2_weight``, ...), type, shape, dtype, values, in
float64 on the same data. Results torch gives as zeros (the backward does not depend on that
argument: a bias, or every argument of a piecewise linear op) must be exactly zero.

**Bounds.** Every result is again a sum of products, or one of the first-order formulas applied
to other data, so each bound is the first-order policy's, applied where the second pass applies
the op (derivations with each function below; :mod:`reference.second_order` derives the
results themselves):

* bilinear ops (convolutions, transposed, linear): every result entry is a direct sum of
  products of ``x, w, b, g`` and the cotangents, so ``(n + 1)·eps·Σ|terms|``, ``n`` and ``Σ|terms|``
  measured by torch's double backward on ones and on absolute values (:func:`multilinear`);
* linear maps and selections (pad, unfold, fold, the poolings): ``∂Φ/∂g`` is the forward applied
  to ``v``, so the forward's bound on input ``v``; ``∂Φ/∂x`` is exactly zero (:func:`linear_map`);
* relu, sigmoid, tanh, softmax: ``∂Φ/∂g`` is the backward applied to ``v``: the first-order
  gradient bound with upstream ``v``; ``∂Φ/∂x`` as derived in :func:`sigmoid_tanh` and :func:`softmax`;
* log_softmax, mse_loss, cross_entropy: :func:`log_softmax`, :func:`mse_loss`, :func:`cross_entropy`.

The derivations that propagate an error are first order in ``eps`` (products of two error
terms, ``O(eps²)``, are dropped), like the first-order bounds of the smooth ops.
"""
from __future__ import annotations

import zlib

import numpy as np

from ..oracle import torch_double_backward
from . import bounds as first
from .tolerance import tolerance

QUANTITY = "second order"
"""How a failure of the call itself (it raised, or returned the wrong kind of thing) is named."""


def quantities(spec) -> tuple[str, ...]:
    """The second-order quantities of an op, in the order they are compared."""
    return ("grad_grad_output",) + tuple(f"grad2_{a}" for a in spec.arrays)


def cotangents(case, grads, seed: int) -> tuple:
    """Random cotangents for the first-order gradients ``grads`` (None stays None), in the case's
    dtype, reproducible from (seed, case): standard normal, so no sum can hide a permutation."""
    rng = np.random.default_rng([seed, zlib.crc32(case.key.encode()), 2])
    return tuple(None if g is None else np.asarray(rng.standard_normal(np.shape(g))).astype(case.dtype) for g in grads)


def torch_run(case, arrays, grad_output, grad_grads):
    return torch_double_backward(case.op, arrays, case.kwargs, grad_output, grad_grads)


def _abs(values):
    return [None if a is None else (np.abs(a) if np.asarray(a).dtype.kind == "f" else a) for a in values]


def _ones(values):
    return [None if a is None else (np.ones_like(a) if np.asarray(a).dtype.kind == "f" else a) for a in values]


def multilinear(case, arrays, grad_output, v, first_truth, truth, run=torch_run):
    """Bilinear ops: each result entry is a direct sum of products (``B(v_x, w) + B(x, v_w) + v_b``,
    ``B_xᵀ(g; v_w)``, ``B_wᵀ(g; v_x)``), so the tolerance policy's ``(n + 1)·eps·Σ|terms|``, ``Σ|terms|``
    from a run on absolute values and ``n`` from a run on ones. An entry with no terms (the bias's,
    always) gets 0: it must be exactly zero."""
    magnitude = run(case, _abs(arrays), np.abs(grad_output), _abs(v))
    count = run(case, _ones(arrays), np.ones_like(grad_output), _ones(v))
    return [None if m is None else tolerance(n, m, case.dtype) for n, m in zip(count, magnitude)]


def linear_map(case, arrays, grad_output, v, first_truth, truth):
    """Linear maps of the input and selections (pad, unfold, fold, every pooling): ``∂Φ/∂g = L v``
    is the forward applied to ``v``, so it is held to the forward's own bound on the input ``v``
    (exact for the copies: unfold, pad, max pooling); ``∂Φ/∂x = 0`` exactly."""
    forward_tol, _ = first.BOUNDS[case.op](case, [v[0]], grad_output, truth[0], [None])
    return [forward_tol, np.zeros(np.shape(arrays[0]))]


def relu(case, arrays, grad_output, v, first_truth, truth):
    """relu: ``∂Φ/∂g = v·[x > 0]``, the backward applied to ``v`` (its selection bound); ``∂Φ/∂x = 0``."""
    _, (grad_tol,) = first.BOUNDS["relu"](case, arrays, v[0], first_truth.output, [truth[0]])
    return [grad_tol, np.zeros(np.shape(arrays[0]))]


def sigmoid_tanh(case, arrays, grad_output, v, first_truth, truth):
    """``∂Φ/∂g = v·f'(x)``: the first-order gradient bound with upstream ``v``. ``∂Φ/∂x = h·f'(x)``
    with ``h = v·g·(1 − 2y)`` (sigmoid) or ``h = −2y·v·g`` (tanh). ``y`` is within ``8·eps·|y|``
    (the forward's bound), so ``1 − 2y`` is within ``16·eps·|y| + eps·|1 − 2y|`` and, with two
    products, ``|Δh| ≤ |v·g|·(16·eps·|y| + 3·eps·|1 − 2y|)`` (sigmoid), ``|Δh| ≤ 16·eps·|v·g·y| + 3·eps·|h|``
    (tanh). ``h·f'`` is then within the first-order bound for upstream ``h``, ``8·eps·(|r| + 2|h|·|y|)``,
    plus ``|Δh|·|f'|``. The curvature factor may also be formed as a difference of the backward's
    own factors, ``(1 − y) − y`` or ``(1 − y) − (1 + y)`` (as JAX differentiates ``g·(1 + y)·(1 − y)``):
    that difference is within ``eps`` of its terms' magnitudes ``|1 − y| + |y|`` or ``|1 − y| + |1 + y|``,
    not of itself, which adds ``8·eps·|v·g|·|f'|·`` those magnitudes."""
    eps, tiny = first.eps_of(case), float(np.finfo(case.dtype).tiny)
    y, g, vx = first_truth.output, np.abs(first.wide(grad_output)), np.abs(first.wide(v[0]))
    _, (grad_tol,) = first.smooth_elementwise(case, arrays, v[0], y, [truth[0]])
    with np.errstate(invalid="ignore", over="ignore"):
        if case.op == "sigmoid":
            slope, h = np.abs(y * (1 - y)), vx * g * np.abs(1 - 2 * y)
            h_error = vx * g * (16 * eps * np.abs(y) + 3 * eps * np.abs(1 - 2 * y))
            factors = np.abs(1 - y) + np.abs(y)
        else:
            slope, h = np.abs(1 - y * y), 2 * vx * g * np.abs(y)
            h_error = 8 * eps * h + 3 * eps * h
            factors = np.abs(1 - y) + np.abs(1 + y)
        second = 8 * eps * (np.abs(truth[1]) + 2 * h * np.abs(y) + vx * g * slope * factors) + h_error * slope + tiny
    return [grad_tol, second]


def _along(a, dim):
    return np.sum(a, axis=dim, keepdims=True)


def softmax(case, arrays, grad_output, v, first_truth, truth):
    """``∂Φ/∂g = J v``: the first-order bound with upstream ``v``. ``∂Φ/∂x = J h`` with
    ``h = v ⊙ (g − ⟨g, y⟩) − g·⟨v, y⟩``. Each ``y_j`` is within ``2·eps·(A + |x_j − m|)·y_j`` (the forward's
    bound, ``A`` its row budget) and a sum of ``n`` adds ``n·eps``, so ``⟨a, y⟩`` is within
    ``2·eps·(A + n)·W(a)``, ``W(a) = Σ_j |a_j|·y_j·(1 + |x_j − m|)``; with three roundings in ``h``,
    ``|Δh| ≤ 2·eps·(A + n)·(|v|·W(g) + |g|·W(v)) + 4·eps·H``, ``H = |v|·(|g| + |⟨g, y⟩|) + |g|·|⟨v, y⟩|``
    (``≥ |h|``). ``J ĥ`` is within the first-order bound for upstream ``H``, and ``J·Δh`` adds
    ``y ⊙ (|Δh| + ⟨|Δh|, y⟩)``."""
    dim, eps = case.kwargs["dim"], first.eps_of(case)
    x = arrays[0]
    gap, y, _, budget, n = first.softmax_parts(first.wide(x), dim)
    g, vx = first.wide(grad_output), first.wide(v[0])
    with np.errstate(invalid="ignore", over="ignore"):
        def weight(a):
            return _along(np.where(y > 0, np.abs(a) * y * (1 + gap), 0.0), dim)

        big = np.abs(vx) * (np.abs(g) + np.abs(_along(g * y, dim))) + np.abs(g) * np.abs(_along(vx * y, dim))
        h_error = 2 * eps * (budget + n) * (np.abs(vx) * weight(g) + np.abs(g) * weight(vx)) + 4 * eps * big
        second = first.softmax_grad_tolerance(x, dim, big, case.dtype) + y * (h_error + _along(h_error * y, dim))
    return [first.softmax_grad_tolerance(x, dim, v[0], case.dtype), second]


def _probability_error(x, dim, eps):
    """Per entry, ``p = exp(ℓ)`` and a bound on its relative error: ``ℓ``'s absolute error (the
    forward bound of log_softmax, ``2·eps·(|x − m| + |log S| + A + |ℓ|)``) plus the rounding of ``exp``."""
    gap, p, log_total, budget, n = first.softmax_parts(x, dim)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        ell = np.log(np.maximum(p, np.finfo(np.float64).tiny))
        relative = np.where(p > 0, 2 * eps * (gap + log_total + budget + np.abs(ell)) + eps, 0.0)
    return p, relative, n


def _jvp_error(vx, p, relative, n, eps, dim):
    """The error of ``dℓ = v − ⟨v, p⟩``: ``⟨v, p⟩`` within ``Σ_j |v_j|·p_j·(r_j + n·eps)``, then one subtraction."""
    with np.errstate(invalid="ignore"):
        dot_error = _along(np.where(p > 0, np.abs(vx) * p * (relative + n * eps), 0.0), dim)
        return dot_error + eps * (np.abs(vx) + _along(np.where(p > 0, np.abs(vx) * p, 0.0), dim))


def log_softmax(case, arrays, grad_output, v, first_truth, truth):
    """``∂Φ/∂g = v − ⟨v, p⟩`` with ``p = exp(ℓ)`` (see :func:`_probability_error`, :func:`_jvp_error`).
    ``∂Φ/∂x = J_softmax w`` with ``w = −Σg·v``: ``Σg`` is within ``n·eps·Σ|g|``, and ``w`` within
    ``(n + 1)·eps·Σ|g|·|v|``; so the softmax gradient bound for upstream ``Σ|g|·|v|`` plus
    ``p ⊙ (|Δw| + ⟨|Δw|, p⟩)``."""
    dim, eps, tiny = case.kwargs["dim"], first.eps_of(case), float(np.finfo(case.dtype).tiny)
    x, g, vx = first.wide(arrays[0]), first.wide(grad_output), first.wide(v[0])
    p, relative, n = _probability_error(x, dim, eps)
    upstream = _along(np.abs(g), dim) * np.abs(vx)
    w_error = (n + 1) * eps * upstream
    with np.errstate(invalid="ignore"):
        second = first.softmax_grad_tolerance(x, dim, upstream, case.dtype) + p * (w_error + _along(w_error * p, dim))
    return [_jvp_error(vx, p, relative, n, eps, dim) + tiny, second]


def mse_loss(case, arrays, grad_output, v, first_truth, truth):
    """``∂Φ/∂g = 2d·v_x − 2d·v_t`` (``d = x − t``, over ``D`` for 'mean'), per entry within ``4·eps``
    of ``T = |2d·v_x| + |2d·v_t|`` (the subtraction ``d``, two products, the difference); 'sum' and 'mean'
    add a ``D``-term sum: ``(D + 4)·eps·ΣT`` (over ``D``). ``∂Φ/∂x = Σ_bcast 2(v_x − v_t)·g'`` and
    ``∂Φ/∂t`` its negative: the first-order terms with ``v_x − v_t`` in place of ``d``, so per entry
    within ``4·eps·|2g'|·(|v_x| + |v_t|)``, and ``(k + 3)·eps`` of it summed where an argument was broadcast
    ``k``-fold (as the first-order bound)."""
    eps, tiny = first.eps_of(case), float(np.finfo(case.dtype).tiny)
    x, t, vx, vt = (first.wide(a) for a in (*arrays, *v))
    shape = np.broadcast_shapes(np.shape(x), np.shape(t))
    size = int(np.prod(shape))
    reduction = case.kwargs.get("reduction", "mean")
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(np.broadcast_to(x, shape) - np.broadcast_to(t, shape))
        terms = 2 * d * (np.abs(np.broadcast_to(vx, shape)) + np.abs(np.broadcast_to(vt, shape)))
        if reduction == "none":
            head = 4 * eps * terms + tiny
        else:
            head = np.asarray((size + 4) * eps * np.sum(terms) / (size if reduction == "mean" and size else 1) + tiny)
        upstream = np.abs(first.wide(grad_output)) / (size if reduction == "mean" and size else 1)
        spread = 2 * upstream * (np.abs(np.broadcast_to(vx, shape)) + np.abs(np.broadcast_to(vt, shape)))
    tols = [head]
    for a in (x, t):
        k = size // max(np.size(a), 1)
        tols.append((max(k, 1) + 3) * eps * first.sum_to(spread, np.shape(a)) + tiny)
    return tols


def cross_entropy(case, arrays, grad_output, v, first_truth, truth):
    """Class indices. ``∂Φ/∂g``: per entry ``−dℓ`` at the target (``dℓ = v_x − ⟨v_x, p⟩``, within
    :func:`_jvp_error` there), 0 where ignored; 'sum' and 'mean' add an N-term sum,
    ``(N + 2)·eps·Σ_n (|v_x[t_n]| + ⟨|v_x|, p⟩)`` (over N). ``∂Φ/∂x = J_softmax (s·v_x)`` per row, ``s = g'``
    (0 where ignored): the softmax gradient bound for upstream ``|s·v_x|``, plus the rounding of
    ``s·v_x``, ``eps·p ⊙ (|s·v_x| + ⟨|s·v_x|, p⟩)``. Class probabilities are beyond the contract."""
    x, target = first.wide(arrays[0]), np.asarray(arrays[1])
    if target.dtype.kind == "f":
        raise NotImplementedError("second-order bounds of cross_entropy with class probabilities (beyond the contract)")
    dim = 0 if x.ndim == 1 else 1
    eps, tiny = first.eps_of(case), float(np.finfo(case.dtype).tiny)
    vx = first.wide(v[0])
    p, relative, n = _probability_error(x, dim, eps)
    kept = target != first.IGNORE_INDEX
    at = np.expand_dims(np.where(kept, target, 0), dim)
    error = np.take_along_axis(_jvp_error(vx, p, relative, n, eps, dim) * np.ones_like(vx), at, dim).squeeze(dim)
    with np.errstate(invalid="ignore"):
        magnitude = (np.take_along_axis(np.abs(vx), at, dim).squeeze(dim)
                     + _along(np.where(p > 0, np.abs(vx) * p, 0.0), dim).squeeze(dim))
    error, magnitude = np.where(kept, error, 0.0), np.where(kept, magnitude, 0.0)
    reduction = case.kwargs.get("reduction", "mean")
    g = np.abs(first.wide(grad_output))
    count = max(int(kept.sum()), 1)
    if reduction == "none":
        head, scale = error + tiny, np.expand_dims(g * kept, dim)
    else:
        divisor = count if reduction == "mean" else 1
        head = np.asarray((error.sum() + (count + 2) * eps * magnitude.sum()) / divisor + tiny)
        scale = g / divisor * np.expand_dims(kept, dim)
    upstream = scale * np.abs(vx)
    with np.errstate(invalid="ignore"):
        second = first.softmax_grad_tolerance(x, dim, upstream, case.dtype) + eps * p * (upstream + _along(upstream * p, dim))
    return [head, second, None]


BOUNDS = {
    **{f"{family}{d}d": multilinear for family in ("conv", "conv_transpose") for d in (1, 2, 3)},
    "linear": multilinear,
    **{op: linear_map for op in ("pad", "unfold", "fold")},
    **{f"{kind}_pool{d}d": linear_map for kind in ("max", "avg", "adaptive_max", "adaptive_avg") for d in (1, 2, 3)},
    "relu": relu, "sigmoid": sigmoid_tanh, "tanh": sigmoid_tanh, "softmax": softmax, "log_softmax": log_softmax,
    "mse_loss": mse_loss, "cross_entropy": cross_entropy,
}
"""The second-order bound of each op: op name -> bound function."""
