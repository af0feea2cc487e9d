"""The module twin check: a ``reference.nn`` module (or network) against its ``torch.nn`` twin.

The same policy as :mod:`crosscheck.compare`, with a module in place of an op:

1. The reference's ``state_dict()`` keys must be torch's keys, in torch's order, and torch's
   ``load_state_dict(strict=True)`` must take its arrays: both modules then hold the same values.
2. If torch rejects the forward on ``input``, the reference must reject it too, with
   ``ValueError`` or ``TypeError``.
3. Otherwise the reference runs forward and backward (after ``zero_grad()``, so its ``.grad``
   holds this one backward), and its output, input gradient and every parameter gradient
   (named ``grad_<state_dict key>``) are compared with torch in float64 on the same values (the
   truth; float32 data is widened exactly), each within an entrywise tolerance derived below.
4. The input (and target), the upstream gradient and the parameters must come back unmodified,
   the output must not share memory with the input, nor the input gradient with either.

:func:`compare_module` checks one module on a random upstream gradient (a loss module too, given
a ``target``); :func:`compare_network` checks ``loss(net(input), target)`` and the training
step's backward ``net.backward(loss.backward())``, comparing the output, the loss, the loss's
gradient, the input gradient and every parameter gradient.

Tolerances
----------
**A multilinear leaf** (``Conv*``, ``ConvTranspose*``, ``Linear``, ``Flatten``): every entry of
every result is a sum of products of entries of the arrays, so the proven entrywise bound of
:mod:`crosscheck.tolerance` applies: ``(n + 1)·eps·Σ|terms|``, ``Σ|terms|`` from a torch run on
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
                                    crosscheck.bounds.averaging)
    MaxPool                         0 forward (a copy); |k| backward (overlapping windows add)
    ReLU, Flatten                   0 (copies and selections)
    Sigmoid, Tanh                   8 forward (crosscheck.bounds.smooth_elementwise's 8·eps·|y|
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
  ``4u·(6·S_e + 3·log C + C + 3)`` (:func:`crosscheck.bounds.log_softmax` with
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
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import functional_call

from .compare import Failure, Outcome, call, compare_exact, compare_quantity, expect_rejection
from .tolerance import tolerance

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


@dataclass
class ModuleOutcome(Outcome):
    """An :class:`~crosscheck.compare.Outcome` whose subject is a module (``case`` is None).

    ``ambiguous`` maps a layer (its state-dict prefix, or its type for a lone layer) to the
    number of its decisions that lie within rounding of their boundary (module docstring)."""

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


def _gamma2(depth: float, dtype) -> float:
    """``2·γ(D) = 2·D·u/(1 − D·u)``: the reference's and the truth's first-order error together."""
    u = float(np.finfo(dtype).eps) / 2
    return 2 * depth * u / (1 - depth * u)


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


# --- networks: the layer-by-layer bound ---------------------------------------------------------

def _ntuple(value, n):
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return items * n if len(items) == 1 else items


def _pool_params(module):
    """``(dims, kernel, stride, padding, dilation)`` of a torch pooling module, as tuples."""
    dims = int(type(module).__name__[-2])
    kernel = _ntuple(module.kernel_size, dims)
    stride = kernel if module.stride is None or module.stride == () else _ntuple(module.stride, dims)
    dilation = _ntuple(getattr(module, "dilation", 1), dims)
    return dims, kernel, stride, _ntuple(module.padding, dims), dilation


@dataclass
class _Call:
    """One call of a leaf in the truth run: its input ``z`` and output ``y`` (float64, detached)."""

    module: torch.nn.Module
    name: str
    z: torch.Tensor
    y: torch.Tensor
    index: torch.Tensor | None = None  # max pooling: the truth's argmax (flat offsets per plane)
    a_in: torch.Tensor | None = None  # the magnitude run's input to this call


def _leaves(torch_net) -> dict:
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
    names = _leaves(torch_net)
    return names, [m.register_forward_hook(lambda mod, args, out: hook(mod, names[mod], args, out)) for m in names]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _flat_planes(t: torch.Tensor, dims: int) -> torch.Tensor:
    return t.flatten(start_dim=t.ndim - dims) if dims > 1 else t


def _run_net(torch_net, tensors, inp, hook):
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


class _Frozen(torch.autograd.Function):
    """A layer replaced, in the magnitude run, by its linearisation at the truth's values."""

    @staticmethod
    def forward(ctx, a_in, forward, backward):
        ctx.backward_fn = backward
        return forward(a_in)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backward_fn(grad), None, None


def _frozen(c: _Call, a_in: torch.Tensor):
    """The magnitude run's (forward, backward) of a decision-making or smooth layer (table in
    the module docstring); None for a layer that runs on magnitudes as it is."""
    m = c.module
    if isinstance(m, _NN.ReLU):
        mask = (c.z > 0).to(c.z.dtype)
        return (lambda a: a * mask), (lambda g: g * mask)
    if isinstance(m, MAX_POOLS):
        dims = _pool_params(m)[0]
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
    dims, kernel, stride, padding, dilation = _pool_params(module)
    pads = []
    for a in reversed(range(dims)):
        extent = (out_spatial[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1
        pads += [padding[a], max(extent - t.shape[2 + a] - padding[a], 0)]
    t = torch.nn.functional.pad(t, pads, value=fill)
    for a in range(dims):
        t = t.unfold(2 + a, dilation[a] * (kernel[a] - 1) + 1, stride[a])[..., ::dilation[a]]
    t = t[(slice(None), slice(None)) + tuple(slice(0, o) for o in out_spatial)]
    return t.reshape(t.shape[:2 + dims] + (-1,))


def _ambiguous(c: _Call, bound: torch.Tensor) -> int:
    """How many of the call's decisions the error ``bound`` (entrywise, on its input) may flip."""
    if isinstance(c.module, _NN.ReLU):
        return int(((c.z.abs() <= bound) & (bound > 0)).sum())
    if isinstance(c.module, MAX_POOLS):
        dims = _pool_params(c.module)[0]
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


def _depths(c: _Call, prefix: str):
    """``(forward, backward, {parameter: depth})`` of one call (table in the module docstring)."""
    m = c.module
    if isinstance(m, AVG_POOLS):
        volume = math.prod(_pool_params(m)[1])
        return volume + 2, volume + 2, {}
    if isinstance(m, MAX_POOLS):
        return 0, math.prod(_pool_params(m)[1]), {}
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


def _abs64(a) -> np.ndarray:
    """``|a|`` as a float64 array (NumPy returns a scalar for a 0-d array)."""
    return np.asarray(np.abs(np.asarray(a, np.float64)))


def _sum_to(a: np.ndarray, shape) -> np.ndarray:
    """The adjoint of broadcasting ``shape`` to ``a.shape`` (a sum over the broadcast axes)."""
    if a.shape == tuple(shape):
        return a
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1)
    return np.sum(a, axis=axes, keepdims=True).reshape(shape)


def _loss_bounds(loss, y, a_y, target, grad, depth_f, dtype):
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
            tol = _gamma2(2 * depth_f + 3, dtype) * square
        else:
            tol = _gamma2(2 * depth_f + count + 4, dtype) * np.sum(square) * scale
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
