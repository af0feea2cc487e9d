"""torch's convolutions, linear layer, activations and losses written in JAX, as a JAX user
writes them: ``jax.lax`` and ``jax.numpy`` under torch's signatures, with no backward (the
gate takes it from ``jax.vjp``) and no validation of its own beyond what JAX does.

    python -m crosscheck --framework jax --impl examples.jax_ops --profile quick

What it does not cover is declared (``CROSSCHECK_SUPPORT``), so those cases are counted as
unsupported: the transposed convolutions, padding and pooling are not written, nor
``cross_entropy``'s class weights, label smoothing and class-probability targets.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

CROSSCHECK_FRAMEWORK = "jax"
CROSSCHECK_SUPPORT = {
    "cross_entropy": {"weight": [None], "label_smoothing": [0.0]},
}


def _tuple(value, dims):
    return tuple(value) * (dims if len(value) == 1 else 1) if isinstance(value, (tuple, list)) else (value,) * dims


def _conv(dims):
    spatial = "DHW"[3 - dims:]
    numbers = (f"NC{spatial}", f"OI{spatial}", f"NC{spatial}")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        unbatched = input.ndim == dims + 1
        x = input[None] if unbatched else input
        dilation = _tuple(dilation, dims)
        if isinstance(padding, str):
            if padding == "same":  # torch: the odd extra pad at the end, as XLA's SAME
                totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
                pads = [(t // 2, t - t // 2) for t in totals]
            else:
                pads = "VALID" if padding == "valid" else padding
        else:
            pads = [(p, p) for p in _tuple(padding, dims)]
        out = lax.conv_general_dilated(x, weight, _tuple(stride, dims), pads, rhs_dilation=dilation,
                                       dimension_numbers=numbers, feature_group_count=groups,
                                       precision=lax.Precision.HIGHEST)
        if bias is not None:
            out = out + bias.reshape((1, -1) + (1,) * dims)
        return out[0] if unbatched else out

    return conv


conv1d, conv2d, conv3d = _conv(1), _conv(2), _conv(3)


def linear(input, weight, bias=None):
    out = jnp.matmul(input, weight.T, precision=lax.Precision.HIGHEST)
    return out if bias is None else out + bias


relu = jax.nn.relu
sigmoid = jax.nn.sigmoid
tanh = jnp.tanh


def _along(fn, input, dim):
    if input.ndim == 0:  # torch takes dim 0 or -1 of a 0-d tensor; JAX has no axis to give
        return fn(input[None], axis=0)[0]
    return fn(input, axis=dim)


def softmax(input, dim=None):
    return _along(jax.nn.softmax, input, dim)


def log_softmax(input, dim=None):
    return _along(jax.nn.log_softmax, input, dim)


def _reduce(value, reduction):
    return {"mean": jnp.mean, "sum": jnp.sum, "none": lambda v: v}[reduction](value)


def mse_loss(input, target, reduction="mean"):
    return _reduce((input - target) ** 2, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    axis = 1 if input.ndim > 1 else 0
    logp = jax.nn.log_softmax(input, axis=axis)
    kept = target != ignore_index
    picked = jnp.take_along_axis(logp, jnp.expand_dims(jnp.where(kept, target, 0), axis), axis)
    losses = jnp.where(kept, -jnp.squeeze(picked, axis), 0.0)
    if reduction == "mean":  # over the targets kept: 0/0 is NaN when none is, as in torch
        return jnp.sum(losses) / jnp.sum(kept)
    return _reduce(losses, reduction)
