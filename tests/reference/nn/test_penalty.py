"""Training with a gradient penalty (reference.nn.input_gradient_penalty) against its torch twin,
step by step, in float64.

Each step minimises ``E = L + (λ/2)·‖∂L/∂x‖²`` with SGD; torch computes the same step with
``autograd.grad(L, x, create_graph=True)`` and a second backward. At every step the twin is given
the reference's current parameters (so each step is compared from the same start, and no
difference compounds), and the loss, the penalty and every parameter gradient must agree.

**Tolerance.** Every gradient entry is a composition of at most 14 ops (forward, backward and
double backward of 5 layers and the loss), each within ``(n + 1)·eps·Σ|terms|`` of exact with
``n ≤ 80`` terms (the largest sum here: the 3×3 convolution over 8 channels and its gradients),
about 1.8e-14 of ``Σ|terms|``. Taking ``Σ|terms|`` within a factor 10 of the largest entry of the
result (these layers hold weights below 1 and activations of order 1), 14 ops compound to under
3e-12 of it: the tolerance is 1e-11 of each array's largest entry. The measured differences are
below 1e-14 of it, and each planted omission of a path moves the gradients by over 1e-3 (asserted).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from crosscheck.networks.twin import load_twin, torch_twin
from reference import nn

RTOL = 1e-11  # of the largest entry of each compared array; derivation in the module docstring
STEPS, LR = 5, 0.05


def _classifier():
    d = np.float64
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=0, dtype=d), nn.Tanh(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, rng=1, dtype=d), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(8, 6, rng=2, dtype=d), nn.Sigmoid(), nn.Linear(6, 3, rng=3, dtype=d),
    ), nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()


def _regressor():
    d = np.float64
    return nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=1, padding_mode="reflect", rng=4, dtype=d), nn.Tanh(),
        nn.ConvTranspose1d(3, 2, 2, stride=2, rng=5, dtype=d), nn.Sigmoid(),
    ), nn.MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum")


# λ is chosen so that the penalty's part of every step's gradient is large (asserted): the
# input gradient of a mean cross-entropy over 6 samples is small, so its λ is large
NETWORKS = {"cnn-cross-entropy": (_classifier, (6, 1, 8, 8), 3, 1e4),
            "conv1d-reflect-transposed-mse": (_regressor, (3, 2, 5), None, 10.0)}


def _data(shape, classes, rng):
    x = rng.standard_normal(shape)
    if classes is None:
        return x, rng.standard_normal((shape[0], shape[1], 2 * shape[2]))
    return x, rng.integers(0, classes, shape[0])


def _torch_step(twin, criterion, x, target, weight):
    xt = torch.from_numpy(x).requires_grad_()
    loss = criterion(twin(xt), torch.from_numpy(target))
    (u,) = torch.autograd.grad(loss, xt, create_graph=True)
    penalty = weight / 2 * u.pow(2).sum()
    twin.zero_grad()
    (loss + penalty).backward()
    return loss.item(), penalty.item()


def _close(name, got, want):
    scale = max(float(np.max(np.abs(want))), np.finfo(np.float64).tiny)
    error = float(np.max(np.abs(got - want)))
    assert error <= RTOL * scale, f"{name}: error {error:.3e} > {RTOL:.0e} × {scale:.3e}"


def _train(name, penalty=nn.input_gradient_penalty, compare=True):
    build, shape, classes, weight = NETWORKS[name]
    net, criterion, torch_criterion = build()
    twin = torch_twin(net)
    rng = np.random.default_rng(0)
    x, target = _data(shape, classes, rng)
    shares = []
    for step in range(STEPS):
        assert load_twin(net, twin)[1] is None  # the same parameters on both sides: each step from one start
        net.zero_grad()
        loss, pen = penalty(net, criterion, x, target, weight)
        want_loss, want_penalty = _torch_step(twin, torch_criterion, x, target, weight)
        ours = {k: p.grad for k, p in net.named_parameters()}
        theirs = {k: p.grad.numpy() for k, p in twin.named_parameters()}
        if not compare:
            return ours, theirs
        _close(f"step {step} loss", loss, want_loss)
        _close(f"step {step} penalty", pen, want_penalty)
        for key in theirs:
            _close(f"step {step} grad {key}", ours[key], theirs[key])
        net.zero_grad()
        criterion(net(x), target)
        net.backward(criterion.backward())  # the loss's gradient alone, to size the penalty's part
        plain = np.concatenate([p.grad.ravel() for p in net.parameters()])
        full = np.concatenate([g.ravel() for g in ours.values()])
        shares.append(np.linalg.norm(full - plain) / np.linalg.norm(full))
        for key, p in net.named_parameters():
            p.data = p.data - LR * ours[key]
    return shares


@pytest.mark.parametrize("name", list(NETWORKS))
def test_training_with_a_gradient_penalty_tracks_torch_step_by_step(name):
    shares = _train(name)
    # the penalty's part of each gradient is large, so the comparison sees its paths
    assert min(shares) > 0.1, shares


def _without_injections(net, criterion, x, target, weight):
    """The penalty with ∂Φ/∂x of each backward dropped (the activations' path)."""
    original = nn.Sequential.double_backward

    def double_backward(self, v, through_output=None):
        children = list(self)
        for module in children:
            v, _ = module.double_backward(v)
        c = through_output(v)  # the loss's curvature still carried back, the a_i dropped
        for module in reversed(children):
            c = module.backward(c)
        return v, c

    nn.Sequential.double_backward = double_backward
    try:
        return nn.input_gradient_penalty(net, criterion, x, target, weight)
    finally:
        nn.Sequential.double_backward = original


def _without_loss_curvature(net, criterion, x, target, weight):
    """The penalty with the loss's own curvature (∂L/∂y depends on y) left out."""
    loss = criterion(net(x), target)
    u = net.backward(criterion.backward())
    net.double_backward(weight * u)
    return loss, np.asarray(0.5 * weight * np.sum(u * u))


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("planted", [_without_injections, _without_loss_curvature], ids=["no-activation-path", "no-loss-curvature"])
def test_a_missing_path_of_the_penalty_fails_the_comparison(name, planted):
    ours, theirs = _train(name, penalty=planted, compare=False)
    worst = max(float(np.max(np.abs(ours[k] - theirs[k]))) / float(np.max(np.abs(theirs[k]))) for k in theirs)
    assert worst > 1e-3  # 1e8 times RTOL: the comparison above fails on it


def test_double_backward_before_backward_is_refused():
    layer = nn.Linear(3, 2, rng=0, dtype=np.float64)
    layer(np.ones((1, 3)))
    with pytest.raises(RuntimeError, match="double_backward called before backward"):
        layer.double_backward(np.ones((1, 3)))


@pytest.mark.parametrize("weight", [-1.0, float("nan"), "1", True])
def test_a_bad_weight_is_refused_naming_it(weight):
    net, criterion, _ = _classifier()
    with pytest.raises(ValueError, match="weight"):
        nn.input_gradient_penalty(net, criterion, np.ones((1, 1, 8, 8)), np.zeros(1, np.int64), weight)
