"""The module twin check: a ``reference.nn`` module (or network) against its ``torch.nn`` twin.

The same policy as :mod:`crosscheck.checking.compare`, with a module in place of an op:

1. The reference's ``state_dict()`` keys must be torch's keys, in torch's order, and torch's
   ``load_state_dict(strict=True)`` must take its arrays: both modules then hold the same values.
2. If torch rejects the forward on ``input``, the reference must reject it too, with
   ``ValueError`` or ``TypeError``.
3. Otherwise the reference runs forward and backward (after ``zero_grad()``, so its ``.grad``
   holds this one backward), and its output, input gradient and every parameter gradient
   (named ``grad_<state_dict key>``) are compared with torch in float64 on the same values (the
   truth; float32 data is widened exactly), each within an entrywise tolerance.
4. The input (and target), the upstream gradient and the parameters must come back unmodified,
   the output must not share memory with the input, nor the input gradient with either.

:func:`compare_module` checks one module on a random upstream gradient (a loss module too, given
a ``target``); :func:`compare_network` checks ``loss(net(input), target)`` and the training
step's backward ``net.backward(loss.backward())``, comparing the output, the loss, the loss's
gradient, the input gradient and every parameter gradient.

Both are one loop over the quantities, like the op comparison: :mod:`crosscheck.networks.bounds`
gives each quantity's truth and tolerance (derived there), and the reference computes its
results one at a time, in the order a training step does, each compared before the next is
computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import functional_call

from ..checking.compare import call, compare_exact, compare_quantity, expect_rejection
from ..checking.outcome import Failure, Outcome
from ..oracle import rejection
from .bounds import Bounds, chain_bounds, leaf_bounds
from .layers import COPIES, LOSSES, MULTILINEAR, first
from .twin import load_twin


@dataclass
class ModuleOutcome(Outcome):
    """An :class:`~crosscheck.checking.outcome.Outcome` whose subject is a module (``case`` is None).

    ``ambiguous`` maps a layer (its state-dict prefix, or its type for a lone layer) to the
    number of its decisions that lie within rounding of their boundary (:mod:`crosscheck.networks.bounds`)."""

    module: str = ""  # the reference module's repr
    dtype: str = ""
    ambiguous: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)  # quantity -> (torch's float64 value, tolerance), as compared

    def __str__(self):
        text = f"{self.module} [{self.dtype}]: {self.status}"
        if self.note:
            text += f" ({self.note})"
        if self.ambiguous:
            text += f"; decisions within rounding of their boundary: {self.ambiguous}"
        if self.failure is not None:
            f = self.failure
            text += f"; {f.quantity}: {f.reason}"
            if f.index is not None:
                text += (
                    f"; largest error {f.max_error:.3g}, at {f.index}: got {f.actual!r}, "
                    f"torch {f.expected!r}, tolerance {f.tolerance:.3g}"
                )
        return text


def _torch_forward(torch_module, params, x):
    tensors = {k: torch.from_numpy(np.array(v)) for k, v in params.items()}
    return functional_call(torch_module, tensors, (torch.from_numpy(np.array(x)),))


def compare_module(ref_module, torch_module, input: np.ndarray, seed: int = 0, *, target=None) -> ModuleOutcome:
    """Check ``ref_module`` against ``torch_module`` on ``input``; see the module docstring.

    ``torch_module`` receives the reference's parameters (it is modified); ``ref_module``'s
    gradients are reset first. ``seed`` draws the upstream gradient (standard normal). A loss
    module (``torch.nn.MSELoss``, ``CrossEntropyLoss``) is called as ``loss(input, target)``.
    """
    outcome = ModuleOutcome(None, "passed", module=repr(ref_module), dtype=str(input.dtype))
    if isinstance(torch_module, LOSSES):
        if target is None:
            raise ValueError("compare_module: a loss module needs a target")
        failure = _compare_chain(None, None, ref_module, torch_module, input, target, seed, outcome)
    else:
        failure = _compare_chain(ref_module, torch_module, None, None, input, None, seed, outcome)
    return _finish(outcome, failure)


def compare_network(ref_net, torch_net, ref_loss, torch_loss, input: np.ndarray, target) -> ModuleOutcome:
    """Check a training step: ``loss = ref_loss(ref_net(input), target)`` and
    ``ref_net.backward(ref_loss.backward())`` (the loss's default upstream gradient 1.0, as
    ``loss.backward()``) against the same in torch. Quantities: ``output`` (the network's),
    ``loss``, ``grad_net_output`` (``∂loss/∂output``), ``grad_input`` and ``grad_<key>`` for
    every parameter. ``torch_net`` receives the reference's parameters."""
    outcome = ModuleOutcome(None, "passed", module=f"{ref_loss!r} ∘ {ref_net!r}", dtype=str(input.dtype))
    failure = _compare_chain(ref_net, torch_net, ref_loss, torch_loss, input, target, None, outcome)
    return _finish(outcome, failure)


def _finish(outcome, failure):
    if failure is not None:
        if outcome.ambiguous:
            failure.reason += (f" ({sum(outcome.ambiguous.values())} decisions are within rounding of their "
                               f"boundary, {outcome.ambiguous}: the gradients may legitimately differ there)")
        outcome.status, outcome.failure = "failed", failure
    return outcome


def _unmodified(x, original, name="input"):
    if np.array_equal(x, original, equal_nan=True):
        return None
    return Failure(name, f"{name} was modified in place; inputs must be left untouched")


def _compare_chain(ref_net, torch_net, ref_loss, torch_loss, x, target, seed, outcome):
    """``[loss ∘] net`` against torch; either part may be None (a lone layer, a lone loss).
    ``seed`` None: the loss's backward with its default gradient 1.0; else a random upstream.
    The checks in order; the first failure, or None. torch only ever sees copies."""
    original = x.copy()
    target_copy = None if target is None else np.array(target, copy=True)
    params = {}
    if ref_net is not None:
        params, failure = load_twin(ref_net, torch_net)
        if failure:
            return failure

    def torch_chain():
        out = first(_torch_forward(torch_net, params, original)) if torch_net is not None else torch.from_numpy(original)
        return torch_loss(out, torch.from_numpy(target_copy)) if torch_loss is not None else out

    def ref_chain(inp):
        out = ref_net(inp) if ref_net is not None else inp
        return out, (ref_loss(out, target) if ref_loss is not None else None)

    def inputs_unmodified():
        return _unmodified(x, original) or (None if target is None else _unmodified(target, target_copy, "target"))

    torch_error = rejection(torch_chain)
    if torch_error is not None:
        outcome.note = "torch rejects: " + torch_error
        return expect_rejection(ref_chain, [x], {}, torch_error) or inputs_unmodified()

    result, failure = call("output", ref_chain, x)
    failure = failure or inputs_unmodified()
    if failure:
        return failure
    if torch_loss is None and isinstance(torch_net, MULTILINEAR + COPIES):
        bounds = leaf_bounds(torch_net, params, original, seed)  # the proven bound of one multilinear leaf
    else:
        bounds = chain_bounds(torch_net, torch_loss, params, original, target_copy, seed)
    outcome.ambiguous.update(bounds.ambiguous)
    reference = _Reference(ref_net, ref_loss, x, *result, bounds, seed)
    for quantity, bound in bounds.quantities.items():
        got, failure = reference.result(quantity)
        if bound.tolerance is None:
            failure = failure or compare_exact(quantity, got, bound.truth, outcome)
        else:
            outcome.bounds[quantity] = (bound.truth, bound.tolerance)
            failure = failure or compare_quantity(quantity, got, bound.truth, bound.tolerance,
                                                  reference.dtype_of(quantity), outcome)
        failure = failure or reference.fresh(quantity, got)
        if failure:
            return failure
    if not np.array_equal(bounds.upstream, reference.upstream_copy):
        return Failure("grad_output", "modified in place by the backward")
    return inputs_unmodified() or (None if ref_net is None else _params_unmodified(ref_net, params))


class _Reference:
    """The reference's side of a check: its results one quantity at a time, in the order it
    computes them; the backward runs once the forward's results have been compared."""

    def __init__(self, net, loss_module, x, out, loss, bounds: Bounds, seed):
        self.net, self.loss_module, self.x, self.seed = net, loss_module, x, seed
        self.upstream, self.upstream_copy = bounds.upstream, np.array(bounds.upstream, copy=True)
        self.indexed = "indices" in bounds.quantities  # the net returns (output, indices)
        self.out, self.loss, self.grads = out, loss, {}
        self.output = out[0] if isinstance(out, tuple) and self.indexed else out
        self.params = {} if net is None else dict(net.named_parameters())

    def dtype_of(self, quantity):
        """The dtype a result must have: its parameter's, for a parameter gradient; else the input's."""
        name = quantity[len("grad_"):] if quantity.startswith("grad_") else None
        return self.params[name].data.dtype if name in self.params else self.x.dtype

    def result(self, quantity):
        """``(value, None)``, or ``(None, Failure)`` where the call that computes it raised."""
        if quantity == "output":
            return self.output, None
        if quantity == "indices":  # the second entry of what the net returned
            return (self.out[1] if isinstance(self.out, tuple) and len(self.out) > 1 else None), None
        if quantity == "loss":
            return self.loss, None
        if quantity in ("grad_net_output", "grad_input") and quantity not in self.grads:
            return self._backward(quantity)
        if quantity in self.grads:
            return self.grads[quantity], None
        grad = self.params[quantity[len("grad_"):]].grad
        return grad, (Failure(quantity, "no gradient was accumulated by backward") if grad is None else None)

    def _backward(self, quantity):
        """The first backward call resets the net's ``.grad``; the loss's backward (its default
        gradient, or the upstream one) comes before the net's, which it feeds."""
        first_call = not self.grads
        if self.net is not None and first_call:
            self.net.zero_grad()
        if self.loss_module is not None and first_call:
            name = "grad_net_output" if self.net is not None else "grad_input"
            self.grads[name], failure = call(name, self.loss_module.backward,
                                             *(() if self.seed is None else (self.upstream,)))
            if failure or name == quantity:
                return self.grads[name], failure
        upstream = self.grads.get("grad_net_output", self.upstream)
        self.grads["grad_input"], failure = call("grad_input", self.net.backward, upstream)
        return self.grads["grad_input"], failure

    def fresh(self, quantity, got):
        """A Failure where a result shares memory with what it must not (once a result's every
        output has been compared: the output's indices come first)."""
        if quantity == ("indices" if self.indexed else "output") and np.shares_memory(self.output, self.x):
            return Failure("output", "shares memory with the input; it must be a new array")
        if quantity == "loss" and np.shares_memory(got, self.x):
            return Failure("loss", "shares memory with the input; it must be a new array")
        if quantity == "grad_input" and any(np.shares_memory(got, a) for a in (self.upstream, self.x)):
            return Failure("grad_input", "shares memory with grad_output or the input; it must be a new array")
        return None


def _params_unmodified(ref_module, params):
    own = dict(ref_module.named_parameters())
    for name, before in params.items():
        if not np.array_equal(own[name].data, before):
            return Failure(name, "parameter modified by forward or backward")
    return None
