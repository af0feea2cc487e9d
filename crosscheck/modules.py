"""The module twin check: a ``reference.nn`` module against its ``torch.nn`` twin.

The same policy as :mod:`crosscheck.compare`, with a module in place of an op:

1. The reference's ``state_dict()`` keys must be torch's keys, in torch's order, and torch's
   ``load_state_dict(strict=True)`` must take its arrays: both modules then hold the same values.
2. If torch rejects the forward on ``input``, the reference must reject it too, with
   ``ValueError`` or ``TypeError``.
3. Otherwise the reference runs forward and backward with a random upstream gradient (after
   ``zero_grad()``, so its ``.grad`` holds this one backward), and its output, input gradient and
   every parameter gradient (named ``grad_<state_dict key>``) are compared with torch in float64
   on the same values, each within the entrywise tolerance of :mod:`crosscheck.tolerance`
   (sized by two more torch runs: on ``|params|, |input|, |grad_output|`` and on ones).
4. The input, the upstream gradient and the parameters must come back unmodified, and the
   output must not share memory with the input.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call

from .compare import Failure, Outcome, call, compare_quantity, expect_rejection
from .tolerance import tolerance


@dataclass
class ModuleOutcome(Outcome):
    """An :class:`~crosscheck.compare.Outcome` whose subject is a module (``case`` is None)."""

    module: str = ""  # the reference module's repr
    dtype: str = ""

    def __str__(self):
        text = f"{self.module} [{self.dtype}]: {self.status}"
        if self.note:
            text += f" ({self.note})"
        if self.failure is not None:
            f = self.failure
            text += f"; {f.quantity}: {f.reason}"
            if f.index is not None:
                text += (
                    f"; largest error {f.max_error:.3g}, at {f.index}: got {f.actual!r}, "
                    f"torch {f.expected!r}, tolerance {f.tolerance:.3g}"
                )
        return text


def _torch_run(torch_module, params: dict, x: np.ndarray, grad_output, dtype=np.float64):
    """torch's output, input gradient and parameter gradients (by name), as float64 arrays.

    ``params`` maps state_dict names to arrays; they replace the module's own for this call.
    Returns ``(output, grad_input, {name: grad}, grad_output)``.
    ``grad_output`` is an array, or a function of the output's shape that makes one.
    """
    names = [name for name, _ in torch_module.named_parameters()]
    tensors = {k: torch.from_numpy(np.array(v, dtype=dtype)) for k, v in params.items()}
    for name in names:
        tensors[name].requires_grad_()
    inp = torch.from_numpy(np.array(x, dtype=dtype)).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = functional_call(torch_module, tensors, (inp,))
    if callable(grad_output):
        grad_output = grad_output(tuple(out.shape))
    grads = torch.autograd.grad(
        out, [inp] + [tensors[k] for k in names], torch.from_numpy(np.asarray(grad_output, dtype)), allow_unused=True
    )
    as_numpy = [None if g is None else g.numpy() for g in grads]
    return out.detach().numpy(), as_numpy[0], dict(zip(names, as_numpy[1:])), grad_output


def _torch_rejects(torch_module, params: dict, x: np.ndarray):
    """None if torch runs the forward on these values in their own dtypes, else its error."""
    tensors = {k: torch.from_numpy(np.array(v)) for k, v in params.items()}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            functional_call(torch_module, tensors, (torch.from_numpy(np.array(x)),))
    except Exception as exc:  # torch signals rejection with several exception types
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def compare_module(ref_module, torch_module, input: np.ndarray, seed: int = 0) -> ModuleOutcome:
    """Check ``ref_module`` against ``torch_module`` on ``input``; see the module docstring.

    ``torch_module`` receives the reference's parameters (it is modified); ``ref_module``'s
    gradients are reset first. ``seed`` draws the upstream gradient (standard normal).
    """
    outcome = ModuleOutcome(None, "passed", module=repr(ref_module), dtype=str(input.dtype))
    failure = _compare_module(ref_module, torch_module, input, seed, outcome)
    if failure is not None:
        outcome.status, outcome.failure = "failed", failure
    return outcome


def _unmodified(x, original):
    if np.array_equal(x, original, equal_nan=True):
        return None
    return Failure("input", "input was modified in place; inputs must be left untouched")


def _compare_module(ref_module, torch_module, x, seed, outcome):
    """The checks in order; the first failure, or None. torch only ever sees ``original``."""
    original = x.copy()
    params = ref_module.state_dict()
    torch_keys = list(torch_module.state_dict())
    if list(params) != torch_keys:
        return Failure("state_dict", f"keys {list(params)} != torch's {torch_keys}")
    try:
        torch_module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()}, strict=True)
    except Exception as exc:  # torch reports shape mismatches as RuntimeError
        return Failure("state_dict", f"torch's load_state_dict refuses it: {str(exc).splitlines()[-1].strip()}")

    torch_error = _torch_rejects(torch_module, params, original)
    if torch_error is not None:
        outcome.note = "torch rejects: " + torch_error
        return expect_rejection(ref_module.forward, [x], {}, torch_error) or _unmodified(x, original)

    out, failure = call("output", ref_module.forward, x)
    failure = failure or _unmodified(x, original)
    if failure:
        return failure
    rng = np.random.default_rng(seed)
    truth, grad_x, grads, grad_output = _torch_run(
        torch_module, params, original, lambda shape: rng.standard_normal(shape).astype(x.dtype)
    )
    magnitude, mag_x, mags, _ = _torch_run(
        torch_module, {k: np.abs(v) for k, v in params.items()}, np.abs(original), np.abs(grad_output)
    )
    count, count_x, counts, _ = _torch_run(
        torch_module, {k: np.ones_like(v) for k, v in params.items()}, np.ones_like(original), np.ones_like(grad_output)
    )
    failure = compare_quantity("output", out, truth, tolerance(count, magnitude, x.dtype), x.dtype, outcome)
    if failure:
        return failure
    if np.shares_memory(out, x):
        return Failure("output", "shares memory with the input; it must be a new array")

    ref_module.zero_grad()
    grad_copy = grad_output.copy()
    got_x, failure = call("grad_input", ref_module.backward, grad_output)
    if failure:
        return failure
    failure = compare_quantity("grad_input", got_x, grad_x, tolerance(count_x, mag_x, x.dtype), x.dtype, outcome)
    if failure:
        return failure
    own = dict(ref_module.named_parameters())
    for name in dict(torch_module.named_parameters()):
        quantity = "grad_" + name
        if own[name].grad is None:
            return Failure(quantity, "no gradient was accumulated by backward")
        failure = compare_quantity(
            quantity, own[name].grad, grads[name], tolerance(counts[name], mags[name], own[name].data.dtype),
            own[name].data.dtype, outcome,
        )
        if failure:
            return failure
    if not np.array_equal(grad_output, grad_copy):
        return Failure("grad_output", "modified in place by the backward")
    failure = _unmodified(x, original)
    if failure:
        return failure
    for name, before in params.items():
        if not np.array_equal(own[name].data, before):
            return Failure(name, "parameter modified by forward or backward")
    return None
