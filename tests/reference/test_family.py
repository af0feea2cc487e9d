"""Tests of the family builders (conv_family, conv_transpose_family, max_pool_family,
avg_pool_family) and their scaffolding in reference/family.py.
"""
import inspect
import re
import types

import numpy as np
import pytest

from crosscheck import Case, cases_for, run_case
from crosscheck.cases.profiles import every_invalid_case
from crosscheck.gate.report import format_failure
from reference import conv, conv_transpose, pooling, separable
from tests.helpers.calls import refusal


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
    """Guards the family factories' wiring (geometry and engine arguments, batch axis, result dtype, gradients): the twelve ops rebuilt at test time agree with torch on the quick profile.

    Kills the mutants of ``conv_family``, ``conv_transpose_family``, ``max_pool_family`` and
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
    """Guards the defaults of every factory-made op (stride, padding, dilation, groups, ceil_mode, count_include_pad): calls that leave them out agree with torch's.

    Kills the mutants that change a default of a factory-made op (``stride=1`` → ``stride=2``,
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
    """Guards that a factory-made op and its backward start every refusal with their own name.

    Kills ``op = f"conv{dims}d"`` → ``op = None`` and ``geometry(op, ...)`` → ``geometry(None,
    ...)`` in each factory (and the same for ``op + "_backward"``): the op is still refused, so
    the harness passes, but the message no longer starts with the op's name, which is what a
    user reads first (tests/reference/test_rejections.py holds the imported ops to the same rule)."""
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
    """Guards the `__name__`, `__qualname__` and docstring (with its shapes line) that the factories give each op and its backward.

    Kills the mutants that drop or change ``forward.__name__ = forward.__qualname__ = op``,
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
    """Guards that the conv and conv_transpose backwards refuse a bias their forward refuses.

    Kills ``geometry(op + "_backward", ..., bias, ...)`` → ``geometry(..., None, ...)`` in
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
    """Guards the contract's backward signature: `grad_output`, then the forward's parameters with the forward's defaults.

    Kills ``return_indices=False`` → ``True`` in ``max_pool{d}d_backward``'s signature (and any
    other default of a backward that drifts from its forward's): the contract's backward is
    ``NAME_backward(grad_output, *forward_args)`` with the forward's names and defaults."""
    forward = inspect.signature(getattr(rebuilt, name)).parameters.values()
    backward = inspect.signature(getattr(rebuilt, name + "_backward")).parameters.values()
    assert [(p.name, p.default) for p in backward] == [("grad_output", inspect.Parameter.empty)] + [
        (p.name, p.default) for p in forward]
