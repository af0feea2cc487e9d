"""Second order: the vector-Jacobian product of every op's backward, by composition.

Every op's backward maps ``(g, a)`` (the upstream gradient and the array arguments) to the
gradients ``b = (∂E/∂a₁, …)``. Differentiating *through* it (a gradient penalty, a
Hessian-vector product, MAML) takes cotangents ``v`` for those gradients and asks for the
gradients of ``Φ = Σᵢ ⟨vᵢ, bᵢ⟩`` with respect to ``g`` and to every argument:

    NAME_double_backward(grad_grads, grad_output, *arrays, **kwargs)
        -> (grad_grad_output, grad2_1, grad2_2, …)

``grad_grads`` holds one cotangent per gradient of ``NAME_backward`` (None where that gradient
is None); the result has one entry for ``grad_output`` and one per array, None where the
argument is None or not differentiable (``cross_entropy``'s class indices), zeros where the
backward does not depend on it. This is what ``torch.autograd.grad(grads, (g, *a), v)``
returns after a first ``grad(..., create_graph=True)``.

**Bilinear ops** (convolutions, transposed convolutions, linear): ``y = B(x, w) + b``, and the
backward is ``b_x = B_xᵀ(g; w)``, ``b_w = B_wᵀ(g; x)``, ``b_b = Σ g``. With ``⟨v, Bᵀ(g)⟩ = ⟨B(v), g⟩``,

    Φ = ⟨B(v_x, w), g⟩ + ⟨B(x, v_w), g⟩ + ⟨v_b, Σ g⟩

so the three results are a forward and two backwards of the op itself, at the same geometry:

    ∂Φ/∂g = B(v_x, w) + B(x, v_w) + v_b       two forwards, v_b as the bias
    ∂Φ/∂x = B_xᵀ(g; v_w)                     grad_input of the backward with weight v_w
    ∂Φ/∂w = B_wᵀ(g; v_x)                     grad_weight of the backward with input v_x
    ∂Φ/∂b = 0

For a convolution: the backward of its grad_input (a transposed convolution of ``g``) is a
convolution, and the backward of its grad_weight (a correlation of ``g`` with ``x``) is again
a correlation. Each result is a direct sum of products, like the first-order ones.

**Linear maps of the input** (pad, unfold, fold, average and adaptive average pooling):
``y = L x`` (plus a constant fill), the backward is ``Lᵀ g``, so ``∂Φ/∂g = L v`` (the forward on
``v``, the fill taken as 0) and ``∂Φ/∂x = 0``.

**Selections** (max pooling, adaptive max pooling, relu): ``y = S(x) x`` with ``S`` piecewise
constant in ``x``. The backward routes ``g`` to the selected entries, ``Sᵀ g``; so ``∂Φ/∂g = S v``
(``v`` read at the forward's indices; relu's mask), and ``∂Φ/∂x = 0`` almost everywhere (the
second derivative of a piecewise linear function): the surviving first-order term is ``S v``.

**Smooth entry-wise ops**: ``b = g·f'(x)``, so ``∂Φ/∂g = v·f'(x)`` (the backward on ``v``) and
``∂Φ/∂x = g·v·f''(x)``, written as torch differentiates the backward's formula in terms of the
output ``y``, then chains through ``y = f(x)`` with the op's own backward:

    sigmoid  b = g·(1 − y)·y   ∂b/∂y = g·(1 − 2y)   ∂Φ/∂x = sigmoid_backward(v·g·(1 − 2y), x)
    tanh     b = g·(1 − y²)    ∂b/∂y = −2y·g        ∂Φ/∂x = tanh_backward(−2y·v·g, x)

**softmax** (``y`` along ``dim``): ``b = y ⊙ (g − ⟨g, y⟩)``, a symmetric Jacobian ``J = diag(y) − yyᵀ``,
so ``∂Φ/∂g = J v``: the backward on ``v``. Through ``y``, ``∂Φ/∂y = v ⊙ (g − ⟨g, y⟩) − g·⟨v, y⟩``,
and ``∂Φ/∂x = softmax_backward(∂Φ/∂y, x)``.

**log_softmax** (``p = exp(ℓ)``): ``b = g − p·Σg``. ``∂Φ/∂g = v − ⟨v, p⟩`` (the Jacobian of ℓ on
``v``); through ``p``, ``∂Φ/∂p = −Σg·v``, so ``∂Φ/∂x = softmax_backward(−Σg·v, x)``.

**mse_loss**: ``b_x = Σ_bcast 2(x − t)·g'`` and ``b_t = −Σ_bcast 2(x − t)·g'`` (``g' = g``, or
``g/D`` for 'mean'). ``Φ = Σ 2(x − t)(v_x − v_t)·g'`` is bilinear in ``(x − t)`` and ``(v_x − v_t)``, so
``∂Φ/∂(x, t)`` is the op's own backward taken at ``(v_x, v_t)``, and ``∂Φ/∂g`` is
``2(x − t)·v_x − 2(x − t)·v_t`` reduced as the forward reduces: entry by entry, summed, or
summed over ``D`` terms each divided by ``D`` ('mean'; an empty 'mean' gives 0, as torch's does).

**cross_entropy** (``ℓ = log_softmax(x)``, ``p = exp(ℓ)``): the loss is ``L = −Σ_c T_c·ℓ_c`` with
``T`` the one-hot target (class indices; 0 for an ignored entry) or the probabilities, and
``b_x = G − p·ΣG`` with ``G = −g'·T``; for probabilities also ``b_t = −g'·ℓ``. So

    ∂Φ/∂g  = the reduction of  −Σ_c (T_c·dℓ_c + v_t,c·ℓ_c),   dℓ = v_x − ⟨v_x, p⟩
    ∂Φ/∂x  = softmax_backward(−ΣG·v_x, x) + log_softmax_backward(−g'·v_t, x)
    ∂Φ/∂t  = −g'·dℓ                                                  (probabilities only)

the terms with ``v_t`` absent for class indices.

:func:`define` writes ``NAME_double_backward`` for every op of a tier from that tier's own
forwards and backwards: the vectorised tier (:mod:`reference.functional`) and the loop tier
(:mod:`reference.definitional`) each get theirs, sharing no arithmetic beyond these lines.
"""
from __future__ import annotations

import inspect

import numpy as np

from . import checks
from .activations import ieee, normalise_dim
from .losses import IGNORE_INDEX, reduce_losses, upstream_scale

BILINEAR = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "linear")
LINEAR_MAPS = ("pad", "unfold", "fold", "avg_pool1d", "avg_pool2d", "avg_pool3d",
               "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d")
MAX_POOLS = ("max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
             "adaptive_max_pool3d")
ARRAYS = {**{op: ("input", "weight", "bias") for op in BILINEAR}, "mse_loss": ("input", "target"),
          "cross_entropy": ("input", "target")}
"""The array arguments of each op (``input`` alone where not listed)."""


def _cotangents(op: str, grad_grads, grads) -> list:
    """Check ``grad_grads`` against the first-order gradients ``grads``: a tuple with one entry per
    gradient, None exactly where the gradient is None, else an array of its shape and dtype."""
    names = [f"grad_{name}" for name in ARRAYS.get(op, ("input",))]
    if not isinstance(grad_grads, (tuple, list)) or len(grad_grads) != len(grads):
        got = f"{type(grad_grads).__name__} of {len(grad_grads)}" if isinstance(grad_grads, (tuple, list)) else (
            type(grad_grads).__name__)
        raise TypeError(f"{op}_double_backward: grad_grads must be a tuple of {len(grads)} cotangents, one for each of "
                        f"{', '.join(names)}, got {got}")
    for i, (name, v, b) in enumerate(zip(names, grad_grads, grads)):
        if b is None:
            if v is not None:
                raise ValueError(f"{op}_double_backward: {name} is None (no gradient), so grad_grads[{i}] must be None, "
                                 f"got {type(v).__name__}")
            continue
        checks.float_array(f"{op}_double_backward", f"grad_grads[{i}]", v)
        if v.shape != b.shape or v.dtype != b.dtype:
            raise ValueError(f"{op}_double_backward: grad_grads[{i}] must match {name}, {b.dtype}{list(b.shape)}, "
                             f"got grad_grads[{i}].dtype={v.dtype}, shape={v.shape}")
    return list(grad_grads)


def _bilinear(ops, op, v, g, arrays, kwargs):
    (vx, vw, vb), (x, w, b) = v, arrays
    forward, backward = ops[op], ops[op + "_backward"]
    grad_grad_output = forward(vx, w, vb, **kwargs) + forward(x, vw, None, **kwargs)
    grad2_input = backward(g, x, vw, None, **kwargs)[0]
    grad2_weight = backward(g, vx, w, None, **kwargs)[1]
    return grad_grad_output, grad2_input, grad2_weight, None if b is None else np.zeros_like(b)


def _linear_map(ops, op, v, g, arrays, kwargs):
    if op == "pad" and kwargs.get("value") is not None:  # the fill is a constant: L v has none
        kwargs = dict(kwargs, value=None)
    return ops[op](v[0], **kwargs), np.zeros_like(arrays[0])


def _max_pool(ops, op, v, g, arrays, kwargs):
    x, dims = arrays[0], int(op[-2])
    _, indices = ops[op](x, **dict(kwargs, return_indices=True))
    lead, plane, out = indices.shape[:-dims], int(np.prod(x.shape[-dims:])), int(np.prod(indices.shape[-dims:]))
    picked = np.take_along_axis(v[0].reshape(lead + (plane,)), indices.reshape(lead + (out,)), axis=-1)
    return picked.reshape(indices.shape), np.zeros_like(x)


def _relu(ops, op, v, g, arrays, kwargs):
    return ops["relu_backward"](v[0], arrays[0])[0], np.zeros_like(arrays[0])


def _sigmoid(ops, op, v, g, arrays, kwargs):
    x, backward = arrays[0], ops["sigmoid_backward"]
    y = ops["sigmoid"](x)
    return backward(v[0], x)[0], backward(np.asarray(v[0] * g * (1 - 2 * y)), x)[0]


def _tanh(ops, op, v, g, arrays, kwargs):
    x, backward = arrays[0], ops["tanh_backward"]
    y = ops["tanh"](x)
    return backward(v[0], x)[0], backward(np.asarray(-2 * y * v[0] * g), x)[0]


def _along(a: np.ndarray) -> np.ndarray:
    """A 0-d array as its one-entry axis 0 (a view), so a sum along ``dim`` has an axis."""
    return a.reshape(1) if a.ndim == 0 else a


def _dot(a, b, dim):
    """``⟨a, b⟩`` along ``dim``, kept as an axis of length 1."""
    return np.sum(_along(a) * _along(b), axis=dim, keepdims=True)


def _softmax(ops, op, v, g, arrays, kwargs):
    x, dim = arrays[0], kwargs["dim"]
    axis = normalise_dim(op, x, dim)
    y, vx, gy = _along(ops["softmax"](x, dim)), _along(v[0]), _along(g)
    through_y = vx * (gy - _dot(gy, y, axis)) - gy * _dot(vx, y, axis)
    backward = ops["softmax_backward"]
    return backward(v[0], x, dim)[0], backward(through_y.reshape(x.shape), x, dim)[0]


def _log_softmax_jvp(ops, x, v, dim):
    """``dℓ = v − ⟨v, p⟩`` along ``dim``: the Jacobian of ``ℓ = log_softmax(x)`` applied to ``v``."""
    axis = normalise_dim("log_softmax", x, dim)
    p = np.exp(_along(ops["log_softmax"](x, dim)))
    return (_along(v) - _dot(v, p, axis)).reshape(x.shape)


def _log_softmax(ops, op, v, g, arrays, kwargs):
    x, dim = arrays[0], kwargs["dim"]
    axis = normalise_dim(op, x, dim)
    total = np.sum(_along(g), axis=axis, keepdims=True)
    return _log_softmax_jvp(ops, x, v[0], dim), ops["softmax_backward"]((-total * _along(v[0])).reshape(x.shape), x, dim)[0]


def _mse_loss(ops, op, v, g, arrays, kwargs):
    (x, t), (vx, vt) = arrays, v
    reduction = kwargs.get("reduction", "mean")
    grad2_input, grad2_target = ops["mse_loss_backward"](g, vx, vt, reduction=reduction)
    d = np.asarray(x - t)
    # Σ v·∂b/∂g over both gradients, b_x's and b_t's terms apart as torch adds them: an infinite
    # x − t gives inf − inf (NaN) where the two meet, not ±inf
    terms = np.asarray(2 * d * vx - 2 * d * vt)
    if reduction == "none":
        return terms, grad2_input, grad2_target
    if reduction == "mean" and terms.size:
        terms = terms / terms.size
    return np.asarray(np.sum(terms), dtype=x.dtype), grad2_input, grad2_target


def _cross_entropy(ops, op, v, g, arrays, kwargs):
    (x, t), (vx, vt) = arrays, v
    reduction = kwargs.get("reduction", "mean")
    dim = 0 if x.ndim == 1 else 1
    logp = ops["log_softmax"](x, dim)
    probabilities = t.shape == x.shape
    if probabilities:
        weights, count = t, (x.size / x.shape[dim] if x.shape[dim] else np.nan)  # T, and torch's N for 'mean'
    else:
        kept = t != IGNORE_INDEX
        weights = np.zeros_like(x)
        np.put_along_axis(weights, np.expand_dims(np.where(kept, t, 0), dim), np.expand_dims(kept, dim).astype(x.dtype),
                          axis=dim)
        count = int(np.count_nonzero(kept))
    scale = upstream_scale(g, reduction, count)  # g' per entry of the loss, or one for all
    scale = np.expand_dims(scale, dim) if reduction == "none" else scale
    d_logp = _log_softmax_jvp(ops, x, vx, dim)
    if probabilities:
        losses = -np.sum(weights * d_logp + vt * logp, axis=dim)
    else:  # −dℓ at the target, an ignored entry exactly 0 as its loss is
        picked = np.take_along_axis(d_logp, np.expand_dims(np.where(kept, t, 0), dim), axis=dim).squeeze(dim)
        losses = np.where(kept, -picked, x.dtype.type(0))
    grad_grad_output = reduce_losses(np.asarray(losses, dtype=x.dtype), reduction, count)
    total = -scale * np.sum(weights, axis=dim, keepdims=True)  # ΣG, G = −g'·T
    grad2_input = ops["softmax_backward"](np.asarray(-total * vx), x, dim)[0]
    if not probabilities:
        return grad_grad_output, grad2_input, None
    grad2_input = grad2_input + ops["log_softmax_backward"](np.asarray(-scale * vt), x, dim)[0]
    return grad_grad_output, grad2_input, np.asarray(-scale * d_logp)


RULES = {
    **{op: _bilinear for op in BILINEAR},
    **{op: _linear_map for op in LINEAR_MAPS},
    **{op: _max_pool for op in MAX_POOLS},
    "relu": _relu, "sigmoid": _sigmoid, "tanh": _tanh, "softmax": _softmax, "log_softmax": _log_softmax,
    "mse_loss": _mse_loss, "cross_entropy": _cross_entropy,
}
"""How each op's backward is differentiated (the module docstring derives each rule)."""


def double_backward(ops: dict, op: str):
    """``NAME_double_backward`` of ``op`` over the tier whose functions ``ops`` maps by name."""
    rule, backward = RULES[op], ops[op + "_backward"]
    signature = inspect.signature(backward)
    leading = list(signature.parameters)[:1 + len(ARRAYS.get(op, ("input",)))]  # grad_output and the arrays

    @ieee
    def double_backward(grad_grads, grad_output, *args, **kwargs):
        grads = backward(grad_output, *args, **kwargs)  # validates the call as the first order does
        given = signature.bind(grad_output, *args, **kwargs).arguments  # the rules read arguments by name
        arrays = tuple(given.get(name) for name in leading[1:])
        rest = {name: value for name, value in given.items() if name not in leading}
        v = _cotangents(op, grad_grads, grads)
        return tuple(None if r is None else np.asarray(r) for r in rule(ops, op, v, grad_output, arrays, rest))

    double_backward.__name__ = double_backward.__qualname__ = f"{op}_double_backward"
    double_backward.__doc__ = (
        f"Vector-Jacobian product of :func:`{op}_backward`: given ``grad_grads``, one cotangent per gradient it\n"
        f"returns (None where that gradient is None), the upstream gradient and the forward's arguments,\n"
        f"returns ``(grad_grad_output, {', '.join('grad2_' + a for a in ARRAYS.get(op, ('input',)))})``. "
        f"Derivation: :mod:`reference.second_order`.")
    return double_backward


def define(namespace: dict) -> list[str]:
    """Add ``NAME_double_backward`` to ``namespace`` (a tier's globals) for every op of :data:`RULES`
    whose forward and backward it holds; return the names added."""
    added = []
    for op in RULES:
        if op in namespace and op + "_backward" in namespace:
            namespace[op + "_double_backward"] = double_backward(namespace, op)
            added.append(op + "_double_backward")
    return added
