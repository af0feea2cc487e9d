"""reference.nn's modules against torch.nn: twins, state dicts, gradients, init, rejections.

The convolutions first, then the layers added with the network (transposed convolutions,
pooling, Linear, activations, Flatten, the losses). Every twin comparison uses the tolerance
of :mod:`crosscheck.networks.compare`, derived in :mod:`crosscheck.networks.bounds`: the proven
multilinear bound for Conv*, ConvTranspose*, Linear and Flatten, the layer-by-layer bound for
the others.
"""
import warnings

import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module
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
        # the input gradient is this call's alone: it is returned, not accumulated. Tolerance: float64
        # sums of a few dozen products in another order than torch's, (n + 1)·eps·Σ|terms| ≈ 1e-14 here;
        # a gradient accumulated over both calls would be off by O(1).
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


# =================================================================================================
# The layers of the network: transposed convolutions, pooling, Linear, activations, Flatten, losses
# =================================================================================================

DTYPES = tuple(TORCH_DTYPES)


def _input(shape, dtype, seed=0, scale=1.0):
    return np.asarray(scale * np.random.default_rng(seed).standard_normal(shape), dtype=dtype)


def _shape(batch, channels, dims, spatial=None):
    return (() if batch is None else (batch,)) + (channels,) + (SPATIAL[dims] if spatial is None else spatial[:dims])


def _assert_twin(result, expected, rejected=False):
    assert result.status == "passed", str(result)
    assert result.rejected == rejected, str(result)
    if not rejected:
        assert set(result.errors) == expected, str(result)
        assert result.ambiguous == {}, str(result)


# --- transposed convolution --------------------------------------------------------------------

# (id, in_channels, out_channels, kernel (3 axes), keyword arguments (3 axes), batch, input channels or None)
CT_CONFIGS = [
    ("basic", 3, 4, (3, 2, 2), {}, 2, None),
    ("stride-padding-output-padding", 2, 3, (3, 2, 3),
     dict(stride=(2, 3, 2), padding=(1, 0, 1), output_padding=(1, 2, 0)), 2, None),
    ("dilation-output-padding", 2, 3, (2, 3, 2), dict(dilation=(2, 1, 3), output_padding=(1, 0, 2)), 1, None),
    ("groups-nobias", 4, 6, (2, 3, 2), dict(groups=2, bias=False, stride=2), 2, None),
    ("depthwise", 3, 3, (3, 1, 2), dict(groups=3, padding=(1, 0, 0)), 2, None),
    ("unbatched", 2, 3, (2, 2, 3), dict(padding=(0, 1, 1)), None, None),
    ("empty-batch", 2, 3, (2, 2, 2), {}, 0, None),
    ("wrong-channels", 2, 3, (2, 2, 2), {}, 1, 3),  # both must refuse
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("config", CT_CONFIGS, ids=[c[0] for c in CT_CONFIGS])
def test_conv_transpose_twin(config, dims, dtype):
    name, c_in, c_out, kernel, kwargs, batch, channels = config
    kwargs = {k: per_axis(v, dims) for k, v in kwargs.items()}
    kernel = per_axis(kernel, dims)
    ref = getattr(nn, f"ConvTranspose{dims}d")(c_in, c_out, kernel, rng=dims, dtype=dtype, **kwargs)
    twin = getattr(torch.nn, f"ConvTranspose{dims}d")(c_in, c_out, kernel, dtype=TORCH_DTYPES[dtype], **kwargs)
    x = _input(_shape(batch, channels or c_in, dims), dtype, seed=dims)
    result = compare_module(ref, twin, x, seed=dims)
    expected = {"output", "grad_input", "grad_weight"} | ({"grad_bias"} if ref.bias is not None else set())
    _assert_twin(result, expected, rejected=name == "wrong-channels")


@pytest.mark.parametrize("dims", DIMS)
def test_conv_transpose_output_size_like_torch(dims):
    """Every output_size torch allows (given as the spatial sizes, or with batch and channels)
    gives torch's output shape and values; sizes outside torch's range are refused naming
    output_size."""
    stride, kernel = per_axis((2, 3, 2), dims), per_axis((3, 2, 2), dims)
    ref = getattr(nn, f"ConvTranspose{dims}d")(2, 3, kernel, stride=stride, padding=1, rng=0, dtype="float64")
    twin = getattr(torch.nn, f"ConvTranspose{dims}d")(2, 3, kernel, stride=stride, padding=1, dtype=torch.float64)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()})
    x = _input(_shape(2, 2, dims, (4, 3, 5)), "float64")
    smallest = [(n - 1) * s - 2 + k for n, s, k in zip(x.shape[2:], stride, kernel)]
    for extra in range(max(stride)):
        size = [m + min(extra, s - 1) for m, s in zip(smallest, stride)]
        for given in (size, [2, 3] + size):
            want = twin(torch.from_numpy(x), output_size=given).detach().numpy()
            got = ref(x, output_size=given)
            assert got.shape == want.shape
            # same products, summed in a different order: float64 rounding, ≤ (n + 1)·eps·Σ|terms|
            # with n ≤ 2·3·2 = 12 terms of size ≤ 3 here, so 1e-13 absolute is a generous bound
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
    too_big = [m + s for m, s in zip(smallest, stride)]
    with pytest.raises(ValueError):
        twin(torch.from_numpy(x), output_size=too_big)
    with pytest.raises(ValueError, match="output_size"):
        ref(x, output_size=too_big)
    with pytest.raises(ValueError, match="output_size"):
        ref(x, output_size=smallest[:-1])


@pytest.mark.parametrize(
    "dims, c_in, c_out, kernel, groups",
    [(1, 2, 8, 5, 1), (2, 3, 8, (3, 2), 1), (2, 6, 4, 3, 2), (3, 2, 6, (2, 3, 2), 2)],
)
def test_conv_transpose_init_bounds_match_torch(dims, c_in, c_out, kernel, groups):
    """torch's kaiming_uniform_(a=√5) bound is 1/√fan_in with fan_in computed from the weight's
    layout, weight.shape[1]·Πk = C_out/groups·Πk for a transposed weight: checked against torch's
    own fan-in function, and against torch's draws (within the bound, and reaching close to it)."""
    ref = getattr(nn, f"ConvTranspose{dims}d")(c_in, c_out, kernel, groups=groups, rng=0, dtype=np.float64)
    twin = getattr(torch.nn, f"ConvTranspose{dims}d")(c_in, c_out, kernel, groups=groups)
    kernel = tuple(int(k) for k in np.broadcast_to(kernel, (dims,)))
    assert ref.weight.data.shape == tuple(twin.weight.shape) == (c_in, c_out // groups) + kernel
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(twin.weight)
    assert fan_in == c_out // groups * int(np.prod(kernel))
    bound = 1 / np.sqrt(fan_in)
    for ours, theirs in ((ref.weight.data, twin.weight), (ref.bias.data, twin.bias)):
        assert np.abs(ours).max() <= bound and np.abs(theirs.detach().numpy()).max() <= bound
        assert np.unique(ours).size == ours.size
    # ≥ 40 uniform draws: the largest is near the bound (P(all < 0.8·bound) = 0.8^40 < 1e-3)
    assert np.abs(ref.weight.data).max() > 0.8 * bound
    assert np.abs(twin.weight.detach().numpy()).max() > 0.8 * bound


def test_conv_transpose_state_dict_loads_into_torch():
    ref = nn.ConvTranspose2d(4, 6, (2, 3), groups=2, rng=1)
    twin = torch.nn.ConvTranspose2d(4, 6, (2, 3), groups=2)
    assert list(ref.state_dict()) == list(twin.state_dict()) == ["weight", "bias"]
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()}, strict=True)
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), ref.state_dict()[key])


# --- pooling -----------------------------------------------------------------------------------

# (id, kernel (3 axes), keyword arguments (3 axes), batch); the input is (batch, 3, *SPATIAL)
MAX_CONFIGS = [
    ("kernel", (3, 2, 2), {}, 2),
    ("stride-padding", (3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 1, 1)), 2),
    ("dilation-ceil", (2, 3, 2), dict(stride=2, dilation=(2, 1, 2), ceil_mode=True), 1),
    ("overlapping", (3, 3, 2), dict(stride=1, padding=1), 2),
    ("indices", (2, 2, 2), dict(return_indices=True), 2),
    ("unbatched", (2, 3, 2), dict(stride=1), None),
    ("empty-batch", (2, 2, 2), {}, 0),
    ("kernel-too-big", (10, 10, 10), {}, 1),  # both must refuse: no output position
]

AVG_CONFIGS = [
    ("kernel", (3, 2, 2), {}, 2),
    ("stride-padding", (3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 1, 1)), 2),
    ("exclude-pad-ceil", (3, 2, 2), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), 1),
    ("overlapping", (3, 3, 2), dict(stride=1, padding=1), 2),
    ("divisor", (2, 2, 2), dict(divisor_override=3), 2),  # 2-d and 3-d only, as in torch
    ("unbatched", (2, 3, 2), dict(stride=1), None),
    ("empty-batch", (2, 2, 2), {}, 0),
    ("kernel-too-big", (10, 10, 10), {}, 1),
]


POOL_CASES = [
    pytest.param(kind, config, dims, id=f"{kind.lower()}-{config[0]}-{dims}d")
    for kind, configs in (("Max", MAX_CONFIGS), ("Avg", AVG_CONFIGS))
    for config in configs
    for dims in DIMS
    if not (dims == 1 and "divisor_override" in config[2])  # AvgPool1d has no divisor_override, in torch as here
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, config, dims", POOL_CASES)
def test_pool_twin(kind, config, dims, dtype):
    name, kernel, kwargs, batch = config
    kwargs = {k: per_axis(v, dims) for k, v in kwargs.items()}
    ref = getattr(nn, f"{kind}Pool{dims}d")(per_axis(kernel, dims), **kwargs)
    twin = getattr(torch.nn, f"{kind}Pool{dims}d")(per_axis(kernel, dims), **kwargs)
    x = _input(_shape(batch, 3, dims), dtype, seed=dims)
    result = compare_module(ref, twin, x, seed=dims)
    expected = {"output", "grad_input"} | ({"indices"} if kwargs.get("return_indices") else set())
    _assert_twin(result, expected, rejected=name == "kernel-too-big")


def test_max_pool_return_indices_like_torch():
    ref, twin = nn.MaxPool2d((2, 3), return_indices=True), torch.nn.MaxPool2d((2, 3), return_indices=True)
    x = _input((2, 3, 6, 7), "float64")
    y, index = ref(x)
    ty, tindex = twin(torch.from_numpy(x))
    np.testing.assert_array_equal(y, ty.numpy())  # a copy of input entries: exact
    np.testing.assert_array_equal(index, tindex.numpy())
    assert index.dtype == np.int64
    assert ref.backward(np.ones_like(y)).shape == x.shape  # the gradient of the output, not the indices


def test_pool_stride_defaults_to_the_kernel():
    assert nn.MaxPool2d((2, 3)).stride == (2, 3) and nn.AvgPool1d(4, stride=()).stride == (4,)
    assert nn.AvgPool3d(2, stride=1).stride == (1, 1, 1)


# --- Linear, activations, Flatten --------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", (True, False))
@pytest.mark.parametrize("shape", [(5, 7), (7,), (2, 3, 7), (0, 7)], ids=["batch", "unbatched", "3-d", "empty"])
def test_linear_twin(shape, bias, dtype):
    ref = nn.Linear(7, 4, bias=bias, rng=2, dtype=dtype)
    twin = torch.nn.Linear(7, 4, bias=bias, dtype=TORCH_DTYPES[dtype])
    result = compare_module(ref, twin, _input(shape, dtype), seed=3)
    _assert_twin(result, {"output", "grad_input", "grad_weight"} | ({"grad_bias"} if bias else set()))


def test_linear_rejects_what_torch_rejects_at_call_time():
    ref = nn.Linear(3, 2, rng=0)
    assert compare_module(ref, torch.nn.Linear(3, 2), _input((4, 5), "float32")).rejected


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


def test_init_is_deterministic_for_the_new_layers():
    for make in (lambda r: nn.Linear(5, 3, rng=r), lambda r: nn.ConvTranspose2d(2, 3, (2, 3), rng=r)):
        a, b, c = make(np.random.default_rng(4)), make(np.random.default_rng(4)), make(5)
        np.testing.assert_array_equal(a.weight.data, b.weight.data)
        np.testing.assert_array_equal(a.bias.data, b.bias.data)
        assert not np.array_equal(a.weight.data, c.weight.data) and a.weight.data.dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["ReLU", "Sigmoid", "Tanh"])
@pytest.mark.parametrize("shape, scale", [((2, 3, 4), 1.0), ((5, 6), 8.0), ((), 1.0), ((0, 3), 1.0)],
                         ids=["3-d", "saturating", "0-d", "empty"])
def test_activation_twin(name, shape, scale, dtype):
    result = compare_module(getattr(nn, name)(), getattr(torch.nn, name)(), _input(shape, dtype, scale=scale), seed=1)
    _assert_twin(result, {"output", "grad_input"})


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
    result = compare_module(ref, twin, _input(shape, dtype), seed=2)
    _assert_twin(result, {"output", "grad_input"})


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


# --- losses ------------------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum", "none")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 5), (3, 2, 6), (7,)])
def test_mse_loss_twin(shape, reduction, dtype):
    ref, twin = nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction)
    result = compare_module(ref, twin, _input(shape, dtype), seed=5, target=_input(shape, dtype, seed=1))
    _assert_twin(result, {"loss", "grad_input"})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, target", [
    ((4, 5), np.array([0, 4, 2, 2])),
    ((5,), np.array(3)),  # unbatched
    ((3, 4, 2, 3), np.arange(18).reshape(3, 2, 3) % 4),  # classes on axis 1, spatial targets
    ((4, 3), np.array([1, -100, 0, 2])),  # torch's ignore_index
], ids=["batch", "unbatched", "spatial", "ignore-index"])
def test_cross_entropy_loss_twin(shape, target, reduction, dtype):
    ref, twin = nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction)
    result = compare_module(ref, twin, _input(shape, dtype, scale=3.0), seed=6, target=target)
    _assert_twin(result, {"loss", "grad_input"})


def test_loss_refuses_a_bad_target_like_torch():
    result = compare_module(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), _input((4, 3), "float32"),
                            target=np.array([0, 1, 3, 1]))
    assert result.status == "passed" and result.rejected, str(result)


def test_loss_backward_default_is_loss_backward():
    """backward() with no argument is torch's loss.backward(): an upstream gradient of 1 (exact
    agreement is not expected: tolerance 1e-12 relative for a float64 gradient of a few terms)."""
    x, target = _input((3, 4), "float64"), np.array([0, 3, 1])
    for ref, twin, t in ((nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), target),
                         (nn.MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum"), _input((3, 4), "float64", 1))):
        ref(x, t)
        xt = torch.from_numpy(x).requires_grad_()
        twin(xt, torch.from_numpy(t)).backward()
        # float64, a softmax or a difference per entry then one scaling: a few ulps, far inside 1e-12
        np.testing.assert_allclose(ref.backward(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ref.backward(2.0), 2 * xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_loss_backward_needs_an_array_without_reduction():
    loss = nn.MSELoss(reduction="none")
    loss(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="grad_output"):
        loss.backward()
    np.testing.assert_array_equal(loss.backward(np.ones(3)), -2 * np.ones(3))
    mean = nn.MSELoss()
    mean(np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="grad_output"):
        mean.backward("1")


def test_loss_reduction_is_checked_at_construction():
    with pytest.raises(ValueError):
        torch.nn.MSELoss(reduction="avg")(torch.zeros(2), torch.zeros(2))
    for cls in (nn.MSELoss, nn.CrossEntropyLoss):
        with pytest.raises(ValueError, match="reduction"):
            cls(reduction="avg")
    # positional order is torch's: (size_average, reduce, reduction) and (weight, size_average, ...)
    assert nn.MSELoss(None, None, "sum").reduction == "sum"
    assert nn.CrossEntropyLoss(None, None, -100, None, "none").reduction == "none"


@pytest.mark.parametrize("kwargs, name", [
    (dict(weight=np.ones(3)), "weight"), (dict(ignore_index=0), "ignore_index"),
    (dict(label_smoothing=0.1), "label_smoothing"), (dict(size_average=True), "size_average"),
    (dict(reduce=False), "reduce"),
])
def test_cross_entropy_options_not_implemented_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        nn.CrossEntropyLoss(**kwargs)


# --- constructor rejections of the new layers: parity with torch.nn ---------------------------

def _stage(make, x):
    """Where torch refuses: 'init', 'forward' or 'ok'."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = make()
    except Exception:  # torch refuses with ValueError, TypeError or RuntimeError
        return "init"
    try:
        with torch.no_grad():
            module(x)
    except Exception:
        return "forward"
    return "ok"


def _check_parity(make_torch, make_ref, kwargs, name, stage, x):
    assert _stage(lambda: make_torch(**kwargs), torch.from_numpy(x)) == stage, "torch no longer behaves as this table says"
    if stage == "ok":
        assert make_ref(**kwargs)(x) is not None
        return
    with pytest.raises((ValueError, TypeError)) as info:
        make_ref(**kwargs)
    assert name in str(info.value)
    assert repr(kwargs[name]) in str(info.value) or str(kwargs[name]) in str(info.value)


CT_CONSTRUCTOR_CASES = [
    (dict(groups=0), "groups", "init"),
    (dict(groups=4), "out_channels", "init"),
    (dict(in_channels=3, groups=2), "in_channels", "init"),
    (dict(padding_mode="reflect"), "padding_mode", "init"),
    (dict(padding_mode="zero"), "padding_mode", "init"),
    (dict(kernel_size=2.0), "kernel_size", "init"),
    (dict(groups=2.0), "groups", "init"),
    # torch builds these and refuses the first forward; the reference refuses them at once
    (dict(padding="same"), "padding", "forward"),
    (dict(padding=-1), "padding", "forward"),
    (dict(padding=1.5), "padding", "forward"),
    (dict(output_padding=1), "output_padding", "forward"),
    (dict(output_padding=2, stride=2), "output_padding", "forward"),
    (dict(output_padding=-1), "output_padding", "forward"),
    (dict(stride=0), "stride", "forward"),
    (dict(stride=1.5), "stride", "forward"),
    (dict(dilation=0), "dilation", "forward"),
    (dict(kernel_size=0), "kernel_size", "forward"),
    (dict(out_channels=0), "out_channels", "forward"),
    (dict(in_channels=0), "in_channels", "forward"),
    # accepted by both
    (dict(output_padding=1, stride=2), None, "ok"),
    (dict(output_padding=1, dilation=2), None, "ok"),
    (dict(in_channels=4, out_channels=8, groups=4, bias=False), None, "ok"),
]


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("overrides, name, stage", CT_CONSTRUCTOR_CASES,
                         ids=[f"{c[2]}-" + ",".join(f"{k}={v}" for k, v in sorted(c[0].items())) for c in CT_CONSTRUCTOR_CASES])
def test_conv_transpose_constructor_parity(dims, overrides, name, stage):
    kwargs = dict(in_channels=4, out_channels=6, kernel_size=3)
    kwargs.update(overrides)
    x = np.zeros((2, max(kwargs["in_channels"], 1)) + (6,) * dims, np.float32)
    _check_parity(getattr(torch.nn, f"ConvTranspose{dims}d"), getattr(nn, f"ConvTranspose{dims}d"), kwargs, name, stage, x)


POOL_CONSTRUCTOR_CASES = [
    # torch builds every one of these and refuses the first forward
    (dict(kernel_size=0), "kernel_size", "forward"),
    (dict(kernel_size=-1), "kernel_size", "forward"),
    (dict(kernel_size=2.0), "kernel_size", "forward"),
    (dict(kernel_size=(2,) * 4), "kernel_size", "forward"),
    (dict(stride=0), "stride", "forward"),
    (dict(stride=2.0), "stride", "forward"),
    (dict(kernel_size=3, padding=2), "padding", "forward"),
    (dict(padding=-1), "padding", "forward"),
    (dict(ceil_mode=1), "ceil_mode", "forward"),
    (dict(stride=()), None, "ok"),
    (dict(kernel_size=[3], stride=[2], padding=(1,)), None, "ok"),
    (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), None, "ok"),
]
MAX_ONLY = [
    (dict(dilation=0), "dilation", "forward"),
    (dict(kernel_size=3, padding=1, dilation=2), None, "ok"),
    (dict(return_indices=1), None, "ok"),
]
AVG_ONLY = [
    (dict(count_include_pad=1), "count_include_pad", "forward"),
    (dict(divisor_override=0), "divisor_override", "forward"),
    (dict(divisor_override=2.0), "divisor_override", "forward"),
    (dict(divisor_override=-2), None, "ok"),
]


POOL_CONSTRUCTOR_PARAMS = [
    pytest.param(kind, overrides, name, stage, dims, id=f"{kind.lower()}-{stage}-{i}-{dims}d")
    for kind, cases in (("Max", POOL_CONSTRUCTOR_CASES + MAX_ONLY), ("Avg", POOL_CONSTRUCTOR_CASES + AVG_ONLY))
    for i, (overrides, name, stage) in enumerate(cases)
    for dims in DIMS
    if not (dims == 1 and "divisor_override" in overrides)  # AvgPool1d has no divisor_override, in torch as here
]


@pytest.mark.parametrize("kind, overrides, name, stage, dims", POOL_CONSTRUCTOR_PARAMS)
def test_pool_constructor_parity(kind, overrides, name, stage, dims):
    kwargs = dict(kernel_size=2)
    kwargs.update(overrides)
    x = np.zeros((2, 3) + (8,) * dims, np.float32)
    _check_parity(getattr(torch.nn, f"{kind}Pool{dims}d"), getattr(nn, f"{kind}Pool{dims}d"), kwargs, name, stage, x)


@pytest.mark.parametrize("kwargs, name, stage", [
    (dict(in_features=-1, out_features=2), "in_features", "init"),
    (dict(in_features=3, out_features=-1), "out_features", "init"),
    (dict(in_features=3.0, out_features=2), "in_features", "init"),
    (dict(in_features=3, out_features=0), None, "ok"),
])
def test_linear_constructor_parity(kwargs, name, stage):
    x = np.zeros((2, 3), np.float32)
    _check_parity(torch.nn.Linear, nn.Linear, kwargs, name, stage, x)


def test_linear_refuses_a_bool_feature_count():
    # a deliberate deviation: torch takes True as 1; a bool is never meant as a size
    with pytest.raises(TypeError, match="in_features"):
        nn.Linear(True, 2)


@pytest.mark.parametrize("make", [lambda: nn.Linear(2, 3, dtype=np.int32), lambda: nn.ConvTranspose1d(2, 3, 2, dtype="float16")])
def test_new_layers_dtype_must_be_float32_or_float64(make):
    with pytest.raises(TypeError, match="dtype"):
        make()


# --- the twin check catches bugs in the new layers --------------------------------------------

class _ReLUPassesEverything(nn.ReLU):
    def backward(self, grad_output):
        self._saved()
        return grad_output.copy()


class _ReLUAliasesTheUpstream(nn.ReLU):
    def backward(self, grad_output):
        (x,) = self._saved()
        return grad_output if (x > 0).all() else super().backward(grad_output)  # right values, shared memory


class _MaxPoolShiftedGradient(nn.MaxPool2d):
    def backward(self, grad_output):
        return np.roll(super().backward(grad_output), 1, axis=-1)


class _AvgPoolIgnoresPadding(nn.AvgPool2d):
    def forward(self, x):
        self.count_include_pad = not self.count_include_pad
        try:
            return super().forward(x)
        finally:
            self.count_include_pad = not self.count_include_pad


class _SigmoidSlopeFromInput(nn.Sigmoid):
    def backward(self, grad_output):
        (x,) = self._saved()
        y = 1 / (1 + np.exp(-x))
        return grad_output * y  # forgets the (1 − y)


class _TanhInHalfPrecision(nn.Tanh):
    def forward(self, x):
        return super().forward(x).astype(np.float16).astype(x.dtype)


class _MSEWithoutTheTwo(nn.MSELoss):
    def backward(self, grad_output=1.0):
        return super().backward(grad_output) / 2


class _CrossEntropyForgetsTheMean(nn.CrossEntropyLoss):
    def backward(self, grad_output=1.0):
        input, _ = self._saved()
        return super().backward(grad_output) * input.shape[0]


class _CrossEntropySlightlyOff(nn.CrossEntropyLoss):
    def forward(self, input, target):
        return super().forward(input, target) * (1 + 1e-9)


class _ConvTransposeFlippedWeightGrad(nn.ConvTranspose2d):
    def backward(self, grad_output):
        grad = super().backward(grad_output)
        self.weight.grad = np.flip(self.weight.grad, axis=-1).copy()
        return grad


class _ConvTransposeIgnoresOutputPadding(nn.ConvTranspose2d):
    def forward(self, x, output_size=None):
        saved, self.output_padding = self.output_padding, (0, 0)
        try:
            return super().forward(x, output_size)
        finally:
            self.output_padding = saved


class _FlattenTransposed(nn.Flatten):
    def backward(self, grad_output):
        shape, _ = self._saved()
        return grad_output.reshape(shape[:1] + shape[:0:-1]).transpose(0, *range(len(shape) - 1, 0, -1)).copy()


class _LinearSlightlyOff(nn.Linear):
    def forward(self, x):
        return super().forward(x) * (1 + 1e-9)


X4 = _input((2, 3, 6, 7), "float64")
LOGITS = _input((4, 5), "float64", scale=2.0)
MUTANTS = [
    ("relu", _ReLUPassesEverything(), torch.nn.ReLU(), X4, None, "grad_input"),
    ("relu-aliases-upstream", _ReLUAliasesTheUpstream(), torch.nn.ReLU(), np.abs(X4) + 0.5, None, "grad_input"),
    ("maxpool", _MaxPoolShiftedGradient(2), torch.nn.MaxPool2d(2), X4, None, "grad_input"),
    ("avgpool", _AvgPoolIgnoresPadding(3, padding=1), torch.nn.AvgPool2d(3, padding=1), X4, None, "output"),
    ("sigmoid", _SigmoidSlopeFromInput(), torch.nn.Sigmoid(), X4, None, "grad_input"),
    ("tanh-float16", _TanhInHalfPrecision(), torch.nn.Tanh(), X4, None, "output"),
    ("mse", _MSEWithoutTheTwo(), torch.nn.MSELoss(), LOGITS, _input((4, 5), "float64", 1), "grad_input"),
    ("cross-entropy-mean", _CrossEntropyForgetsTheMean(), torch.nn.CrossEntropyLoss(), LOGITS, np.array([0, 1, 4, 2]),
     "grad_input"),
    ("cross-entropy-1e-9", _CrossEntropySlightlyOff(), torch.nn.CrossEntropyLoss(), LOGITS, np.array([0, 1, 4, 2]), "loss"),
    ("conv-transpose-grad", _ConvTransposeFlippedWeightGrad(3, 2, (2, 3), rng=0, dtype="float64"),
     torch.nn.ConvTranspose2d(3, 2, (2, 3), dtype=torch.float64), X4, None, "grad_weight"),
    ("conv-transpose-output-padding", _ConvTransposeIgnoresOutputPadding(3, 2, 2, stride=2, output_padding=1, rng=0, dtype="float64"),
     torch.nn.ConvTranspose2d(3, 2, 2, stride=2, output_padding=1, dtype=torch.float64), X4, None, "output"),
    ("flatten", _FlattenTransposed(), torch.nn.Flatten(), X4, None, "grad_input"),
    ("linear-1e-9", _LinearSlightlyOff(7, 3, rng=0, dtype="float64"), torch.nn.Linear(7, 3, dtype=torch.float64), X4, None,
     "output"),
]


@pytest.mark.parametrize("ref, twin, x, target, quantity", [m[1:] for m in MUTANTS], ids=[m[0] for m in MUTANTS])
def test_compare_module_detects_bugs_in_the_new_layers(ref, twin, x, target, quantity):
    result = compare_module(ref, twin, x, target=target)
    assert result.status == "failed" and result.failure.quantity == quantity, str(result)
