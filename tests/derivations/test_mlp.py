"""The seed post's fully connected derivation, implemented literally and held against torch.

The post's equations, for one sample, with ``aˡ = σ(zˡ)``, ``zˡ = Wˡ·aˡ⁻¹ + bˡ``, ``a⁰ = x`` and
``y = aᴸ``:

    (1)  {E} = ½ Σ_n Σ_k (t_k⁽ⁿ⁾ − y_k⁽ⁿ⁾)²                  (all samples)
    (2)  E   = ½ ‖t − y‖²                                     (one sample)
    (3)  y   = aᴸ(Wᴸ·aᴸ⁻¹(Wᴸ⁻¹·aᴸ⁻²(…) + bᴸ⁻¹) + bᴸ)        (the nested forward)

    δᴸ = ∂E/∂zᴸ = (y − t) ⊙ σ′(zᴸ)
    δˡ = (Wˡ⁺¹)ᵀ·δˡ⁺¹ ⊙ σ′(zˡ)                                (the delta rule)

and, from ``zˡ = Wˡ·aˡ⁻¹ + bˡ``, ``∂E/∂Wˡ = δˡ·(aˡ⁻¹)ᵀ``, ``∂E/∂bˡ = δˡ``, ``∂E/∂x = (W¹)ᵀ·δ¹``.
Below they are code, line for line, for a 3-layer sigmoid network 4 → 5 → 3 → 2, and compared
with torch autograd and with the same network built from :mod:`reference.nn`.

**The factor ½.** torch's ``MSELoss(reduction='sum')`` is ``‖t − y‖²`` with no ½, so the post's
``E`` is ``½·loss``: the loss is scaled by ½ before ``backward()`` in torch, and
:mod:`reference.nn`'s loss starts the chain rule with ``grad_output = ½`` (``∂E/∂loss``).

**Tolerance.** Both sides evaluate the same formulas in float64 in different orders. Every value
here is at most 5 in magnitude (|W|, |b| ≤ 1, activations in (0, 1), sums of ≤ 5 terms), and
the longest dependency chain of any gradient entry is under 64 roundings (three layers forward
and back, each a dot product of ≤ 5 terms, a sigmoid and a product by σ′), each a relative
error ≤ eps. So the two sides differ by less than 64·5·eps ≈ 7e-14; ``TOL = 512·eps ≈ 1.1e-13``
is that bound rounded up to a power of two. A wrong derivation (a missing σ′, an untransposed W)
is off by more than 1e-3 here.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from reference import nn

EPS = np.finfo(np.float64).eps
TOL = 512 * EPS  # the rounding bound of the module docstring
SIZES = (4, 5, 3, 2)  # x, then the three layers


def sigma(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigma_prime(z):
    return sigma(z) * (1.0 - sigma(z))


def parameters(seed=0):
    """``W¹, W², W³`` (``(out, in)``) and ``b¹, b², b³`` drawn from U(−1, 1)."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1, 1, (n_out, n_in)) for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.uniform(-1, 1, n_out) for n_out in SIZES[1:]]
    return weights, biases


def sample(seed=1):
    """One input ``x`` and target ``t`` in (0, 1), where a sigmoid output can reach."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, SIZES[0]), rng.uniform(0, 1, SIZES[-1])


def forward(W, b, x):
    """Layer by layer: ``zˡ = Wˡ·aˡ⁻¹ + bˡ``, ``aˡ = σ(zˡ)``; returns the lists ``z`` and ``a`` (``a[0] = x``)."""
    a, z = [x], []
    for W_l, b_l in zip(W, b):
        z.append(W_l @ a[-1] + b_l)
        a.append(sigma(z[-1]))
    return z, a


def delta_rule(W, z, a, t):
    """The post's backward: ``δᴸ = (y − t) ⊙ σ′(zᴸ)``, ``δˡ = (Wˡ⁺¹)ᵀ·δˡ⁺¹ ⊙ σ′(zˡ)``; then
    ``∂E/∂Wˡ = δˡ·(aˡ⁻¹)ᵀ``, ``∂E/∂bˡ = δˡ``, ``∂E/∂x = (W¹)ᵀ·δ¹``. (Python lists count layers
    from 0: ``W[l]`` is Wˡ⁺¹, ``a[l]`` is its input aˡ, ``z[l]`` its zˡ⁺¹.)"""
    L = len(W)
    delta = [None] * L
    delta[L - 1] = (a[L] - t) * sigma_prime(z[L - 1])
    for l in reversed(range(L - 1)):
        delta[l] = (W[l + 1].T @ delta[l + 1]) * sigma_prime(z[l])
    grad_W = [np.outer(delta[l], a[l]) for l in range(L)]
    grad_b = list(delta)
    grad_x = W[0].T @ delta[0]
    return delta, grad_W, grad_b, grad_x


def error(y, t):
    """Equation (2): ``E = ½ ‖t − y‖²``."""
    return 0.5 * np.sum((t - y) ** 2)


def _torch_network(W, b, x, t):
    """torch autograd on the same numbers: ``E = ½·MSELoss(sum)``; returns the leaves, the
    pre-activations ``zˡ`` (with their gradients kept) and ``E``, after ``E.backward()``."""
    Wt = [torch.tensor(w, requires_grad=True) for w in W]
    bt = [torch.tensor(v, requires_grad=True) for v in b]
    xt = torch.tensor(x, requires_grad=True)
    a, zs = xt, []
    for w, v in zip(Wt, bt):
        z = a @ w.T + v
        z.retain_grad()
        zs.append(z)
        a = torch.sigmoid(z)
    E = 0.5 * torch.nn.MSELoss(reduction="sum")(a, torch.tensor(t))
    E.backward()
    return Wt, bt, xt, zs, E


def _close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_equation_3_is_the_layer_by_layer_forward():
    """(3) written out for L = 3, one nested expression, equals the layer loop; the layer loop
    equals torch's and reference.nn's forward."""
    W, b = parameters()
    x, t = sample()
    nested = sigma(W[2] @ sigma(W[1] @ sigma(W[0] @ x + b[0]) + b[1]) + b[2])
    _, a = forward(W, b, x)
    np.testing.assert_array_equal(a[-1], nested)  # the same operations in the same order: bitwise
    _, _, _, zs, E = _torch_network(W, b, x, t)
    _close(torch.sigmoid(zs[-1]).detach().numpy(), nested)
    _close(E.item(), error(nested, t))
    _close(_reference_network(W, b)(x[None])[0], nested)


def test_the_deltas_are_the_gradients_with_respect_to_z():
    """Each ``δˡ`` of the rule is ``∂E/∂zˡ`` as torch autograd finds it, layer by layer."""
    W, b = parameters()
    x, t = sample()
    z, a = forward(W, b, x)
    delta, _, _, _ = delta_rule(W, z, a, t)
    _, _, _, zs, _ = _torch_network(W, b, x, t)
    for l, (d, zt) in enumerate(zip(delta, zs), start=1):
        np.testing.assert_allclose(d, zt.grad.numpy(), rtol=0, atol=TOL, err_msg=f"delta of layer {l}")


def test_the_delta_rule_gives_every_gradient_of_torch_autograd():
    W, b = parameters()
    x, t = sample()
    z, a = forward(W, b, x)
    _, grad_W, grad_b, grad_x = delta_rule(W, z, a, t)
    Wt, bt, xt, _, _ = _torch_network(W, b, x, t)
    for l in range(3):
        np.testing.assert_allclose(grad_W[l], Wt[l].grad.numpy(), rtol=0, atol=TOL, err_msg=f"W of layer {l + 1}")
        np.testing.assert_allclose(grad_b[l], bt[l].grad.numpy(), rtol=0, atol=TOL, err_msg=f"b of layer {l + 1}")
    _close(grad_x, xt.grad.numpy())


def _reference_network(W, b):
    """The network as ``reference.nn.Sequential(Linear, Sigmoid, Linear, Sigmoid, Linear, Sigmoid)``."""
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [nn.Linear(n_in, n_out, dtype=np.float64), nn.Sigmoid()]
    net = nn.Sequential(*layers)
    state = {}
    for l, (w, v) in enumerate(zip(W, b)):
        state[f"{2 * l}.weight"], state[f"{2 * l}.bias"] = w, v
    net.load_state_dict(state)
    return net


def _reference_gradients(W, b, xs, ts):
    """``E = ½·MSELoss(sum)`` through reference.nn: the loss's backward starts from ½."""
    net, criterion = _reference_network(W, b), nn.MSELoss(reduction="sum")
    loss = criterion(net(xs), ts)
    net.zero_grad()
    grad_x = net.backward(criterion.backward(0.5))
    grads = dict(net.named_parameters())
    return 0.5 * loss, grad_x, [grads[f"{2 * l}.weight"].grad for l in range(3)], [grads[f"{2 * l}.bias"].grad for l in range(3)]


def test_the_delta_rule_gives_every_gradient_of_reference_nn():
    W, b = parameters()
    x, t = sample()
    z, a = forward(W, b, x)
    _, grad_W, grad_b, grad_x = delta_rule(W, z, a, t)
    E, ref_grad_x, ref_W, ref_b = _reference_gradients(W, b, x[None], t[None])
    _close(E, error(a[-1], t))
    _close(ref_grad_x[0], grad_x)
    for l in range(3):
        np.testing.assert_allclose(ref_W[l], grad_W[l], rtol=0, atol=TOL, err_msg=f"W of layer {l + 1}")
        np.testing.assert_allclose(ref_b[l], grad_b[l], rtol=0, atol=TOL, err_msg=f"b of layer {l + 1}")


@pytest.mark.parametrize("samples", [2, 5])
def test_equation_1_over_samples_sums_the_per_sample_gradients(samples):
    """(1) is the sum of (2) over the samples, so its gradient is the sum of the delta rule's
    per-sample gradients; reference.nn with a batch and ``MSELoss(reduction='sum')`` gives it.
    (The tolerance grows with the number of samples added: ``samples·TOL``.)"""
    W, b = parameters()
    rng = np.random.default_rng(2)
    xs, ts = rng.uniform(-1, 1, (samples, SIZES[0])), rng.uniform(0, 1, (samples, SIZES[-1]))
    total_E, total_W, total_b = 0.0, [0.0] * 3, [0.0] * 3
    for x, t in zip(xs, ts):
        z, a = forward(W, b, x)
        _, grad_W, grad_b, _ = delta_rule(W, z, a, t)
        total_E += error(a[-1], t)
        total_W = [s + g for s, g in zip(total_W, grad_W)]
        total_b = [s + g for s, g in zip(total_b, grad_b)]
    E, _, ref_W, ref_b = _reference_gradients(W, b, xs, ts)
    np.testing.assert_allclose(E, total_E, rtol=0, atol=samples * TOL)
    for l in range(3):
        np.testing.assert_allclose(ref_W[l], total_W[l], rtol=0, atol=samples * TOL, err_msg=f"W of layer {l + 1}")
        np.testing.assert_allclose(ref_b[l], total_b[l], rtol=0, atol=samples * TOL, err_msg=f"b of layer {l + 1}")
