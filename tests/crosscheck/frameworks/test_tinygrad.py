"""tinygrad through its adapter (``examples/tinygrad_framework.py``): tensors in and out,
gradients from ``Tensor.gradient``. Run on tinygrad's pure-Python device, which needs no
compiler (its CPU device compiles every kernel with clang, which a machine may lack, at about
0.6 s a case; ``make ecosystem`` gates that one, docs/ecosystem.md)."""
from __future__ import annotations

import importlib.metadata
import os

os.environ["DEV"] = "PYTHON"  # read once, when tinygrad is imported
import tinygrad  # noqa: E402,F401

del os.environ["DEV"]  # not for the processes other tests start

import pytest  # noqa: E402

import crosscheck  # noqa: E402
from crosscheck.frameworks import subject_of  # noqa: E402
from examples import tinygrad_ops  # noqa: E402

SUBJECT = subject_of(tinygrad_ops, "examples.tinygrad_framework", name="examples.tinygrad_ops")


@pytest.fixture(scope="module")
def outcomes():
    cases = crosscheck.cases_for("quick", ops=["conv1d", "relu"]) + [
        c for c in crosscheck.cases_for("quick", ops=["conv2d"]) if c.id.endswith(("-channel-mismatch", "-input-rank"))]
    return [crosscheck.run_case(SUBJECT, case, 0) for case in cases]


def test_the_adapter_names_tinygrad_and_its_device():
    assert SUBJECT.about == f"tinygrad {importlib.metadata.version('tinygrad')} (PYTHON)"


def test_conv1d_fails_only_where_torch_refuses_a_call(outcomes):
    conv = [o for o in outcomes if o.case.op == "conv1d"]
    assert sum(o.status == "passed" for o in conv) >= 30
    assert {o.failure.quantity for o in conv if o.status == "failed"} == {"rejection"}


def test_an_assertion_error_is_not_a_refusal(outcomes):
    """tinygrad checks shapes with assert: not a refusal (and gone under python -O)."""
    refused = [o for o in outcomes if o.case.op == "conv2d"]
    assert len(refused) == 6 and all(o.status == "failed" and o.failure.quantity == "rejection"
                                     and "raised AssertionError" in o.failure.reason for o in refused)


def test_relu_swallows_nan(outcomes):
    """tinygrad's relu(NaN) is 0; torch's is NaN. Only the cases holding NaN fail."""
    failed = [o for o in outcomes if o.case.op == "relu" and o.status == "failed"]
    assert failed and all(o.failure.quantity == "output" and "special" in o.case.id for o in failed)
    assert sum(o.status == "passed" for o in outcomes if o.case.op == "relu") == 12
