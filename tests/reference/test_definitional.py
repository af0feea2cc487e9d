"""Two tiers, one answer: the vectorised ops against the definitional loops, with no torch
in sight, and padding against numpy.pad as a third, independent oracle."""
import inspect

import numpy as np
import pytest

import reference.definitional as D
import reference.functional as F
from crosscheck.cases import cases_for
from crosscheck.checking.bounds import BOUNDS
from crosscheck.checking.tolerance import excess
from crosscheck.specs import OPS

# tiny cases only: the definitional tier runs one Python loop iteration per term
TINY = [
    c
    for c in cases_for("quick", dtypes=["float64", "float32"])
    if not c.invalid and sum(int(np.prod(s)) for s in c.shapes if s is not None) <= 400
]


def _call(module, case, arrays, grad=None):
    """``(output, gradients, grad)``; the output without max pooling's indices."""
    out = getattr(module, case.op)(*arrays, **case.kwargs)
    out = out[0] if isinstance(out, tuple) else out
    grad = case.grad_output(out.shape, seed=1) if grad is None else grad
    return out, getattr(module, case.op + "_backward")(grad, *arrays, **case.kwargs), grad


def _wide(a):
    return None if a is None else np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else a


def loop_run(case, arrays, grad_output):
    """The loop tier in float64: the oracle the op's bound reruns (torch stays out of it)."""
    case64 = case.with_dtype("float64")
    out, grads, _ = _call(D, case64, [_wide(a) for a in arrays], _wide(grad_output))
    return out, list(grads)


@pytest.mark.parametrize("case", TINY, ids=[c.key for c in TINY])
def test_vectorised_equals_definitional(case):
    arrays = case.arrays(seed=1)
    try:
        getattr(F, case.op)(*arrays, **case.kwargs)
    except (ValueError, TypeError) as refused:  # a grid call torch refuses too: so must the loop tier
        with pytest.raises(type(refused)):
            getattr(D, case.op)(*arrays, **case.kwargs)
        return
    out, grads, grad = _call(F, case, arrays)
    want, want_grads = loop_run(case, arrays, grad)  # float64 truth from the loops
    if case.kwargs.get("return_indices"):
        np.testing.assert_array_equal(getattr(F, case.op)(*arrays, **case.kwargs)[1],
                                      getattr(D, case.op)(*arrays, **case.kwargs)[1])
    # the op's own tolerance (crosscheck.checking.bounds), with the loop tier as the oracle it reruns
    bound = BOUNDS[case.op]
    extra = {"run": loop_run} if "run" in inspect.signature(bound).parameters else {}
    tol_out, tol_grads = bound(case, arrays, grad, want, want_grads, **extra)
    for got, expected, tol in zip((out, *grads), (want, *want_grads), (tol_out, *tol_grads)):
        if expected is None:
            assert got is None
            continue
        assert got.shape == expected.shape and got.dtype == np.dtype(case.dtype)
        _, bad = excess(got, expected, tol)
        assert not bad.any(), np.abs(got - expected).max()


def test_tiers_cover_every_op():
    assert {c.op for c in TINY} == set(OPS)
    assert len(TINY) > 100


NUMPY_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", NUMPY_MODES)
def test_pad_equals_numpy_pad(mode, rng):
    x = rng.standard_normal((2, 3, 5, 4, 6))
    amounts = ((0, 0), (0, 0), (2, 3), (3, 0), (1, 4))  # per axis, numpy's order
    torch_order = tuple(v for pair in reversed(amounts[2:]) for v in pair)
    np.testing.assert_array_equal(F.pad(x, torch_order, mode), np.pad(x, amounts, NUMPY_MODES[mode]))


def test_reflect_is_not_numpy_symmetric():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(F.pad(x, (2, 2), "reflect"), [[3, 2, 1, 2, 3, 4, 3, 2]])
    assert not np.array_equal(F.pad(x, (2, 2), "reflect"), np.pad(x, ((0, 0), (2, 2)), "symmetric"))


def test_replicate_gradient_collects_the_whole_border():
    x = np.zeros((1, 3))
    (grad,) = F.pad_backward(np.ones((1, 8)), x, (2, 3), "replicate")
    np.testing.assert_array_equal(grad, [[3, 1, 4]])


def test_unread_inputs_get_exactly_zero_gradient(rng):
    # L = 8, k = 2, s = 3: windows read 0,1 | 3,4 | 6,7, never 2 or 5
    x, w = rng.standard_normal((1, 1, 8)), rng.standard_normal((1, 1, 2))
    grad_x, _, _ = F.conv1d_backward(rng.standard_normal((1, 1, 3)), x, w, stride=3)
    assert grad_x[0, 0, 2] == 0.0 and grad_x[0, 0, 5] == 0.0
    assert np.all(grad_x[0, 0, [0, 1, 3, 4, 6, 7]] != 0)


def test_both_tiers_export_exactly_the_contracts_ops():
    contract = {name for op in OPS for name in (op, op + "_backward", op + "_double_backward")}
    assert set(F.__all__) == contract
    assert all(callable(getattr(D, name)) for name in contract)
