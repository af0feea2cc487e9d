"""A whole small CNN in reference.nn against its torch.nn twin: forward, loss and every gradient.

The network is the issue's: conv → relu → max-pool → conv → relu → avg-pool → flatten → linear
→ loss, with MSELoss and with CrossEntropyLoss, in 1, 2 and 3 spatial dimensions, on non-square
inputs and kernels. The reference and torch.nn.Sequential of the same layers hold the same
state dict; :func:`crosscheck.networks.compare.compare_network` runs one training step's forward and
backward in both and compares the network output, the loss, the loss's gradient, the input
gradient and every parameter gradient, in float64 and in float32, against torch in float64.

Tolerances: every comparison here uses the bound of :mod:`crosscheck.networks.compare` (derived in
:mod:`crosscheck.networks.bounds`): ``2·γ(D)·A`` entrywise, ``A`` from torch's linearised magnitude run and ``D`` the
rounding depth of the network. Direct ``assert_array_equal`` is used where the reference must be
bitwise reproducible (the same arithmetic done twice).
"""
from collections import OrderedDict

import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module, compare_network
from reference import nn
from tests.helpers.networks import NETWORKS, build_network, losses


DTYPES = ("float64", "float32")


def _with_input(loss_and_target, x):
    """``(ref_loss, torch_loss, input, target)`` in compare_network's order."""
    ref_loss, torch_loss, target = loss_and_target
    return ref_loss, torch_loss, x, target


def expected_quantities(ref_net):
    keys = {"grad_" + k for k in ref_net.state_dict()}
    return {"output", "loss", "grad_net_output", "grad_input"} | keys


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss_kind", ("mse", "cross_entropy"))
@pytest.mark.parametrize("name, layers, shape, classes", NETWORKS, ids=[n[0] for n in NETWORKS])
def test_network_twin(name, layers, shape, classes, loss_kind, dtype):
    ref, twin, x = build_network(layers, shape, dtype)
    ref_loss, torch_loss, target = losses(loss_kind, classes, shape[0], dtype)
    result = compare_network(ref, twin, ref_loss, torch_loss, x, target)
    assert result.status == "passed", str(result)
    # every parameter gradient, the input gradient and the loss were compared
    assert set(result.errors) == expected_quantities(ref)
    assert len(ref.state_dict()) >= 5
    # no decision (ReLU sign, max-pool argmax) lies within rounding of its boundary, so the
    # gradients are determined by the data to this precision and the bound applies
    assert result.ambiguous == {}, str(result)


@pytest.mark.parametrize("name, layers, shape, classes", NETWORKS, ids=[n[0] for n in NETWORKS])
def test_network_without_loss_random_upstream(name, layers, shape, classes):
    ref, twin, x = build_network(layers, shape, "float32", seed=3)
    result = compare_module(ref, twin, x, seed=4)
    assert result.status == "passed", str(result)
    assert set(result.errors) == {"output", "grad_input"} | {"grad_" + k for k in ref.state_dict()}
    assert result.ambiguous == {}


def test_float64_bound_is_tight_everywhere():
    """A relative error of 1e-6 at *any* entry of any compared quantity exceeds its float64
    tolerance: at every entry whose torch value is non-zero, tol < 1e-6·|value| (and where a
    value has no terms at all, tol is 0: it must be exactly 0)."""
    for name, layers, shape, classes in NETWORKS:
        for kind in ("mse", "cross_entropy"):
            ref, twin, x = build_network(layers, shape, "float64")
            result = compare_network(ref, twin, *_with_input(losses(kind, classes, shape[0], "float64"), x))
            assert result.status == "passed", str(result)
            assert set(result.bounds) == expected_quantities(ref)
            for quantity, (value, tol) in result.bounds.items():
                nonzero = value != 0
                assert np.all(tol[nonzero] < 1e-6 * np.abs(value[nonzero])), (name, kind, quantity)


class _PerturbedNet(nn.Sequential):
    """The same network with one quantity off by a relative ``delta`` at one entry."""

    def perturb(self, quantity, index, delta):
        self.quantity, self.index, self.delta = quantity, index, delta
        return self

    def forward(self, x):
        y = super().forward(x)
        if self.quantity == "output":
            y[self.index] *= 1 + self.delta
        return y

    def backward(self, grad_output):
        grad = super().backward(grad_output)
        if self.quantity == "grad_input":
            grad[self.index] *= 1 + self.delta
        elif self.quantity.startswith("grad_"):
            dict(self.named_parameters())[self.quantity[5:]].grad[self.index] *= 1 + self.delta
        return grad


class _PerturbedLoss(nn.CrossEntropyLoss):
    def perturb(self, quantity, index, delta):
        self.quantity, self.index, self.delta = quantity, index, delta
        return self

    def forward(self, input, target):
        loss = super().forward(input, target)
        return loss * (1 + self.delta) if self.quantity == "loss" else loss

    def backward(self, grad_output=1.0):
        grad = super().backward(grad_output)
        if self.quantity == "grad_net_output":
            grad[self.index] *= 1 + self.delta
        return grad


def _hardest_entries():
    """For the 2-d network in float64: per quantity, the non-zero entry where a relative error
    is hardest to see (largest tol/|value|)."""
    name, layers, shape, classes = NETWORKS[0]
    ref, twin, x = build_network(layers, shape, "float64")
    result = compare_network(ref, twin, *_with_input(losses("cross_entropy", classes, shape[0], "float64"), x))
    hardest = {}
    for quantity, (value, tol) in result.bounds.items():
        ratio = np.where(value != 0, tol / np.where(value != 0, np.abs(value), 1), -1)
        hardest[quantity] = np.unravel_index(int(np.argmax(ratio)), value.shape) if value.ndim else ()
    return hardest


HARDEST = _hardest_entries()


@pytest.mark.parametrize("quantity", sorted(HARDEST))
def test_relative_1e_6_fails_in_float64(quantity):
    name, layers, shape, classes = NETWORKS[0]
    ref, twin, x = build_network(layers, shape, "float64")
    net = _PerturbedNet(*list(ref)).perturb(quantity, HARDEST[quantity], 1e-6)
    loss = _PerturbedLoss().perturb(quantity, HARDEST[quantity], 1e-6)
    result = compare_network(net, twin, loss, torch.nn.CrossEntropyLoss(), x, losses("cross_entropy", classes, shape[0], "float64")[2])
    assert result.status == "failed" and result.failure.quantity == quantity, str(result)
    # and the unperturbed network passes on the very same data
    clean = compare_network(_PerturbedNet(*list(ref)).perturb("", (), 0.0), twin, nn.CrossEntropyLoss(),
                            torch.nn.CrossEntropyLoss(), x, losses("cross_entropy", classes, shape[0], "float64")[2])
    assert clean.status == "passed", str(clean)


@pytest.mark.parametrize("quantity", ["output", "grad_input", "grad_0.weight", "grad_3.weight", "grad_7.bias"])
def test_float32_catches_a_relative_error_of_1e_2(quantity):
    """float32 is checked too: its tolerance is ≈ D·eps32·A, well below 1% of the larger entries
    (the largest entry of each quantity is perturbed)."""
    name, layers, shape, classes = NETWORKS[0]
    ref, twin, x = build_network(layers, shape, "float32")
    target = losses("cross_entropy", classes, shape[0], "float32")[2]
    clean = compare_network(ref, twin, nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, target)
    value = clean.bounds[quantity][0]
    index = np.unravel_index(int(np.argmax(np.abs(value))), value.shape)
    net = _PerturbedNet(*list(ref)).perturb(quantity, index, 1e-2)
    result = compare_network(net, twin, nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, target)
    assert result.status == "failed" and result.failure.quantity == quantity, str(result)


def test_a_layer_missing_from_the_reference_is_caught():
    """A network that forgets the second ReLU: same state dict, different function."""
    name, layers, shape, classes = NETWORKS[0]
    ref, twin, x = build_network(layers, shape, "float64")
    wrong = nn.Sequential(OrderedDict((k, m) for k, m in ref._modules.items() if k != "4"))
    result = compare_network(wrong, twin, nn.MSELoss(), torch.nn.MSELoss(), x, losses("mse", classes, shape[0], "float64")[2])
    assert result.status == "failed" and result.failure.quantity == "output", str(result)


def test_ambiguous_relu_is_reported():
    """A pre-activation of exactly 0 made of non-zero terms (1·1 + (−1)·1) could come out ±tiny
    in any implementation: the check says so instead of pretending the gradient is determined."""
    ref = nn.Sequential(nn.Linear(2, 1, dtype=np.float64), nn.ReLU())
    ref.load_state_dict({"0.weight": np.array([[1.0, -1.0]]), "0.bias": np.zeros(1)})
    twin = torch.nn.Sequential(torch.nn.Linear(2, 1, dtype=torch.float64), torch.nn.ReLU())
    x = np.array([[1.0, 1.0], [2.0, -1.0]])
    result = compare_module(ref, twin, x)
    assert result.status == "passed" and result.ambiguous == {"1": 1}, str(result)


def test_ambiguous_max_pool_tie_is_reported():
    """Two window entries computed equal from different terms: which one wins is not determined."""
    ref = nn.Sequential(nn.Conv1d(1, 1, 2, bias=False, dtype=np.float64), nn.MaxPool1d(2))
    ref.load_state_dict({"0.weight": np.array([[[1.0, 1.0]]])})
    twin = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 2, bias=False, dtype=torch.float64), torch.nn.MaxPool1d(2))
    x = np.array([[[1.0, 2.0, 1.0, 0.0, 5.0]]])  # windows (3, 3) and (1, 5): the first is a tie
    result = compare_module(ref, twin, x)
    assert result.ambiguous == {"1": 1}, str(result)


def test_exact_ties_of_the_input_are_not_ambiguous():
    """At the input itself nothing has been rounded yet: ties there are decided the same way."""
    result = compare_module(nn.MaxPool1d(2), torch.nn.MaxPool1d(2), np.array([[[1.0, 1.0, 0.0, 0.0]]]))
    assert result.status == "passed" and result.ambiguous == {}


def test_unknown_layers_are_refused():
    ref = nn.Sequential(nn.ReLU())
    with pytest.raises(ValueError, match="Dropout"):
        compare_module(ref, torch.nn.Sequential(torch.nn.Dropout()), np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_smooth_network_twin(dtype):
    """Sigmoid and Tanh inside a network, with both losses."""
    layers = [("Conv1d", (2, 3, 3), dict(padding=1)), ("Tanh", (), {}), ("AvgPool1d", (2,), {}), ("Flatten", (), {}),
              ("Linear", (None, 4), {}), ("Sigmoid", (), {}), ("Linear", (4, 3), {})]
    ref, twin, x = build_network(layers, (4, 2, 8), dtype)
    for kind in ("mse", "cross_entropy"):
        result = compare_network(ref, twin, *_with_input(losses(kind, 3, 4, dtype), x))
        assert result.status == "passed" and result.ambiguous == {}, str(result)
        assert set(result.errors) == expected_quantities(ref)
