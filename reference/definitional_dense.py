"""The definitional tier of linear, the activations and the losses: each equation, entry by entry.

For tiny shapes only. Like :mod:`reference.definitional` for convolution, it shares the
argument checks with the vectorised tier (``plan`` functions, so a valid call has one
definition) and nothing of the arithmetic: every entry is computed by a Python loop over the
terms of its equation, in Python floats (double precision), then stored in the argument's
dtype. The tests hold :mod:`reference.dense`, :mod:`reference.activations` and
:mod:`reference.losses` against these loops. Same contract as :mod:`reference.functional`.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from . import activations as _act, checks as _checks, dense as _dense, losses as _losses


def _positions(shape):
    return itertools.product(*(range(n) for n in shape))


def _lines(shape, dim):
    """Every line along ``dim`` of a shape with at least one axis: ``(index with None at dim, length)``."""
    others = shape[:dim] + shape[dim + 1:]
    for rest in _positions(others):
        yield rest[:dim] + (None,) + rest[dim:], shape[dim]


def _at(line, k):
    """The index of entry ``k`` of a line from :func:`_lines`."""
    return tuple(k if i is None else i for i in line)


def _rows(a):
    return a.reshape(1) if a.ndim == 0 else a


# linear ---------------------------------------------------------------------------------


def linear(input, weight, bias=None):
    """y[..., o] = b[o] + Σ_i x[..., i] · w[o, i]   (a 1-d weight: y[...] = b + Σ_i x[..., i] · w[i])."""
    out_shape = _dense.plan("linear", input, weight, bias)
    w = weight if weight.ndim == 2 else weight[None]
    y = np.zeros(out_shape, dtype=input.dtype)
    for lead in _positions(input.shape[:-1]):
        for o in range(w.shape[0]):
            total = 0.0 if bias is None else float(bias[() if bias.ndim == 0 else o])
            for i in range(input.shape[-1]):
                total += float(input[lead + (i,)]) * float(w[o, i])
            y[lead + ((o,) if weight.ndim == 2 else ())] = total
    return y


def linear_backward(grad_output, input, weight, bias=None):
    """Each term x[..., i]·w[o, i] of y[..., o] sends gy[..., o]·w[o, i] to x[..., i] and
    gy[..., o]·x[..., i] to w[o, i]; b[o] (or a 0-d b) receives gy[..., o]."""
    out_shape = _dense.plan("linear_backward", input, weight, bias)
    gy = _checks.grad_output("linear_backward", grad_output, input, out_shape)
    w = weight if weight.ndim == 2 else weight[None]
    gx = np.zeros(input.shape)
    gw = np.zeros(w.shape)
    gb = None if bias is None else np.zeros(bias.shape)
    for lead in _positions(input.shape[:-1]):
        for o in range(w.shape[0]):
            upstream = float(gy[lead + ((o,) if weight.ndim == 2 else ())])
            if gb is not None:
                gb[() if bias.ndim == 0 else o] += upstream
            for i in range(input.shape[-1]):
                gx[lead + (i,)] += upstream * float(w[o, i])
                gw[o, i] += upstream * float(input[lead + (i,)])
    dtype = input.dtype
    return gx.astype(dtype), gw.reshape(weight.shape).astype(dtype), None if gb is None else gb.astype(dtype)


# element-wise activations -------------------------------------------------------------


def _map(op, input, f):
    """``y[i] = f(x[i])`` entry by entry."""
    _checks.float_array(op, "input", input)
    y = np.zeros(input.shape, dtype=input.dtype)
    for i in _positions(input.shape):
        y[i] = f(float(input[i]))
    return y


def _map_backward(op, grad_output, input, f):
    """``gx[i] = f(x[i], g[i])`` entry by entry."""
    _checks.float_array(op, "input", input)
    g = _checks.grad_output(op, grad_output, input, input.shape)
    gx = np.zeros(input.shape, dtype=input.dtype)
    for i in _positions(input.shape):
        gx[i] = f(float(input[i]), float(g[i]))
    return (gx,)


def _relu(x):
    return 0.0 if x < 0 else x  # NaN and −0.0 pass through, as torch's clamp_min(x, 0)


def _sigmoid(x):
    """1/(1 + e^{−x}), or e^{x}/(1 + e^{x}) for x < 0: the same number, without overflow."""
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


def relu(input):
    """y = x if x > 0 else 0."""
    return _map("relu", input, _relu)


def relu_backward(grad_output, input):
    """gx = g if x > 0 (or x is NaN: not x ≤ 0) else 0."""
    return _map_backward("relu_backward", grad_output, input, lambda x, g: 0.0 if x <= 0 else g)


def sigmoid(input):
    """y = σ(x) = 1/(1 + e^{−x})."""
    return _map("sigmoid", input, _sigmoid)


def sigmoid_backward(grad_output, input):
    """gx = g·σ(x)·(1 − σ(x))."""
    return _map_backward("sigmoid_backward", grad_output, input, lambda x, g: g * (1.0 - _sigmoid(x)) * _sigmoid(x))


def tanh(input):
    """y = tanh(x)."""
    return _map("tanh", input, math.tanh)


def tanh_backward(grad_output, input):
    """gx = g·(1 − tanh²(x))."""
    return _map_backward("tanh_backward", grad_output, input, lambda x, g: g * (1.0 - math.tanh(x) ** 2))


# softmax and log_softmax ----------------------------------------------------------------


def _line_shifted(values):
    """z_k = x_k − m with m the largest entry (NaN if any entry is NaN), and S = Σ_j exp(z_j)."""
    m = -math.inf
    for v in values:
        if math.isnan(v) or v > m and not math.isnan(m):
            m = v
    shifted = [v - m for v in values]  # inf − inf is NaN in Python floats too
    total = 0.0
    for z in shifted:
        total += math.exp(z)
    return shifted, total


def _line_softmax(values):
    """y_k = exp(x_k − m) / Σ_j exp(x_j − m)."""
    shifted, total = _line_shifted(values)
    return [math.exp(z) / total for z in shifted]


def _line_log_softmax(values):
    """ℓ_k = (x_k − m) − log Σ_j exp(x_j − m)."""
    shifted, total = _line_shifted(values)
    return [z - math.log(total) for z in shifted]


def _along(op, input, dim, f):
    """Apply ``f`` (a list of floats to a list of floats) to every line of ``input`` along ``dim``."""
    _checks.float_array(op, "input", input)
    dim = _act.normalise_dim(op, input, dim)
    x = _rows(input)
    y = np.zeros(x.shape, dtype=input.dtype)
    for line, n in _lines(x.shape, dim):
        for k, value in enumerate(f([float(x[_at(line, k)]) for k in range(n)])):
            y[_at(line, k)] = value
    return y.reshape(input.shape)


def _along_backward(op, grad_output, input, dim, f):
    """``f(x_line, g_line)`` gives the gradient of one line."""
    _checks.float_array(op, "input", input)
    axis = _act.normalise_dim(op, input, dim)
    g = _rows(_checks.grad_output(op, grad_output, input, input.shape))
    x = _rows(input)
    gx = np.zeros(x.shape, dtype=input.dtype)
    for line, n in _lines(x.shape, axis):
        xs = [float(x[_at(line, k)]) for k in range(n)]
        gs = [float(g[_at(line, k)]) for k in range(n)]
        for k, value in enumerate(f(xs, gs)):
            gx[_at(line, k)] = value
    return (gx.reshape(input.shape),)


def log_softmax(input, dim):
    """ℓ_i = x_i − log Σ_j exp(x_j) along dim."""
    return _along("log_softmax", input, dim, _line_log_softmax)


def softmax(input, dim):
    """y_i = exp(x_i) / Σ_j exp(x_j) along dim."""
    return _along("softmax", input, dim, _line_softmax)


def _softmax_line_backward(xs, gs):
    """gx_i = Σ_j g_j ∂y_j/∂x_i = Σ_j g_j y_j (δ_ij − y_i)."""
    y = _line_softmax(xs)
    return [sum(g_j * y_j * ((i == j) - y[i]) for j, (g_j, y_j) in enumerate(zip(gs, y))) for i in range(len(y))]


def _log_softmax_line_backward(xs, gs):
    """gx_i = Σ_j g_j ∂ℓ_j/∂x_i = Σ_j g_j (δ_ij − y_i)."""
    y = _line_softmax(xs)
    return [sum(g_j * ((i == j) - y[i]) for j, g_j in enumerate(gs)) for i in range(len(y))]


def softmax_backward(grad_output, input, dim):
    """Each line: gx_i = Σ_j g_j y_j (δ_ij − y_i)."""
    return _along_backward("softmax_backward", grad_output, input, dim, _softmax_line_backward)


def log_softmax_backward(grad_output, input, dim):
    """Each line: gx_i = Σ_j g_j (δ_ij − y_i)."""
    return _along_backward("log_softmax_backward", grad_output, input, dim, _log_softmax_line_backward)


# losses ---------------------------------------------------------------------------------


def _reduce(losses, reduction, count, dtype):
    """L, Σ L, or Σ L / count (NaN for no count), summed term by term."""
    if reduction == "none":
        return losses.astype(dtype)
    total = 0.0
    for i in _positions(losses.shape):
        total += float(losses[i])
    if reduction == "mean":
        total = total / count if count else math.nan
    return np.asarray(total, dtype=dtype)


def _source(index, shape):
    """The entry of an array of ``shape`` that broadcasting copies to ``index``."""
    index = index[len(index) - len(shape):]
    return tuple(0 if n == 1 else i for i, n in zip(index, shape))


def mse_loss(input, target, *, reduction="mean"):
    """L[i] = (x[i] − t[i])² over the broadcast shape, then reduced."""
    reduction, shape = _losses.mse_plan("mse_loss", input, target, reduction)
    _losses.warn_if_broadcast(input, target, shape)
    losses = np.zeros(shape)
    for i in _positions(shape):
        d = float(input[_source(i, input.shape)]) - float(target[_source(i, target.shape)])
        losses[i] = d * d
    return _reduce(losses, reduction, math.prod(shape), input.dtype)


def mse_loss_backward(grad_output, input, target, *, reduction="mean"):
    """Each L[i] sends 2(x − t)·g' to the x entry it read and −2(x − t)·g' to the t entry."""
    op = "mse_loss_backward"
    reduction, shape = _losses.mse_plan(op, input, target, reduction)
    g = _checks.grad_output(op, grad_output, input, shape if reduction == "none" else ())
    count = math.prod(shape)
    gx, gt = np.zeros(input.shape), np.zeros(target.shape)
    for i in _positions(shape):
        upstream = float(g[i] if reduction == "none" else g[()])
        upstream = upstream / count if reduction == "mean" else upstream
        d = float(input[_source(i, input.shape)]) - float(target[_source(i, target.shape)])
        gx[_source(i, input.shape)] += 2 * d * upstream
        gt[_source(i, target.shape)] -= 2 * d * upstream
    return gx.astype(input.dtype), gt.astype(input.dtype)


def _ce_lines(input, target, dim):
    """Every sample line along the class axis: ``(line, loss index, its target)``; the target is
    the class index, or the probabilities as a list of floats."""
    for line, n in _lines(input.shape, dim):
        where = tuple(i for i in line if i is not None)
        if target.shape == input.shape:
            yield line, where, [float(target[_at(line, c)]) for c in range(n)]
        else:
            yield line, where, int(target[where])


def cross_entropy(input, target, *, reduction="mean"):
    """L[n, d] = −ℓ[n, t, d] (0 for t = −100), or −Σ_c t[n, c, d]·ℓ[n, c, d] for probabilities."""
    reduction, dim, probabilities = _losses.cross_entropy_plan("cross_entropy", input, target, reduction)
    classes = input.shape[dim]
    losses = np.zeros(input.shape[:dim] + input.shape[dim + 1:])
    count = 0
    for line, where, t in _ce_lines(input, target, dim):
        logp = _line_log_softmax([float(input[_at(line, c)]) for c in range(classes)])
        if probabilities:
            losses[where] = -sum(t_c * l_c for t_c, l_c in zip(t, logp))
            count += 1
        elif t != _losses.IGNORE_INDEX:
            losses[where] = -logp[t]
            count += 1
    if probabilities and classes == 0:
        count = math.nan  # torch divides by input.size / C
    return _reduce(losses, reduction, count, input.dtype)


def cross_entropy_backward(grad_output, input, target, *, reduction="mean"):
    """G = ∂E/∂ℓ is −g' at the target class (or −g'·t), then ∂E/∂x_c = G_c − p_c·Σ_c' G_c';
    ∂E/∂t_c = −g'·ℓ_c for probabilities."""
    op = "cross_entropy_backward"
    reduction, dim, probabilities = _losses.cross_entropy_plan(op, input, target, reduction)
    classes = input.shape[dim]
    loss_shape = input.shape[:dim] + input.shape[dim + 1:]
    g = _checks.grad_output(op, grad_output, input, loss_shape if reduction == "none" else ())
    lines = list(_ce_lines(input, target, dim))
    kept = [t for _, _, t in lines if probabilities or t != _losses.IGNORE_INDEX]
    count = len(kept)
    gx = np.zeros(input.shape)
    gt = np.zeros(input.shape) if probabilities else None
    for line, where, t in lines:
        upstream = float(g[where] if reduction == "none" else g[()])
        upstream = upstream / count if reduction == "mean" and count else upstream
        logp = _line_log_softmax([float(input[_at(line, c)]) for c in range(classes)])
        if probabilities:
            G = [-upstream * t_c for t_c in t]
        else:
            G = [-upstream if c == t else 0.0 for c in range(classes)]
        total = sum(G)
        for c in range(classes):
            gx[_at(line, c)] = G[c] - math.exp(logp[c]) * total
            if probabilities:
                gt[_at(line, c)] = -upstream * logp[c]
    return gx.astype(input.dtype), None if gt is None else gt.astype(input.dtype)
