"""Two tiers, one answer: the vectorised ops against the definitional loops, with no torch
in sight, and padding against numpy.pad as a third, independent oracle."""
import numpy as np
import pytest

import reference.definitional as D
import reference.functional as F
from crosscheck.ops import OPS
from crosscheck.table import cases_for
from crosscheck.tolerance import excess, tolerance

# tiny cases only: the definitional tier runs one Python loop iteration per term
TINY = [
    c
    for c in cases_for("quick", dtypes=["float64", "float32"])
    if not c.invalid and sum(int(np.prod(s)) for s in c.shapes if s is not None) <= 400
]


def _both(module, case, arrays, grad=None):
    out = getattr(module, case.op)(*arrays, **case.kwargs)
    out = out[0] if isinstance(out, tuple) else out  # max pooling's indices: compared below
    grad = case.grad_output(out.shape, seed=1) if grad is None else grad
    return out, getattr(module, case.op + "_backward")(grad, *arrays, **case.kwargs), grad


@pytest.mark.parametrize("case", TINY, ids=[c.key for c in TINY])
def test_vectorised_equals_definitional(case):
    arrays = case.arrays(seed=1)
    try:
        getattr(F, case.op)(*arrays, **case.kwargs)
    except (ValueError, TypeError) as refused:  # a grid call torch refuses too: so must the loop tier
        with pytest.raises(type(refused)):
            getattr(D, case.op)(*arrays, **case.kwargs)
        return
    out, grads, grad = _both(F, case, arrays)
    want, want_grads, _ = _both(D, case, arrays, grad)
    if case.kwargs.get("return_indices"):
        np.testing.assert_array_equal(getattr(F, case.op)(*arrays, **case.kwargs)[1],
                                      getattr(D, case.op)(*arrays, **case.kwargs)[1])
    # The bound of crosscheck.tolerance, sized by the definitional tier in float64: it holds
    # for any two direct summations of the same terms.
    wide = [None if a is None else a.astype(np.float64) for a in arrays]
    absolute = [None if a is None else np.asarray(np.abs(a)) for a in wide]
    mag, mag_grads, _ = _both(D, case, absolute, np.asarray(np.abs(grad), dtype=np.float64))
    count, count_grads, _ = _both(D, case, [None if a is None else np.ones_like(a) for a in wide], np.ones(grad.shape))
    for got, expected, n, m in zip((out, *grads), (want, *want_grads), (count, *count_grads), (mag, *mag_grads)):
        if expected is None:
            assert got is None
            continue
        assert got.shape == expected.shape and got.dtype == expected.dtype == np.dtype(case.dtype)
        _, bad = excess(got, expected.astype(np.float64), tolerance(n, m, case.dtype))
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
