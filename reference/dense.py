"""The fully connected layer, ``torch.nn.functional.linear``, and its backward.

With input ``x`` of shape ``(*, I)`` (any number of leading axes, none included), weight ``w``
of shape ``(O, I)`` and bias ``b`` of shape ``(O,)``, the output ``(*, O)`` is

    y[..., o] = b[o] + Σ_{i < I} x[..., i] · w[o, i]          (y = x·wᵀ + b)

torch also documents a 1-d weight ``(I,)``, which drops the output axis (``y[...] = b + Σ_i
x[..., i]·w[i]``, output ``(*)``), and a 0-d bias ``()``, added to every entry.

Backward, by the chain rule on that one equation (the term ``x[..., i]·w[o, i]`` sends
``gy[..., o]·w[o, i]`` to ``x`` and ``gy[..., o]·x[..., i]`` to ``w``):

    ∂E/∂x[..., i] = Σ_o gy[..., o] · w[o, i]                  (gy·w)
    ∂E/∂w[o, i]   = Σ_{...} gy[..., o] · x[..., i]            (gyᵀ·x, summed over every leading axis)
    ∂E/∂b[o]      = Σ_{...} gy[..., o]                        (a 0-d bias collects every entry of gy)

Vectorised as matrix products after flattening the leading axes into one of ``M`` rows:
``X (M, I)``, ``G (M, O)`` and ``W (O, I)``, a 1-d weight being the one-row ``W (1, I)``.
"""
from __future__ import annotations

import numpy as np

from . import checks
from .activations import ieee


def plan(op: str, input, weight, bias) -> tuple[int, ...]:
    """Validate a linear call the way torch does; return the output shape."""
    checks.float_array(op, "input", input)
    checks.float_array(op, "weight", weight)
    if bias is not None:
        checks.float_array(op, "bias", bias)
    checks.same_dtype(op, input=input, weight=weight, bias=bias)
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have at least 1 dimension (*, in_features), got input.shape={input.shape}")
    checks.rank(op, "weight", weight, (2, 1))
    if input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"{op}: input's last axis must have weight.shape[-1]={weight.shape[-1]} features, "
            f"got input.shape={input.shape}, weight.shape={weight.shape}"
        )
    out_features = weight.shape[:1] if weight.ndim == 2 else ()
    if bias is not None:
        if bias.shape not in (out_features, ()):
            raise ValueError(
                f"{op}: bias must have shape {out_features} or (), got bias.shape={bias.shape} "
                f"for weight.shape={weight.shape}"
            )
        if weight.ndim == 1 and input.ndim == 2:
            # torch sends a 2-d input to addmm, which needs a matrix weight, and refuses
            raise ValueError(
                f"{op}: a 1-d weight takes no bias when input is 2-d (torch refuses it), "
                f"got input.shape={input.shape}, weight.shape={weight.shape}, bias.shape={bias.shape}"
            )
    return input.shape[:-1] + out_features


@ieee
def linear(input, weight, bias=None):
    """``y = x·wᵀ + b``: input (*, I), weight (O, I) or (I,), bias (O,), () or None.

    Returns (*, O), or (*) for a 1-d weight; dtype kept. The index equation and the derivation
    of the backward are in :mod:`reference.dense`.
    """
    plan("linear", input, weight, bias)
    y = np.asarray(np.matmul(input, weight.T))  # 1-d by 1-d is a scalar: keep it an array
    if bias is not None:
        y += bias
    return y


@ieee
def linear_backward(grad_output, input, weight, bias=None):
    """Vector-Jacobian product of :func:`linear`: ``(grad_input, grad_weight, grad_bias)``,
    grad_bias None when bias is None. ``∂E/∂x = gy·w``, ``∂E/∂w = gyᵀ·x``, ``∂E/∂b = Σ gy``."""
    op = "linear_backward"
    out_shape = plan(op, input, weight, bias)
    grad = checks.grad_output(op, grad_output, input, out_shape)
    rows, features = int(np.prod(input.shape[:-1])), input.shape[-1]  # explicit: any of them may be 0
    w = weight.reshape(weight.shape[0] if weight.ndim == 2 else 1, features)  # (O, I); a 1-d weight is one row
    x = input.reshape(rows, features)  # (M, I)
    g = grad.reshape(rows, w.shape[0])  # (M, O)
    grad_input = np.matmul(g, w).reshape(input.shape)
    grad_weight = np.matmul(g.T, x).reshape(weight.shape)
    grad_bias = None if bias is None else np.asarray(np.sum(g, axis=0 if bias.ndim else None))
    return grad_input, grad_weight, grad_bias
