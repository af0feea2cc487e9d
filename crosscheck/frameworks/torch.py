"""``--framework torch``: an implementation that takes and returns ``torch.Tensor``.

Gated as it is: a ``torch.autograd.Function`` around a C++/CUDA extension or a Triton kernel,
or plain ``torch.nn.functional`` (``--impl torch.nn.functional``, which passes every profile).

* Inputs: ``torch.from_numpy`` on the CPU, so the tensor shares the NumPy array's memory and an
  implementation that writes into its input is caught by the mutation check; on another device
  (``--device cuda``), a copy, whose state after the call is copied back for the same check.
* Backward: the module's ``NAME_backward`` where it has one (tensors in, a tuple of tensors
  out), else ``torch.autograd.grad`` of the forward, with gradients of unused inputs as zeros.
  An output that does not require grad cannot be differentiated, and fails on the gradients,
  saying so (a kernel outside autograd needs a ``torch.autograd.Function``, or
  ``--forward-only``). A gradient that autograd passes through as ``grad_output`` itself is
  copied (see :func:`_own`).
* Second order (``--order 2``): the module's ``NAME_double_backward`` where it has one, else
  ``torch.autograd.grad`` of the gradients (the module's ``NAME_backward``, or autograd's own taken
  with ``create_graph=True``) against the cotangents. A gradient that does not require grad (a
  kernel outside autograd) fails, saying so, and so does an ``autograd.Function`` whose backward
  is marked ``once_differentiable`` (autograd would give zeros through it, not an error).
* Rejections: ``ValueError``, ``TypeError``, ``RuntimeError``, ``IndexError`` and
  ``NotImplementedError``, the types torch itself raises on the calls it refuses.
"""
from __future__ import annotations

import numpy as np
import torch

from ..checking import Violation
from .base import Framework


class Torch(Framework):
    name = "torch"
    rejections = (ValueError, TypeError, RuntimeError, IndexError, NotImplementedError)

    def __init__(self, device: str = "cpu"):
        try:
            self.device = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"--device {device!r} is not a torch device: {exc}") from exc
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {device!r}: torch {torch.__version__} sees no CUDA device here")

    def describe(self) -> str:
        return f"torch {torch.__version__} on {self.device}"

    def to_native(self, array):
        tensor = torch.from_numpy(array)
        return tensor if self.device.type == "cpu" else tensor.to(self.device)

    def to_numpy(self, value, quantity):
        if not isinstance(value, torch.Tensor):
            raise Violation(quantity, f"must be a torch.Tensor, got {type(value).__name__}")
        return value.detach().cpu().numpy() if value.device.type != "cpu" else value.detach().numpy()

    def synchronise(self, arrays, natives):
        if self.device.type == "cpu":
            return
        for a, t in zip(arrays, natives):
            if a is not None and t is not None:
                np.copyto(a, t.detach().cpu().numpy())

    def vjp(self, fn, natives, kwargs, grad_output):
        leaves = [None if t is None else t.detach().requires_grad_() if t.is_floating_point() else t for t in natives]
        out = fn(*leaves, **kwargs)
        if not isinstance(out, torch.Tensor):
            raise Violation("output", f"must be a torch.Tensor, got {type(out).__name__}")
        wanted = [t for t in leaves if t is not None and t.requires_grad]
        if not out.requires_grad:
            raise Violation("gradients", "the output does not require grad, so torch.autograd cannot differentiate "
                                         "it: wrap the kernel in a torch.autograd.Function, or use --forward-only")
        grads = iter(torch.autograd.grad(out, wanted, grad_output, allow_unused=True, materialize_grads=True))
        return [_own(next(grads), grad_output) if t is not None and t.requires_grad else None for t in leaves]

    def vjp2(self, fn, backward, natives, kwargs, grad_output, grad_grads):
        leaves = [None if t is None else t.detach().requires_grad_() if t.is_floating_point() else t for t in natives]
        upstream = grad_output.detach().requires_grad_()
        wanted = [t for t in leaves if t is not None and t.requires_grad]
        if backward is None:
            out = fn(*leaves, **kwargs)
            if not isinstance(out, torch.Tensor) or not out.requires_grad:
                raise Violation("gradients", "the output does not require grad, so torch.autograd cannot differentiate it")
            found = iter(torch.autograd.grad(out, wanted, upstream, create_graph=True, allow_unused=True,
                                             materialize_grads=True))
            grads = [next(found) if t is not None and t.requires_grad else None for t in leaves]
        else:
            grads = list(backward(upstream, *leaves, **kwargs))
        pairs = [(g, v) for g, v in zip(grads, grad_grads) if g is not None and v is not None]
        for g, _ in pairs:
            if not isinstance(g, torch.Tensor) or not g.requires_grad:
                raise Violation("second order", "a gradient of the backward does not require grad, so torch.autograd "
                                                "cannot differentiate the backward: write it in differentiable torch "
                                                "ops (or NAME_double_backward), or check the first order alone")
            if g.grad_fn is not None and g.grad_fn.name().endswith("Error"):  # torch::autograd::Error, DelayedError
                # the node once_differentiable puts in; differentiated here, it gave zeros, not its error
                raise Violation("second order", "the backward is marked @once_differentiable, so torch.autograd cannot "
                                                "differentiate it: drop the mark if its backward is differentiable "
                                                "torch code, or check the first order alone")
        second = iter(torch.autograd.grad([g for g, _ in pairs], [upstream, *wanted], [v for _, v in pairs],
                                          allow_unused=True, materialize_grads=True))
        head = next(second)
        return [head] + [next(second) if t is not None and t.requires_grad else None for t in leaves]


def _own(grad, grad_output):
    """autograd hands ``grad_output`` itself on as the gradient of an input the output merely
    copies (a 0-d bias of a vector linear): torch's way, not the implementation's, so that
    gradient is made a copy rather than failing the aliasing check."""
    return grad.clone() if grad.untyped_storage().data_ptr() == grad_output.untyped_storage().data_ptr() else grad


def adapter(device: str = "cpu") -> Torch:
    """The adapter ``--framework torch --device DEVICE`` names."""
    return Torch(device)
