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


def test_a_case_past_the_memory_cap_is_crashed_and_the_next_one_runs():
    """tanh reserves 4 GiB: under a 2 GiB cap the allocation fails in the worker, the case is
    crashed and names the cap, and a new worker checks the next case. Without the cap the same
    case passes, so it is the cap that made it crash."""
    relu, tanh = (next(iter(crosscheck.cases_for("quick", ops=[op], dtypes=["float64"]))) for op in ("relu", "tanh"))
    with Isolated("tests.impls.crashing", timeout=60, memory_mib=2048) as isolated:
        outcomes = [isolated.run(case) for case in (relu, tanh, relu)]
        assert isolated.restarts == 1
    assert [o.status for o in outcomes] == ["passed", "crashed", "passed"]
    assert "exhausted the memory limit of 2048 MiB" in outcomes[1].note and "MemoryError" in outcomes[1].note
    with Isolated("tests.impls.crashing", timeout=60) as isolated:
        assert isolated.run(tanh).status == "passed"


@pytest.mark.parametrize("memory_mib", [0, -5, 1.5])
def test_the_memory_cap_must_be_a_positive_int(memory_mib):
    with pytest.raises(ValueError, match=f"memory_mib={memory_mib!r}"):
        Isolated("reference.functional", memory_mib=memory_mib)
