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
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module, compare_network
from reference import nn

DTYPES = ("float64", "float32")
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
PARAMETRIC = ("Conv", "ConvTranspose", "Linear")  # take rng and dtype

# (name, layers, input shape, classes): a layer is (class name, args, kwargs); a Linear's
# in_features None is filled in from the shape that reaches it
NETWORKS = [
    ("cnn2d", [
        ("Conv2d", (2, 4, (3, 2)), dict(padding=(1, 0))),
        ("ReLU", (), {}),
        ("MaxPool2d", ((2, 3),), dict(stride=(2, 2), padding=(1, 1))),
        ("Conv2d", (4, 6, (2, 3)), dict(dilation=(1, 2))),
        ("ReLU", (), {}),
        ("AvgPool2d", ((2, 1),), {}),
        ("Flatten", (), {}),
        ("Linear", (None, 5), {}),
    ], (3, 2, 10, 13), 5),
    ("cnn1d", [
        ("Conv1d", (3, 5, 4), dict(stride=2, padding=2)),
        ("ReLU", (), {}),
        ("MaxPool1d", (3,), dict(stride=2, ceil_mode=True)),
        ("Conv1d", (5, 4, 2), dict(groups=1, bias=False)),
        ("ReLU", (), {}),
        ("AvgPool1d", (2,), dict(padding=1, count_include_pad=False)),
        ("Flatten", (), {}),
        ("Linear", (None, 3), {}),
    ], (2, 3, 23), 3),
    ("cnn3d", [
        ("Conv3d", (1, 3, (2, 3, 2)), dict(padding=(0, 1, 1))),
        ("ReLU", (), {}),
        ("MaxPool3d", ((1, 2, 2),), dict(dilation=(1, 1, 2))),
        ("Conv3d", (3, 4, (2, 1, 2)), {}),
        ("ReLU", (), {}),
        ("AvgPool3d", ((1, 2, 1),), dict(ceil_mode=True)),
        ("Flatten", (), {}),
        ("Linear", (None, 4), {}),
    ], (2, 1, 4, 7, 9), 4),
]


def build(layers, shape, dtype, seed=0):
    """The reference network, its torch twin (torch's own initialisation, overwritten by the
    check) and an input of ``shape``."""
    ref_layers, torch_layers = [], []
    probe = torch.zeros(shape, dtype=torch.float64)
    for i, (name, args, kwargs) in enumerate(layers):
        if name == "Linear" and args[0] is None:
            args = (probe.shape[-1],) + args[1:]
        parametric = name.startswith(PARAMETRIC)
        ref_layers.append(getattr(nn, name)(*args, **kwargs, **(dict(rng=seed + i, dtype=dtype) if parametric else {})))
        torch_layers.append(getattr(torch.nn, name)(*args, **kwargs, **(dict(dtype=TORCH_DTYPES[dtype]) if parametric else {})))
        with torch.no_grad():  # the shape that reaches the next layer
            wide = {k: v.to(torch.float64) for k, v in torch_layers[-1].named_parameters()}
            probe = torch.func.functional_call(torch_layers[-1], wide, (probe,))
    x = np.random.default_rng(seed + 100).standard_normal(shape).astype(dtype)
    return nn.Sequential(*ref_layers), torch.nn.Sequential(*torch_layers), x


def losses(kind, classes, batch, dtype, seed=0):
    """The reference loss, its torch twin and a target for an output of (batch, classes)."""
    rng = np.random.default_rng(seed + 200)
    if kind == "mse":
        return nn.MSELoss(), torch.nn.MSELoss(), rng.standard_normal((batch, classes)).astype(dtype)
    return nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), rng.integers(0, classes, batch)


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
    ref, twin, x = build(layers, shape, dtype)
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
    ref, twin, x = build(layers, shape, "float32", seed=3)
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
            ref, twin, x = build(layers, shape, "float64")
            result = compare_network(ref, twin, *_with_input(losses(kind, classes, shape[0], "float64"), x))
            assert result.status == "passed", str(result)
            assert set(result.bounds) == expected_quantities(ref)
            for quantity, (value, tol) in result.bounds.items():
                nonzero = value != 0
                assert np.all(tol[nonzero] < 1e-6 * np.abs(value[nonzero])), (name, kind, quantity)


# --- the check must be able to fail: a relative error of 1e-6 in float64 ---------------------

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
    ref, twin, x = build(layers, shape, "float64")
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
    ref, twin, x = build(layers, shape, "float64")
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
    ref, twin, x = build(layers, shape, "float32")
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
    ref, twin, x = build(layers, shape, "float64")
    wrong = nn.Sequential(OrderedDict((k, m) for k, m in ref._modules.items() if k != "4"))
    result = compare_network(wrong, twin, nn.MSELoss(), torch.nn.MSELoss(), x, losses("mse", classes, shape[0], "float64")[2])
    assert result.status == "failed" and result.failure.quantity == "output", str(result)


# --- decisions within rounding are reported ---------------------------------------------------

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


# --- Sequential: the chain rule, containers, state dicts ---------------------------------------

def test_sequential_backward_is_the_chain_rule_in_reverse():
    """Sequential.backward equals calling each child's backward in reverse order, bitwise."""
    name, layers, shape, classes = NETWORKS[0]
    a, _, x = build(layers, shape, "float64")
    b, _, _ = build(layers, shape, "float64")
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
    ref, twin, x1 = build(layers, shape, "float64")
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
    ref, twin, x = build(layers, shape, "float64")
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
    ref, twin, _ = build(layers, shape, "float32")
    state = ref.state_dict()
    assert list(state) == list(twin.state_dict()) == [
        "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"]
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key])
    # and back: torch's own initialisation loads into the reference
    torch.manual_seed(0)
    _, fresh, _ = build(layers, shape, "float32")
    ref.load_state_dict({k: v.numpy() for k, v in fresh.state_dict().items()})
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(ref.state_dict()[key], value.numpy())


def test_state_dict_refuses_a_network_with_a_missing_layer():
    name, layers, shape, classes = NETWORKS[0]
    ref, _, _ = build(layers, shape, "float32")
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


@pytest.mark.parametrize("dtype", DTYPES)
def test_smooth_network_twin(dtype):
    """Sigmoid and Tanh inside a network, with both losses."""
    layers = [("Conv1d", (2, 3, 3), dict(padding=1)), ("Tanh", (), {}), ("AvgPool1d", (2,), {}), ("Flatten", (), {}),
              ("Linear", (None, 4), {}), ("Sigmoid", (), {}), ("Linear", (4, 3), {})]
    ref, twin, x = build(layers, (4, 2, 8), dtype)
    for kind in ("mse", "cross_entropy"):
        result = compare_network(ref, twin, *_with_input(losses(kind, 3, 4, dtype), x))
        assert result.status == "passed" and result.ambiguous == {}, str(result)
        assert set(result.errors) == expected_quantities(ref)


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
