"""What the network bound (:mod:`crosscheck.networks.bounds`, where it is derived) knows about
each ``torch.nn`` layer and loss: which layers it covers and how each is classified, the truth
run's record of each layer's call, each layer's depths (the roundings its terms can see), its
linearisation in the magnitude run, the decisions of its that rounding may flip, and the
losses' own bounds. The tables these follow are in :mod:`crosscheck.networks.bounds`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call

_NN = torch.nn
MULTILINEAR = (_NN.Conv1d, _NN.Conv2d, _NN.Conv3d, _NN.ConvTranspose1d, _NN.ConvTranspose2d, _NN.ConvTranspose3d,
               _NN.Linear)
"""Leaves whose results are sums of products of their arrays (their depth comes from a ones-run)."""
MAX_POOLS = (_NN.MaxPool1d, _NN.MaxPool2d, _NN.MaxPool3d)
AVG_POOLS = (_NN.AvgPool1d, _NN.AvgPool2d, _NN.AvgPool3d)
COPIES = (_NN.Flatten, _NN.Identity)
SMOOTH = (_NN.Sigmoid, _NN.Tanh)
LEAVES = MULTILINEAR + MAX_POOLS + AVG_POOLS + COPIES + SMOOTH + (_NN.ReLU,)
LOSSES = (_NN.MSELoss, _NN.CrossEntropyLoss)

# roundings (in units of u) that a term picks up in a layer, where they do not come from a
# ones-run; the reasons are in the module docstring
SMOOTH_FORWARD, SMOOTH_BACKWARD = 8, 4
MSE_GRAD_DEPTH = 4  # d = y − t, ·g, /N, and the store


def gamma2(depth: float, dtype) -> float:
    """``2·γ(D) = 2·D·u/(1 − D·u)``: the reference's and the truth's first-order error together."""
    u = float(np.finfo(dtype).eps) / 2
    return 2 * depth * u / (1 - depth * u)


def _ntuple(value, n):
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return items * n if len(items) == 1 else items


def pool_params(module):
    """``(dims, kernel, stride, padding, dilation)`` of a torch pooling module, as tuples."""
    dims = int(type(module).__name__[-2])
    kernel = _ntuple(module.kernel_size, dims)
    stride = kernel if module.stride is None or module.stride == () else _ntuple(module.stride, dims)
    dilation = _ntuple(getattr(module, "dilation", 1), dims)
    return dims, kernel, stride, _ntuple(module.padding, dims), dilation


@dataclass
class LeafCall:
    """One call of a leaf in the truth run: its input ``z`` and output ``y`` (float64, detached)."""

    module: torch.nn.Module
    name: str
    z: torch.Tensor
    y: torch.Tensor
    index: torch.Tensor | None = None  # max pooling: the truth's argmax (flat offsets per plane)
    a_in: torch.Tensor | None = None  # the magnitude run's input to this call


def leaves(torch_net) -> dict:
    """``{module: name}`` of the leaves; refuses what the layer-by-layer bound does not cover."""
    names = {}
    for name, module in torch_net.named_modules():
        if any(True for _ in module.children()):
            if not isinstance(module, _NN.Sequential):
                raise ValueError(f"compare: no error bound for container {type(module).__name__} ({name!r}): "
                                 "only torch.nn.Sequential, whose forward just composes its children")
        elif not isinstance(module, LEAVES):
            raise ValueError(f"compare: no error bound for torch.nn.{type(module).__name__} ({name!r})")
        else:
            names[module] = name or type(module).__name__
    return names


def _hooked(torch_net, hook):
    names = leaves(torch_net)
    return names, [m.register_forward_hook(lambda mod, args, out: hook(mod, names[mod], args, out)) for m in names]


def first(out):
    """A module's output: the first entry where it returns several (max pooling's indices)."""
    return out[0] if isinstance(out, tuple) else out


def _flat_planes(t: torch.Tensor, dims: int) -> torch.Tensor:
    return t.flatten(start_dim=t.ndim - dims) if dims > 1 else t


def run_net(torch_net, tensors, inp, hook):
    """``torch_net`` on ``inp`` with ``tensors`` as parameters and ``hook`` on every leaf."""
    if torch_net is None:
        return inp
    _, handles = _hooked(torch_net, hook)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return functional_call(torch_net, tensors, (inp,))
    finally:
        for handle in handles:
            handle.remove()


class Frozen(torch.autograd.Function):
    """A layer replaced, in the magnitude run, by its linearisation at the truth's values."""

    @staticmethod
    def forward(ctx, a_in, forward, backward):
        ctx.backward_fn = backward
        return forward(a_in)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backward_fn(grad), None, None


def frozen(c: LeafCall, a_in: torch.Tensor):
    """The magnitude run's (forward, backward) of a decision-making or smooth layer (table in
    the module docstring); None for a layer that runs on magnitudes as it is."""
    m = c.module
    if isinstance(m, _NN.ReLU):
        mask = (c.z > 0).to(c.z.dtype)
        return (lambda a: a * mask), (lambda g: g * mask)
    if isinstance(m, MAX_POOLS):
        dims = pool_params(m)[0]
        index = _flat_planes(c.index, dims)

        def gather(a):
            return _flat_planes(a, dims).gather(-1, index).reshape(c.index.shape)

        def scatter(g):
            flat = torch.zeros_like(_flat_planes(a_in, dims))
            return flat.scatter_add(-1, index, _flat_planes(g, dims)).reshape(a_in.shape)

        return gather, scatter
    if isinstance(m, SMOOTH):
        sigmoid = isinstance(m, _NN.Sigmoid)
        slope = c.y * (1 - c.y) if sigmoid else 1 - c.y * c.y
        saved = {}

        def forward(a):
            saved["a_out"] = slope * a + c.y.abs()
            return saved["a_out"]

        return forward, (lambda g: g * (slope + (1 if sigmoid else 2) * saved["a_out"]))
    return None


def _windows(t: torch.Tensor, module, out_spatial, fill) -> torch.Tensor:
    """Every max-pooling window of ``t`` ``(B, C, *L)``: ``(B, C, *L_out, |k|)``, padded with ``fill``."""
    dims, kernel, stride, padding, dilation = pool_params(module)
    pads = []
    for a in reversed(range(dims)):
        extent = (out_spatial[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1
        pads += [padding[a], max(extent - t.shape[2 + a] - padding[a], 0)]
    t = torch.nn.functional.pad(t, pads, value=fill)
    for a in range(dims):
        t = t.unfold(2 + a, dilation[a] * (kernel[a] - 1) + 1, stride[a])[..., ::dilation[a]]
    t = t[(slice(None), slice(None)) + tuple(slice(0, o) for o in out_spatial)]
    return t.reshape(t.shape[:2 + dims] + (-1,))


def ambiguous_decisions(c: LeafCall, bound: torch.Tensor) -> int:
    """How many of the call's decisions the error ``bound`` (entrywise, on its input) may flip."""
    if isinstance(c.module, _NN.ReLU):
        return int(((c.z.abs() <= bound) & (bound > 0)).sum())
    if isinstance(c.module, MAX_POOLS):
        dims = pool_params(c.module)[0]
        z, b, y = c.z, bound, c.y
        if z.ndim == dims + 1:
            z, b, y = z[None], b[None], y[None]
        if y.numel() == 0:
            return 0
        values = _windows(z, c.module, y.shape[2:], float("-inf"))
        if values.shape[-1] < 2:
            return 0
        bounds = _windows(b, c.module, y.shape[2:], 0.0)
        top, where = values.topk(2, dim=-1)
        slack = bounds.gather(-1, where).sum(-1)
        return int(((top[..., 0] - top[..., 1] <= slack) & (slack > 0)).sum())
    return 0


def depths(c: LeafCall, prefix: str):
    """``(forward, backward, {parameter: depth})`` of one call (table in the module docstring)."""
    m = c.module
    if isinstance(m, AVG_POOLS):
        volume = math.prod(pool_params(m)[1])
        return volume + 2, volume + 2, {}
    if isinstance(m, MAX_POOLS):
        return 0, math.prod(pool_params(m)[1]), {}
    if isinstance(m, SMOOTH):
        return SMOOTH_FORWARD, SMOOTH_BACKWARD, {}
    if not isinstance(m, MULTILINEAR):
        return 0, 0, {}
    names = [name for name, _ in m.named_parameters()]
    ones = {name: torch.ones_like(p, dtype=torch.float64).requires_grad_() for name, p in m.named_parameters()}
    inp = torch.ones_like(c.z).requires_grad_()
    out = functional_call(m, ones, (inp,))
    grads = torch.autograd.grad(out, [inp] + [ones[n] for n in names], torch.ones_like(out))

    def depth(t):
        return (float(t.detach().max()) if t.numel() else 0.0) + 1

    return depth(out), depth(grads[0]), {prefix + n: depth(g) for n, g in zip(names, grads[1:])}


def abs64(a) -> np.ndarray:
    """``|a|`` as a float64 array (NumPy returns a scalar for a 0-d array)."""
    return np.asarray(np.abs(np.asarray(a, np.float64)))


def _sum_to(a: np.ndarray, shape) -> np.ndarray:
    """The adjoint of broadcasting ``shape`` to ``a.shape`` (a sum over the broadcast axes)."""
    if a.shape == tuple(shape):
        return a
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1)
    return np.sum(a, axis=axes, keepdims=True).reshape(shape)


def loss_bounds(loss, y, a_y, target, grad, depth_f, dtype):
    """For the loss on output ``y`` (truth) with magnitude ``a_y``: ``(tol_loss, G_L, D_L, extra)``,
    ``G_L`` the magnitude of ``∂E/∂y`` (y's shape), ``D_L`` its depth and ``extra`` the depth of
    the sum that brings a broadcast gradient back to ``y``'s shape (module docstring)."""
    u = float(np.finfo(dtype).eps) / 2
    g = np.abs(grad)
    reduction = loss.reduction
    if isinstance(loss, _NN.MSELoss):
        t = np.abs(np.asarray(target, np.float64))
        square = (a_y + t) ** 2
        count = square.size
        scale = 1.0 / count if reduction == "mean" and count else 1.0
        if reduction == "none":
            tol = gamma2(2 * depth_f + 3, dtype) * square
        else:
            tol = gamma2(2 * depth_f + count + 4, dtype) * np.sum(square) * scale
        full = 2 * g * (a_y + t) * scale
        repeats = full.size // max(a_y.size, 1)
        return np.asarray(tol), _sum_to(full, a_y.shape), depth_f + MSE_GRAD_DEPTH, repeats if repeats > 1 else 0
    target = np.asarray(target)
    if target.shape == y.shape:
        raise ValueError("compare: no error bound written for cross-entropy with class-probability targets")
    dim = 0 if y.ndim == 1 else 1
    classes = y.shape[dim]
    labels = target.reshape(()) if y.ndim == 1 else target
    kept = labels != -100
    count = int(kept.sum())
    log_c = math.log(max(classes, 1))
    s = np.max(a_y, axis=dim) if a_y.size else np.zeros(labels.shape)
    entry = np.where(kept, (2 * depth_f + 24) * s + 12 * log_c + 4 * classes + 12, 0.0)
    loss_value = np.asarray(torch.nn.functional.cross_entropy(
        torch.from_numpy(y), torch.from_numpy(target), reduction=reduction))
    if reduction == "none":
        tol = 2 * u * entry
    elif reduction == "sum":
        tol = 2 * u * (entry.sum() + count * np.abs(loss_value))
    else:
        tol = 2 * u * (entry.sum() / max(count, 1) + (count + 1) * np.abs(loss_value))
    p = torch.softmax(torch.from_numpy(y), dim=dim).numpy()
    onehot = np.zeros_like(p)
    if y.size:
        np.put_along_axis(onehot, np.expand_dims(np.where(kept, labels, 0), dim), 1.0, axis=dim)
    per_entry = np.where(kept, g if reduction == "none" else g / (count if reduction == "mean" and count else 1), 0.0)
    grad_scale = np.expand_dims(per_entry * (1 + s), dim)
    depth = 2 * depth_f + 4 * classes + 12 * log_c + 40
    return np.asarray(tol), grad_scale * (p + onehot), depth, 0
