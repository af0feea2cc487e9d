"""reference.nn.container: Sequential against torch.nn.Sequential.

The chain rule in reverse, accumulated gradients, SGD steps, state dicts (flat and nested names)
and the container protocol. Tolerances are written beside each check.
"""
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module
from reference import nn
from tests.helpers.networks import NETWORKS, build_network, losses


def test_sequential_backward_is_the_chain_rule_in_reverse():
    """Sequential.backward equals calling each child's backward in reverse order, bitwise."""
    name, layers, shape, classes = NETWORKS[0]
    a, _, x = build_network(layers, shape, "float64")
    b, _, _ = build_network(layers, shape, "float64")
    y = a(x)
    h = x
    for module in b:
        h = module(h)
    np.testing.assert_array_equal(y, h)
    g = np.random.default_rng(1).standard_normal(y.shape)
    grad_a = a.backward(g)
    grad_b = g
    for module in reversed(list(b)):
        grad_b = module.backward(grad_b)
    np.testing.assert_array_equal(grad_a, grad_b)
    for (ka, pa), (kb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert ka == kb
        np.testing.assert_array_equal(pa.grad, pb.grad)


def test_sequential_gradients_accumulate_like_torch():
    """Two forward/backward passes without zero_grad: parameter gradients add up, the input
    gradient is each call's own (tolerance: 1e-12 relative, far above float64 rounding ≈1e-16
    times the depth of a few hundred, far below any real error)."""
    name, layers, shape, classes = NETWORKS[1]
    ref, twin, x1 = build_network(layers, shape, "float64")
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()})
    x2 = np.random.default_rng(9).standard_normal(x1.shape)
    for x in (x1, x2):
        y = ref(x)
        g = np.random.default_rng(int(x.size)).standard_normal(y.shape)
        gx = ref.backward(g)
        xt = torch.from_numpy(x).requires_grad_()
        twin(xt).backward(torch.from_numpy(g))
        np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    for name_, param in twin.named_parameters():
        np.testing.assert_allclose(dict(ref.named_parameters())[name_].grad, param.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_sgd_steps_track_torch():
    """Three SGD steps on the CNN with cross-entropy in reference and torch: the parameters stay
    within 1e-12 (relative to their size) of torch's: each step adds lr·grad, whose error is
    bounded by the check above at ≈1e-13 relative."""
    name, layers, shape, classes = NETWORKS[0]
    ref, twin, x = build_network(layers, shape, "float64")
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()})
    target = losses("cross_entropy", classes, shape[0], "float64")[2]
    criterion, torch_criterion = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    optimiser = torch.optim.SGD(twin.parameters(), lr=0.5)
    for _ in range(3):
        loss = criterion(ref(x), target)
        ref.zero_grad()
        ref.backward(criterion.backward())
        for p in ref.parameters():
            p.data -= 0.5 * p.grad
        optimiser.zero_grad()
        torch_loss = torch_criterion(twin(torch.from_numpy(x)), torch.from_numpy(target))
        torch_loss.backward()
        optimiser.step()
        np.testing.assert_allclose(loss, torch_loss.item(), rtol=1e-12)
    for key, value in twin.state_dict().items():
        np.testing.assert_allclose(ref.state_dict()[key], value.numpy(), rtol=0, atol=1e-12 * np.abs(value.numpy()).max())


def test_state_dict_round_trip_through_torch_sequential():
    name, layers, shape, classes = NETWORKS[0]
    ref, twin, _ = build_network(layers, shape, "float32")
    state = ref.state_dict()
    assert list(state) == list(twin.state_dict()) == [
        "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"]
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key])
    # and back: torch's own initialisation loads into the reference
    torch.manual_seed(0)
    _, fresh, _ = build_network(layers, shape, "float32")
    ref.load_state_dict({k: v.numpy() for k, v in fresh.state_dict().items()})
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(ref.state_dict()[key], value.numpy())


def test_state_dict_refuses_a_network_with_a_missing_layer():
    name, layers, shape, classes = NETWORKS[0]
    ref, _, _ = build_network(layers, shape, "float32")
    state = ref.state_dict()
    del state["3.bias"]
    with pytest.raises(ValueError, match="3.bias"):
        ref.load_state_dict(state)


def test_sequential_container_protocol():
    a, b, c = nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    assert seq.append(c) is seq and seq[2] is c and list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail.state_dict()) == ["2.weight", "2.bias"]  # names kept, as torch
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(TypeError, match="child '1'"):
        nn.Sequential(a, torch.nn.ReLU())
    named = nn.Sequential(OrderedDict([("conv", nn.Conv1d(1, 2, 3, rng=0)), ("act", nn.Tanh()), ("fc", nn.Linear(2, 1, rng=1))]))
    twin = torch.nn.Sequential(OrderedDict([("conv", torch.nn.Conv1d(1, 2, 3)), ("act", torch.nn.Tanh()), ("fc", torch.nn.Linear(2, 1))]))
    assert list(named.state_dict()) == list(twin.state_dict()) == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in named.state_dict().items()}, strict=True)
    assert repr(nn.Sequential(nn.ReLU())) == "Sequential(\n  (0): ReLU()\n)"


def test_nested_sequential_names_nest_like_torch():
    ref = nn.Sequential(nn.Sequential(nn.Linear(3, 4, rng=0, dtype=np.float64), nn.Sigmoid()), nn.Linear(4, 2, rng=1, dtype=np.float64))
    twin = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid()), torch.nn.Linear(4, 2))
    assert list(ref.state_dict()) == list(twin.state_dict()) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
    x = np.random.default_rng(0).standard_normal((5, 3))
    result = compare_module(ref, twin, x, seed=1)
    assert result.status == "passed" and set(result.errors) == {
        "output", "grad_input", "grad_0.0.weight", "grad_0.0.bias", "grad_1.weight", "grad_1.bias"}, str(result)


def test_backward_before_forward_is_refused():
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Sequential(nn.Linear(2, 2), nn.ReLU()).backward(np.zeros((1, 2), np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.CrossEntropyLoss().backward()


def test_empty_sequential_is_the_identity():
    x = np.arange(6.0).reshape(2, 3)
    seq = nn.Sequential()
    y = seq(x)
    np.testing.assert_array_equal(y, x)
    assert not np.shares_memory(y, x)
    np.testing.assert_array_equal(seq.backward(x), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert seq.state_dict() == {}
