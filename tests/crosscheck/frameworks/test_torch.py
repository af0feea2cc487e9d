"""``--framework torch``: torch's own functions pass through it, torch-native bugs fail, and
what the adapter adds (tensor results, autograd, torch's exception types, zero-copy inputs) is
checked for the right reason."""
from __future__ import annotations

import importlib
import pkgutil
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import crosscheck
from crosscheck.frameworks import framework_named, subject_of
from crosscheck.specs import OPS
from tests.helpers.mutants import SEED, assert_caught, describe
from tests.impls import torch_native

MUTANTS = sorted(m.name for m in pkgutil.iter_modules(torch_native.__path__))
F_SUBJECT = subject_of(F, "torch", name="torch.nn.functional")


def _run(subject, cases):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own broadcasting warnings on mse_loss cases
        return [crosscheck.run_case(subject, case, SEED) for case in cases]


@pytest.mark.parametrize("op", list(OPS))
def test_torch_nn_functional_passes_every_default_case(op):
    outcomes = _run(F_SUBJECT, crosscheck.cases_for("default", ops=[op]))
    bad = [describe(o) if o.failure else f"{o.case.key}: {o.status} {o.note}" for o in outcomes if o.status != "passed"]
    assert not bad, "\n".join(bad[:10])
    # the rejection path was taken, and torch's RuntimeErrors counted as rejections
    if any(o.case.invalid for o in outcomes):
        assert any(o.rejected for o in outcomes)


def test_there_are_the_five_torch_native_mutants():
    assert MUTANTS == ["ceil_mode_last_window", "grouped_grad_weight", "kernel_flip", "same_pad_left",
                       "stride_axes_swapped"]


@pytest.mark.parametrize("name", MUTANTS)
def test_each_torch_native_mutant_is_caught_for_its_bug(name):
    mutant = importlib.import_module(f"tests.impls.torch_native.{name}")
    assert mutant.CROSSCHECK_FRAMEWORK == "torch"
    assert_caught(name, mutant, subject_of(mutant))  # the module's own declaration picks the framework


CASE = next(c for c in crosscheck.cases_for("quick", ops=["conv2d"], dtypes=["float32"]) if not c.invalid)


class _Impl:
    """A torch implementation of conv2d alone, written by a test."""

    def __init__(self, conv2d, **attributes):
        self.conv2d = conv2d
        self.__dict__.update(attributes)


def _outcome(conv2d, case=CASE, **attributes):
    return crosscheck.run_case(subject_of(_Impl(conv2d, **attributes), "torch"), case, SEED)


def test_a_result_that_is_not_a_tensor_fails_naming_the_type():
    outcome = _outcome(lambda *a, **k: F.conv2d(*a, **k).numpy())
    assert outcome.status == "failed" and outcome.failure.quantity == "output"
    assert "must be a torch.Tensor, got ndarray" in outcome.failure.reason


def test_an_output_outside_autograd_fails_on_the_gradients_saying_why():
    outcome = _outcome(lambda *a, **k: F.conv2d(*a, **k).detach())
    assert outcome.status == "failed" and outcome.failure.quantity == "gradients"
    assert "does not require grad" in outcome.failure.reason and "--forward-only" in outcome.failure.reason


def test_writing_into_the_input_is_seen_through_the_zero_copy_tensor():
    def conv2d(input, weight, bias=None, **kwargs):
        out = F.conv2d(input, weight, bias, **kwargs)
        with torch.no_grad():
            input.mul_(2)
        return out

    outcome = _outcome(conv2d)
    assert outcome.status == "failed" and outcome.failure.quantity == "input"
    assert "modified in place" in outcome.failure.reason


def test_an_explicit_backward_is_used_where_the_module_has_one():
    def conv2d_backward(grad_output, input, weight, bias=None, **kwargs):
        leaves = [t.detach().requires_grad_() for t in (input, weight)]
        out = F.conv2d(*leaves, None, **kwargs)
        grad_input, grad_weight = torch.autograd.grad(out, leaves, grad_output)
        return grad_input, 2 * grad_weight, None if bias is None else grad_output.sum((0, 2, 3))  # the bug: 2×

    outcome = _outcome(F.conv2d, conv2d_backward=conv2d_backward)
    assert outcome.status == "failed" and outcome.failure.quantity == "grad_weight"


def test_a_not_implemented_error_makes_the_case_unsupported():
    def conv2d(*args, **kwargs):
        raise NotImplementedError("no grouped kernel yet")

    outcome = _outcome(conv2d)
    assert outcome.status == "unsupported" and "no grouped kernel yet" in outcome.note


def test_a_call_torch_refuses_may_be_refused_with_a_runtime_error():
    invalid = next(c for c in crosscheck.cases_for("quick", ops=["conv2d"]) if c.invalid)

    def conv2d(*args, **kwargs):
        raise RuntimeError("refused")

    outcome = _outcome(conv2d, invalid)
    assert outcome.status == "passed" and outcome.rejected
    numpy_side = crosscheck.run_case(_Impl(conv2d, conv2d_backward=conv2d), invalid, SEED)  # the NumPy contract
    assert numpy_side.status == "failed" and "rejections must be ValueError or TypeError" in numpy_side.failure.reason


def test_an_unknown_device_or_framework_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="--device 'gpu0'"):
        framework_named("torch", "gpu0")
    with pytest.raises(ValueError, match="--framework 'no_such_framework'"):
        framework_named("no_such_framework")
    with pytest.raises(ValueError, match="must define FRAMEWORK"):
        framework_named("json")  # importable, but not an adapter
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            framework_named("torch", "cuda")


def test_autograd_passing_grad_output_through_is_not_aliasing():
    """A 0-d bias of a vector linear gets grad_output itself from autograd: the adapter copies it."""
    case = next(c for c in crosscheck.cases_for("quick", ops=["linear"]) if "vector-weight-bias-0d" in c.id)
    outcome = _run(F_SUBJECT, [case])[0]
    assert outcome.status == "passed", outcome.failure
    grads = F_SUBJECT.backward("linear")(np.ones(()), np.ones(4), np.ones(4), np.ones(()))
    assert all(isinstance(g, np.ndarray) for g in grads)


# --- second order (--order 2) through the adapter ---------------------------------------------

@pytest.mark.parametrize("op", list(OPS))
def test_torch_nn_functional_passes_every_quick_case_at_order_2(op):
    """autograd.grad of autograd's own gradients, taken with create_graph, in the case's dtype."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcomes = [crosscheck.run_case(F_SUBJECT, case, SEED, crosscheck.Checks(order=2))
                    for case in crosscheck.cases_for("quick", ops=[op])]
    bad = [describe(o) if o.failure else f"{o.case.key}: {o.status} {o.note}" for o in outcomes if o.status != "passed"]
    assert not bad, "\n".join(bad[:10])
    assert all("grad_grad_output" in o.ratios for o in outcomes if not o.rejected)


def _tanh_forward(ctx, x):
    y = torch.tanh(x)
    ctx.save_for_backward(y)
    return y


def _tanh_backward(ctx, grad):
    (y,) = ctx.saved_tensors
    return grad * (1 - y * y)


class _Differentiable(torch.autograd.Function):
    """tanh with a backward written in torch ops, which autograd differentiates."""

    forward = staticmethod(_tanh_forward)
    backward = staticmethod(_tanh_backward)


class _OnceDifferentiable(torch.autograd.Function):
    """The same tanh, its backward marked as torch cannot differentiate it: the usual state of a custom kernel."""

    forward = staticmethod(_tanh_forward)
    backward = staticmethod(torch.autograd.function.once_differentiable(_tanh_backward))


TANH = [c for c in crosscheck.cases_for("quick", ops=["tanh"]) if not c.invalid]


def test_a_once_differentiable_function_fails_the_second_order_saying_so():
    """torch's autograd differentiates through such a backward as zeros, silently: the adapter says why."""
    subject = subject_of(_Impl(None, tanh=_OnceDifferentiable.apply), "torch", name="once")
    outcomes = [crosscheck.run_case(subject, case, SEED, crosscheck.Checks(order=2)) for case in TANH]
    assert all(o.status == "failed" and o.failure.quantity == "second order" for o in outcomes)
    assert all("marked @once_differentiable" in o.failure.reason for o in outcomes)
    first = [crosscheck.run_case(subject, case, SEED) for case in TANH]
    assert all(o.status == "passed" for o in first)  # its first order is right


def test_a_custom_function_with_a_differentiable_backward_passes_the_second_order():
    subject = subject_of(_Impl(None, tanh=_Differentiable.apply), "torch", name="differentiable")
    outcomes = [crosscheck.run_case(subject, case, SEED, crosscheck.Checks(order=2)) for case in TANH]
    assert all(o.status == "passed" for o in outcomes), [describe(o) for o in outcomes if o.failure][:3]


def test_an_explicit_backward_outside_autograd_is_reported_as_such():
    def tanh_backward(grad, x):  # through NumPy: right values, no graph
        y = np.tanh(x.detach().numpy())
        return (torch.from_numpy(grad.detach().numpy() * (1 - y * y)),)

    subject = subject_of(_Impl(None, tanh=torch.tanh, tanh_backward=tanh_backward), "torch", name="numpy-backward")
    outcome = crosscheck.run_case(subject, TANH[0], SEED, crosscheck.Checks(order=2))
    assert outcome.status == "failed" and outcome.failure.quantity == "second order"
    assert "does not require grad" in outcome.failure.reason
