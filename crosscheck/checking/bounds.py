"""Per-entry tolerances for each family of ops: how far a correct implementation may be
from the float64 truth. Each bound is derived from the op's arithmetic, not tuned to pass.

A bound takes ``(case, arrays, grad_output, truth, grads)``: the case, its (pristine) array
arguments, the upstream gradient, and torch's float64 output and gradients; and returns the
tolerance of the output and of each gradient (None where the gradient is None). Bounds
that measure sums by rerunning the op take ``run``, the float64 oracle that reruns it
(torch by default; the tests of the two reference tiers pass the loop tier instead).
:data:`BOUNDS` says which bound holds each op of the contract.
"""
from __future__ import annotations

import numpy as np

from ..oracle import torch_forward_backward
from .tolerance import tolerance


def torch_run(case, arrays, grad_output):
    """The op's output and gradients from torch in float64."""
    result = torch_forward_backward(case.op, arrays, case.kwargs, grad_output)
    return result.output, result.grads


def _aux(case, arrays, grad_output, transform, grad_transform, run):
    """``run`` on transformed arrays and upstream gradient (see multilinear)."""
    changed = [None if a is None else transform(name, a) for name, a in zip(case.arg_names, arrays)]
    return run(case, changed, grad_transform(grad_output))


def multilinear(case, arrays, grad_output, truth, grads, run=torch_run):
    """For ops whose every result entry is a sum of products of argument entries (conv,
    pad, linear, average pooling): ``(n + 1)·eps·Σ|terms|``, with ``Σ|terms|`` measured by a run
    on absolute values and ``n`` by a run on ones (see :mod:`crosscheck.checking.tolerance`)."""
    mag, mag_grads = _aux(case, arrays, grad_output, lambda _, a: np.abs(a), np.abs, run)
    count, count_grads = _aux(case, arrays, grad_output, lambda _, a: np.ones_like(a), np.ones_like, run)
    dtype = case.dtype
    return tolerance(count, mag, dtype), [
        None if m is None else tolerance(n, m, dtype) for n, m in zip(count_grads, mag_grads)
    ]


def selection(case, arrays, grad_output, truth, grads, run=torch_run):
    """For ops that select entries (max pooling, relu): the output is a copy of input
    entries, so it must be exact; each gradient entry is a sum of the upstream entries
    routed to it, sized like a multilinear sum by rerunning with |grad_output| and with ones
    on the *same* inputs (so the same entries are selected)."""
    _, mag_grads = _aux(case, arrays, grad_output, lambda _, a: a, np.abs, run)
    _, count_grads = _aux(case, arrays, grad_output, lambda _, a: a, np.ones_like, run)
    return np.zeros(np.shape(truth)), [
        None if m is None else tolerance(n, m, case.dtype) for n, m in zip(count_grads, mag_grads)
    ]


def eps_of(case) -> float:
    return float(np.finfo(case.dtype).eps)


def wide(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def averaging(case, arrays, grad_output, truth, grads, run=torch_run):
    """Average pooling: each entry sums at most ``|k|`` terms (the kernel volume) and divides
    once, so ``(|k| + 2)·eps·Σ|terms|/divisor``, the magnitude from a run on absolute values.
    The gradient spreads each upstream entry over a window: an input entry collects at most
    ``|k|`` of them (one per window it lies in, and windows start ≥ 1 apart)."""
    mag, mag_grads = _aux(case, arrays, grad_output, lambda _, a: np.abs(a), np.abs, run)
    kernel = case.kwargs["kernel_size"]
    volume = float(np.prod(kernel)) if isinstance(kernel, (tuple, list)) else float(kernel) ** int(case.op[-2])
    eps = eps_of(case)
    return (volume + 2) * eps * np.abs(mag), [None if m is None else (volume + 2) * eps * np.abs(m) for m in mag_grads]


def adaptive_averaging(case, arrays, grad_output, truth, grads, run=torch_run):
    """Adaptive average pooling: each entry sums at most ``w`` terms, ``w = Π_a`` (the longest
    window along axis ``a``), in any order, and divides once: ``(w + 2)·eps·Σ|terms|/|W|`` as in
    :func:`averaging`. An input entry of the gradient collects one term per window holding it:
    along an axis of length ``L`` pooled to ``O``, window ``i`` holds ``j`` when ``i`` lies in the open
    interval ``(j·O/L − 1, (j + 1)·O/L)``, of length ``O/L + 1``: at most ``⌈O/L⌉ + 1`` windows, so
    ``r = Π_a (⌈O_a/L_a⌉ + 1)`` terms and ``(r + 2)·eps·Σ|terms|``."""
    mag, mag_grads = _aux(case, arrays, grad_output, lambda _, a: np.abs(a), np.abs, run)
    x = arrays[0]
    dims = int(case.op[-2])
    out = np.shape(truth)[-dims:]
    volume, readers = 1.0, 1.0
    for L, O in zip(np.shape(x)[-dims:], out):
        if O == 0:
            continue
        i = np.arange(O)
        longest = int((-(-(i + 1) * L // O) - (i * L) // O).max())
        volume *= longest
        readers *= -(-O // L) + 1  # an entry lies in at most ⌈O/L⌉ + 1 windows of an axis
    eps = eps_of(case)
    return (volume + 2) * eps * np.abs(mag), [None if m is None else (readers + 2) * eps * np.abs(m) for m in mag_grads]


def smooth_elementwise(case, arrays, grad_output, truth, grads):
    """sigmoid and tanh, ``y = f(x)`` entry by entry, and ``∂E/∂x = g·f'(x)`` computed from ``y``
    (``σ' = y(1 − y)``, ``tanh' = 1 − y²``) as torch does. The output has a few roundings (exp or
    tanh to within 1 ulp, an add, a divide): ``8·eps·|y|`` leaves a factor 2. In the gradient, a
    relative error ``δ`` of ``y`` moves ``y(1 − y)`` by at most ``|y|·δ`` and ``1 − y²`` by ``2y²·δ``,
    so ``8·eps·(|∂E/∂x| + 2|g|·|y|)``. Subnormal results carry the dtype's smallest normal."""
    eps, tiny = eps_of(case), float(np.finfo(case.dtype).tiny)
    g, y = np.abs(wide(grad_output)), np.abs(truth)
    return 8 * eps * y + tiny, [8 * eps * (np.abs(grads[0]) + 2 * g * y) + tiny]


def softmax_parts(x, dim):
    """Per entry along ``dim``: ``|x − m|``, the probabilities ``p``, ``|log S|`` and the row's
    ``A = n + 3 + log n + Σ p·|x − m|`` (the relative error budget of ``S = Σ exp(x − m)``)."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = np.max(x, axis=dim, keepdims=True, initial=-np.inf)  # an empty row has no entries to bound
        gap = np.abs(x - m)
        e = np.exp(x - m)
        total = e.sum(axis=dim, keepdims=True)
        p = e / total
        n = x.shape[dim] if x.ndim else 1
        # entries with p = 0 (x = −inf, or underflow) add nothing, even where their gap is inf
        budget = n + 3 + np.log(max(n, 1)) + np.sum(np.where(p > 0, p * gap, 0.0), axis=dim, keepdims=True)
        return gap, p, np.abs(np.log(total)), budget, n


def softmax(case, arrays, grad_output, truth, grads):
    """``y_i = exp(x_i − m)/S``: ``x_i − m`` is off by ``u·|x_i − m|``, so ``exp`` by that much
    relatively; ``S`` by ``u·A`` (``A`` per row, see ``softmax_parts``; ``log n`` covers an
    implementation that divides through the log-sum-exp). Hence ``2·eps·(A + |x_i − m|)·y_i``.
    Backward ``∂E/∂x_i = y_i·(g_i − Σ_j g_j y_j)``: the relative errors of ``y`` scale both terms,
    the sum adds ``n·u``: ``4·eps·y_i·(A + n + |x_i − m|)·(|g_i| + 2·Σ_j |g_j| y_j (1 + |x_j − m|))``."""
    dim, eps = case.kwargs["dim"], eps_of(case)
    gap, p, _, budget, _ = softmax_parts(wide(arrays[0]), dim)
    tiny = float(np.finfo(case.dtype).tiny)  # results below it round to subnormals or zero
    with np.errstate(invalid="ignore"):
        out = 2 * eps * (budget + gap) * p + tiny
    return out, [softmax_grad_tolerance(arrays[0], dim, grad_output, case.dtype)]


def softmax_grad_tolerance(x, dim, upstream, dtype) -> np.ndarray:
    """The bound of :func:`softmax`'s backward ``y ⊙ (g − ⟨g, y⟩)`` for the upstream gradient ``upstream``."""
    eps, tiny = float(np.finfo(dtype).eps), float(np.finfo(dtype).tiny)
    gap, p, _, budget, n = softmax_parts(wide(x), dim)
    g = np.abs(wide(upstream))
    with np.errstate(invalid="ignore"):
        weighted = np.sum(np.where(p > 0, g * p * (1 + gap), 0.0), axis=dim, keepdims=True)
        return 4 * eps * p * (budget + n + gap) * (g + 2 * weighted) + tiny


def log_softmax(case, arrays, grad_output, truth, grads):
    """``y_i = x_i − m − log S``: ``2·eps·(|x_i − m| + |log S| + A + |y_i|)``. Backward
    ``∂E/∂x_i = g_i − p_i·Σ_j g_j`` with ``p = exp(y)`` relatively off by ``y``'s absolute error:
    ``2·eps·(|g_i| + p_i·Σ_j |g_j|·(n + 2 + |x_i − m| + |log S| + A))``."""
    dim, eps = case.kwargs["dim"], eps_of(case)
    gap, p, log_total, budget, n = softmax_parts(wide(arrays[0]), dim)
    g = np.abs(wide(grad_output))
    with np.errstate(invalid="ignore"):
        spread = np.sum(g, axis=dim, keepdims=True) * (n + 2 + gap + log_total + budget)
        tiny = float(np.finfo(case.dtype).tiny)
        return 2 * eps * (gap + log_total + budget + np.abs(truth)), [2 * eps * (g + p * spread) + tiny]


def sum_to(a: np.ndarray, shape) -> np.ndarray:
    """The adjoint of broadcasting ``shape`` to ``a.shape``: a sum over the broadcast axes."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1)
    return np.sum(a, axis=axes, keepdims=True).reshape(shape)


def mse_loss(case, arrays, grad_output, truth, grads):
    """``d = x − t`` and ``d²`` carry at most 3 roundings: ``4·eps·d²`` per entry; a 'mean' or
    'sum' adds the N-term sum of non-negative terms (N entries of the broadcast shape):
    ``2·eps·(N + 4)·|loss|``. The gradients ``±2·d·g`` (over N for 'mean') are within ``4·eps`` of
    themselves, relatively. An argument broadcast to ``k`` times its size collects ``k`` of those
    terms in a sum, whose ``k − 1`` additions add ``(k − 1)·eps`` of ``Σ|terms|``: ``(k + 3)·eps·Σ|terms|``,
    ``Σ|terms| = Σ |2·d·g|`` (over N) measured in float64 (for ``k = 1`` that is ``4·eps·|∂E/∂a|``)."""
    eps, tiny = eps_of(case), float(np.finfo(case.dtype).tiny)
    x, t = wide(arrays[0]), wide(arrays[1])
    shape = np.broadcast_shapes(np.shape(x), np.shape(t))
    size = int(np.prod(shape))
    reduction = case.kwargs.get("reduction", "mean")
    if reduction == "none":
        out = 4 * eps * np.abs(truth) + tiny
    else:
        out = 2 * eps * (size + 4) * np.abs(truth) + tiny
    grad_tols = []
    for a, gr in zip((x, t), grads):
        k = size // max(np.size(a), 1)
        if gr is None or k <= 1:
            grad_tols.append(None if gr is None else 4 * eps * np.abs(gr) + tiny)
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            upstream = np.abs(wide(grad_output)) / (size if reduction == "mean" else 1)
            terms = 2 * np.abs(np.broadcast_to(x, shape) - np.broadcast_to(t, shape)) * upstream
        grad_tols.append((k + 3) * eps * sum_to(terms, np.shape(a)) + tiny)
    return out, grad_tols


IGNORE_INDEX = -100  # torch's default ignore_index: an ignored target adds nothing and gets no gradient


def cross_entropy(case, arrays, grad_output, truth, grads):
    """``loss_n = −log_softmax(x_n)[t_n]`` over the class axis (1, or 0 unbatched), each within
    the log_softmax bound at the target; 'mean' and 'sum' add an N-term sum (``N·u``
    relative). Backward ``∂E/∂x = g'·(p − onehot(t))`` with ``g'`` the upstream gradient (over N
    for 'mean'): ``2·eps·|g'|·(1 + p·(C + 2 + |x − m| + |log S| + A))``. A target of −100 is
    ignored (torch's default ``ignore_index``): its loss is exactly 0, its row of the gradient
    exactly 0, and N counts the targets kept. Class probabilities (a float target, beyond the
    contract): :func:`_probability_targets`."""
    x, target = wide(arrays[0]), np.asarray(arrays[1])
    dim = 0 if x.ndim == 1 else 1
    if target.dtype.kind == "f":
        return _probability_targets(case, x, target, grad_output, dim)
    eps = eps_of(case)
    gap, p, log_total, budget, n = softmax_parts(x, dim)
    kept = target != IGNORE_INDEX
    at_target = np.expand_dims(np.where(kept, target, 0), dim)
    picked = np.take_along_axis(gap + log_total + budget, at_target, dim).squeeze(dim)
    per_sample = np.where(kept, 2 * eps * (picked + np.abs(np.take_along_axis(
        np.log(np.maximum(p, np.finfo(np.float64).tiny)), at_target, dim).squeeze(dim))), 0.0)
    reduction = case.kwargs.get("reduction", "mean")
    g = np.abs(wide(grad_output))
    count = max(int(kept.sum()), 1)
    if reduction == "none":
        out, scale = per_sample, np.expand_dims(g * kept, dim)
    else:
        # the N-term sum is off by N·u·Σ|loss_n|; for 'mean' that is N·u·|mean| after the division
        divisor = count if reduction == "mean" else 1
        out = per_sample.sum() / divisor + 2 * eps * count * np.abs(truth)
        scale = g / divisor * np.expand_dims(kept, dim)
    with np.errstate(invalid="ignore"):
        grad_tol = 2 * eps * scale * (1 + p * (n + 2 + gap + log_total + budget))
    return out, [grad_tol, None]


def _probability_targets(case, x, target, grad_output, dim):
    """cross_entropy with class probabilities ``t`` (torch takes them; the contract does not):
    ``L = −Σ_c t_c·ℓ_c``, ``ℓ = log_softmax(x)``, each ``ℓ_c`` within ``tol(ℓ) = 2·eps·(|x − m| +
    |log S| + A + |ℓ|)`` (:func:`log_softmax`) and the class sum adding ``(C + 2)·eps·Σ_c |t_c·ℓ_c|``;
    'sum' and 'mean' add a K-term sum and a divide: ``(K + 2)·eps·Σ|L|`` (over K = N·d₁⋯ for
    'mean'). Backward, with ``g'`` each entry's upstream gradient (over K for 'mean'):
    ``∂E/∂x = G − p·ΣG``, ``G = −g'·t``, within ``2·eps·(2|G| + p·Σ_c|G_c|·(C + 2 + |x − m| + |log S| +
    A))``; and ``∂E/∂t = −g'·ℓ`` within ``|g'|·tol(ℓ) + 2·eps·|g'·ℓ|``. Non-finite terms (an ``x`` of
    −inf has ``p = 0`` exactly) count as 0; the entries they make NaN or infinite are compared exactly."""
    eps, tiny = eps_of(case), float(np.finfo(case.dtype).tiny)
    gap, p, log_total, budget, n = softmax_parts(x, dim)
    with np.errstate(invalid="ignore", over="ignore"):
        finite_gap = np.where(np.isfinite(gap), gap, 0.0)
        ell = np.where(np.isfinite(gap + log_total), gap + log_total, 0.0)  # |ℓ| = |x − m| + log S
        ell_tol = 2 * eps * (finite_gap + log_total + budget + ell)
        weights = np.abs(target)
        count = x.size / n if n else np.nan
        terms = np.sum(weights * ell, axis=dim)
        entry = np.sum(weights * ell_tol, axis=dim) + (n + 2) * eps * terms
        reduction = case.kwargs.get("reduction", "mean")
        divisor = count if reduction == "mean" and count else 1
        if reduction == "none":
            out, scale = entry, np.expand_dims(np.abs(wide(grad_output)), dim)
        else:
            out = (np.sum(entry) + (entry.size + 2) * eps * np.sum(terms)) / divisor
            scale = np.abs(wide(grad_output)) / divisor
        G = scale * weights
        gx = 2 * eps * (2 * G + p * np.sum(G, axis=dim, keepdims=True) * (n + 2 + finite_gap + log_total + budget))
        gt = scale * ell_tol + 2 * eps * scale * ell
    return out + tiny, [gx + tiny, gt + tiny]


BOUNDS = {
    **{f"{family}{d}d": multilinear for family in ("conv", "conv_transpose") for d in (1, 2, 3)},
    "pad": multilinear,
    "unfold": selection,  # a copy of input entries (and zeros): exact; its gradient sums them back
    "fold": multilinear,
    **{f"max_pool{d}d": selection for d in (1, 2, 3)},
    **{f"avg_pool{d}d": averaging for d in (1, 2, 3)},
    **{f"adaptive_max_pool{d}d": selection for d in (1, 2, 3)},
    **{f"adaptive_avg_pool{d}d": adaptive_averaging for d in (1, 2, 3)},
    "linear": multilinear,
    "relu": selection,
    "sigmoid": smooth_elementwise,
    "tanh": smooth_elementwise,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "mse_loss": mse_loss,
    "cross_entropy": cross_entropy,
}
"""The bound of each op's results: op name -> bound function."""
