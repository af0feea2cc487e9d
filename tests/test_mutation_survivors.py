"""Tests written for mutants of reference/ that the rest of the suite let live.

`make mutation` (docs/mutation.md) changes the reference one operator, constant or argument
at a time and runs the tests that reach the changed function; a change no test notices is a
survivor. Each test here kills one or more survivors that are real bugs the other tests
miss; its docstring names the mutant and says why the behaviour matters. Survivors that
cannot change any result (equivalent mutants) are listed, each with its reason, in
docs/mutation.md instead.
"""
import inspect
import os
import re
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.functional as F
from crosscheck import Case, cases_for, run_case
from crosscheck.cases.profiles import every_invalid_case
from crosscheck.gate.report import format_failure
from crosscheck.specs import OPS
from reference import conv, conv_transpose, definitional_dense, im2col, pooling, separable, windows

# --- the op factories, run at test time ------------------------------------------------------
# conv{1,2,3}d, conv_transpose*, max_pool* and avg_pool* are made by one factory per family,
# called once when the module is imported. Everything an op does before and after its engine
# (validating and naming the call, adding and removing the batch axis, the dtype of the result,
# the defaults of its signature) is code of that factory. A mutant of it is only seen by a
# test that calls the factory after the mutation is in place: mutmut switches mutants on
# at call time, in a process that imported reference/ long before, so the imported ops are
# always the unmutated ones. These tests build the twelve ops again, inside the test.

FAMILIES = (
    ("conv{}d", conv.conv_family, conv.Vectorised),
    ("conv_transpose{}d", conv_transpose.conv_transpose_family, conv_transpose.Vectorised),
    ("max_pool{}d", pooling.max_pool_family, separable.Vectorised),
    ("avg_pool{}d", pooling.avg_pool_family, separable.Vectorised),
)
BUILT = re.compile(r"^(conv|conv_transpose|max_pool|avg_pool)[123]d$")


@pytest.fixture
def rebuilt():
    """The twelve ops and their backwards, built now by their factories, as an implementation
    module the harness can run (function-scoped: every test builds its own)."""
    ops = {}
    for name, family, engine in FAMILIES:
        for dims in (1, 2, 3):
            ops[name.format(dims)], ops[name.format(dims) + "_backward"] = family(dims, engine)
    return types.SimpleNamespace(**ops)


BUILT_CASES = [c for c in cases_for("quick") if BUILT.match(c.op)]


@pytest.mark.parametrize("case", BUILT_CASES, ids=[c.key for c in BUILT_CASES])
def test_rebuilt_ops_agree_with_torch(rebuilt, case):
    """Kills the mutants of ``conv_family``, ``conv_transpose_family``, ``max_pool_family`` and
    ``avg_pool_family`` that change a result: a wrong argument passed to ``geometry`` or to the
    engine, the batch axis kept or dropped wrongly (``if geo.batch_added`` → ``or True``), the
    output cast to the wrong dtype or not cast (``astype(None)``), a gradient replaced by None.
    The quick profile's cases, unbatched, grouped, padded and rejected calls included, with
    torch as the oracle (the same comparison as the conformance suite)."""
    outcome = run_case(rebuilt, case, seed=0)
    assert outcome.status == "passed", format_failure(outcome, "the rebuilt ops", 0)


def _defaults_used(op: str, dims: int, dtype: str) -> list[Case]:
    """Calls that leave every optional argument to its default. Odd lengths, so that
    ``ceil_mode`` changes the output length; a padded pooling call, so that
    ``count_include_pad`` changes the divisor; three input channels, so that ``groups=2`` is
    refused."""
    spatial = (5, 4, 3)[:dims]
    if op.startswith("conv_transpose"):
        return [Case(op, f"{op}-defaults", ((2, 3) + spatial, (3, 2) + (2,) * dims, None), {}, dtype)]
    if op.startswith("conv"):
        return [Case(op, f"{op}-defaults", ((2, 3) + spatial, (4, 3) + (2,) * dims, None), {}, dtype)]
    return [Case(op, f"{op}-defaults", ((2, 3) + spatial,), {"kernel_size": 2}, dtype),
            Case(op, f"{op}-defaults-padded", ((2, 3) + spatial,), {"kernel_size": 3, "padding": 1}, dtype)]


DEFAULTS = [case for name, _, _ in FAMILIES for d in (1, 2, 3) for dtype in ("float64", "float32")
            for case in _defaults_used(name.format(d), d, dtype)]


@pytest.mark.parametrize("case", DEFAULTS, ids=[c.key for c in DEFAULTS])
def test_rebuilt_ops_have_torchs_defaults(rebuilt, case):
    """Kills the mutants that change a default of a factory-made op (``stride=1`` → ``stride=2``,
    ``padding=0`` → ``padding=1``, ``dilation=1`` → ``2``, ``groups=1`` → ``2``, ``ceil_mode=False``
    → ``True``, ``count_include_pad=True`` → ``False``, ...): every table case passes these
    arguments explicitly, so only a call that leaves them out, compared with torch's call that
    leaves them out too, sees the defaults, which the contract says are torch's."""
    outcome = run_case(rebuilt, case, seed=0)
    assert outcome.status == "passed", format_failure(outcome, "the rebuilt ops", 0)


REJECTED = [c.with_dtype(dtype) for c in every_invalid_case() if BUILT.match(c.op)
            for dtype in ("float64", "float32")]


@pytest.mark.parametrize("case", REJECTED, ids=[c.key for c in REJECTED])
def test_rebuilt_ops_name_themselves_when_they_refuse(rebuilt, case):
    """Kills ``op = f"conv{dims}d"`` → ``op = None`` and ``geometry(op, ...)`` → ``geometry(None,
    ...)`` in each factory (and the same for ``op + "_backward"``): the op is still refused, so
    the harness passes, but the message no longer starts with the op's name, which is what a
    user reads first (tests/test_rejections.py holds the imported ops to the same rule)."""
    arrays = case.arrays(seed=0)
    with pytest.raises((ValueError, TypeError)) as refused:
        getattr(rebuilt, case.op)(*arrays, **case.kwargs)
    assert str(refused.value).startswith(case.op + ":"), str(refused.value)
    assert case.blame in str(refused.value)
    with pytest.raises((ValueError, TypeError)) as refused:
        getattr(rebuilt, case.op + "_backward")(np.zeros(1, dtype=case.dtype), *arrays, **case.kwargs)
    assert str(refused.value).startswith(case.op + "_backward:"), str(refused.value)


@pytest.mark.parametrize("name", [name.format(d) for name, _, _ in FAMILIES for d in (1, 2, 3)])
def test_rebuilt_ops_carry_their_names_and_docs(rebuilt, name):
    """Kills the mutants that drop or change ``forward.__name__ = forward.__qualname__ = op``,
    its backward twin and the ``__doc__`` assignments, and ``spatial = {1: "L", 2: "H, W", 3:
    "D, H, W"}[dims]`` in ``conv_family`` (``None``, ``"XXLXX"``, ``"h, w"``, ...): tracebacks,
    ``help()`` and the harness's reports show these names, and the docstring is where each op
    states its shapes."""
    forward, backward = getattr(rebuilt, name), getattr(rebuilt, name + "_backward")
    assert forward.__name__ == forward.__qualname__ == name
    assert backward.__name__ == backward.__qualname__ == name + "_backward"
    assert f"``torch.nn.functional.{name}``" in forward.__doc__
    assert backward.__doc__.startswith(f"Vector-Jacobian product of :func:`{name}`")
    if not name.startswith("conv_transpose"):
        axes = {1: "L", 2: "H, W", 3: "D, H, W"}[int(name[-2])]
        assert f"input (N, C, {axes}) or unbatched (C, {axes})" in forward.__doc__


def test_rebuilt_backwards_check_the_bias_too(rebuilt):
    """Kills ``geometry(op + "_backward", ..., bias, ...)`` → ``geometry(..., None, ...)`` in
    ``conv_family`` and ``conv_transpose_family``: the backward then skips the bias checks and
    returns a gradient for a bias the forward refuses. The upstream gradient here has the
    right shape, so only the bias is at fault."""
    rng = np.random.default_rng(5)
    for name, weight in (("conv2d", (4, 3, 2, 2)), ("conv_transpose2d", (3, 2, 2, 2))):
        x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal(weight)
        grad = rng.standard_normal(getattr(rebuilt, name)(x, w).shape)
        for bias in (rng.standard_normal(7), rng.standard_normal((4, 1)), rng.standard_normal(4).astype(np.float32)):
            with pytest.raises((ValueError, TypeError), match=rf"^{name}_backward: .*bias"):
                getattr(rebuilt, name + "_backward")(grad, x, w, bias)


@pytest.mark.parametrize("name", [name.format(d) for name, _, _ in FAMILIES for d in (1, 2, 3)])
def test_rebuilt_backward_signature_is_grad_output_then_the_forwards(rebuilt, name):
    """Kills ``return_indices=False`` → ``True`` in ``max_pool{d}d_backward``'s signature (and any
    other default of a backward that drifts from its forward's): the contract's backward is
    ``NAME_backward(grad_output, *forward_args)`` with the forward's names and defaults."""
    forward = inspect.signature(getattr(rebuilt, name)).parameters.values()
    backward = inspect.signature(getattr(rebuilt, name + "_backward")).parameters.values()
    assert [(p.name, p.default) for p in backward] == [("grad_output", inspect.Parameter.empty)] + [
        (p.name, p.default) for p in forward]


# --- messages: the op, the argument at fault and the value given -----------------------------
# reference/checks.py promises that every refusal names the op, the argument and the value.
# tests/test_rejections.py holds the rejection table to that; these are the refusals the table
# does not reach (an argument of the wrong type or dtype for every array argument of every op,
# each integer argument out of range, the backward's own checks).

_LAYERS = {  # op: shapes of its array arguments, other arguments
    "conv1d": (((2, 3, 7), (4, 3, 3), (4,)), {}),
    "conv2d": (((2, 3, 6, 5), (4, 3, 3, 2), (4,)), {}),
    "conv3d": (((2, 3, 4, 5, 4), (4, 3, 2, 2, 2), (4,)), {}),
    "conv_transpose1d": (((2, 3, 5), (3, 4, 3), (4,)), {}),
    "conv_transpose2d": (((2, 3, 4, 5), (3, 4, 2, 3), (4,)), {}),
    "conv_transpose3d": (((2, 3, 3, 4, 3), (3, 4, 2, 2, 2), (4,)), {}),
    "pad": (((2, 3, 5),), {"pad": (1, 2)}),
    "max_pool1d": (((2, 3, 7),), {"kernel_size": 2}),
    "max_pool2d": (((2, 3, 6, 5),), {"kernel_size": 2}),
    "max_pool3d": (((2, 3, 4, 5, 4),), {"kernel_size": 2}),
    "avg_pool1d": (((2, 3, 7),), {"kernel_size": 2}),
    "avg_pool2d": (((2, 3, 6, 5),), {"kernel_size": 2}),
    "avg_pool3d": (((2, 3, 4, 5, 4),), {"kernel_size": 2}),
    "linear": (((2, 5), (3, 5), (3,)), {}),
    "relu": (((2, 5),), {}),
    "sigmoid": (((2, 5),), {}),
    "tanh": (((2, 5),), {}),
    "softmax": (((2, 5),), {"dim": 1}),
    "log_softmax": (((2, 5),), {"dim": 1}),
    "mse_loss": (((2, 5), (2, 5)), {}),
    "cross_entropy": (((4, 5), (4,)), {}),
}


def _call(op, dtype="float64"):
    """Valid arguments of ``op``: its arrays (cross_entropy's target as class indices) and kwargs."""
    shapes, kwargs = _LAYERS[op]
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if op == "cross_entropy":
        arrays[1] = rng.integers(0, shapes[0][1], shapes[1])
    return arrays, dict(kwargs)


def _refusal(function, *args, **kwargs) -> str:
    with pytest.raises((ValueError, TypeError)) as refused:
        function(*args, **kwargs)
    return str(refused.value)


def _float_arguments():
    for op in _LAYERS:
        for position, name in enumerate(OPS[op].arrays):
            if not (op == "cross_entropy" and name == "target"):
                yield op, position, name


@pytest.mark.parametrize("op, position, name", list(_float_arguments()))
def test_an_argument_that_is_not_an_array_is_named_with_its_value(op, position, name):
    """Kills the mutants that drop or change the op's name, the argument's name or the value in
    ``checks.float_array(op, "NAME", NAME)`` (``None``, ``"XXweightXX"``, ``"WEIGHT"``,
    ``_describe(None)``) across conv, dense, losses, padding and pooling, and in their
    backwards' checks of the same arguments."""
    arrays, kwargs = _call(op)
    arrays[position] = arrays[position].tolist()
    expected = f"{op}: {name} must be a numpy.ndarray, got {name}={arrays[position]!r}"
    assert _refusal(getattr(F, op), *arrays, **kwargs) == expected
    grad = np.ones(1)
    assert _refusal(getattr(F, op + "_backward"), grad, *arrays, **kwargs).startswith(f"{op}_backward: ")


@pytest.mark.parametrize("op, position, name", list(_float_arguments()))
def test_an_argument_of_an_integer_dtype_is_named_with_its_dtype(op, position, name):
    """The same mutants through the dtype check, which names ``NAME.dtype``."""
    arrays, kwargs = _call(op)
    arrays[position] = np.arange(arrays[position].size).reshape(arrays[position].shape)
    message = _refusal(getattr(F, op), *arrays, **kwargs)
    assert message == f"{op}: {name} must have dtype float32 or float64, got {name}.dtype=int64"


@pytest.mark.parametrize("op", list(_LAYERS))
def test_mixed_dtypes_are_listed_argument_by_argument(op):
    """Kills the mutants of ``checks.same_dtype`` and of its callers: ``op`` → ``None``, an
    argument left out (``same_dtype(op, input=input)``, ``grad_output=None``, ``input=None``) and
    the listing's separator (``", "`` → ``"XX, XX"``). The backward gets a float32 upstream
    gradient for float64 arguments; the forward, where it has a second float argument, a
    float32 one."""
    arrays, kwargs = _call(op)
    output = getattr(F, op)(*arrays, **kwargs)
    output = output[0] if isinstance(output, tuple) else output
    message = _refusal(getattr(F, op + "_backward"), np.ones(output.shape, np.float32), *arrays, **kwargs)
    assert message.startswith(f"{op}_backward: arrays must share one dtype, got "), message
    listing = message.split(", got ", 1)[1].split(", ")
    assert "grad_output.dtype=float32" in listing and "input.dtype=float64" in listing, message
    floats = [i for i, name in enumerate(OPS[op].arrays) if i and not (op == "cross_entropy" and name == "target")]
    for position in floats:
        mixed = list(arrays)
        mixed[position] = mixed[position].astype(np.float32)
        name = OPS[op].arrays[position]
        message = _refusal(getattr(F, op), *mixed, **kwargs)
        assert message.startswith(f"{op}: arrays must share one dtype, got "), message
        assert f"{name}.dtype=float32" in message.split(", got ", 1)[1].split(", "), message


_OUT_OF_RANGE = [  # op family, argument, value, the words of the refusal
    ("conv{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("conv{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("conv{}d", "dilation", 0, "dilation must be positive, got dilation=0"),
    ("conv{}d", "groups", 1.0, "groups must be an int, got groups=1.0"),
    ("conv_transpose{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("conv_transpose{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("conv_transpose{}d", "output_padding", -1, "output_padding must be non-negative, got output_padding=-1"),
    ("conv_transpose{}d", "dilation", 0, "dilation must be positive, got dilation=0"),
    ("max_pool{}d", "kernel_size", 0, "kernel_size must be positive, got kernel_size=0"),
    ("max_pool{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("max_pool{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("max_pool{}d", "dilation", 0, "dilation must be positive, got dilation=0"),
    ("max_pool{}d", "ceil_mode", 1, "ceil_mode must be a bool, got ceil_mode=1"),
    ("avg_pool{}d", "kernel_size", 0, "kernel_size must be positive, got kernel_size=0"),
    ("avg_pool{}d", "stride", 0, "stride must be positive, got stride=0"),
    ("avg_pool{}d", "padding", -1, "padding must be non-negative, got padding=-1"),
    ("avg_pool{}d", "ceil_mode", 1, "ceil_mode must be a bool, got ceil_mode=1"),
    ("avg_pool{}d", "count_include_pad", 1, "count_include_pad must be a bool, got count_include_pad=1"),
]


@pytest.mark.parametrize("family, name, value, words", _OUT_OF_RANGE, ids=lambda v: str(v))
@pytest.mark.parametrize("dims", (1, 2, 3))
def test_an_integer_argument_out_of_range_is_named_with_its_bound(family, name, value, words, dims):
    """Kills the mutants of ``checks.int_tuple``'s bound word (``"positive"`` / ``"non-negative"``,
    ``minimum == 1`` → ``!= 1`` or ``== 2``, the word replaced or ``None``) and of the argument
    names passed to it and to ``_flag``/``int_arg`` in conv, conv_transpose and pooling
    (``"XXstrideXX"``, ``"DILATION"``, ``None``, the op ``None``)."""
    op = family.format(dims)
    arrays, kwargs = _call(op)
    kwargs[name] = value
    assert _refusal(getattr(F, op), *arrays, **kwargs) == f"{op}: {words}"
    assert _refusal(getattr(F, op + "_backward"), np.ones(1), *arrays, **kwargs) == f"{op}_backward: {words}"


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv3d", "max_pool2d", "avg_pool3d", "conv_transpose2d"])
def test_an_input_of_the_wrong_rank_is_told_the_ranks_it_may_have(op):
    """Kills ``checks.rank``'s ``" or ".join(...)`` mutants (``None``, ``"XX or XX"``, ``" OR "``,
    ``str(None)``) and ``"input"`` → ``"XXinputXX"`` in the rank checks of conv and pooling."""
    arrays, kwargs = _call(op)
    dims = int(op[-2])
    arrays[0] = arrays[0][(0,) * 2]  # two axes fewer: (*spatial)
    message = _refusal(getattr(F, op), *arrays, **kwargs)
    assert message == (f"{op}: input must have {dims + 1} or {dims + 2} dimensions, "
                       f"got input.shape={arrays[0].shape}")


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv3d"])
def test_a_weight_of_the_wrong_rank_is_told_its_rank(op):
    """Kills ``checks.rank(op, "weight", ...)`` → ``"XXweightXX"`` in conv's checks."""
    arrays, kwargs = _call(op)
    arrays[1] = arrays[1][0]
    assert _refusal(getattr(F, op), *arrays, **kwargs) == (
        f"{op}: weight must have {int(op[-2]) + 2} dimensions, got weight.shape={arrays[1].shape}")


def test_linear_names_its_weight_and_its_feature_count():
    """Kills ``checks.rank(op, "weight", ...)`` → ``"XXweightXX"`` (and the ranks' listing) and
    ``weight.shape[-1]`` → ``weight.shape[+1]`` or ``[-2]`` in the message of ``dense.plan``: with
    a 1-d weight, ``weight.shape[1]`` does not exist, and the refusal became an IndexError."""
    x, w, b = _call("linear")[0]
    assert _refusal(F.linear, x, w[None], b) == f"linear: weight must have 2 or 1 dimensions, got weight.shape={(1,) + w.shape}"
    for wide in (np.ones((3, 7)), np.ones(7)):
        message = _refusal(F.linear, x, wide)
        assert message.startswith("linear: input's last axis must have weight.shape[-1]=7 features, "), message


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_names_dim_and_the_range_it_may_take(op):
    """Kills ``int_arg(op, "dim", dim)`` → ``"XXdimXX"`` and the bounds printed by
    ``normalise_dim`` (``-ndim`` → ``+ndim``, ``ndim - 1`` → ``ndim + 1`` or ``ndim - 2``): the
    message is how a caller learns which axes exist."""
    x = _call(op)[0][0]
    assert _refusal(getattr(F, op), x, dim=1.0) == f"{op}: dim must be an int, got dim=1.0"
    assert _refusal(getattr(F, op), x, dim=2) == f"{op}: dim must be in [-2, 1] for input.shape=(2, 5), got dim=2"


@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh", "softmax", "log_softmax"])
def test_an_activation_backward_names_its_input(op):
    """Kills ``checks.float_array(op, "input", input)`` → ``"XXinputXX"`` in
    ``activations._elementwise_backward`` and the ``op`` → ``None`` of its grad_output check."""
    arrays, kwargs = _call(op)
    message = _refusal(getattr(F, op + "_backward"), arrays[0], arrays[0].tolist(), **kwargs)
    assert message.startswith(f"{op}_backward: input must be a numpy.ndarray, got input="), message
    message = _refusal(getattr(F, op + "_backward"), arrays[0][:1], arrays[0], **kwargs)
    assert message.startswith(f"{op}_backward: grad_output must have "), message


def test_cross_entropy_names_a_target_that_is_not_an_array():
    """Kills ``raise TypeError(f"...target must be a numpy.ndarray...")`` → ``TypeError(None)``."""
    x, t = _call("cross_entropy")[0]
    assert _refusal(F.cross_entropy, x, t.tolist()) == f"cross_entropy: target must be a numpy.ndarray, got target={t.tolist()!r}"


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_an_empty_spatial_axis_needs_an_empty_batch(op):
    """Kills ``shape[0] > 0`` → ``shape[0] > 1`` (conv and conv_transpose), ``shape[1] > 0`` and
    ``>= 0`` (conv_transpose) and the message → ``None``: one sample, batched or not, with an
    empty spatial axis is refused for that reason (torch refuses it too); an empty batch with
    an empty spatial axis is a valid transposed convolution, as in torch."""
    arrays, kwargs = _call(op)
    for x in (np.zeros((1, 3, 0, 5)), np.zeros((3, 0, 5))):
        message = _refusal(getattr(F, op), x, *arrays[1:], **kwargs)
        assert message == f"{op}: only an empty batch may have empty spatial axes, got input.shape={x.shape}"
    if op == "conv_transpose2d":  # its empty-batch call is valid: the output is (k − 1)·d + 1 long
        empty = np.zeros((0, 3, 0, 5))
        want = T.conv_transpose2d(torch.from_numpy(empty), torch.from_numpy(arrays[1])).shape
        assert F.conv_transpose2d(empty, arrays[1]).shape == tuple(want)


def test_conv_reports_the_channels_the_weight_expects_with_groups():
    """Kills ``weight.shape[1] * groups`` → ``/ groups`` or ``weight.shape[2]`` in conv's message
    and ``weight.shape[0]`` → ``[1]`` in conv_transpose's."""
    x = np.ones((1, 5, 6, 6))
    message = _refusal(F.conv2d, x, np.ones((4, 3, 2, 2)), groups=2)
    assert message == ("conv2d: input has 5 channels but weight.shape=(4, 3, 2, 2) with groups=2 expects 6 "
                       "(input.shape=(1, 5, 6, 6))")
    message = _refusal(F.conv_transpose2d, x, np.ones((4, 3, 2, 2)))
    assert message == "conv_transpose2d: input has 5 channels but weight.shape=(4, 3, 2, 2) expects 4 (input.shape=(1, 5, 6, 6))"


@pytest.mark.parametrize("weight", [(0, 2, 3), (3, 0, 3), (3, 2, 0)])
def test_conv_transpose_refuses_a_weight_with_an_empty_axis(weight):
    """Kills the ``or`` → ``and`` and ``shape[0]`` → ``shape[1]``/``shape[1]`` → ``shape[2]``
    mutants of conv_transpose's empty-weight check, and its message → ``None``: each of the
    three axes alone makes the weight empty."""
    message = _refusal(F.conv_transpose1d, np.ones((1, weight[0] or 3, 5)), np.ones(weight))
    assert message == f"conv_transpose1d: weight must have non-empty axes, got weight.shape={weight}"


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "max_pool2d", "pad"])
def test_a_backward_names_a_grad_output_that_is_not_an_array(op):
    """Kills ``float_array(op, "grad_output", grad_output)`` → op ``None``, name ``None``,
    ``"XXgrad_outputXX"``, ``"GRAD_OUTPUT"`` and ``op = geo.op`` → ``None`` in the grad_output
    checks of conv, conv_transpose, pooling and padding, and the backward's op name
    (``"pad_backward"`` → ``None``, ``"XXpad_backwardXX"``, ``"PAD_BACKWARD"``)."""
    arrays, kwargs = _call(op)
    message = _refusal(getattr(F, op + "_backward"), [1.0], *arrays, **kwargs)
    assert message == f"{op}_backward: grad_output must be a numpy.ndarray, got grad_output=[1.0]"


@pytest.mark.parametrize("op", ["conv_transpose2d", "pad"])
def test_a_backward_gives_the_shape_it_wanted(op):
    """Kills ``raise ValueError(f"...grad_output must have the output's shape...")`` →
    ``ValueError(None)`` (conv_transpose) and the op name of pad_backward's shape check."""
    arrays, kwargs = _call(op)
    output = getattr(F, op)(*arrays, **kwargs)
    message = _refusal(getattr(F, op + "_backward"), np.ones((1, 1)), *arrays, **kwargs)
    assert message == f"{op}_backward: grad_output must have the output's shape {output.shape}, got grad_output.shape=(1, 1)"


def test_pad_names_a_pad_that_is_not_ints_and_a_value_that_is_not_a_number():
    """Kills ``not isinstance(pad, ...) or not all(is_int ...)`` → ``and`` (a tuple of floats then
    passes, truncated by ``int``), the two TypeErrors' messages → ``None``, and
    ``_check_constant(op, input, pad, value)`` → ``value=None`` (the fill value unchecked)."""
    x = np.ones((2, 3))
    assert _refusal(F.pad, x, (1.0, 2)) == "pad: pad must be a tuple of ints, got pad=(1.0, 2)"
    assert _refusal(F.pad, x, (1, 2), value="a") == "pad: value must be a real number, got value='a'"


def test_pad_backward_checks_the_fill_value_as_the_forward_does():
    """Kills ``plan("pad_backward", ..., value)`` → ``value=None`` in ``pad_backward``: its
    backward must refuse the calls its forward refuses (a fill value for a gather mode, a fill
    value that is not a number)."""
    x = np.ones((2, 3))
    grad = np.ones((2, 6))
    assert _refusal(F.pad_backward, grad, x, (1, 2), mode="reflect", value=1.0) == (
        "pad_backward: mode='reflect' takes no fill value, got value=1.0")
    assert _refusal(F.pad_backward, grad, x, (1, 2), value="a") == "pad_backward: value must be a real number, got value='a'"


def test_a_gather_pad_refuses_a_fill_value_of_one():
    """Kills ``value != 0`` → ``value != 1`` in ``_check_gather``: torch refuses any fill value
    but the default for reflect, replicate and circular."""
    assert _refusal(F.pad, np.ones((1, 2, 3)), (1, 1), mode="replicate", value=1) == (
        "pad: mode='replicate' takes no fill value, got value=1")


# --- results the quick profile's shapes never reach -------------------------------------------

def _agrees(case: Case, impl=F):
    outcome = run_case(impl, case, seed=0)
    assert outcome.status == "passed", format_failure(outcome, "reference.functional", 0)


CONV_CASES = [c for c in cases_for("quick", dtypes=["float64"]) if re.match(r"^conv(_transpose)?[123]d$", c.op)]


@pytest.mark.parametrize("tile_bytes", [1, 600, 4000], ids=["row-tiles", "few-rows", "few-samples"])
@pytest.mark.parametrize("case", CONV_CASES, ids=[c.key for c in CONV_CASES])
def test_convolutions_agree_with_torch_at_any_tile_size(case, tile_bytes, monkeypatch):
    """Kills the mutants of the tiling in ``reference.im2col`` and ``reference.conv``
    (``Im2col.tiles``, ``_index``, ``positions``, ``matrix``, ``laid_out``; ``_input_grad_col2im``'s
    sample steps; ``grad_w += ...`` → ``grad_w = ...`` in ``weight_grad`` and
    ``_backward_transposed``): an im2col is cut into tiles of about ``TILE_BYTES``, rows of one sample when a sample does not
    fit, and the tables' inputs are all far below the real 4 MiB, so every product is one tile.
    Shrinking the budget runs the same cases through one row per tile, a few rows per tile
    and a few samples per tile, against torch."""
    monkeypatch.setattr(im2col, "TILE_BYTES", tile_bytes)
    _agrees(case)


def test_a_strided_depthwise_convolution_with_one_tap_and_two_filters_per_channel():
    """Kills ``w_mat_t.shape[-1] == 1`` → ``shape[+1]`` or ``shape[-2]`` in ``_input_grad_col2im``:
    the shortcut for one output channel per group must look at the output channels, not at
    ``(C/G)·|k|``, which is 1 too for a 1-tap depthwise kernel with a channel multiplier."""
    _agrees(Case("conv2d", "conv2d-k1-s2-g3-x2x3x5x5-o6", ((2, 3, 5, 5), (6, 1, 1, 1), (6,)),
                 {"stride": 2, "groups": 3}))


def test_windows_views_are_read_only():
    """Kills ``writeable=False`` → ``True``, ``None`` or left out in ``windows.windows`` and
    ``windows.flat_windows``: the views overlap (neighbouring windows share entries), so a
    write through one would change the input and other windows; the module promises read-only
    views."""
    x = np.arange(24.0).reshape(2, 3, 4)
    assert not windows.windows(x, (2,), (1,), (1,)).flags.writeable
    assert not windows.flat_windows(x, (2,), (1,), 3).flags.writeable


def test_scatter_windows_is_the_adjoint_of_windows():
    """Kills the mutants of ``windows.scatter_windows``'s own buffer (``out=None``: the shape
    ``lead + spatial``, its dtype) that the ops never reach, since they always pass ``out``:
    ⟨windows(x), c⟩ = ⟨x, scatter_windows(c)⟩ for every x and c, and the result has the
    dtype of ``c``."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    kernel, stride, dilation = (2, 3), (2, 1), (2, 1)
    view = windows.windows(x, kernel, stride, dilation)  # (2, 3, *out, *k)
    cols = rng.standard_normal(view.shape[:2] + kernel + view.shape[2:4]).astype(np.float32)  # (..., *k, *out)
    back = windows.scatter_windows(cols, x.shape[2:], kernel, stride, dilation)
    assert back.shape == x.shape and back.dtype == np.float32
    lhs = np.sum(view.astype(np.float64) * np.moveaxis(cols, (2, 3), (4, 5)))
    assert np.isclose(lhs, np.sum(x.astype(np.float64) * back), rtol=1e-5)  # float32 rounding of the sums


def test_max_pooling_one_tap_windows_over_nan():
    """Runs ``_scan_maximum`` (the scan NaN needs, in ``_winners``) with one tap per pass: a
    1×1 window over NaN, ±inf and signed zeros, values and indices held against torch. Only
    calls with a NaN in some window take the scan; this kills the mutants that break it (its
    buffers, the ``greater``/``isnan`` test, the copies of value and tap) on the simplest pass
    there is."""
    _agrees(Case("max_pool2d", "max_pool2d-k1-specials", ((2, 2, 4, 3),), {"kernel_size": 1, "return_indices": True},
                 values={"input": "specials"}))


_LONG_KERNELS = [  # input shape, kernel, stride: 260 taps along one axis, on each kind of pass
    ((1, 2, 270, 4), (260, 2), (5, 1)),  # an outer pass (axis 0 of two)
    ((1, 2, 4, 270), (2, 260), (1, 5)),  # the pass over the last axis (row-phase layout)
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, kernel, stride", _LONG_KERNELS, ids=["outer-axis", "last-axis"])
def test_max_pooling_a_window_of_more_than_256_taps_along_one_axis(shape, kernel, stride, dtype):
    """Kills ``one.kernel < 2**8`` → ``or True``, ``3**8`` or ``2**9`` in ``_first_maximum``: a pass
    counts, per window, the taps after its first maximum ``t*``, ``(k − 1) − t*``, in uint8 only
    while that count cannot pass 255 (``k ≤ 256``). Every pass has its own kernel, so only a
    window of more than 256 taps along one axis reaches the int32 counter (a 17×17 window does
    not). In uint8, ``k − 1 = 259`` cannot even be subtracted from (NumPy refuses), and the count
    would wrap wherever ``t* ≤ 3``. Integers in [−3, 3] put ties in every window, so it is the
    first maximum that is checked: values, indices and gradients against torch."""
    _agrees(Case("max_pool2d", f"max_pool2d-k{kernel[0]}x{kernel[1]}-integers", (shape,),
                 {"kernel_size": kernel, "stride": stride, "return_indices": True}, dtype,
                 values={"input": "integers"}))


@pytest.mark.parametrize("op", ["max_pool1d", "max_pool2d"])
def test_max_pooling_backward_routes_an_infinite_and_a_nan_gradient(op):
    """Kills the mutants of ``_route``'s path for a non-finite upstream gradient (``out[...] = 0``
    and ``np.copyto(out, upstream, where=chosen)`` changed or dropped, the mask's dtype): ∞·0 is
    NaN, so that gradient cannot be multiplied by the 0/1 mask of the winners; the taps that
    lost get exactly 0, the winners ±inf or NaN, as torch's backward gives. The harness's
    upstream gradients are always finite."""
    rng = np.random.default_rng(8)
    dims = int(op[-2])
    x = rng.standard_normal((2, 3) + (5,) * dims)
    grad = rng.standard_normal((2, 3) + (2,) * dims)
    grad.flat[[0, 4, 7]] = [np.inf, np.nan, -np.inf]
    tx = torch.from_numpy(x).requires_grad_()
    getattr(T, op)(tx, 2).backward(torch.from_numpy(grad))
    np.testing.assert_array_equal(getattr(F, op + "_backward")(grad, x, 2)[0], tx.grad.numpy())


def test_average_pooling_of_infinities_gives_nan_without_a_warning():
    """Kills ``np.errstate(invalid="ignore", over="ignore")`` → ``invalid=None``/``over=None``/left
    out in ``Vectorised.avg_pool``: ``inf − inf`` gives NaN and a float32 sum may overflow to
    inf, as in torch, which does not warn; NumPy would, once per call."""
    x = np.array([[[np.inf, -np.inf, 1.0, 3e38, 3e38]]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.avg_pool1d(x, 2, 1)
    np.testing.assert_array_equal(y, T.avg_pool1d(torch.from_numpy(x), 2, 1).numpy())


def test_average_pooling_backward_of_infinite_and_huge_gradients_warns_nothing():
    """Kills ``np.errstate(invalid="ignore", over="ignore")`` → ``invalid=None``, ``over=None`` or
    either left out in ``Vectorised.avg_pool_backward``: overlapping windows add their shares
    onto a shared input position, so an upstream +inf and −inf meet there as NaN, and float32
    shares of 3e38 (``divisor_override=1``) overflow to inf, exactly as in torch's backward,
    which does not warn; NumPy would, once per call."""
    x = np.zeros((1, 1, 4, 4), np.float32)
    infinite = np.zeros((1, 1, 3, 3), np.float32)
    infinite[0, 0, 0, :2] = [np.inf, -np.inf]  # windows (0, 0) and (0, 1) share column 1
    huge = np.full((1, 1, 3, 3), 3e38, np.float32)  # two shares already pass float32's 3.4e38
    for grad, kwargs, special in ((infinite, {}, np.isnan), (huge, {"divisor_override": 1}, np.isinf)):
        tx = torch.from_numpy(x).requires_grad_()
        T.avg_pool2d(tx, 2, 1, **kwargs).backward(torch.from_numpy(grad))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = F.avg_pool2d_backward(grad, x, 2, 1, **kwargs)[0]
        np.testing.assert_array_equal(got, tx.grad.numpy())
        assert special(got).any()  # the NaN or the overflow did happen


_OVERFLOWING = [  # float32 windows whose sum passes float32's largest value, 3.4e38, in any order
    (np.array([[[1e38, 1e38, 2e38]]], np.float32), 3),            # one pass: its third tap overflows
    (np.array([[[[2e38, 0.0], [2e38, 0.0]]]], np.float32), 2),    # rows sum to 2e38; the outer pass overflows
]


@pytest.mark.parametrize("x, kernel", _OVERFLOWING, ids=["1d-k3", "2d-k2"])
def test_float32_average_pooling_sums_in_float32(x, kernel):
    """Kills ``np.empty(one.out_shape, dtype=source.dtype)`` → ``dtype=None`` or left out in
    ``_fold``: every pass of a float32 average would then write float64 (only the first two taps
    of the first pass are added in float32), carry a sum of 4e38 and divide it back into range
    (1.3e38 and 1e38 here). A float32 op adds in float32, as torch's does, and the reference
    says its overflow is inf, as in torch. The expected value is worked out here too: all taps
    are positive, so the float32 sum overflows in every order, not just in torch's. Below
    overflow the float64 sums are only more accurate, within the averaging bound, so only an
    overflowing window tells the two apart."""
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(x, dtype=np.float32)) and np.isinf(np.sum(x[..., ::-1], dtype=np.float32))
    assert np.isfinite(np.mean(x, dtype=np.float64))  # the exact average is in float32's range
    op = "avg_pool1d" if x.ndim == 3 else "avg_pool2d"
    want = getattr(T, op)(torch.from_numpy(x), kernel).numpy()
    assert np.isposinf(want).all()
    np.testing.assert_array_equal(getattr(F, op)(x, kernel), want)


_LEFT_TAPS = [  # a tap left of the input for every window of an outer axis, with a stride ≥ 2
    Case("max_pool2d", "max_pool2d-k4x2-s3x1-p2x1-d2x1-x2x3x3x4", ((2, 3, 3, 4),),
         {"kernel_size": (4, 2), "stride": (3, 1), "padding": (2, 1), "dilation": (2, 1), "return_indices": True}),
    Case("avg_pool2d", "avg_pool2d-k5x2-s3x1-p2x1-x2x3x3x4", ((2, 3, 3, 4),),
         {"kernel_size": (5, 2), "stride": (3, 1), "padding": (2, 1)}),
    Case("max_pool3d", "max_pool3d-k4x1x2-s3x1x1-p2x0x1-d2x1x1-x1x2x3x2x3", ((1, 2, 3, 2, 3),),
         {"kernel_size": (4, 1, 2), "stride": (3, 1, 1), "padding": (2, 0, 1), "dilation": (2, 1, 1)}),
]


@pytest.mark.parametrize("case", _LEFT_TAPS, ids=[c.id for c in _LEFT_TAPS])
def test_pooling_with_a_tap_that_reads_no_window_inside_the_input(case):
    """Kills ``last > first`` → ``last >= first`` in ``_outer_pass``: a tap that no window reads
    inside the input (here tap 0, at −2 for the only window) must contribute no read at all. An
    empty read is harmless only while its positions slice is empty too; with its first window
    at 1 and a stride of 3 the slice ``slice(1, -1, 3)`` ends at a negative index and picks
    position 1, which the empty region cannot hold. Held against torch."""
    _agrees(case)


_PADS = [  # mode, pad, input shape: calls at the edges of padding's rules, each held against torch
    ("circular", (1, -2), (1, 2, 5)),    # a crop on the right: what is left wraps
    ("circular", (2, -4), (1, 2, 3)),    # one position out, more pad than is left: refused by both
    ("replicate", (-1, -1), (1, 2, 3)),  # one position left on a 1-d axis: accepted
    ("replicate", (-1, -2), (1, 2, 3)),  # none left on a 1-d axis: refused by both
    ("reflect", (1, 1), (0, 5)),         # an unbatched input with no channels: refused by both
    ("constant", (1, -4), (2, 3)),       # a crop of more than the axis, with a pad on the other side
    ("constant", (1, -2), (2, 2)),       # the whole axis cropped, one fill position added
]


@pytest.mark.parametrize("mode, pad, shape", _PADS, ids=[f"{m}-{p}-{s}" for m, p, s in _PADS])
def test_pad_at_the_edges_of_its_rules(mode, pad, shape):
    """Kills ``min(right, 0)`` → ``- min(right, 0)`` in ``source_index``'s circular crop,
    ``out > 0`` → ``out > 1`` and ``out < 1`` → ``out < 2`` / ``< 0`` (the positions a gather pad
    must leave), ``input.ndim == spatial + 2`` → ``or True`` (which axes must be non-empty),
    ``min(left, 0)`` → ``min(left, 1)`` in ``_check_constant`` and ``max(-left, 0)`` →
    ``max(-left, 1)`` in ``_overlap``: each changes whether torch's call is accepted or what it
    returns."""
    _agrees(Case("pad", f"pad-{mode}-{pad}", (shape,), {"pad": pad, "mode": mode}))


@pytest.mark.parametrize("pad", [(-2, 3), (3, -2)])
def test_circular_pad_refuses_more_pad_than_the_crop_leaves(pad):
    """Kills ``kept = size + min(left, 0) + min(right, 0)`` → ``size - min(left, 0) + ...``,
    ``min(left, 1)`` or ``min(right, 1)`` in ``_check_gather``: with a crop on one side, a pad on
    the other larger than what is left is refused (README, "Where the reference deliberately
    differs from torch": torch returns uninitialised memory there, so the harness cannot
    hold this call against torch)."""
    message = _refusal(F.pad, np.ones((1, 2, 4)), pad, mode="circular")
    assert message == (f"pad: mode='circular' with a crop needs each pad at most the 2 positions left after "
                       f"cropping, got pad={pad} for axis 2 of size 4")


_LOSSES = [
    Case("mse_loss", "mse-broadcast-x3x1-t1x3x4", ((3, 1), (1, 3, 4))),
    Case("mse_loss", "mse-broadcast-x3x1-t3x2", ((3, 1), (3, 2)), {"reduction": "sum"}),
    Case("mse_loss", "mse-broadcast-x1x3x1-t2x3", ((1, 3, 1), (2, 3)), {"reduction": "none"}),
]


@pytest.mark.parametrize("case", _LOSSES, ids=[c.id for c in _LOSSES])
def test_mse_loss_where_shapes_broadcast(case):
    """Kills ``grad.shape[lead + a]`` → ``[lead - a]`` and ``!= 1`` → ``!= 2`` in ``sum_to``: the
    gradient of a broadcast argument is summed over exactly the axes it was broadcast along (a
    size-1 axis against 2, and a missing leading axis in front of a size-1 one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch and the reference both warn that the shapes differ
        _agrees(case)


UNDER_MUTMUT = "MUTANT_UNDER_TEST" in os.environ
"""mutmut calls every function of reference/ through a trampoline, a frame of mutmut's own
module between each function and its caller: where a warning points cannot be checked there."""


@pytest.mark.skipif(UNDER_MUTMUT, reason="mutmut's trampolines are frames between the op and its caller")
@pytest.mark.parametrize("tier", [F, definitional_dense], ids=["fast", "loop"])
def test_mse_loss_warns_at_the_line_that_called_it(tier):
    """Kills ``level = 1`` → ``2`` in ``_outside_the_package`` (and, with tests/test_dense.py,
    the other changes of its frame walk and ``warn_if_broadcast``'s ``stacklevel``): the
    broadcast warning must point at the caller's own line, as torch's does, not at the line
    that called the caller. tests/test_dense.py checks the file only, and its calls go through
    a helper in the same file, so a warning one frame too far out still passed there. Runs in
    ``make test``, not under mutmut (docs/mutation.md)."""
    with pytest.warns(UserWarning, match="broadcast") as record:
        line = inspect.currentframe().f_lineno + 1
        tier.mse_loss(np.zeros((3, 1)), np.zeros((3, 4)))
    assert (record[0].filename, record[0].lineno) == (__file__, line)


@pytest.mark.parametrize("tier", [F, definitional_dense], ids=["fast", "loop"])
def test_mse_loss_warns_a_caller_without_a_module_name(tier):
    """Kills ``f_globals.get("__name__", "")`` → ``get("__name__", None)`` or ``get("__name__")`` in
    ``_outside_the_package``: code run by ``exec`` with globals of its own has no ``__name__``,
    and looking for the first frame outside the package must stop there, not raise
    AttributeError on ``None.startswith``. The warning points at that code. (Under mutmut the
    walk stops at the trampoline's frame before it gets there, so only ``make test`` sees the
    difference.)"""
    code = compile("tier.mse_loss(x, t)", "<exec>", "exec")
    with pytest.warns(UserWarning, match="broadcast") as record:
        exec(code, {"tier": tier, "x": np.zeros((3, 1)), "t": np.zeros((3, 4))})
    if not UNDER_MUTMUT:
        assert record[0].filename == "<exec>"


@pytest.mark.parametrize("shape", [(0, 0), (3, 0)])
def test_cross_entropy_with_class_probabilities_and_no_classes(shape):
    """Kills ``if input.shape[dim]`` → ``or True`` in ``_ce_terms``: class probabilities over no
    classes give a NaN mean, as in torch, not a ZeroDivisionError. (Held against torch here,
    not through the harness, whose cross_entropy bound takes class indices only.)"""
    x, t = np.zeros(shape), np.zeros(shape)
    want = T.cross_entropy(torch.from_numpy(x), torch.from_numpy(t))
    got = F.cross_entropy(x, t)
    assert np.isnan(got) and np.isnan(want.item()) and got.dtype == np.float64
    assert F.cross_entropy_backward(np.array(1.0), x, t)[0].shape == shape


def test_cross_entropy_with_one_class_and_ignored_targets():
    """Kills ``np.where(kept, target, 0)`` → ``np.where(kept, target, 1)`` in ``_ce_terms``: an
    ignored entry (−100) reads class 0 and is masked out; with one class there is no class 1
    to read."""
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((5, 1)), np.array([0, -100, 0, -100, 0])
    g = rng.standard_normal(())
    tx = torch.from_numpy(x).requires_grad_()
    loss = T.cross_entropy(tx, torch.from_numpy(t))
    loss.backward(torch.tensor(g))
    assert F.cross_entropy(x, t) == loss.item()
    np.testing.assert_array_equal(F.cross_entropy_backward(g, x, t)[0], tx.grad.numpy())


@pytest.mark.parametrize("op, suffix", [("max_pool2d", " (dilation does not count)"), ("avg_pool2d", "")])
def test_pooling_padding_over_half_the_kernel_says_whether_dilation_counts(op, suffix):
    """Kills the mutants of the conditional suffix in pooling's padding message (``if
    op.startswith("max")`` → ``and False``/``or True``, ``"max"`` → ``"XXmaxXX"``/``"MAX"``, the
    suffix or the empty alternative replaced): only max pooling has a dilation, and its rule is
    on the raw kernel, which the message must say (torch's own message does not)."""
    message = _refusal(getattr(F, op), np.ones((1, 1, 6, 6)), 2, padding=2)
    assert message == f"{op}: padding must be at most half of kernel_size on every axis, got padding=2, kernel_size=2{suffix}"


def test_pad_defaults_are_torchs():
    """Kills ``mode="constant"`` → ``"XXconstantXX"`` or ``"CONSTANT"`` in ``pad``'s signature:
    every table case names its mode, so only a call that leaves it out sees the default."""
    _agrees(Case("pad", "pad-default-mode", ((2, 3, 5),), {"pad": (1, 2)}))


def test_cross_entropy_lists_the_dtypes_of_a_mixed_probability_target():
    """Kills ``checks.same_dtype(op, input=input, target=target)`` → ``op`` ``None`` in
    ``cross_entropy_plan``: a float32 probability target for float64 logits is refused, as for
    every other op, with both dtypes named."""
    x = np.zeros((2, 3))
    message = _refusal(F.cross_entropy, x, np.zeros((2, 3), np.float32))
    assert message == "cross_entropy: arrays must share one dtype, got input.dtype=float64, target.dtype=float32"
