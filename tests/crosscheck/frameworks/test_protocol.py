"""The adapter protocol, shown on a library outside this project: MyGrad, through
``examples/mygrad_framework.py`` (its whole adapter) and ``examples/mygrad_ops.py`` (torch's
ops written on MyGrad, with what MyGrad lacks declared). Named by module, as a user names an
adapter of their own."""
from __future__ import annotations

import collections

import pytest

import crosscheck
from crosscheck.frameworks import Framework, framework_named, subject_of
from examples import mygrad_ops

SUBJECT = subject_of(mygrad_ops, "examples.mygrad_framework", name="examples.mygrad_ops")
QUICK = [c for c in crosscheck.cases_for("quick") if SUBJECT.forward(c.op) is not None]
OUTCOMES = [crosscheck.run_case(SUBJECT, case, 0) for case in QUICK]


def test_the_adapter_is_named_by_its_module():
    framework = framework_named("examples.mygrad_framework")
    assert isinstance(framework, Framework) and framework.describe().startswith("mygrad 2.")
    assert SUBJECT.framework == "examples.mygrad_framework"


def test_every_op_mygrad_has_is_reached_and_declared_support_is_honoured():
    by_op = collections.defaultdict(collections.Counter)
    for o in OUTCOMES:
        by_op[o.case.op][o.status] += 1
    assert set(by_op) == {"conv1d", "conv2d", "conv3d", "max_pool1d", "max_pool2d", "max_pool3d", "linear", "relu",
                          "sigmoid", "tanh", "softmax", "log_softmax", "mse_loss"}
    assert all(counts["passed"] for op, counts in by_op.items() if op != "max_pool3d"), dict(by_op)
    grouped = [o for o in OUTCOMES if o.case.op.startswith("conv") and o.case.kwargs.get("groups", 1) != 1]
    assert grouped and all(o.status == "unsupported" and "groups=" in o.note for o in grouped)


def test_sigmoid_and_tanh_agree_with_torch_everywhere():
    """MyGrad's sigmoid and tanh meet torch on every quick case, NaN and ±inf included."""
    bad = [(o.case.key, o.failure) for o in OUTCOMES if o.case.op in ("sigmoid", "tanh") and o.status != "passed"]
    assert not bad


@pytest.mark.parametrize("op, quantity", [("relu", "output"), ("log_softmax", "output")])
def test_what_mygrad_computes_differently_is_found(op, quantity):
    """relu of NaN (MyGrad's is 0, torch's NaN); log_softmax of rows holding ±inf (MyGrad's
    −inf where torch's is NaN) and of empty rows (MyGrad raises): each fails on its output, on
    those cases only."""
    failed = [o for o in OUTCOMES if o.case.op == op and o.status == "failed" and o.failure.quantity == quantity]
    assert failed and all("special" in o.case.id or "empty" in o.case.id for o in failed), [o.case.id for o in failed]
