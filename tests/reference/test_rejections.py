"""Every call in the rejection table: the reference refuses it with ValueError or TypeError (its
loop tier too), the message names the argument at fault and shows the value given, and nothing is
modified.
(The harness checks that the reference rejects exactly when torch does; this file checks
what a user reads when it does.)"""
import numpy as np
import pytest

import reference.definitional as D
import reference.functional as F
from crosscheck.cases.profiles import every_invalid_case

INVALID = [case for case in every_invalid_case() for case in (case.with_dtype("float64"), case.with_dtype("float32"))]


@pytest.mark.parametrize("case", INVALID, ids=[c.key for c in INVALID])
def test_message_names_the_argument_and_its_value(case):
    arrays = case.arrays(seed=0)
    before = [None if a is None else a.copy() for a in arrays]
    with pytest.raises((ValueError, TypeError)) as info:
        getattr(F, case.op)(*arrays, **case.kwargs)
    message = str(info.value)
    assert message.startswith(case.op + ":"), message
    assert case.blame in message, f"{case.blame!r} not named in: {message}"
    if case.blame in case.kwargs:
        value = case.kwargs[case.blame]
        shown = repr(value) if not isinstance(value, (tuple, list)) else None
        assert shown is None or shown in message or str(value) in message, message
    for a, b in zip(arrays, before):
        assert a is None or np.array_equal(a, b)


@pytest.mark.parametrize("case", INVALID[::2], ids=[c.id for c in INVALID[::2]])
def test_backward_rejects_the_same_call(case):
    arrays = case.arrays(seed=0)
    with pytest.raises((ValueError, TypeError)):
        getattr(F, case.op + "_backward")(np.zeros(1), *arrays, **case.kwargs)


@pytest.mark.parametrize("case", INVALID[::2], ids=[c.id for c in INVALID[::2]])
def test_the_loop_tier_rejects_the_same_call_naming_the_same_argument(case):
    arrays = case.arrays(seed=0)
    with pytest.raises((ValueError, TypeError)) as info:
        getattr(D, case.op)(*arrays, **case.kwargs)
    assert str(info.value).startswith(case.op + ":") and case.blame in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "op, shapes, kwargs, grad_shape",
    [
        ("conv2d", [(2, 3, 5, 5), (4, 3, 2, 2), None], {}, (2, 4, 4, 3)),
        ("conv1d", [(3, 5), (4, 3, 2), (4,)], {}, (1, 4, 4)),
        ("pad", [(2, 3, 4)], {"pad": (1, 1)}, (2, 3, 5)),
    ],
)
def test_backward_rejects_a_grad_output_of_the_wrong_shape(op, shapes, kwargs, grad_shape, rng):
    arrays = [None if s is None else rng.standard_normal(s) for s in shapes]
    with pytest.raises(ValueError, match="grad_output"):
        getattr(F, op + "_backward")(rng.standard_normal(grad_shape), *arrays, **kwargs)


def test_backward_rejects_a_grad_output_of_another_dtype(rng):
    x, w = rng.standard_normal((1, 2, 4)), rng.standard_normal((3, 2, 2))
    grad = rng.standard_normal((1, 3, 3)).astype(np.float32)
    with pytest.raises(TypeError, match="grad_output.dtype=float32"):
        F.conv1d_backward(grad, x, w)


@pytest.mark.parametrize("bad", [[[1.0, 2.0]], np.arange(6).reshape(1, 2, 3)], ids=["list", "int64"])
def test_non_float_arrays_are_refused_by_type(bad):
    with pytest.raises(TypeError, match="input"):
        F.conv1d(bad, np.ones((1, 2, 1)))
