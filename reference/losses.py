"""Losses: mean squared error and cross-entropy, with their backward.

Both reduce a per-entry loss ``L`` with ``reduction``: ``'none'`` returns ``L``, ``'sum'`` returns
``Σ L`` and ``'mean'`` returns ``Σ L / D``, as a 0-d array; ``D = 0`` (an empty batch) gives NaN,
as in torch. The backward of a reduction hands each entry ``∂E/∂L = g`` (``'none'``, entry by
entry), ``g`` (``'sum'``) or ``g/D`` (``'mean'``).

``reduction`` is keyword-only. torch's third positional argument is ``size_average`` for
``mse_loss`` and ``weight`` for ``cross_entropy``, so ``mse_loss(x, t, 'sum')`` means something
else there (a deprecated mean); refusing the positional form keeps a call that reads the same
in both libraries meaning the same.

mse_loss:  ``L = (x − t)²``, with ``x`` and ``t`` broadcast against each other (torch warns
           and broadcasts when the shapes differ; so does this module), ``D`` the broadcast size.
           ``∂L/∂x = 2(x − t)``, ``∂L/∂t = −2(x − t)``; where an argument was broadcast, its
           gradient sums over the axes it was repeated along.

cross_entropy: see :func:`cross_entropy`.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from . import checks
from .activations import ieee, log_softmax

REDUCTIONS = ("none", "mean", "sum")

IGNORE_INDEX = -100
"""torch's default ``ignore_index``: a class target of −100 contributes nothing and is not counted."""


def _reduction(op: str, reduction) -> str:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got reduction={reduction!r}")
    return reduction


def reduce_losses(losses: np.ndarray, reduction: str, count) -> np.ndarray:
    """``L``, ``Σ L`` or ``Σ L / count`` (NaN when ``count`` is 0), in ``losses``' dtype."""
    if reduction == "none":
        return np.asarray(losses)
    total = np.sum(losses)
    if reduction == "mean":
        total = total / count if count else np.nan
    return np.asarray(total, dtype=losses.dtype)


def upstream_scale(grad: np.ndarray, reduction: str, count) -> np.ndarray:
    """``∂E/∂L`` for every entry of ``L``: ``g``, or ``g / count`` for 'mean' (no entries when 0)."""
    if reduction == "mean" and count:
        return grad / count
    return grad


def sum_to(grad: np.ndarray, shape) -> np.ndarray:
    """The adjoint of broadcasting an array of ``shape`` to ``grad.shape``: sum over the leading
    axes broadcasting added and over the axes where ``shape`` has 1 and ``grad`` more."""
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + a for a, n in enumerate(shape) if n == 1 and grad.shape[lead + a] != 1)
    return np.sum(grad, axis=axes, keepdims=True).reshape(shape) if axes else grad


def mse_plan(op: str, input, target, reduction):
    """Validate an mse_loss call as torch does; return the reduction and the broadcast shape."""
    checks.float_array(op, "input", input)
    checks.float_array(op, "target", target)
    checks.same_dtype(op, input=input, target=target)
    reduction = _reduction(op, reduction)
    try:
        shape = np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(
            f"{op}: target must have input's shape or broadcast with it, "
            f"got input.shape={input.shape}, target.shape={target.shape}"
        ) from None
    return reduction, shape


def _outside_the_package() -> int:
    """The ``stacklevel`` of the innermost caller outside this package (``warnings.warn``'s
    ``skip_file_prefixes`` needs Python 3.12): the ops sit under wrappers, one tier deeper than
    the other."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__ + "."):
        frame, level = frame.f_back, level + 1
    return level


def warn_if_broadcast(input, target, shape) -> None:
    """torch's forward warns when the shapes differ (a likely mistake); so does this one, at
    the line that called the op."""
    if input.shape != target.shape:
        warnings.warn(
            f"mse_loss: target.shape={target.shape} differs from input.shape={input.shape}; both are "
            f"broadcast to {shape}, which is likely a mistake (torch warns the same)",
            UserWarning,
            stacklevel=_outside_the_package(),
        )


@ieee
def mse_loss(input, target, *, reduction="mean"):
    """``Σ (x − t)²`` reduced by ``reduction``: input and target of one shape (or shapes that
    broadcast, with a ``UserWarning`` as in torch); ``'none'`` returns that shape, the others a
    0-d array. ``'mean'`` divides by the number of entries."""
    reduction, shape = mse_plan("mse_loss", input, target, reduction)
    warn_if_broadcast(input, target, shape)
    d = np.asarray(input - target)  # 0-d arithmetic gives a scalar: keep it an array
    return reduce_losses(d * d, reduction, int(np.prod(shape)))


@ieee
def mse_loss_backward(grad_output, input, target, *, reduction="mean"):
    """``(grad_input, grad_target)``: ``∂E/∂x = 2(x − t)·g'`` with ``g' = g`` or ``g/D`` (see the
    module docstring), ``∂E/∂t = −∂E/∂x``, each summed back to its argument's shape."""
    op = "mse_loss_backward"
    reduction, shape = mse_plan(op, input, target, reduction)
    grad = checks.grad_output(op, grad_output, input, shape if reduction == "none" else ())
    full = np.asarray(2 * (input - target) * upstream_scale(grad, reduction, int(np.prod(shape))))
    return sum_to(full, input.shape), np.asarray(-sum_to(full, target.shape))


def cross_entropy_plan(op: str, input, target, reduction):
    """Validate a cross_entropy call as torch does; return the reduction, the class axis and
    whether the target holds class probabilities (same shape as input, as torch decides)."""
    checks.float_array(op, "input", input)
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{op}: target must be a numpy.ndarray, got target={target!r}")
    reduction = _reduction(op, reduction)
    if input.ndim < 1:
        raise ValueError(f"{op}: input must be (C,), (N, C) or (N, C, d1, ...), got input.shape={input.shape}")
    dim = 0 if input.ndim == 1 else 1
    classes = input.shape[dim]
    if target.shape == input.shape:
        if target.dtype not in checks.FLOAT_DTYPES:
            raise TypeError(
                f"{op}: a target of input's shape holds class probabilities and must be float32 or float64, "
                f"got target.dtype={target.dtype} (class indices have no class axis)"
            )
        checks.same_dtype(op, input=input, target=target)
        return reduction, dim, True
    if target.dtype != np.int64:
        raise TypeError(f"{op}: class-index targets must have dtype int64, got target.dtype={target.dtype}")
    # torch's forward also takes a (1,) target for a (C,) input, but its backward then fails
    # ("size mismatch"): refused here, as a call whose gradient torch cannot give.
    expected = () if input.ndim == 1 else (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{op}: target must have shape {expected} (class indices) or {input.shape} "
            f"(probabilities), got target.shape={target.shape} for input.shape={input.shape}"
        )
    bad = (target != IGNORE_INDEX) & ((target < 0) | (target >= classes))
    if bad.any():
        raise ValueError(
            f"{op}: target holds class indices outside [0, {classes}) (and not the ignored {IGNORE_INDEX}), "
            f"got target value {target[bad].flat[0]} for input.shape={input.shape}"
        )
    return reduction, dim, False


def _ce_terms(input, target, dim, probabilities):
    """Log-probabilities ``ℓ``, and for class indices the target as ``(index, kept)`` along ``dim``
    (ignored entries read class 0 and are masked out) with the number of kept entries."""
    logp = log_softmax(input, dim)
    if probabilities:
        samples = input.size / input.shape[dim] if input.shape[dim] else np.nan  # torch: numel / C
        return logp, None, None, samples
    kept = target != IGNORE_INDEX
    index = np.expand_dims(np.where(kept, target, 0), dim)
    return logp, index, kept, int(np.count_nonzero(kept))


@ieee
def cross_entropy(input, target, *, reduction="mean"):
    """Cross-entropy of logits against class indices (or class probabilities), as torch.

    input: (C,) unbatched, (N, C), or (N, C, d1, ...) with the classes on axis 1 (axis 0 unbatched).
    target, class indices (int64): () unbatched, (N,), or (N, d1, ...); each in [0, C),
    or −100, torch's default ``ignore_index``, which drops that entry from the loss and from the
    mean's count. Per entry, with ``ℓ = log_softmax(x)`` along the class axis:

        L[n, d] = −ℓ[n, t[n, d], d]            (0 where t[n, d] = −100)

    and ``'mean'`` divides by the number of entries not ignored (NaN when there are none).

    target, class probabilities (float, input's shape: torch tells the two kinds apart by the
    shape): ``L[n, d] = −Σ_c t[n, c, d]·ℓ[n, c, d]``, and ``'mean'`` divides by ``N·d1·…``
    (computed as torch does, ``input.size / C``, so NaN when ``C = 0``).

    Backward: ``L`` depends on ``x`` only through ``ℓ``; with ``G = ∂E/∂ℓ`` (``−g'·onehot(t)``, or
    ``−g'·t`` for probabilities, ``g'`` from the reduction), the log_softmax backward gives

        ∂E/∂x[n, c] = G[n, c] − p[n, c]·Σ_c' G[n, c'],   p = exp(ℓ)
                    = g'[n]·(p[n, c] − [c = t_n])        (class indices)

    and for probabilities ``∂E/∂t[n, c] = −g'[n]·ℓ[n, c]``. An ignored entry has ``G = 0``, so its
    gradient is ``−p·0``: 0, or NaN where its logits are not finite, exactly as torch.
    """
    op = "cross_entropy"
    reduction, dim, probabilities = cross_entropy_plan(op, input, target, reduction)
    logp, index, kept, count = _ce_terms(input, target, dim, probabilities)
    if probabilities:
        losses = -np.sum(target * logp, axis=dim)
    else:
        picked = np.take_along_axis(logp, index, axis=dim).squeeze(dim)
        losses = np.where(kept, -picked, input.dtype.type(0))
    return reduce_losses(losses.astype(input.dtype, copy=False), reduction, count)


@ieee
def cross_entropy_backward(grad_output, input, target, *, reduction="mean"):
    """``(grad_input, grad_target)``: grad_target is None for class indices (not differentiable);
    the derivation is in :func:`cross_entropy`."""
    op = "cross_entropy_backward"
    reduction, dim, probabilities = cross_entropy_plan(op, input, target, reduction)
    loss_shape = input.shape[:dim] + input.shape[dim + 1:]
    grad = checks.grad_output(op, grad_output, input, loss_shape if reduction == "none" else ())
    logp, index, kept, count = _ce_terms(input, target, dim, probabilities)
    scale = upstream_scale(grad, reduction, count)  # g' per entry of L, or one g' for all
    if probabilities:
        scale = np.expand_dims(scale, dim) if reduction == "none" else scale
        g_logp = -scale * target
    else:
        g_logp = np.zeros_like(logp)
        picked = np.where(kept, -scale, input.dtype.type(0))
        np.put_along_axis(g_logp, index, np.expand_dims(picked, dim), axis=dim)
    grad_input = g_logp - np.exp(logp) * np.sum(g_logp, axis=dim, keepdims=True)
    return grad_input, (-scale * logp if probabilities else None)
