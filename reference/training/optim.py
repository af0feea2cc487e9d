"""Optimisers for ``reference.nn`` parameters, as ``torch.optim``.

:class:`SGD` is ``torch.optim.SGD``: same arguments, same defaults, same update, same refusals.
For each parameter ``p`` with gradient ``g`` (one that has no gradient yet is skipped, as in torch),
a step computes, with learning rate ``lr``, momentum ``μ``, dampening ``τ`` and weight decay ``λ``:

    g ← −g                              if maximize
    g ← g + λ·p                         if λ ≠ 0
    b ← g                               if μ ≠ 0, at the parameter's first step
    b ← μ·b + (1 − τ)·g                 if μ ≠ 0, at every later step
    g ← g + μ·b  (nesterov)   or   g ← b                               if μ ≠ 0
    p ← p − lr·g

The momentum buffer ``b`` starts as a copy of the gradient, not dampened: torch's rule, which
differs from a buffer started at zero. Nesterov's variant needs ``μ > 0`` and ``τ = 0``.

Arithmetic: the reference writes each line as NumPy operations in the parameter's dtype (the
constants are Python floats, so float32 stays float32). torch fuses ``a + α·b`` into one
fused multiply-add where NumPy rounds twice, so the two differ by a rounding or two per
operation, never more (see ``tests/reference/training/test_optim.py`` for the bound).
"""
from __future__ import annotations

import math

import numpy as np

from ..nn.module import Parameter


def _number(name: str, value) -> float:
    """A finite real number (bool refused, as a likely mistake), as a Python float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"SGD: {name} must be a real number, got {name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"SGD: {name} must be finite, got {name}={value!r}")
    return float(value)


class SGD:
    """Stochastic gradient descent, as ``torch.optim.SGD(params, lr=1e-3, momentum=0,
    dampening=0, weight_decay=0, nesterov=False, *, maximize=False)``; the update is in the
    module docstring.

    ``params`` is an iterable of :class:`reference.nn.Parameter` (``net.parameters()``), or of
    ``(name, Parameter)`` pairs (``net.named_parameters()``). Refused, each with a ``ValueError``
    naming the argument and its value, as torch refuses them: a negative ``lr``, ``momentum`` or
    ``weight_decay``; ``nesterov`` with ``momentum ≤ 0`` or ``dampening ≠ 0``; an empty parameter
    list. Also refused (torch accepts them): a non-finite number (``TypeError`` for a non-number),
    a parameter listed twice.

    ``step()`` changes each parameter's ``data`` in place and never its ``grad``;
    ``zero_grad()`` forgets the gradients as :meth:`reference.nn.Module.zero_grad` does.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        self.lr = _number("lr", lr)
        self.momentum = _number("momentum", momentum)
        self.dampening = _number("dampening", dampening)
        self.weight_decay = _number("weight_decay", weight_decay)
        for name, value in (("lr", self.lr), ("momentum", self.momentum), ("weight_decay", self.weight_decay)):
            if value < 0:
                raise ValueError(f"SGD: {name} must be non-negative, got {name}={value!r}")
        for name, value in (("nesterov", nesterov), ("maximize", maximize)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"SGD: {name} must be a bool, got {name}={value!r}")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(f"SGD: nesterov momentum requires momentum > 0 and dampening = 0, got "
                             f"momentum={momentum!r}, dampening={dampening!r}")
        self.nesterov, self.maximize = bool(nesterov), bool(maximize)
        self.params = self._param_list(params)
        self.momentum_buffers: list[np.ndarray | None] = [None] * len(self.params)

    @staticmethod
    def _param_list(params) -> list[Parameter]:
        if isinstance(params, Parameter) or isinstance(params, np.ndarray):
            raise TypeError(f"SGD: params must be an iterable of Parameters (net.parameters()), got a single "
                            f"{type(params).__name__}")
        found = []
        for i, item in enumerate(params):
            param = item[1] if isinstance(item, tuple) and len(item) == 2 else item
            if not isinstance(param, Parameter):
                raise TypeError(f"SGD: params[{i}] must be a reference.nn Parameter, got {type(param).__name__}")
            if any(param is other for other in found):
                raise ValueError(f"SGD: params[{i}] is listed twice: {param!r}")
            found.append(param)
        if not found:
            raise ValueError("SGD: params is an empty parameter list; there is nothing to optimise")
        return found

    def zero_grad(self, set_to_none: bool = True) -> None:
        """``grad = None`` for every parameter (torch's default), or zeros in place."""
        for param in self.params:
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad[...] = 0

    def step(self) -> None:
        """One update of every parameter that has a gradient (the module docstring's lines)."""
        mu, tau, wd, lr = self.momentum, self.dampening, self.weight_decay, self.lr
        for i, param in enumerate(self.params):
            if param.grad is None:
                continue
            p = param.data
            g = -param.grad if self.maximize else param.grad
            if wd != 0:
                g = g + wd * p
            if mu != 0:
                b = self.momentum_buffers[i]
                if b is None:
                    b = np.array(g, copy=True)
                else:
                    b = mu * b + (1 - tau) * g
                self.momentum_buffers[i] = b
                g = g + mu * b if self.nesterov else b
            p -= lr * g

    def state_dict(self) -> dict:
        """torch's layout: ``{'state': {i: {'momentum_buffer': array}}, 'param_groups': [{...}]}``,
        the state only for parameters that have a buffer, arrays copied."""
        state = {i: {"momentum_buffer": b.copy()} for i, b in enumerate(self.momentum_buffers) if b is not None}
        group = {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                 "weight_decay": self.weight_decay, "nesterov": self.nesterov, "maximize": self.maximize,
                 "params": list(range(len(self.params)))}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the buffers (and hyper-parameters) from :meth:`state_dict`'s layout; each
        buffer must have its parameter's shape. Checked in full before anything changes."""
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if not isinstance(groups, list) or len(groups) != 1 or len(groups[0].get("params", ())) != len(self.params):
            raise ValueError(f"SGD.load_state_dict: expected one parameter group of {len(self.params)} "
                             f"parameters, got param_groups={groups!r}")
        buffers: list[np.ndarray | None] = [None] * len(self.params)
        for i, entry in state_dict.get("state", {}).items():
            if not (isinstance(i, int) and 0 <= i < len(self.params)):
                raise ValueError(f"SGD.load_state_dict: state for parameter index {i!r}, which does not exist")
            buffer = np.asarray(entry["momentum_buffer"])
            if buffer.shape != self.params[i].data.shape:
                raise ValueError(f"SGD.load_state_dict: momentum_buffer {i} has shape {buffer.shape}, its "
                                 f"parameter {self.params[i].data.shape}")
            buffers[i] = buffer.astype(self.params[i].data.dtype, copy=True)
        group = groups[0]
        restored = SGD(self.params, group["lr"], group["momentum"], group["dampening"], group["weight_decay"],
                       group["nesterov"], maximize=group.get("maximize", False))
        self.lr, self.momentum, self.dampening = restored.lr, restored.momentum, restored.dampening
        self.weight_decay, self.nesterov, self.maximize = restored.weight_decay, restored.nesterov, restored.maximize
        self.momentum_buffers = buffers

    def __repr__(self):
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov}, maximize={self.maximize})")
