"""What an implementation declares and what a user switches: declared support makes a case
*unsupported* (never passed, never failed), a malformed declaration is refused naming what is
wrong, and each check switched off stops failing the cases it alone would fail."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import crosscheck
from crosscheck.checking import Checks, Support, as_subject
from reference import functional as ref

SEED = 0
CONV2D = crosscheck.cases_for("quick", ops=["conv2d"])
VALID = [c for c in CONV2D if not c.invalid]


def _statuses(impl, cases, checks=None):
    return [crosscheck.run_case(impl, case, SEED, checks).status for case in cases]


def _conv2d(**overrides):
    return SimpleNamespace(**{"conv2d": ref.conv2d, "conv2d_backward": ref.conv2d_backward, **overrides})


def test_declared_argument_values_mark_the_other_cases_unsupported():
    impl = _conv2d(CROSSCHECK_SUPPORT={"conv2d": {"dilation": [1], "groups": [1]}})
    for case, status in zip(VALID, _statuses(impl, VALID)):
        entries = [case.kwargs.get(k, 1) for k in ("dilation", "groups")]
        flat = [e for v in entries for e in (v if isinstance(v, (tuple, list)) else (v,))]
        inside = all(type(e) is int and e == 1 for e in flat)
        assert status == ("passed" if inside else "unsupported"), (case.key, status)
    assert "unsupported" in _statuses(impl, VALID) and "passed" in _statuses(impl, VALID)


def test_declared_dtypes_and_conditions():
    support = Support.parse({"*": {"dtype": ["float64"]}, "conv2d": {"unbatched": False, "bias": False}})
    reasons = {c.key: support.reason(c) for c in CONV2D}
    assert all((reason is not None) for key, reason in reasons.items() if key.endswith("[float32]"))
    unbatched = [c for c in CONV2D if c.dtype == "float64" and c.shapes[0] is not None and len(c.shapes[0]) == 3]
    assert unbatched and all("unbatched" in support.reason(c) for c in unbatched)
    biased = [c for c in CONV2D if c.dtype == "float64" and c.shapes[2] is not None and len(c.shapes[0]) == 4]
    assert biased and all(support.reason(c) == "declared unsupported: a bias" for c in biased)


def test_a_float_stride_is_not_the_integer_declared():
    case = next(c for c in VALID if c.kwargs.get("stride", 1) == 1)
    odd = type(case)(**{**case.__dict__, "kwargs": {**case.kwargs, "stride": 1.0}})
    assert Support.parse({"conv2d": {"stride": [1]}}).reason(odd) is not None
    assert Support.parse({"conv2d": {"stride": [1]}}).reason(case) is None


@pytest.mark.parametrize(
    "declaration, says",
    [
        ([], "must be a dict"),
        ({"conv4d": {}}, "unknown op 'conv4d'"),
        ({"conv2d": [1]}, "CROSSCHECK_SUPPORT['conv2d'] must be a dict"),
        ({"conv2d": {"unbatched": "no"}}, "must be True or False"),
        ({"conv2d": {"groups": 1}}, "must be a list of the values supported"),
    ],
)
def test_a_malformed_declaration_is_refused_naming_what_is_wrong(declaration, says):
    with pytest.raises(ValueError, match=says.replace("[", r"\[").replace("]", r"\]")):
        as_subject(_conv2d(CROSSCHECK_SUPPORT=declaration))


def test_not_implemented_error_is_unsupported_where_torch_accepts():
    def refuses(*args, **kwargs):
        raise NotImplementedError("dilation")

    assert set(_statuses(_conv2d(conv2d=refuses), VALID)) == {"unsupported"}
    assert set(_statuses(_conv2d(conv2d_backward=refuses), VALID)) == {"unsupported"}
    # on a call torch rejects it is not one of the contract's rejections (ValueError, TypeError)
    assert set(_statuses(_conv2d(conv2d=refuses), [c for c in CONV2D if c.invalid])) == {"unsupported"}


def test_forward_only_needs_no_backward_and_compares_no_gradient():
    impl = SimpleNamespace(conv2d=ref.conv2d)
    outcome = crosscheck.run_case(impl, VALID[0], SEED)
    assert outcome.status == "skipped" and outcome.note == "conv2d found, conv2d_backward missing: add it, or use " \
                                                           "--forward-only"
    outcome = crosscheck.run_case(impl, VALID[0], SEED, Checks(backward=False))
    assert outcome.status == "passed" and set(outcome.errors) == {"output"}


def _float64_out(input, weight, bias=None, **kwargs):
    return ref.conv2d(input, weight, bias, **kwargs).astype(np.float64)


def _in_place(input, weight, bias=None, **kwargs):
    out = ref.conv2d(input, weight, bias, **kwargs)
    input *= 2
    return out


def _accepts_all(input, weight, bias=None, **kwargs):
    try:
        return ref.conv2d(input, weight, bias, **kwargs)
    except (ValueError, TypeError):
        return np.zeros(1, input.dtype if isinstance(input, np.ndarray) else float)


@pytest.mark.parametrize(
    "check, conv2d, cases",
    [
        ("dtype", _float64_out, [c for c in VALID if c.dtype == "float32"]),
        ("mutation", _in_place, [c for c in VALID if np.prod(c.shapes[0])]),
        ("rejection", _accepts_all, [c for c in CONV2D if c.invalid]),
    ],
)
def test_a_check_switched_off_no_longer_fails_its_cases(check, conv2d, cases):
    impl = _conv2d(conv2d=conv2d)
    assert "failed" in _statuses(impl, cases)
    relaxed = Checks(**{check: False}, backward=False)
    assert relaxed.off() == [check, "backward"]
    statuses = _statuses(impl, cases, relaxed)
    assert "failed" not in statuses, statuses
    if check == "rejection":
        assert set(statuses) == {"skipped"}  # a rejected call is not checked at all, and says so


def test_aliasing_switched_off():
    """pad returning its input when there is nothing to pad: right values, shared memory."""
    def pad(input, pad, *args, **kwargs):
        return input if not any(pad) else ref.pad(input, pad, *args, **kwargs)

    impl = SimpleNamespace(pad=pad, pad_backward=ref.pad_backward)
    cases = [c for c in crosscheck.cases_for("default", ops=["pad"]) if not c.invalid]
    aliased = [c for c, s in zip(cases, _statuses(impl, cases)) if s == "failed"]
    assert aliased, "no case with nothing to pad"
    assert set(_statuses(impl, aliased, Checks(aliasing=False))) == {"passed"}
