"""reference.nn.conv against torch.nn: Conv1d/2d/3d and ConvTranspose1d/2d/3d.

Twins (output, input gradient, weight and bias gradients), state dicts, accumulated gradients,
initialisation bounds and constructor refusals, each against the torch module built with the
same arguments. Every twin comparison uses the tolerance of :mod:`crosscheck.networks.compare`,
derived in :mod:`crosscheck.networks.bounds`: the proven multilinear bound for these layers.
"""
import warnings

import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module
from reference import nn
from tests.helpers.twins import (
    DIMS,
    DTYPES,
    SPATIAL,
    TORCH_DTYPES,
    assert_twin,
    check_constructor_parity,
    input_shape,
    per_axis,
    random_input,
)


MODES = ("zeros", "reflect", "replicate", "circular")
def ref_class(dims):
    return getattr(nn, f"Conv{dims}d")


def torch_class(dims):
    return getattr(torch.nn, f"Conv{dims}d")


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


def test_backward_checks_grad_output_shape():
    ref = nn.Conv1d(2, 3, 2, padding_mode="circular", padding=1)
    y = ref(np.zeros((1, 2, 5), np.float32))
    with pytest.raises(ValueError, match="grad_output"):
        ref.backward(np.zeros(y.shape[:-1] + (y.shape[-1] + 1,), np.float32))


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


def test_forward_refuses_what_torch_refuses_at_call_time():
    ref = nn.Conv2d(3, 4, 2, padding=2, padding_mode="reflect")
    with pytest.raises(ValueError, match="reflect"):
        ref(np.zeros((1, 3, 2, 5), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        ref(np.zeros((1, 3, 5, 5), np.float64))
    with pytest.raises(ValueError, match="channels"):
        ref(np.zeros((1, 2, 5, 5), np.float32))


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
    x = random_input(input_shape(batch, channels or c_in, dims), dtype, seed=dims)
    result = compare_module(ref, twin, x, seed=dims)
    expected = {"output", "grad_input", "grad_weight"} | ({"grad_bias"} if ref.bias is not None else set())
    assert_twin(result, expected, rejected=name == "wrong-channels")


@pytest.mark.parametrize("dims", DIMS)
def test_conv_transpose_output_size_like_torch(dims):
    """Every output_size torch allows (given as the spatial sizes, or with batch and channels)
    gives torch's output shape and values; sizes outside torch's range are refused naming
    output_size."""
    stride, kernel = per_axis((2, 3, 2), dims), per_axis((3, 2, 2), dims)
    ref = getattr(nn, f"ConvTranspose{dims}d")(2, 3, kernel, stride=stride, padding=1, rng=0, dtype="float64")
    twin = getattr(torch.nn, f"ConvTranspose{dims}d")(2, 3, kernel, stride=stride, padding=1, dtype=torch.float64)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ref.state_dict().items()})
    x = random_input(input_shape(2, 2, dims, (4, 3, 5)), "float64")
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
    check_constructor_parity(getattr(torch.nn, f"ConvTranspose{dims}d"), getattr(nn, f"ConvTranspose{dims}d"), kwargs, name, stage, x)
