"""reference.nn's convolution modules against torch.nn: twins, state dicts, gradients, init, rejections."""
import warnings

import numpy as np
import pytest
import torch

from crosscheck.modules import compare_module
from reference import nn

DIMS = (1, 2, 3)
MODES = ("zeros", "reflect", "replicate", "circular")
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}
SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 6, 4)}


def ref_class(dims):
    return getattr(nn, f"Conv{dims}d")


def torch_class(dims):
    return getattr(torch.nn, f"Conv{dims}d")


def per_axis(value, dims):
    """Configurations are written for 3 axes; a 1-d or 2-d module takes the leading ones."""
    return tuple(value[:dims]) if isinstance(value, tuple) else value


# (id, in_channels, out_channels, kernel_size, keyword arguments, batch or None for unbatched, spatial override)
CONFIGS = [
    ("int-padding", 3, 4, (3, 2, 2), dict(padding=1), 2, None),
    ("tuple-stride-dilation", 2, 3, (3, 2, 3), dict(stride=(2, 1, 2), padding=(2, 1, 0), dilation=(1, 2, 1)), 2, None),
    ("same-asymmetric", 2, 3, (4, 2, 3), dict(padding="same", dilation=(1, 1, 2)), 1, None),
    ("valid-stride", 2, 3, (3, 2, 2), dict(padding="valid", stride=(1, 2, 2)), 2, None),
    ("groups-nobias", 4, 6, (2, 3, 2), dict(padding=(1, 0, 1), groups=2, bias=False), 2, None),
    ("depthwise", 3, 6, (3, 3, 2), dict(padding=1, groups=3), 2, None),
    ("unbatched", 2, 3, (3, 2, 2), dict(padding=(1, 2, 1)), None, None),
    ("empty-batch", 2, 3, (3, 2, 2), dict(padding=1), 0, None),
    # reflect needs pad < size and circular pad <= size: torch rejects both here, the others run
    ("pad-exceeds-input", 2, 3, (2, 2, 2), dict(padding=4), 1, (3, 3, 3)),
]


def build(dims, config, mode, dtype, seed=0):
    """The reference module, its torch twin (same constructor arguments) and an input."""
    _, c_in, c_out, kernel, kwargs, batch, spatial = config
    kwargs = {k: per_axis(v, dims) for k, v in kwargs.items()}
    kernel = per_axis(kernel, dims)
    ref = ref_class(dims)(c_in, c_out, kernel, padding_mode=mode, rng=np.random.default_rng(seed), dtype=dtype, **kwargs)
    twin = torch_class(dims)(c_in, c_out, kernel, padding_mode=mode, dtype=TORCH_DTYPES[dtype], **kwargs)
    shape = (() if batch is None else (batch,)) + (c_in,) + (SPATIAL[dims] if spatial is None else spatial[:dims])
    x = np.random.default_rng(seed + 1).standard_normal(shape).astype(dtype)
    return ref, twin, x


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_twin(config, dims, mode, dtype):
    ref, twin, x = build(dims, config, mode, dtype)
    result = compare_module(ref, twin, x, seed=dims)
    assert result.status == "passed", str(result)
    torch_rejects = config[0] == "pad-exceeds-input" and mode in ("reflect", "circular")
    assert result.rejected == torch_rejects, str(result)
    if not torch_rejects:
        expected = {"output", "grad_input", "grad_weight"} | ({"grad_bias"} if ref.bias is not None else set())
        assert set(result.errors) == expected


@pytest.mark.parametrize("dims", DIMS)
def test_padding_amounts_are_torchs(dims):
    for _, c_in, c_out, kernel, kwargs, _, _ in CONFIGS:
        kwargs = {k: per_axis(v, dims) for k, v in kwargs.items()}
        ref = ref_class(dims)(c_in, c_out, per_axis(kernel, dims), padding_mode="reflect", **kwargs)
        twin = torch_class(dims)(c_in, c_out, per_axis(kernel, dims), padding_mode="reflect", **kwargs)
        assert tuple(ref._reversed_padding_repeated_twice) == tuple(twin._reversed_padding_repeated_twice)


# --- the twin check itself must be able to fail -------------------------------------------

class _Conv2dWrongBackward(nn.Conv2d):
    def backward(self, grad_output):
        return 2 * super().backward(grad_output)


class _Conv2dWrongWeightGrad(nn.Conv2d):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.weight.grad = np.flip(self.weight.grad, axis=-1).copy()  # a kernel flip: the classic bug
        return grad_input


class _Conv2dSlightlyOff(nn.Conv2d):
    def forward(self, x):
        return super().forward(x) * (1 + 1e-9)


class _Conv2dModifiesInput(nn.Conv2d):
    def forward(self, x):
        y = super().forward(x)
        x[(0,) * x.ndim] += 1.0
        return y


def _twins(cls, dtype="float64", torch_kwargs=None, **kwargs):
    ref = cls(3, 4, (3, 2), padding=1, dtype=dtype, rng=0, **kwargs)
    twin = torch.nn.Conv2d(3, 4, (3, 2), padding=1, dtype=TORCH_DTYPES[dtype], **(torch_kwargs or kwargs))
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6)).astype(dtype)
    return ref, twin, x


@pytest.mark.parametrize(
    "cls, kwargs, torch_kwargs, quantity",
    [
        (nn.Conv2d, dict(padding_mode="reflect"), dict(padding_mode="zeros"), "output"),
        (_Conv2dSlightlyOff, {}, None, "output"),
        (_Conv2dWrongBackward, {}, None, "grad_input"),
        (_Conv2dWrongWeightGrad, {}, None, "grad_weight"),
        (nn.Conv2d, dict(bias=False), dict(bias=True), "state_dict"),
        (_Conv2dModifiesInput, {}, None, "input"),
    ],
    ids=["padding-mode", "relative-1e-9", "grad-input", "flipped-grad-weight", "keys", "modified-input"],
)
def test_compare_module_detects(cls, kwargs, torch_kwargs, quantity):
    ref, twin, x = _twins(cls, torch_kwargs=torch_kwargs, **kwargs)
    result = compare_module(ref, twin, x)
    assert result.status == "failed"
    assert result.failure.quantity == quantity, str(result)


def test_compare_module_detects_an_accepted_call_torch_rejects():
    class Lenient(nn.Conv2d):
        def forward(self, x):
            return super().forward(np.pad(x, [(0, 0)] * (x.ndim - 2) + [(2, 2), (2, 2)]))

    ref, twin, _ = _twins(Lenient, padding_mode="reflect")
    result = compare_module(ref, twin, np.zeros((1, 3, 1, 1)))
    assert result.rejected and result.status == "failed" and result.failure.quantity == "rejection"


# --- state dicts ---------------------------------------------------------------------------

@pytest.mark.parametrize("bias", (True, False))
@pytest.mark.parametrize("dims", DIMS)
def test_state_dict_loads_into_torch(dims, bias):
    ref = ref_class(dims)(4, 6, 2, groups=2, bias=bias, rng=1)
    twin = torch_class(dims)(4, 6, 2, groups=2, bias=bias)
    state = ref.state_dict()
    assert list(state) == list(twin.state_dict()) == (["weight", "bias"] if bias else ["weight"])
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    for key, value in twin.state_dict().items():
        assert np.array_equal(value.numpy(), state[key])
        assert value.dtype == torch.float32 and state[key].dtype == np.float32


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


# --- gradients ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_gradients_accumulate_like_torch(mode):
    ref, twin, x1 = build(2, CONFIGS[1], mode, "float64")
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(5)
    x2 = rng.standard_normal(x1.shape)
    grad_inputs = []
    for x in (x1, x2):
        y = ref(x)
        g = rng.standard_normal(y.shape)
        grad_inputs.append(ref.backward(g))
        xt = torch.from_numpy(x).requires_grad_()
        twin(xt).backward(torch.from_numpy(g))
        # the input gradient is this call's alone: it is returned, not accumulated
        np.testing.assert_allclose(grad_inputs[-1], xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ref.weight.grad, twin.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ref.bias.grad, twin.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_zero_grad():
    ref, _, x = build(2, CONFIGS[0], "zeros", "float64")
    y = ref(x)
    g = np.random.default_rng(3).standard_normal(y.shape)
    ref.backward(g)
    once = ref.weight.grad.copy()
    ref.zero_grad()
    assert ref.weight.grad is None and ref.bias.grad is None  # torch's default: set_to_none
    ref.backward(g)
    assert np.array_equal(ref.weight.grad, once)
    ref.zero_grad(set_to_none=False)
    assert ref.weight.grad.shape == ref.weight.data.shape and not ref.weight.grad.any()
    ref.backward(g)
    assert np.array_equal(ref.weight.grad, once)


def test_backward_before_forward_is_refused():
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Conv1d(2, 3, 2).backward(np.zeros((1, 3, 4), np.float32))


def test_backward_checks_grad_output_shape():
    ref = nn.Conv1d(2, 3, 2, padding_mode="circular", padding=1)
    y = ref(np.zeros((1, 2, 5), np.float32))
    with pytest.raises(ValueError, match="grad_output"):
        ref.backward(np.zeros(y.shape[:-1] + (y.shape[-1] + 1,), np.float32))


# --- initialisation -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "dims, c_in, c_out, kernel, groups",
    [(1, 4, 6, 5, 2), (2, 3, 8, (3, 2), 1), (2, 6, 6, 3, 6), (3, 2, 4, (2, 3, 2), 1)],
)
def test_init_bounds_match_torch(dims, c_in, c_out, kernel, groups):
    bound = 1 / np.sqrt(c_in // groups * np.prod(np.broadcast_to(kernel, (dims,))))
    ref = ref_class(dims)(c_in, c_out, kernel, groups=groups, rng=0, dtype=np.float64)
    twin = torch_class(dims)(c_in, c_out, kernel, groups=groups)
    assert ref.weight.data.shape == tuple(twin.weight.shape)
    for ours, theirs in ((ref.weight.data, twin.weight), (ref.bias.data, twin.bias)):
        assert np.abs(ours).max() <= bound and np.abs(theirs.detach().numpy()).max() <= bound
        assert np.unique(ours).size == ours.size  # drawn, not constant
    # uniform over the whole range: with >= 30 draws the largest is near the bound
    assert np.abs(ref.weight.data).max() > 0.8 * bound
    assert ref.weight.data.dtype == ref.bias.data.dtype == np.float64


def test_init_is_deterministic_given_the_rng():
    a, b = nn.Conv2d(3, 4, 3, rng=np.random.default_rng(7)), nn.Conv2d(3, 4, 3, rng=np.random.default_rng(7))
    assert np.array_equal(a.weight.data, b.weight.data) and np.array_equal(a.bias.data, b.bias.data)
    assert a.weight.data.dtype == np.float32
    shared = np.random.default_rng(7)
    c, d = nn.Conv2d(3, 4, 3, rng=shared), nn.Conv2d(3, 4, 3, rng=shared)
    assert np.array_equal(c.weight.data, a.weight.data)
    assert not np.array_equal(c.weight.data, d.weight.data)  # the generator moved on
    assert not np.array_equal(nn.Conv2d(3, 4, 3, rng=8).weight.data, a.weight.data)


# --- constructor rejections: parity with torch.nn ----------------------------------------

# (keyword overrides of Conv(4, 6, 3), the argument the message must name, where torch refuses:
# 'init' in the constructor, 'forward' on the first call, 'ok' never). A callable takes dims.
CONSTRUCTOR_CASES = [
    (dict(groups=0), "groups", "init"),
    (dict(groups=-1), "groups", "init"),
    (dict(groups=2.0), "groups", "init"),
    (dict(in_channels=3, groups=2), "in_channels", "init"),
    (dict(out_channels=3, groups=2), "out_channels", "init"),
    (dict(padding="foo"), "padding", "init"),
    (dict(padding="SAME"), "padding", "init"),
    (dict(padding="same", stride=2), "stride", "init"),
    (dict(padding="same", stride=lambda n: (1,) * (n - 1) + (2,)), "stride", "init"),
    (dict(padding_mode="zero"), "padding_mode", "init"),
    (dict(padding_mode="constant"), "padding_mode", "init"),
    (dict(padding_mode=None), "padding_mode", "init"),
    (dict(kernel_size=-1), "kernel_size", "init"),
    (dict(kernel_size=2.0), "kernel_size", "init"),
    (dict(in_channels=-1), "in_channels", "init"),
    (dict(out_channels=-2), "out_channels", "init"),
    (dict(in_channels=4.0), "in_channels", "init"),
    # torch builds these and refuses the first forward; the reference refuses them at once
    (dict(padding=-1), "padding", "forward"),
    (dict(padding=lambda n: (1,) * (n - 1) + (-1,)), "padding", "forward"),
    (dict(stride=0), "stride", "forward"),
    (dict(dilation=0), "dilation", "forward"),
    (dict(kernel_size=0), "kernel_size", "forward"),
    (dict(out_channels=0), "out_channels", "forward"),
    (dict(stride=1.5), "stride", "forward"),
    (dict(padding=1.5), "padding", "forward"),
    (dict(padding=None), "padding", "forward"),
    (dict(stride=None), "stride", "forward"),
    (dict(kernel_size=lambda n: (3,) * (n + 1)), "kernel_size", "forward"),
    (dict(padding=lambda n: (1,) * (n + 1)), "padding", "forward"),
    (dict(groups=True), "groups", "forward"),
    # accepted by both
    (dict(padding="valid", stride=2), None, "ok"),
    (dict(padding="same", padding_mode="reflect", dilation=2), None, "ok"),
    (dict(padding="same", padding_mode="circular", kernel_size=4), None, "ok"),
    (dict(dilation=(2,)), None, "ok"),
    (dict(padding=lambda n: [1] * n), None, "ok"),
    (dict(in_channels=4, out_channels=8, groups=4), None, "ok"),
    (dict(bias=False, padding_mode="replicate", padding=2), None, "ok"),
]


def _torch_stage(dims, kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Initializing zero-element tensors is a no-op"
            module = torch_class(dims)(**kwargs)
    except Exception:  # torch refuses with ValueError, TypeError or RuntimeError
        return "init"
    try:
        with torch.no_grad():
            module(torch.zeros((2, kwargs["in_channels"]) + (8,) * dims))
    except Exception:
        return "forward"
    return "ok"


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize(
    "overrides, name, stage", CONSTRUCTOR_CASES, ids=[f"{c[2]}-" + ",".join(f"{k}={'per-dims' if callable(v) else v}" for k, v in sorted(c[0].items())) + f"-{i}"
         for i, c in enumerate(CONSTRUCTOR_CASES)]
)
def test_constructor_parity_with_torch(dims, overrides, name, stage):
    kwargs = dict(in_channels=4, out_channels=6, kernel_size=3)
    kwargs.update({k: v(dims) if callable(v) else v for k, v in overrides.items()})
    assert _torch_stage(dims, kwargs) == stage, "torch no longer behaves as this table says"
    if stage == "ok":
        ref = ref_class(dims)(**kwargs)
        x = np.zeros((2, kwargs["in_channels"]) + (8,) * dims, np.float32)
        twin = torch_class(dims)(**kwargs)
        assert ref(x).shape == tuple(twin(torch.from_numpy(x)).shape)
        return
    with pytest.raises((ValueError, TypeError)) as info:
        ref_class(dims)(**kwargs)
    assert name in str(info.value)
    assert repr(kwargs[name]) in str(info.value) or str(kwargs[name]) in str(info.value)


def test_zero_in_channels_refused_like_the_functional_op():
    # torch builds it and returns a 0-channel output; reference.functional refuses C/groups = 0
    with pytest.raises(ValueError, match="in_channels=0"):
        nn.Conv2d(0, 3, 2)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128", "nonsense"])
def test_dtype_must_be_float32_or_float64(dtype):
    with pytest.raises(TypeError, match="dtype"):
        nn.Conv2d(2, 3, 2, dtype=dtype)


def test_forward_refuses_what_torch_refuses_at_call_time():
    ref = nn.Conv2d(3, 4, 2, padding=2, padding_mode="reflect")
    with pytest.raises(ValueError, match="reflect"):
        ref(np.zeros((1, 3, 2, 5), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        ref(np.zeros((1, 3, 5, 5), np.float64))
    with pytest.raises(ValueError, match="channels"):
        ref(np.zeros((1, 2, 5, 5), np.float32))
