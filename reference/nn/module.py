"""The base of every layer: :class:`Parameter`, :class:`Module`, and the two helpers the layers
share: :func:`functional_op` (a functional op by name) and :func:`uniform` (torch's uniform
initialisation).

A :class:`Module` computes ``forward(x)`` and, from ``∂E/∂y``, ``backward(grad_output)``: it
returns ``∂E/∂x`` and *adds* ``∂E/∂θ`` to each parameter's ``.grad``; see :mod:`reference.nn`.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F


class Parameter:
    """A trainable array ``data`` and its accumulated gradient ``grad`` (None until a backward)."""

    def __init__(self, data: np.ndarray):
        self.data = data
        self.grad = None

    def accumulate(self, grad: np.ndarray) -> None:
        """``grad += g``, starting from a fresh copy when ``grad`` is None."""
        if self.grad is None:
            self.grad = grad.astype(self.data.dtype, copy=True)
        else:
            self.grad += grad

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: registers parameters and children assigned as attributes, names them for
    ``state_dict`` (children's names prefix their own: ``'0.weight'``) and zeroes gradients."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call Module.__init__() before assigning {name!r}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def add_module(self, name: str, module: Module) -> None:
        """Register a child under ``name`` (containers use ``'0'``, ``'1'``, ...)."""
        setattr(self, name, module)

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def double_backward(self, grad_grad_input: np.ndarray):
        """Differentiate the last backward: given a cotangent ``v`` of the ``∂E/∂x`` it returned,
        return ``(∂Φ/∂g, ∂Φ/∂x)`` for ``Φ = ⟨v, ∂E/∂x⟩`` (``g`` that backward's ``grad_output``, ``x`` the
        last forward's input) and *add* ``∂Φ/∂θ`` to each parameter's ``.grad``. The parameter
        gradients' own cotangents are zero: ``Φ`` is a function of the input gradient alone, as
        in a gradient penalty. Each layer composes its op's ``NAME_double_backward``."""
        raise NotImplementedError(f"{type(self).__name__} does not define double_backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_parameters(self, prefix: str = ""):
        """``(name, Parameter)`` pairs, own parameters first, then each child's, in the
        order they were registered (torch's order)."""
        for name, param in self._parameters.items():
            yield prefix + name, param
        for child_name, child in self._modules.items():
            yield from child.named_parameters(prefix + child_name + ".")

    def parameters(self):
        for _, param in self.named_parameters():
            yield param

    def state_dict(self) -> dict:
        """``{name: copy of the parameter's array}``, keyed as torch keys its state dict."""
        return {name: param.data.copy() for name, param in self.named_parameters()}

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy ``state_dict``'s arrays into the parameters (cast to each parameter's dtype).

        Every key and shape is checked before anything is copied, so a refused dict leaves
        the module unchanged. With ``strict``, missing and unexpected keys are refused.
        """
        own = dict(self.named_parameters())
        where = type(self).__name__ + ".load_state_dict"
        if strict:
            missing = [k for k in own if k not in state_dict]
            unexpected = [k for k in state_dict if k not in own]
            if missing or unexpected:
                raise ValueError(f"{where}: missing keys {missing}, unexpected keys {unexpected}")
        values = {}
        for key, value in state_dict.items():
            if key not in own:
                continue
            value = np.asarray(value)
            if value.shape != own[key].data.shape:
                raise ValueError(
                    f"{where}: {key!r} has shape {value.shape}, the module's parameter has {own[key].data.shape}"
                )
            if not np.can_cast(value.dtype, own[key].data.dtype, casting="same_kind"):
                raise TypeError(f"{where}: {key!r} has dtype {value.dtype}, not castable to {own[key].data.dtype}")
            values[key] = value
        for key, value in values.items():
            own[key].data = value.astype(own[key].data.dtype, copy=True)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``grad = None`` (torch's default) or zeros."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad[...] = 0

    def _saved(self):
        """What the last forward kept for backward; refuses a backward before any forward."""
        saved = getattr(self, "_saved_for_backward", None)
        if saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: there is nothing to differentiate")
        return saved

    def _keep_upstream(self, grad_output):
        """Keep the last backward's ``grad_output``: the double backward differentiates that backward."""
        object.__setattr__(self, "_upstream", grad_output)
        return grad_output

    def _last_upstream(self):
        upstream = getattr(self, "_upstream", None)
        if upstream is None:
            raise RuntimeError(f"{type(self).__name__}.double_backward called before backward: there is no backward "
                               f"to differentiate")
        return upstream

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def zero_cotangents(*parameters):
    """Zeros for the parameter gradients' cotangents (None for an absent parameter): ``Φ`` does
    not depend on them (see :meth:`Module.double_backward`)."""
    return tuple(None if p is None else np.zeros_like(p) for p in parameters)


def functional_op(name: str):
    """``reference.functional.NAME`` (layers pick their op by name: ``max_pool{dims}d``, ...)."""
    return getattr(F, name)


def uniform(rng: np.random.Generator, bound: float, shape, dtype) -> np.ndarray:
    """``U(−bound, bound)`` draws in float64 from ``rng``, rounded to ``dtype``."""
    return rng.uniform(-bound, bound, shape).astype(dtype)
