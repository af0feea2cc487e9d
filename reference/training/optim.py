"""Optimisers for ``reference.nn`` parameters, and a learning-rate schedule, as ``torch.optim``.

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

:class:`ReduceLROnPlateau` is ``torch.optim.lr_scheduler.ReduceLROnPlateau`` for one
:class:`SGD`: after too many epochs without a better validation loss it multiplies ``lr`` by
``factor``; the rule is in its docstring.
"""
from __future__ import annotations

import math

import numpy as np

from ..nn.module import Parameter


def _number(name: str, value, op: str = "SGD") -> float:
    """A finite real number (bool refused, as a likely mistake), as a Python float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a real number, got {name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be finite, got {name}={value!r}")
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


class ReduceLROnPlateau:
    """The learning rate cut by ``factor`` once the monitored figure (the validation loss) has
    stopped improving, as ``torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, mode='min',
    factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8)``:
    same arguments, same defaults, same rule.

    Why: SGD at a constant rate ends up hopping about a minimum at a distance set by the rate
    and the batch noise; once the validation loss stalls, a smaller rate lets it settle lower.

    ``step(value)``, once per epoch: ``value`` *improves* on the best so far ``b`` if
    ``value < b·(1 − threshold)`` (``'rel'``) or ``value < b − threshold`` (``'abs'``), for
    ``mode='min'`` (``'max'``: ``>`` with ``1 + threshold`` or ``+ threshold``); NaN never improves.
    An improvement sets ``b`` and zeroes the count of bad epochs; otherwise the count rises. During
    ``cooldown`` epochs after a cut the count is held at zero. When the count exceeds ``patience``
    (``patience + 1`` bad epochs in a row), ``lr ← max(lr·factor, min_lr)`` (left alone if that
    changes it by ``eps`` or less) and the count restarts.

    Refused, with a ``ValueError`` naming the argument, as torch refuses them: ``factor ≥ 1``, an
    unknown ``mode`` or ``threshold_mode``. Also refused (torch accepts them): ``factor ≤ 0``, a
    negative ``patience``, ``cooldown``, ``threshold``, ``min_lr`` or ``eps``, non-numbers.
    """

    def __init__(self, optimiser, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        op = "ReduceLROnPlateau"
        if not isinstance(optimiser, SGD):
            raise TypeError(f"{op}: optimiser must be a reference.training.optim.SGD, got {type(optimiser).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{op}: mode must be 'min' or 'max', got mode={mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{op}: threshold_mode must be 'rel' or 'abs', got threshold_mode={threshold_mode!r}")
        self.factor = _number("factor", factor, op)
        if not 0 < self.factor < 1:
            raise ValueError(f"{op}: factor must be in (0, 1), got factor={factor!r}")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{op}: {name} must be a non-negative int, got {name}={value!r}")
        self.threshold, self.min_lr, self.eps = (_number(n, v, op) for n, v in
                                                 (("threshold", threshold), ("min_lr", min_lr), ("eps", eps)))
        for name, value in (("threshold", self.threshold), ("min_lr", self.min_lr), ("eps", self.eps)):
            if value < 0:
                raise ValueError(f"{op}: {name} must be non-negative, got {name}={value!r}")
        self.optimiser, self.mode, self.threshold_mode = optimiser, mode, threshold_mode
        self.patience, self.cooldown = int(patience), int(cooldown)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter = 0, 0

    def is_better(self, value: float, best: float) -> bool:
        """Whether ``value`` improves on ``best`` (the class docstring's rule)."""
        if self.mode == "min":
            return value < (best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return value > (best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, value) -> None:
        """Record one epoch's figure and cut the optimiser's ``lr`` if it has stalled too long."""
        value = float(value)
        if self.is_better(value, self.best):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.optimiser.lr * self.factor, self.min_lr)
            if self.optimiser.lr - new_lr > self.eps:
                self.optimiser.lr = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def __repr__(self):
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, patience={self.patience}, "
                f"threshold={self.threshold}, threshold_mode={self.threshold_mode!r}, cooldown={self.cooldown}, "
                f"min_lr={self.min_lr}, eps={self.eps})")
