"""The module twin check: a ``reference.nn`` module (or network) against its ``torch.nn`` twin.

The same policy as :mod:`crosscheck.compare`, with a module in place of an op:

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

The tolerances, and the layer-by-layer bound they come from, are derived in
:mod:`crosscheck.module_bounds`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import functional_call

from ..checking.compare import call, compare_exact, compare_quantity, expect_rejection
from ..checking.outcome import Failure, Outcome
from ..checking.tolerance import tolerance
from .bounds import (COPIES, LOSSES, MAX_POOLS, MULTILINEAR, _abs64, _ambiguous, _Call, _depths, _first,
                            _Frozen, _frozen, _gamma2, _leaves, _loss_bounds, _pool_params, _run_net)


@dataclass
class ModuleOutcome(Outcome):
    """An :class:`~crosscheck.compare.Outcome` whose subject is a module (``case`` is None).

    ``ambiguous`` maps a layer (its state-dict prefix, or its type for a lone layer) to the
    number of its decisions that lie within rounding of their boundary (:mod:`crosscheck.module_bounds`)."""

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


# --- the proven path: one multilinear leaf ------------------------------------------------------

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


def _torch_rejects(run):
    """None if ``run()`` (torch, on the values in their own dtypes) succeeds, else its error."""
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            run()
    except Exception as exc:  # torch signals rejection with several exception types
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


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
    elif isinstance(torch_module, MULTILINEAR + COPIES):
        failure = _compare_multilinear(ref_module, torch_module, input, seed, outcome)
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


def _load_twin(ref_module, torch_module):
    """The reference's state dict, loaded into the twin; or a Failure."""
    params = ref_module.state_dict()
    torch_keys = list(torch_module.state_dict())
    if list(params) != torch_keys:
        return params, Failure("state_dict", f"keys {list(params)} != torch's {torch_keys}")
    try:
        torch_module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()}, strict=True)
    except Exception as exc:  # torch reports shape mismatches as RuntimeError
        return params, Failure("state_dict", f"torch's load_state_dict refuses it: {str(exc).splitlines()[-1].strip()}")
    return params, None


def _compare_multilinear(ref_module, torch_module, x, seed, outcome):
    """The checks in order; the first failure, or None. torch only ever sees ``original``."""
    original = x.copy()
    params, failure = _load_twin(ref_module, torch_module)
    if failure:
        return failure

    torch_error = _torch_rejects(lambda: _torch_forward(torch_module, params, original))
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
    failure = _compare("output", out, truth, tolerance(count, magnitude, x.dtype), x.dtype, outcome)
    if failure:
        return failure
    if np.shares_memory(out, x):
        return Failure("output", "shares memory with the input; it must be a new array")

    ref_module.zero_grad()
    grad_copy = grad_output.copy()
    got_x, failure = call("grad_input", ref_module.backward, grad_output)
    if failure:
        return failure
    failure = _compare("grad_input", got_x, grad_x, tolerance(count_x, mag_x, x.dtype), x.dtype, outcome)
    failure = failure or _fresh("grad_input", got_x, grad_output, x)
    if failure:
        return failure
    failure = _compare_param_grads(ref_module, grads, lambda name: tolerance(counts[name], mags[name], x.dtype),
                                   outcome)
    if failure:
        return failure
    if not np.array_equal(grad_output, grad_copy):
        return Failure("grad_output", "modified in place by the backward")
    return _unmodified(x, original) or _params_unmodified(ref_module, params)


def _compare(quantity, actual, expected, tol, dtype, outcome):
    """:func:`~crosscheck.compare.compare_quantity`, keeping the truth and the tolerance."""
    outcome.bounds[quantity] = (expected, np.broadcast_to(tol, np.shape(expected)))
    return compare_quantity(quantity, actual, expected, tol, dtype, outcome)


def _fresh(quantity, result, *arrays):
    """A Failure if ``result`` shares memory with one of ``arrays`` (the upstream gradient, the input)."""
    if any(np.shares_memory(result, a) for a in arrays):
        return Failure(quantity, "shares memory with grad_output or the input; it must be a new array")
    return None


def _compare_param_grads(ref_module, truth_grads: dict, tol_of, outcome):
    own = dict(ref_module.named_parameters())
    for name, want in truth_grads.items():
        quantity = "grad_" + name
        if own[name].grad is None:
            return Failure(quantity, "no gradient was accumulated by backward")
        dtype = own[name].data.dtype
        failure = _compare(quantity, own[name].grad, want, tol_of(name), dtype, outcome)
        if failure:
            return failure
    return None


def _params_unmodified(ref_module, params):
    own = dict(ref_module.named_parameters())
    for name, before in params.items():
        if not np.array_equal(own[name].data, before):
            return Failure(name, "parameter modified by forward or backward")
    return None


def _compare_chain(ref_net, torch_net, ref_loss, torch_loss, x, target, seed, outcome):
    """``[loss ∘] net`` against torch; either part may be None (a lone layer, a lone loss).
    ``seed`` None: the loss's backward with its default gradient 1.0; else a random upstream."""
    original = x.copy()
    target_copy = None if target is None else np.array(target, copy=True)
    params = {}
    if ref_net is not None:
        params, failure = _load_twin(ref_net, torch_net)
        if failure:
            return failure

    def torch_chain():
        out = _first(_torch_forward(torch_net, params, original)) if torch_net is not None else torch.from_numpy(original)
        return torch_loss(out, torch.from_numpy(target_copy)) if torch_loss is not None else out

    def ref_chain(inp):
        out = ref_net(inp) if ref_net is not None else inp
        return out, (ref_loss(out, target) if ref_loss is not None else None)

    def inputs_unmodified():
        return _unmodified(x, original) or (None if target is None else _unmodified(target, target_copy, "target"))

    torch_error = _torch_rejects(torch_chain)
    if torch_error is not None:
        outcome.note = "torch rejects: " + torch_error
        return expect_rejection(ref_chain, [x], {}, torch_error) or inputs_unmodified()

    result, failure = call("output", ref_chain, x)
    failure = failure or inputs_unmodified()
    if failure:
        return failure
    out, loss = result

    # the truth, recording every leaf call
    calls: list[_Call] = []

    def record(module, name, args, result):
        z, y = args[0].detach(), _first(result).detach()
        index = None
        if isinstance(module, MAX_POOLS):
            dims, kernel, stride, padding, dilation = _pool_params(module)
            pool = getattr(torch.nn.functional, f"max_pool{dims}d")
            index = pool(z, kernel, stride, padding, dilation, ceil_mode=module.ceil_mode, return_indices=True)[1]
        calls.append(_Call(module, name, z, y, index))

    dtype = x.dtype
    wide = {k: torch.from_numpy(np.array(v, np.float64)).requires_grad_() for k, v in params.items()}
    inp = torch.from_numpy(np.array(original, np.float64)).requires_grad_()
    truth = _run_net(torch_net, wide, inp, record)
    truth_out, extras = _first(truth), (truth[1:] if isinstance(truth, tuple) else ())
    wanted = [inp] + list(wide.values())
    if torch_loss is not None:
        t = torch.from_numpy(np.array(target_copy, np.float64) if target_copy.dtype.kind == "f" else target_copy)
        truth_loss = torch_loss(truth_out, t)
        if seed is None:
            upstream = np.ones((), np.float64)
        else:
            upstream = np.random.default_rng(seed).standard_normal(tuple(truth_loss.shape)).astype(dtype)
        differentiated = truth_loss
    else:
        upstream = np.random.default_rng(seed).standard_normal(tuple(truth_out.shape)).astype(dtype)
        differentiated = truth_out
    through_loss = torch_loss is not None and torch_net is not None
    grads = torch.autograd.grad(differentiated, wanted + ([truth_out] if through_loss else []),
                                torch.from_numpy(np.asarray(upstream, np.float64)), allow_unused=True)
    truth_gx = grads[0].numpy()
    truth_grads = {k: g.numpy() for k, g in zip(params, grads[1:1 + len(params)])}
    truth_y = truth_out.detach().numpy()

    # the depths, layer by layer, and the linearised magnitude run
    names = _leaves(torch_net) if torch_net is not None else {}
    depth_f = depth_b = 0.0
    param_depth: dict = {}
    forward_before = []
    for c in calls:
        prefix = names[c.module] + "." if c.module is not torch_net else ""
        forward_before.append(depth_f)
        df, db, dp = _depths(c, prefix)
        depth_f, depth_b = depth_f + df, depth_b + db
        for k, v in dp.items():
            param_depth[k] = max(param_depth.get(k, 0.0), v)

    position = iter(range(len(calls)))

    def magnitude_hook(module, name, args, result):
        c = calls[next(position)]
        c.a_in = args[0].detach()
        gate = _frozen(c, args[0])
        if gate is None:
            return None
        frozen = _Frozen.apply(args[0], *gate)
        return (frozen,) + tuple(result[1:]) if isinstance(result, tuple) else frozen

    mags = {k: torch.from_numpy(_abs64(v)).requires_grad_() for k, v in params.items()}
    mag_inp = torch.from_numpy(_abs64(original)).requires_grad_()
    a_y_t = _first(_run_net(torch_net, mags, mag_inp, magnitude_hook))
    a_y = a_y_t.detach().numpy()
    depth_loss, extra = 0.0, 0
    tol_loss = None
    if torch_loss is not None:
        tol_loss, g_l, depth_loss, extra = _loss_bounds(torch_loss, truth_y, a_y, target_copy, upstream, depth_f,
                                                        dtype)
    else:
        g_l = _abs64(upstream)
    if torch_net is not None:
        mag_grads = torch.autograd.grad(a_y_t, [mag_inp] + list(mags.values()), torch.from_numpy(np.asarray(g_l)),
                                        allow_unused=True)
        mag_gx = mag_grads[0].numpy()
        mag_params = {k: g.numpy() for k, g in zip(params, mag_grads[1:])}
    else:
        mag_gx, mag_params = g_l, {}

    depth_grad = depth_f + depth_loss + extra + depth_b
    for c, before in zip(calls, forward_before):
        count = _ambiguous(c, _gamma2(before, dtype) * c.a_in) if c.a_in is not None else 0
        if count:
            outcome.ambiguous[c.name] = outcome.ambiguous.get(c.name, 0) + count

    # compare, in the order the quantities are computed
    output = out[0] if isinstance(out, tuple) and extras else out
    if ref_net is not None:
        failure = _compare("output", output, truth_y, _gamma2(depth_f, dtype) * a_y, dtype, outcome)
        for got, want in zip(out[1:] if extras else (), extras):
            failure = failure or compare_exact("indices", got, want.numpy(), outcome)
        if failure:
            return failure
        if np.shares_memory(output, x):
            return Failure("output", "shares memory with the input; it must be a new array")
    if ref_loss is not None:
        failure = _compare("loss", loss, truth_loss.detach().numpy(), tol_loss, dtype, outcome)
        if failure:
            return failure
        if np.shares_memory(loss, x):
            return Failure("loss", "shares memory with the input; it must be a new array")

    if ref_net is not None:
        ref_net.zero_grad()
    grad_copy = np.array(upstream, copy=True)
    if ref_loss is not None:
        grad_loss, failure = call("grad_net_output" if ref_net is not None else "grad_input",
                                  ref_loss.backward, *(() if seed is None else (upstream,)))
        if failure:
            return failure
        if ref_net is None:
            got_x = grad_loss
        else:
            failure = _compare("grad_net_output", grad_loss, grads[-1].numpy(),
                               _gamma2(depth_loss + extra, dtype) * g_l, dtype, outcome)
            if failure:
                return failure
            got_x, failure = call("grad_input", ref_net.backward, grad_loss)
    else:
        got_x, failure = call("grad_input", ref_net.backward, upstream)
    if failure:
        return failure
    failure = _compare("grad_input", got_x, truth_gx, _gamma2(depth_grad, dtype) * mag_gx, dtype, outcome)
    failure = failure or _fresh("grad_input", got_x, upstream, x)
    if failure:
        return failure
    if ref_net is not None:
        failure = _compare_param_grads(
            ref_net, truth_grads, lambda name: _gamma2(depth_grad + param_depth.get(name, 0), dtype) * mag_params[name],
            outcome)
        if failure:
            return failure
    if not np.array_equal(upstream, grad_copy):
        return Failure("grad_output", "modified in place by the backward")
    return inputs_unmodified() or (None if ref_net is None else _params_unmodified(ref_net, params))
