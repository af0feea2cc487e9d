"""reference.nn.module: what every module inherits (state dicts, children, dtypes, init draws).

Tried through concrete layers (Conv2d, Conv1d, Linear, ConvTranspose*), since Module itself
computes nothing.
"""
import numpy as np
import pytest
import torch

from reference import nn


def test_state_dict_is_a_copy_and_torch_state_loads_back():
    ref = nn.Conv2d(2, 3, (2, 3), rng=0)
    ref.state_dict()["weight"][...] = 7.0
    assert not np.any(ref.weight.data == 7.0)
    twin = torch.nn.Conv2d(2, 3, (2, 3), dtype=torch.float64)
    ref.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()})
    assert ref.weight.data.dtype == np.float32  # cast to the parameter's dtype, as torch's copy_
    assert np.array_equal(ref.weight.data, twin.weight.detach().numpy().astype(np.float32))
    assert np.array_equal(ref.bias.data, twin.bias.detach().numpy().astype(np.float32))


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda d: d.pop("bias"), "bias"),
        (lambda d: d.update(running_mean=np.zeros(3, np.float32)), "running_mean"),
        (lambda d: d.update(weight=np.zeros((3, 2, 3, 2), np.float32)), "weight"),
        (lambda d: d.update(bias=np.zeros((4,), np.float32)), "bias"),
    ],
    ids=["missing", "unexpected", "weight-shape", "bias-shape"],
)
def test_load_state_dict_refuses_naming_the_key(change, key):
    ref = nn.Conv2d(2, 3, (2, 3), rng=0)
    before = ref.state_dict()
    state = ref.state_dict()
    state["weight"] = state["weight"] + 1  # would change the module if the load went halfway
    change(state)
    with pytest.raises(ValueError, match=key):
        ref.load_state_dict(state)
    for name, value in ref.state_dict().items():
        assert np.array_equal(value, before[name]), f"{name} changed by a refused load"


def test_load_state_dict_not_strict_skips_unknown_keys():
    ref = nn.Conv2d(2, 3, 2, rng=0)
    weight = np.full((3, 2, 2, 2), 0.5, np.float32)
    ref.load_state_dict({"weight": weight, "extra": np.zeros(1)}, strict=False)
    assert np.array_equal(ref.weight.data, weight)


def test_children_are_prefixed_like_torch_sequential():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("0", nn.Conv2d(1, 2, 3, rng=0))
            self.add_module("1", nn.Conv2d(2, 3, 1, bias=False, rng=1))

    pair = Pair()
    twin = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Conv2d(2, 3, 1, bias=False))
    assert list(pair.state_dict()) == list(twin.state_dict()) == ["0.weight", "0.bias", "1.weight"]
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in pair.state_dict().items()}, strict=True)
    assert [name for name, _ in pair.named_parameters()] == [name for name, _ in twin.named_parameters()]
    assert len(list(pair.parameters())) == 3


def test_backward_before_forward_is_refused():
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Conv1d(2, 3, 2).backward(np.zeros((1, 3, 4), np.float32))


def test_init_is_deterministic_given_the_rng():
    a, b = nn.Conv2d(3, 4, 3, rng=np.random.default_rng(7)), nn.Conv2d(3, 4, 3, rng=np.random.default_rng(7))
    assert np.array_equal(a.weight.data, b.weight.data) and np.array_equal(a.bias.data, b.bias.data)
    assert a.weight.data.dtype == np.float32
    shared = np.random.default_rng(7)
    c, d = nn.Conv2d(3, 4, 3, rng=shared), nn.Conv2d(3, 4, 3, rng=shared)
    assert np.array_equal(c.weight.data, a.weight.data)
    assert not np.array_equal(c.weight.data, d.weight.data)  # the generator moved on
    assert not np.array_equal(nn.Conv2d(3, 4, 3, rng=8).weight.data, a.weight.data)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128", "nonsense"])
def test_dtype_must_be_float32_or_float64(dtype):
    with pytest.raises(TypeError, match="dtype"):
        nn.Conv2d(2, 3, 2, dtype=dtype)


def test_init_is_deterministic_for_the_new_layers():
    for make in (lambda r: nn.Linear(5, 3, rng=r), lambda r: nn.ConvTranspose2d(2, 3, (2, 3), rng=r)):
        a, b, c = make(np.random.default_rng(4)), make(np.random.default_rng(4)), make(5)
        np.testing.assert_array_equal(a.weight.data, b.weight.data)
        np.testing.assert_array_equal(a.bias.data, b.bias.data)
        assert not np.array_equal(a.weight.data, c.weight.data) and a.weight.data.dtype == np.float32


@pytest.mark.parametrize("make", [lambda: nn.Linear(2, 3, dtype=np.int32), lambda: nn.ConvTranspose1d(2, 3, 2, dtype="float16")])
def test_new_layers_dtype_must_be_float32_or_float64(make):
    with pytest.raises(TypeError, match="dtype"):
        make()
