"""The torch side of every check: the one module that runs torch's ops.

Everything the harness asks of torch goes through here: whether torch accepts a call
(:func:`torch_rejection`, and :func:`rejection` for any torch code), and torch's output and
gradients as NumPy arrays (:func:`torch_forward_backward`), in float64 for the truth. The
checking decides what to make of them; this module only runs torch.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import torch

from .specs import OPS


def use_one_torch_thread() -> None:
    """Cases are small, so torch's intra-op threads only add contention: with other work
    on the machine, 672 conv1d cases took 97 s on 2 threads and 7 s on 1. The CLI and the
    pytest plugin call this once at start-up."""
    torch.set_num_threads(1)


def to_torch(arrays, dtype=None) -> list:
    """Tensors holding copies of ``arrays`` (None stays None); float arrays are converted to
    ``dtype`` when given and require a gradient, integer arrays are passed as they are."""
    tensors = []
    for a in arrays:
        if a is None:
            tensors.append(None)
            continue
        widen = dtype is not None and np.asarray(a).dtype.kind == "f"
        t = torch.from_numpy(np.array(a, dtype=dtype if widen else None, copy=True))
        tensors.append(t.requires_grad_() if t.is_floating_point() else t)
    return tensors


class TorchResult(NamedTuple):
    output: np.ndarray  # the differentiated output
    grads: list  # one per array argument, None where it is None or not differentiable
    grad_output: np.ndarray
    extras: tuple = ()  # further outputs, compared exactly (max pooling's indices)


def torch_forward_backward(name, arrays, kwargs, grad_output, dtype=np.float64) -> TorchResult:
    """torch's output and the gradient of every array argument, as NumPy arrays.

    Float arrays are converted to ``dtype`` (float64 by default: the truth); integer arrays
    are passed as they are. ``grad_output`` is an array, or a function of the output's shape
    that makes one.
    """
    tensors = to_torch(arrays, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = OPS[name].torch_fn(*tensors, **kwargs)
    out, extras = (out[0], tuple(e.numpy() for e in out[1:])) if isinstance(out, tuple) else (out, ())
    if callable(grad_output):
        grad_output = grad_output(tuple(out.shape))
    wanted = [t for t in tensors if t is not None and t.requires_grad]
    upstream = torch.from_numpy(np.asarray(grad_output, dtype))
    grads = iter(torch.autograd.grad(out, wanted, upstream, allow_unused=True))
    result = [None if t is None or not t.requires_grad else next(grads) for t in tensors]
    return TorchResult(out.detach().numpy(), [None if g is None else g.numpy() for g in result], grad_output, extras)


def torch_double_backward(name, arrays, kwargs, grad_output, grad_grads, dtype=np.float64) -> list:
    """torch's gradients of ``Σᵢ ⟨grad_grads[i], grads[i]⟩``, ``grads`` the op's first-order gradients,
    with respect to the upstream gradient and every array argument: ``[∂/∂grad_output, ∂/∂a₁, …]``
    as NumPy arrays, None where the argument is None or not differentiable, zeros where the
    gradients do not depend on it (``materialize_grads``). The first ``autograd.grad`` keeps its
    graph (``create_graph=True``) so that the second differentiates through the backward.
    ``grad_grads`` has one entry per array argument (None where its gradient is None)."""
    tensors = to_torch(arrays, dtype)
    upstream = torch.from_numpy(np.array(grad_output, dtype=dtype)).requires_grad_()
    wanted = [t for t in tensors if t is not None and t.requires_grad]
    cotangents = [torch.from_numpy(np.array(v, dtype=dtype))
                  for t, v in zip(tensors, grad_grads) if t is not None and t.requires_grad]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = OPS[name].torch_fn(*tensors, **kwargs)
        out = out[0] if isinstance(out, tuple) else out
        grads = torch.autograd.grad(out, wanted, upstream, create_graph=True, allow_unused=True)
        # a gradient that does not depend on anything differentiable adds nothing to the second pass
        pairs = [(g, v) for g, v in zip(grads, cotangents) if g is not None and g.requires_grad]
        if pairs:
            second = torch.autograd.grad([g for g, _ in pairs], [upstream, *wanted], [v for _, v in pairs],
                                         allow_unused=True, materialize_grads=True)
        else:
            second = [torch.zeros_like(t) for t in (upstream, *wanted)]
    second = iter([s.detach().numpy() for s in second])
    head = next(second)
    return [head] + [None if t is None or not t.requires_grad else next(second) for t in tensors]


def rejection(run) -> str | None:
    """None if ``run()`` (torch code, run without autograd) succeeds, else torch's error text."""
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            run()
    except Exception as exc:  # torch signals rejection with several exception types
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def torch_rejection(name, arrays, kwargs) -> str | None:
    """None if torch accepts the call in the case's own dtypes, else its error text."""
    return rejection(lambda: OPS[name].torch_fn(*to_torch(arrays), **kwargs))
