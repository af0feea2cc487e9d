"""Crash isolation: a case that aborts the process or never returns is reported as *crashed* or
*timed out*, and every other case is still checked, in order."""
from __future__ import annotations

import pytest

import crosscheck
from crosscheck.gate.isolation import Isolated

CONV1D = crosscheck.cases_for("quick", ops=["conv1d"], dtypes=["float64"])
ABORTS = [c for c in CONV1D if c.kwargs.get("stride") == 2 and c.kwargs.get("dilation") == 2]


def test_an_abort_is_reported_on_its_case_and_the_sweep_goes_on():
    assert len(ABORTS) == 1, [c.id for c in ABORTS]
    with Isolated("tests.impls.crashing", timeout=60) as isolated:
        outcomes = [isolated.run(case) for case in CONV1D]
        assert isolated.restarts == 1
    assert [o.case for o in outcomes] == CONV1D
    crashed = [o for o in outcomes if o.status == "crashed"]
    assert [o.case for o in crashed] == ABORTS
    assert "killed by signal 6 (SIGABRT)" in crashed[0].note
    assert {o.status for o in outcomes if o.case not in ABORTS} == {"passed"}


def test_a_case_past_the_time_limit_is_timed_out_and_the_next_one_runs():
    relu, sigmoid = (next(iter(crosscheck.cases_for("quick", ops=[op], dtypes=["float64"]))) for op in ("relu",
                                                                                                          "sigmoid"))
    with Isolated("tests.impls.crashing", timeout=3) as isolated:
        outcomes = [isolated.run(case) for case in (relu, sigmoid, relu)]
    assert [o.status for o in outcomes] == ["passed", "timed_out", "passed"]
    assert "no result within 3 s" in outcomes[1].note


def test_the_timeout_must_be_positive():
    with pytest.raises(ValueError, match="timeout=0"):
        Isolated("reference.functional", timeout=0)


def test_an_impl_the_worker_cannot_load_is_an_error_naming_it():
    isolated = Isolated("no.such.module", timeout=5)
    with pytest.raises(RuntimeError, match="could not load 'no.such.module'"):
        isolated.run(CONV1D[0])
