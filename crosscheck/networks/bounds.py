"""The tolerances of the module twin check (:mod:`crosscheck.networks.compare`), derived: the proven
bound of one multilinear leaf and, for anything else, the layer-by-layer depths, the linearised
magnitude run, the losses' bounds and the decisions that rounding may flip.

Tolerances
----------
**A multilinear leaf** (``Conv*``, ``ConvTranspose*``, ``Linear``, ``Flatten``): every entry of
every result is a sum of products of entries of the arrays, so the proven entrywise bound of
:mod:`crosscheck.checking.tolerance` applies: ``(n + 1)·eps·Σ|terms|``, ``Σ|terms|`` from a torch run on
``|params|, |input|, |grad_output|`` and ``n`` from a run on ones.

**Anything else** (``ReLU``, ``MaxPool*``, ``AvgPool*``, ``Sigmoid``, ``Tanh``, the losses, and any
``Sequential`` of known layers): the ones-run no longer counts roundings. Through a composition
it returns the *product* of the layers' term counts where each term sees only their *sum* of
roundings, and average pooling's ones-run returns 1 (an average of ones) for a ``|k|``-term sum.
So the bound is built layer by layer (first order in ``u = eps/2``), as

    tol_q = 2·γ(D_q) · A_q,   γ(D) = D·u / (1 − D·u)       (entrywise, per quantity q)

``A_q`` — the scale — is the **linearised magnitude run**: torch in float64 on ``|params|`` and
``|input|``, where each multilinear layer runs on magnitudes (so it yields ``Σ|terms|``) and each
decision-making or smooth layer is frozen at the truth's values ``z`` (its input) and ``y``:

    layer     forward magnitude a_out          backward magnitude G_in
    ReLU      a_in · [z > 0]                   G_out · [z > 0]
    MaxPool   a_in at the truth's argmax       G_out added into the truth's argmax
    Sigmoid   σ'(z)·a_in + |y|                 G_out · (σ'(z) + a_out)      (|∂σ'/∂y| ≤ 1)
    Tanh      tanh'(z)·a_in + |y|              G_out · (tanh'(z) + 2·a_out)  (|∂tanh'/∂y| ≤ 2)

and the backward starts from ``|grad_output|``, or through a loss from the magnitude of its
gradient (see below). With the decisions frozen the whole network is multilinear in
(input, params, upstream) apart from the smooth layers' ``y`` terms, and by induction over the
layers each computed activation is within ``D_sofar·u·a`` of the exact one and each gradient
within ``D·u·G`` (the ``+|y|`` and ``+a_out`` terms carry the smooth layers' own roundings and
the error of the ``f'(y)`` that the backward reads from a forward value).

``D_q`` — the constant — is the number of roundings any term of ``q`` can see, the sum of the
layers' own depths along the way (each ``d`` below is an ``n``-term sum's ``n`` plus the store):

    Conv*, ConvTranspose*, Linear   forward: max terms per output + 1 (ones-run of that layer on
                                    its input's shape); backward: the same for ∂E/∂x; a weight
                                    or bias gradient: max terms per entry + 1 (N·L_out + 1 ...)
    AvgPool                         |k| + 2 both ways (|k| − 1 adds, a divide, the store; as
                                    crosscheck.checking.bounds.averaging)
    MaxPool                         0 forward (a copy); |k| backward (overlapping windows add)
    ReLU, Flatten                   0 (copies and selections)
    Sigmoid, Tanh                   8 forward (crosscheck.checking.bounds.smooth_elementwise's 8·eps·|y|
                                    is 4 eps of error with a factor 2); 4 backward (g·(1 − y)·y)

    D_output = D_f = Σ forward depths;   D_grad_input = D_f + D_L + D_b;
    D_grad_<param> = D_f + D_L + D_b + d_param,   D_b = Σ backward depths

(``D_f`` appears in the gradients because the forward's activations feed the weight gradients and
the smooth layers' derivatives). ``D_L`` is the depth of the loss's gradient, 0 without a loss.
The factor 2 pays for the truth's own error in float64 (where it is as large as the
reference's) and is a factor-2 margin in float32. float64 stays tight: for the issue's network
``D`` is a few hundred, so ``tol_q ≈ 1e-13·A_q`` and a relative error of 1e-6 fails.

**Losses**, on the network's output ``y`` (magnitude ``A_y``, error ≤ ``D_f·u·A_y``):

* MSE, ``L = Σ (y − t)²`` over ``N`` entries (/N for 'mean'): a polynomial, so magnitudes are
  exact ``Σ|terms|`` again: ``A_L = Σ (A_y + |t|)²`` (/N), ``D = 2·D_f + N + 4`` (the square doubles
  ``d = y − t``'s error, the sum adds N, the divide 1; 'none': ``2·D_f + 3`` entrywise). Its
  gradient ``2(y − t)·g`` (/N): ``G_L = 2|g|(A_y + |t|)`` (/N), ``D_L = D_f + 4``.
* Cross-entropy over ``C`` classes, class-index targets, per loss entry ``e`` with
  ``S_e = max_c A_y[e, c]`` (its logits' scale; the loss itself has no meaningful magnitude run,
  ``log Σ exp`` of magnitudes bounds nothing): ``ℓ = log_softmax(y)`` moves by at most
  ``2·max_c |δy|`` (the row sums of ``|∂ℓ/∂y|`` are ≤ 2) and has its own error
  ``4u·(6·S_e + 3·log C + C + 3)`` (:func:`crosscheck.checking.bounds.log_softmax` with
  ``|y − m| ≤ 2S_e``, ``|log Σ| ≤ log C``, ``|ℓ| ≤ 2S_e + log C``), so

      L_e within u·T_e,   T_e = (2·D_f + 24)·S_e + 12·log C + 4C + 12,

  and the K-entry mean within ``u·(mean_e T_e + (K + 1)·|L|)`` (sum: ``Σ_e T_e + K·|L|``); the
  tolerance is twice that. The gradient ``(g/K)·(p − onehot(t))`` moves with ``p = exp(ℓ)``
  (relative error = ``ℓ``'s absolute error) plus 3 roundings:
  ``G_L = (|g|/K)·(p + onehot)·(1 + S_e)`` and ``D_L = 2·D_f + 4C + 12·log C + 40``.

**Decisions.** The frozen bound holds while the reference makes the truth's decisions. A ReLU
input within its error bound ``2γ(D_sofar)·a`` of 0, or a max-pool window whose top two
are within the sum of their bounds, may legitimately go the other way in float32, and then the
gradients differ by O(1) where no tolerance can follow. The check finds every such decision
(from the same runs) and reports their count per layer in ``ModuleOutcome.ambiguous``, also
in the failure's reason; a check with ambiguous decisions proves nothing about the gradients.

The API
-------
:func:`leaf_bounds` (a multilinear leaf) and :func:`chain_bounds` (anything else) return, per
quantity in the order the reference computes them, a :class:`QuantityBound`: torch's float64
value, the tolerance and the number of ambiguous decisions it depends on. The layers' own parts
of the derivation (depths, linearisations, decisions, the losses) are in
:mod:`crosscheck.networks.layers`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import functional_call

from ..checking.tolerance import tolerance
from .layers import (MAX_POOLS, Frozen, LeafCall, abs64, ambiguous_decisions, depths, first, frozen, gamma2, leaves,
                     loss_bounds, pool_params, run_net)


@dataclass(frozen=True)
class QuantityBound:
    """What one compared quantity is held to: torch's value in float64 (the truth), the
    entrywise tolerance (of the truth's shape; None: the result must equal the truth, as max
    pooling's indices must), and how many decisions on its way lie within rounding of their
    boundary (where that is not 0 the quantity may legitimately differ, see the module docstring)."""

    truth: np.ndarray
    tolerance: np.ndarray | None
    ambiguous: int = 0


@dataclass
class Bounds:
    """The bound of every quantity of one check, in the order the reference computes them
    (``output``, ``indices``, ``loss``, ``grad_net_output``, ``grad_input``, ``grad_<key>``, those
    that apply), the upstream gradient both sides' backward is given, and the ambiguous
    decisions per layer (its state-dict prefix, or its type for a lone layer)."""

    quantities: dict
    upstream: np.ndarray
    ambiguous: dict = field(default_factory=dict)


def _bound(truth, tol, ambiguous=0) -> QuantityBound:
    return QuantityBound(truth, np.broadcast_to(tol, np.shape(truth)), ambiguous)


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


def leaf_bounds(torch_module, params: dict, x: np.ndarray, seed) -> Bounds:
    """The proven bound of one multilinear leaf (module docstring): ``(n + 1)·eps·Σ|terms|`` for
    the output, the input gradient and every parameter gradient, on a standard normal upstream
    gradient drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    truth, grad_x, grads, grad_output = _torch_run(
        torch_module, params, x, lambda shape: rng.standard_normal(shape).astype(x.dtype)
    )
    magnitude, mag_x, mags, _ = _torch_run(torch_module, {k: np.abs(v) for k, v in params.items()}, np.abs(x),
                                           np.abs(grad_output))
    count, count_x, counts, _ = _torch_run(torch_module, {k: np.ones_like(v) for k, v in params.items()},
                                           np.ones_like(x), np.ones_like(grad_output))
    quantities = {"output": _bound(truth, tolerance(count, magnitude, x.dtype)),
                  "grad_input": _bound(grad_x, tolerance(count_x, mag_x, x.dtype))}
    for name, want in grads.items():
        quantities["grad_" + name] = _bound(want, tolerance(counts[name], mags[name], x.dtype))
    return Bounds(quantities, grad_output)


def _truth_run(torch_net, torch_loss, params: dict, x: np.ndarray, target, seed):
    """torch in float64 on the same values, recording every leaf call: ``(truth, y, upstream,
    calls)``, the truth of every quantity in the order the reference computes them, the net's
    output ``y`` (the input for a lone loss), the upstream gradient (the loss's default 1.0 when
    ``seed`` is None, else standard normal from ``seed``) and the :class:`LeafCall` of each leaf."""
    calls: list[LeafCall] = []

    def record(module, name, args, result):
        z, y = args[0].detach(), first(result).detach()
        index = None
        if isinstance(module, MAX_POOLS):
            dims, kernel, stride, padding, dilation = pool_params(module)
            pool = getattr(torch.nn.functional, f"max_pool{dims}d")
            index = pool(z, kernel, stride, padding, dilation, ceil_mode=module.ceil_mode, return_indices=True)[1]
        calls.append(LeafCall(module, name, z, y, index))

    wide = {k: torch.from_numpy(np.array(v, np.float64)).requires_grad_() for k, v in params.items()}
    inp = torch.from_numpy(np.array(x, np.float64)).requires_grad_()
    result = run_net(torch_net, wide, inp, record)
    out, truth = first(result), {}
    if torch_net is not None:
        truth["output"] = out.detach().numpy()
        for extra in result[1:] if isinstance(result, tuple) else ():
            truth["indices"] = extra.numpy()
    differentiated = out
    if torch_loss is not None:
        t = torch.from_numpy(np.array(target, np.float64) if target.dtype.kind == "f" else target)
        differentiated = torch_loss(out, t)
        truth["loss"] = differentiated.detach().numpy()
    if torch_loss is not None and seed is None:
        upstream = np.ones((), np.float64)
    else:
        upstream = np.random.default_rng(seed).standard_normal(tuple(differentiated.shape)).astype(x.dtype)
    through_loss = torch_loss is not None and torch_net is not None
    grads = torch.autograd.grad(differentiated, [inp] + list(wide.values()) + ([out] if through_loss else []),
                                torch.from_numpy(np.asarray(upstream, np.float64)), allow_unused=True)
    if through_loss:
        truth["grad_net_output"] = grads[-1].numpy()
    truth["grad_input"] = grads[0].numpy()
    truth.update({"grad_" + k: g.numpy() for k, g in zip(params, grads[1:1 + len(params)])})
    return truth, out.detach().numpy(), upstream, calls


def _depths_along(torch_net, calls):
    """``(D_f, D_b, {parameter: d_param}, [D_sofar before each call])`` along the truth run."""
    names = leaves(torch_net) if torch_net is not None else {}
    depth_f = depth_b = 0.0
    param_depth: dict = {}
    forward_before = []
    for c in calls:
        prefix = names[c.module] + "." if c.module is not torch_net else ""
        forward_before.append(depth_f)
        df, db, dp = depths(c, prefix)
        depth_f, depth_b = depth_f + df, depth_b + db
        for k, v in dp.items():
            param_depth[k] = max(param_depth.get(k, 0.0), v)
    return depth_f, depth_b, param_depth, forward_before


def _magnitude_run(torch_net, params: dict, x: np.ndarray, calls):
    """The linearised magnitude run (module docstring): torch in float64 on ``|params|`` and
    ``|input|``, each decision-making or smooth layer frozen at the truth's values; records each
    call's input magnitude ``a_in``. Returns ``(A_y, |input|, {name: |param|})``, as leaves of
    the graph the backward magnitudes are taken on."""
    position = iter(range(len(calls)))

    def hook(module, name, args, result):
        c = calls[next(position)]
        c.a_in = args[0].detach()
        gate = frozen(c, args[0])
        if gate is None:
            return None
        linearised = Frozen.apply(args[0], *gate)
        return (linearised,) + tuple(result[1:]) if isinstance(result, tuple) else linearised

    mags = {k: torch.from_numpy(abs64(v)).requires_grad_() for k, v in params.items()}
    mag_inp = torch.from_numpy(abs64(x)).requires_grad_()
    return first(run_net(torch_net, mags, mag_inp, hook)), mag_inp, mags


def chain_bounds(torch_net, torch_loss, params: dict, x: np.ndarray, target=None, seed=None) -> Bounds:
    """The layer-by-layer bound of ``[torch_loss ∘] torch_net`` (either may be None) at ``params``
    and ``x`` (module docstring): ``2·γ(D_q)·A_q`` per quantity, the decisions within rounding of
    their boundary counted per layer."""
    dtype = x.dtype
    truth, y, upstream, calls = _truth_run(torch_net, torch_loss, params, x, target, seed)
    depth_f, depth_b, param_depth, forward_before = _depths_along(torch_net, calls)
    a_y_t, mag_inp, mags = _magnitude_run(torch_net, params, x, calls)
    a_y = a_y_t.detach().numpy()
    tol_loss, g_l, depth_loss, extra = None, abs64(upstream), 0.0, 0
    if torch_loss is not None:
        tol_loss, g_l, depth_loss, extra = loss_bounds(torch_loss, y, a_y, target, upstream, depth_f, dtype)
    mag_gx, mag_params = g_l, {}
    if torch_net is not None:
        mag_grads = torch.autograd.grad(a_y_t, [mag_inp] + list(mags.values()), torch.from_numpy(np.asarray(g_l)),
                                        allow_unused=True)
        mag_gx, mag_params = mag_grads[0].numpy(), {k: g.numpy() for k, g in zip(params, mag_grads[1:])}
    ambiguous: dict = {}
    for c, before in zip(calls, forward_before):
        count = ambiguous_decisions(c, gamma2(before, dtype) * c.a_in) if c.a_in is not None else 0
        if count:
            ambiguous[c.name] = ambiguous.get(c.name, 0) + count
    depth_grad = depth_f + depth_loss + extra + depth_b
    tolerances = {"output": gamma2(depth_f, dtype) * a_y, "loss": tol_loss,
                  "grad_net_output": gamma2(depth_loss + extra, dtype) * g_l,
                  "grad_input": gamma2(depth_grad, dtype) * mag_gx}
    tolerances.update({"grad_" + k: gamma2(depth_grad + param_depth.get(k, 0), dtype) * m for k, m in mag_params.items()})
    total = sum(ambiguous.values())  # every quantity comes after the whole forward, so after every decision
    quantities = {q: QuantityBound(want, None, total) if q == "indices" else _bound(want, tolerances[q], total)
                  for q, want in truth.items()}
    return Bounds(quantities, upstream, ambiguous)
