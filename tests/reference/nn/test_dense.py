"""reference.nn.dense against torch.nn: Linear, ReLU, Sigmoid, Tanh and Flatten.

Linear and Flatten are held to the proven multilinear bound, the activations to the
layer-by-layer bound (:mod:`crosscheck.networks.bounds`).
"""
import warnings

import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module
from reference import nn
from tests.helpers.twins import (
    DTYPES,
    TORCH_DTYPES,
    assert_twin,
    check_constructor_parity,
    random_input,
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", (True, False))
@pytest.mark.parametrize("shape", [(5, 7), (7,), (2, 3, 7), (0, 7)], ids=["batch", "unbatched", "3-d", "empty"])
def test_linear_twin(shape, bias, dtype):
    ref = nn.Linear(7, 4, bias=bias, rng=2, dtype=dtype)
    twin = torch.nn.Linear(7, 4, bias=bias, dtype=TORCH_DTYPES[dtype])
    result = compare_module(ref, twin, random_input(shape, dtype), seed=3)
    assert_twin(result, {"output", "grad_input", "grad_weight"} | ({"grad_bias"} if bias else set()))


def test_linear_rejects_what_torch_rejects_at_call_time():
    ref = nn.Linear(3, 2, rng=0)
    assert compare_module(ref, torch.nn.Linear(3, 2), random_input((4, 5), "float32")).rejected


@pytest.mark.parametrize("in_features, out_features", [(10, 3), (1, 40), (64, 2)])
def test_linear_init_bounds_match_torch(in_features, out_features):
    """torch: weight and bias from U(±1/√in_features) (kaiming_uniform_(a=√5) and the bias rule),
    checked against torch's fan-in function and its draws."""
    ref = nn.Linear(in_features, out_features, rng=0, dtype=np.float64)
    twin = torch.nn.Linear(in_features, out_features)
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(twin.weight)
    assert fan_in == in_features and ref.weight.data.shape == tuple(twin.weight.shape)
    bound = 1 / np.sqrt(in_features)
    for ours, theirs in ((ref.weight.data, twin.weight), (ref.bias.data, twin.bias)):
        assert np.abs(ours).max() <= bound and np.abs(theirs.detach().numpy()).max() <= bound
    assert np.abs(ref.weight.data).max() > 0.8 * bound  # ≥ 30 draws: P(miss) = 0.8^30 < 1.3e-3
    assert np.abs(twin.weight.detach().numpy()).max() > 0.8 * bound


def test_linear_without_inputs_is_torchs():
    """No input features: torch draws nothing for the weight and its bias bound is 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "Initializing zero-element tensors is a no-op"
        ref, twin = nn.Linear(0, 3, rng=0), torch.nn.Linear(0, 3)
    assert ref.weight.data.shape == (3, 0) and not ref.bias.data.any() and not twin.bias.detach().any()
    np.testing.assert_array_equal(ref(np.zeros((2, 0), np.float32)), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["ReLU", "Sigmoid", "Tanh"])
@pytest.mark.parametrize("shape, scale", [((2, 3, 4), 1.0), ((5, 6), 8.0), ((), 1.0), ((0, 3), 1.0)],
                         ids=["3-d", "saturating", "0-d", "empty"])
def test_activation_twin(name, shape, scale, dtype):
    result = compare_module(getattr(nn, name)(), getattr(torch.nn, name)(), random_input(shape, dtype, scale=scale), seed=1)
    assert_twin(result, {"output", "grad_input"})


def test_relu_inplace_leaves_the_input_alone():
    x = np.array([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    np.testing.assert_array_equal(y, [0.0, 2.0])
    np.testing.assert_array_equal(x, [-1.0, 2.0])
    assert repr(nn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("start, end, shape", [
    (1, -1, (2, 3, 4, 5)), (0, -1, (2, 3, 4)), (1, 2, (2, 3, 4, 5)), (-3, -2, (2, 3, 4, 5)),
    (2, 2, (2, 3, 4)), (0, 0, ()), (-1, -1, ()), (1, -1, (0, 3, 4)),
])
def test_flatten_twin(start, end, shape, dtype):
    ref, twin = nn.Flatten(start, end), torch.nn.Flatten(start, end)
    result = compare_module(ref, twin, random_input(shape, dtype), seed=2)
    assert_twin(result, {"output", "grad_input"})


@pytest.mark.parametrize("start, end, shape, name", [
    (3, -1, (2, 3, 4), "start_dim"), (1, 5, (2, 3, 4), "end_dim"), (2, 1, (2, 3, 4), "start_dim"),
    (1, -1, (5,), "start_dim"), (1, -1, (), "start_dim"),
])
def test_flatten_refuses_what_torch_refuses(start, end, shape, name):
    with pytest.raises((IndexError, RuntimeError)):
        torch.nn.Flatten(start, end)(torch.zeros(shape))
    with pytest.raises(ValueError, match=name):
        nn.Flatten(start, end)(np.zeros(shape))
    assert compare_module(nn.Flatten(start, end), torch.nn.Flatten(start, end), np.zeros(shape)).rejected


def test_flatten_backward_checks_the_gradient_shape():
    flat = nn.Flatten()
    y = flat(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="grad_output"):
        flat.backward(np.zeros(y.shape[:-1] + (y.shape[-1] + 1,)))


@pytest.mark.parametrize("kwargs, name, stage", [
    (dict(in_features=-1, out_features=2), "in_features", "init"),
    (dict(in_features=3, out_features=-1), "out_features", "init"),
    (dict(in_features=3.0, out_features=2), "in_features", "init"),
    (dict(in_features=3, out_features=0), None, "ok"),
])
def test_linear_constructor_parity(kwargs, name, stage):
    x = np.zeros((2, 3), np.float32)
    check_constructor_parity(torch.nn.Linear, nn.Linear, kwargs, name, stage, x)


def test_linear_refuses_a_bool_feature_count():
    # a deliberate deviation: torch takes True as 1; a bool is never meant as a size
    with pytest.raises(TypeError, match="in_features"):
        nn.Linear(True, 2)
