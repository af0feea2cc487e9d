"""numpy-ml's layers (``examples/numpy_ml_ops.py``): NumPy code with a backward of its own, so
it is gated under the plain NumPy contract, with its conventions (channels last, one stride
for every axis, dilation counted from 0) translated by the wrappers and what it lacks declared
or refused with NotImplementedError. The gate must reach every op, count those cases apart,
and find what numpy-ml computes differently from torch."""
from __future__ import annotations

import collections

import pytest

import crosscheck
from crosscheck.frameworks import subject_of
from examples import numpy_ml_ops

SUBJECT = subject_of(numpy_ml_ops, "numpy", name="examples.numpy_ml_ops")
QUICK = [c for c in crosscheck.cases_for("quick") if SUBJECT.forward(c.op) is not None]
OUTCOMES = [crosscheck.run_case(SUBJECT, case, 0) for case in QUICK]


def _failed(op, quantity):
    return [o for o in OUTCOMES if o.case.op == op and o.status == "failed" and o.failure.quantity == quantity]


def test_every_op_numpy_ml_has_is_reached_and_some_case_of_each_passes():
    by_op = collections.defaultdict(collections.Counter)
    for o in OUTCOMES:
        by_op[o.case.op][o.status] += 1
    assert set(by_op) == {"conv1d", "conv2d", "max_pool2d", "avg_pool2d", "linear", "relu", "sigmoid", "tanh",
                          "softmax"}
    assert all(counts["passed"] for counts in by_op.values()), dict(by_op)


def test_what_numpy_ml_lacks_is_unsupported_declared_or_refused():
    grouped = [o for o in OUTCOMES if o.case.op.startswith("conv") and o.case.kwargs.get("groups", 1) != 1]
    assert grouped and all(o.status == "unsupported" and "groups=" in o.note for o in grouped)
    per_axis = [o for o in OUTCOMES if o.status == "unsupported" and "NotImplementedError" in o.note]
    assert {"stride", "dilation"} <= {o.note.split("one ")[1].split()[0] for o in per_axis if "one " in o.note}
    assert any("FullyConnected takes a matrix" in o.note for o in per_axis)


def test_sigmoid_and_tanh_agree_with_torch_everywhere():
    bad = [(o.case.key, o.failure) for o in OUTCOMES if o.case.op in ("sigmoid", "tanh") and o.status != "passed"]
    assert not bad


@pytest.mark.parametrize("op, quantity", [("conv1d", "grad_input"), ("conv2d", "grad_input"),
                                          ("relu", "grad_input"), ("max_pool2d", "output")])
def test_float32_comes_back_float64(op, quantity):
    """col2im, ReLU's integer gradient and Pool2D's output buffer are float64 whatever the input."""
    float32 = [o for o in _failed(op, quantity) if o.case.dtype == "float32"]
    assert float32 and all("dtype float64 != float32" in o.failure.reason for o in float32)


def test_the_wrong_values_are_found_where_numpy_ml_computes_otherwise():
    """Softmax's backward along dim 0 of a matrix with special rows; max pooling over zero
    padding, which numpy-ml pads with zeros where torch's padding never wins."""
    softmax = [o for o in _failed("softmax", "grad_input") if o.case.dtype == "float64"]
    assert softmax and all("entries outside the tolerance" in o.failure.reason for o in softmax)
    pooled = [o for o in _failed("max_pool2d", "output") if o.case.dtype == "float64"]
    assert pooled and all(o.case.kwargs.get("padding") not in (0, (0, 0)) for o in pooled)
