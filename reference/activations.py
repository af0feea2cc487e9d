"""Activations, entry by entry (relu, sigmoid, tanh) and along one axis (softmax, log_softmax).

Each ``NAME(input, ...)`` mirrors ``torch.nn.functional.NAME``; ``NAME_backward(grad_output,
input, ...)`` returns ``(grad_input,)``, the vector-Jacobian product ``g ↦ gᵀ·∂y/∂x``.

Entry-wise ops have a diagonal Jacobian, so ``∂E/∂x = g ⊙ f'(x)``. Like torch, the derivatives
of sigmoid and tanh are written in terms of the *output* (``σ' = σ(1 − σ)``, ``tanh' = 1 − tanh²``),
so the backward rounds the way torch's does.

softmax couples the entries along ``dim``; with ``y = softmax(x)`` the Jacobian is
``∂y_i/∂x_j = y_i(δ_ij − y_j)``, so

    ∂E/∂x_i = Σ_j g_j · y_j(δ_ij − y_i) = y_i·(g_i − Σ_j g_j y_j)

and for ``ℓ = log_softmax(x)``, ``∂ℓ_j/∂x_i = δ_ij − y_i``, so

    ∂E/∂x_i = Σ_j g_j (δ_ij − y_i) = g_i − y_i·Σ_j g_j,   y_i = exp(ℓ_i)

both as torch computes them (from the forward output). Both forwards subtract the maximum
along ``dim`` first: ``softmax(x) = softmax(x − m)`` exactly, and ``x − m ≤ 0`` so ``exp`` never
overflows; logits of ±1e4 give 1 and 0, not NaN. Non-finite rows follow from that one formula,
and match torch: a row holding +inf or NaN is NaN throughout (``inf − inf``), a row of −inf
only is NaN (``−inf − (−inf)``), a single −inf entry gets probability 0 (log-probability −inf).
"""
from __future__ import annotations

import functools

import numpy as np

from . import checks


def ieee(function):
    """Run an op with numpy's floating-point warnings off. NaN and ±inf in the arguments give
    the NaN and ±inf that IEEE arithmetic gives, as in torch, which does not warn either
    (``inf − inf`` in a loss, ``0·inf`` in a gradient, a square that overflows)."""

    @functools.wraps(function)
    def op(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return function(*args, **kwargs)

    return op


def _elementwise_backward(op: str, grad_output, input) -> np.ndarray:
    checks.float_array(op, "input", input)
    return checks.grad_output(op, grad_output, input, input.shape)


@ieee
def relu(input):
    """``y = x`` where ``x > 0`` else ``0``; any shape, dtype kept.

    Written as torch's ``clamp_min(x, 0)`` reads: ``y = 0 if x < 0 else x``. So NaN stays NaN
    and ``−0.0`` stays ``−0.0``, as in torch.
    """
    checks.float_array("relu", "input", input)
    return np.where(input < 0, input.dtype.type(0), input)


@ieee
def relu_backward(grad_output, input):
    """``∂E/∂x = g`` where ``x > 0``, else ``0``: relu is ``x`` on one side and ``0`` on the other.

    At ``x = 0`` the derivative is taken as 0, and it is a selection, not a product: an upstream
    NaN or inf at ``x ≤ 0`` gives 0. Torch tests ``y ≤ 0`` on the output, which is false for
    NaN, so a NaN input passes its gradient through; ``x ≤ 0`` on the input is the same test.
    """
    grad = _elementwise_backward("relu_backward", grad_output, input)
    return (np.where(input <= 0, input.dtype.type(0), grad),)


@ieee
def sigmoid(input):
    """``σ(x) = 1 / (1 + e^{−x})``, entry by entry; any shape, dtype kept.

    Computed with ``e = e^{−|x|} ∈ (0, 1]``, which never overflows:

        σ(x) = 1 / (1 + e)     for x ≥ 0
        σ(x) = e / (1 + e)     for x < 0     (multiply through by e^{x})

    Neither branch cancels or overflows, so both tails keep a relative error of a few ulps,
    down to the subnormals. (Torch evaluates ``1/(1 + e^{−x})``, whose ``e^{−x}`` overflows
    below x ≈ −88.7 in float32 and −709.8 in float64 and returns 0 where the exact value is
    subnormal: the two differ there by less than the dtype's smallest normal number.)
    """
    checks.float_array("sigmoid", "input", input)
    e = np.exp(-np.abs(input))
    return np.where(input >= 0, 1 / (1 + e), e / (1 + e)).astype(input.dtype, copy=False)


@ieee
def sigmoid_backward(grad_output, input):
    """``∂E/∂x = g·σ'(x)`` with ``σ' = e^{−x}/(1 + e^{−x})² = σ·(1 − σ)``, computed from the output
    ``y = σ(x)`` in torch's order ``g·(1 − y)·y``. Where ``y`` rounds to 1 it is exactly 0, as in torch."""
    grad = _elementwise_backward("sigmoid_backward", grad_output, input)
    y = sigmoid(input)
    return (np.asarray(grad * (1 - y) * y),)  # 0-d arithmetic gives a scalar: keep it an array


@ieee
def tanh(input):
    """``tanh(x) = (e^{x} − e^{−x}) / (e^{x} + e^{−x})``, entry by entry; any shape, dtype kept."""
    checks.float_array("tanh", "input", input)
    return np.asarray(np.tanh(input))  # a 0-d input gives a scalar: keep it an array


@ieee
def tanh_backward(grad_output, input):
    """``∂E/∂x = g·tanh'(x)`` with ``tanh' = 4/(e^{x} + e^{−x})² = 1 − tanh²``, computed from the
    output ``y`` as torch does: ``g·(1 − y·y)``."""
    grad = _elementwise_backward("tanh_backward", grad_output, input)
    y = np.tanh(input)
    return (np.asarray(grad * (1 - y * y)),)


def normalise_dim(op: str, input: np.ndarray, dim) -> int:
    """``dim`` as a non-negative axis of ``input`` (a 0-d input has the one axis 0, as in torch).

    ``dim`` is required, as in the contract's ``softmax(input, dim)``. torch also takes
    ``dim=None`` and then picks an axis itself (0 for 0-, 1- and 3-d inputs, else 1) with a
    deprecation warning; that guess normalises a 3-d batch across its samples, so it is refused."""
    if dim is None:
        raise TypeError(
            f"{op}: dim must be an int; torch's implicit choice for dim=None is deprecated, got dim=None "
            f"for input.shape={input.shape}"
        )
    dim = checks.int_arg(op, "dim", dim)
    ndim = max(input.ndim, 1)
    if not -ndim <= dim < ndim:
        raise ValueError(f"{op}: dim must be in [{-ndim}, {ndim - 1}] for input.shape={input.shape}, got dim={dim}")
    return dim % ndim


def _rows(a: np.ndarray) -> np.ndarray:
    """A 0-d array as its one-entry axis 0 (a view), so every reduction along ``dim`` has an axis."""
    return a.reshape(1) if a.ndim == 0 else a


def _shifted(input: np.ndarray, dim: int):
    """``z = x − max(x)`` along ``dim`` (``≤ 0``, or NaN in a non-finite row), ``exp(z)`` and
    ``S = Σ exp(z)``, on ``input`` with at least one axis."""
    z = input - np.max(input, axis=dim, keepdims=True)  # inf − inf: NaN is the answer (see ieee)
    e = np.exp(z)
    return z, e, np.sum(e, axis=dim, keepdims=True)


@ieee
def softmax(input, dim):
    """``y_i = exp(x_i) / Σ_j exp(x_j)`` along ``dim``, computed as ``exp(x_i − m) / Σ_j exp(x_j − m)``
    with ``m = max_j x_j``. Any shape (0-d: ``dim`` 0 or −1, and the result is 1), dtype kept;
    an axis of length 0 gives an empty result."""
    op = "softmax"
    checks.float_array(op, "input", input)
    dim = normalise_dim(op, input, dim)
    if input.size == 0:
        return np.empty_like(input)
    _, e, total = _shifted(_rows(input), dim)
    return (e / total).reshape(input.shape)


@ieee
def softmax_backward(grad_output, input, dim):
    """``∂E/∂x_i = y_i·(g_i − Σ_j g_j y_j)`` along ``dim`` (derivation in the module docstring)."""
    op = "softmax_backward"
    checks.float_array(op, "input", input)
    axis = normalise_dim(op, input, dim)
    grad = checks.grad_output(op, grad_output, input, input.shape)
    y, g = _rows(softmax(input, dim)), _rows(grad)
    return ((y * (g - np.sum(g * y, axis=axis, keepdims=True))).reshape(input.shape),)


@ieee
def log_softmax(input, dim):
    """``ℓ_i = x_i − log Σ_j exp(x_j)`` along ``dim``, computed as ``(x_i − m) − log Σ_j exp(x_j − m)``:
    the sum is at least 1, so its log is finite, and logits of ±1e4 give ``0`` and ``−2e4``
    rather than ``−inf``. Shapes as :func:`softmax`."""
    op = "log_softmax"
    checks.float_array(op, "input", input)
    dim = normalise_dim(op, input, dim)
    if input.size == 0:
        return np.empty_like(input)
    z, _, total = _shifted(_rows(input), dim)
    return (z - np.log(total)).reshape(input.shape)


@ieee
def log_softmax_backward(grad_output, input, dim):
    """``∂E/∂x_i = g_i − exp(ℓ_i)·Σ_j g_j`` along ``dim``, with ``exp(ℓ)`` the softmax read back from
    the output as torch does (derivation in the module docstring)."""
    op = "log_softmax_backward"
    checks.float_array(op, "input", input)
    axis = normalise_dim(op, input, dim)
    grad = checks.grad_output(op, grad_output, input, input.shape)
    p, g = _rows(np.exp(log_softmax(input, dim))), _rows(grad)
    return ((g - p * np.sum(g, axis=axis, keepdims=True)).reshape(input.shape),)
