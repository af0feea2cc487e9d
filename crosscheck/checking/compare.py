"""The one comparison routine: run a case through torch and through an implementation.

For every case, whatever the op:

1. torch runs the call in the case's dtypes. If torch rejects it, the implementation must
   reject it too, with ``ValueError`` or ``TypeError``; if torch accepts, so must it.
2. The implementation's ``NAME`` and ``NAME_backward`` run on copies of the same arrays,
   with a random upstream gradient.
3. torch recomputes the output and every gradient in float64 on the same values (the
   truth), and twice more to size the tolerance entrywise (see :mod:`crosscheck.checking.tolerance`).
4. Output and gradients are compared in order: type, shape, dtype, values. The inputs and
   the upstream gradient must come back unmodified, and the output must not share memory
   with an input.

The first disagreement is reported as a :class:`Failure`; the largest error and its ratio
to the tolerance are kept for every quantity compared, pass or fail.
"""
from __future__ import annotations

import numpy as np

from ..cases import Case
from ..oracle import torch_forward_backward, torch_rejection
from ..specs import OPS
from . import second_order
from .bounds import BOUNDS
from .outcome import Failure, Outcome, Unsupported, Violation
from .subject import REJECTIONS, Checks, as_subject
from .tolerance import excess

__all__ = ["REJECTIONS", "attempt", "call", "compare_exact", "compare_quantity", "expect_rejection", "run_case", "unmodified"]


def run_case(impl, case: Case, seed: int = 0, checks: Checks | None = None) -> Outcome:
    """Check one case: ``impl`` is a module of the NumPy contract or a :class:`Subject`."""
    subject, checks = as_subject(impl), checks or Checks()
    forward, backward = subject.forward(case.op), subject.backward(case.op)
    if forward is None or (checks.backward and backward is None):
        return Outcome(case, "skipped", note=missing(case.op, forward, backward))
    double_backward = subject.double_backward(case.op) if checks.order == 2 else None
    if checks.order == 2 and double_backward is None:
        return Outcome(case, "skipped", note=missing(case.op, forward, backward))
    reason = subject.support.reason(case)
    if reason is not None:
        return Outcome(case, "unsupported", note=reason)
    pristine = case.arrays(seed)  # torch's copy; the implementation gets its own
    arrays = [None if a is None else a.copy() for a in pristine]
    outcome = Outcome(case, "passed")
    torch_error = torch_rejection(case.op, pristine, case.kwargs)
    try:
        if torch_error is None:
            failure = _compare_all(OPS[case.op], (forward, backward, double_backward), case, arrays, pristine, seed,
                                   outcome, checks)
        elif not checks.rejection:
            outcome.status, outcome.note = "skipped", f"torch rejects: {torch_error}; rejection parity is off"
            return outcome
        else:
            outcome.note = "torch rejects: " + torch_error
            failure = expect_rejection(forward, arrays, case.kwargs, torch_error, subject.rejections)
            failure = failure or (checks.mutation and unmodified(OPS[case.op].arrays, arrays, pristine)) or None
    except Unsupported as exc:
        return Outcome(case, "unsupported", note=f"raised NotImplementedError: {exc}")
    if failure is not None:
        outcome.status, outcome.failure = "failed", failure
    return outcome


def missing(op, forward, backward) -> str:
    """What is missing of an op, and what to do about it."""
    if forward is None:
        return f"{op} not implemented"
    if backward is None:
        return f"{op} found, {op}_backward missing: add it, or use --forward-only"
    return f"{op} and {op}_backward found, {op}_double_backward missing: add it, or check the first order alone"


def expect_rejection(forward, arrays, kwargs, torch_error, rejections=REJECTIONS):
    try:
        forward(*arrays, **kwargs)
    except Violation as exc:
        return exc.failure()
    except rejections:
        return None
    except NotImplementedError as exc:  # not one of the framework's rejections: "not supported"
        raise Unsupported(str(exc)) from exc
    except Exception as exc:  # any other type breaks the contract, and is reported as such
        names = " or ".join(t.__name__ for t in rejections)
        return Failure("rejection", f"raised {type(exc).__name__} ({exc}); rejections must be {names}")
    return Failure("rejection", f"accepted a call torch rejects ({torch_error})")


def call(quantity, fn, *args, **kwargs):
    """``(result, None)``, or ``(None, Failure)`` when the implementation raises."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # reported, never propagated: the harness must outlive a broken impl
        return None, _raised(quantity, exc)


def attempt(quantity, fn, *args, **kwargs):
    """:func:`call`, where a NotImplementedError means the call is not supported: it raises
    :class:`Unsupported`, which :func:`run_case` reports as such."""
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError as exc:
        raise Unsupported(str(exc)) from exc
    except Exception as exc:  # as in call()
        return None, _raised(quantity, exc)


def _raised(quantity, exc) -> Failure:
    if isinstance(exc, Violation):  # an adapter found the contract broken in the framework's own terms
        return exc.failure()
    return Failure(quantity, f"raised {type(exc).__name__} on a call torch accepts: {exc}")


def _compare_all(spec, functions, case, arrays, pristine, seed, outcome, checks):
    forward, backward, double_backward = functions
    result, failure = attempt("output", forward, *arrays, **case.kwargs)
    failure = failure or (checks.mutation and unmodified(spec.arrays, arrays, pristine)) or None
    if failure:
        return failure
    try:
        truth = torch_forward_backward(case.op, pristine, case.kwargs, lambda shape: case.grad_output(shape, seed))
    except Exception as exc:  # torch took the call in the case's dtype and refuses it in float64
        return Failure("output", f"torch accepts this call in {case.dtype} but refuses it in float64, the dtype "
                                 f"of the truth, so it cannot be checked: {type(exc).__name__}: {exc}")
    tol_out, tol_grads = BOUNDS[case.op](case, pristine, truth.grad_output, truth.output, truth.grads)
    dtype = case.dtype if checks.dtype else None

    names = spec.outputs(case.kwargs)
    if len(names) > 1 and not (isinstance(result, tuple) and len(result) == len(names)):
        return Failure("output", f"must be a tuple ({', '.join(names)}), got {type(result).__name__}")
    out, extras = (result[0], result[1:]) if len(names) > 1 else (result, ())
    failure = compare_quantity("output", out, truth.output, tol_out, dtype, outcome)
    for name, got, want in zip(names[1:], extras, truth.extras):
        failure = failure or compare_exact(name, got, want, outcome)
    if failure:
        return failure
    if checks.aliasing and any(a is not None and np.shares_memory(out, a) for a in arrays):
        return Failure("output", "shares memory with an input; it must be a new array")
    if not checks.backward:
        return None
    failure = _compare_gradients(spec, backward, case, arrays, pristine, truth, tol_grads, outcome, checks)
    if failure or checks.order == 1:
        return failure
    return _compare_second_order(spec, double_backward, case, arrays, pristine, truth, seed, outcome, checks)


def _compare_gradients(spec, backward, case, arrays, pristine, truth, tol_grads, outcome, checks):
    grad_output = truth.grad_output.astype(case.dtype)
    grad_copy = grad_output.copy()
    results, failure = attempt("gradients", backward, grad_output, *arrays, **case.kwargs)
    failure = failure or (checks.mutation and unmodified(spec.arrays, arrays, pristine)) or None
    if failure:
        return failure
    names = tuple("grad_" + name for name in spec.arrays)
    failure = (_not_a_tuple("gradients", f"backward must return a tuple of {len(names)} entries", results, names)
               or _compare_results(names, results, truth.grads, tol_grads, (grad_output, *arrays),
                                   "grad_output or an input", case, outcome, checks))
    if failure:
        return failure
    if checks.mutation and not np.array_equal(grad_output, grad_copy, equal_nan=True):
        return Failure("grad_output", "modified in place by the backward")
    return None


def _compare_second_order(spec, double_backward, case, arrays, pristine, first_truth, seed, outcome, checks):
    """Check ``NAME_double_backward`` on a case whose first order passed (:mod:`.second_order`)."""
    grad_output = first_truth.grad_output.astype(case.dtype)
    v = second_order.cotangents(case, first_truth.grads, seed)
    kept = (grad_output.copy(), [None if c is None else c.copy() for c in v])
    results, failure = attempt(second_order.QUANTITY, double_backward, v, grad_output, *arrays, **case.kwargs)
    failure = failure or (checks.mutation and unmodified(spec.arrays, arrays, pristine)) or None
    if failure:
        return failure
    names = second_order.quantities(spec)
    expected = f"{case.op}_double_backward must return a tuple of {len(names)} entries ({', '.join(names)})"
    failure = _not_a_tuple(second_order.QUANTITY, expected, results, names)
    if failure:  # before torch is asked for the truth
        return failure
    truth = second_order.torch_run(case, pristine, first_truth.grad_output, v)
    tols = second_order.BOUNDS[case.op](case, pristine, first_truth.grad_output, v, first_truth, truth)
    failure = _compare_results(names, results, truth, tols, (grad_output, *arrays, *v), "an argument or a cotangent",
                               case, outcome, checks)
    if failure:
        return failure
    if checks.mutation:
        if not np.array_equal(grad_output, kept[0], equal_nan=True):
            return Failure("grad_output", "modified in place by the double backward")
        for i, (c, before) in enumerate(zip(v, kept[1])):
            if c is not None and not np.array_equal(c, before, equal_nan=True):
                return Failure("grad_grads", f"grad_grads[{i}] modified in place by the double backward")
    return None


def _not_a_tuple(quantity, expected, results, names):
    """A Failure where ``results`` is not a tuple of one entry per name (``expected`` says what it must be)."""
    if isinstance(results, tuple) and len(results) == len(names):
        return None
    got = type(results).__name__ + (f" of {len(results)} entries" if isinstance(results, (tuple, list)) else "")
    return Failure(quantity, f"{expected}, got {got}")


def _compare_results(names, results, truths, tols, others, named, case, outcome, checks):
    """A backward's or a double backward's results against torch's ``truths``, entry by entry: None
    where torch's is None, else within its tolerance and (with aliasing on) sharing no memory with
    ``others`` (the arguments, described as ``named`` in the failure)."""
    dtype = case.dtype if checks.dtype else None
    for name, got, want, tol in zip(names, results, truths, tols):
        if want is None:  # torch gives None where the argument is None or not differentiable
            if got is not None:
                return Failure(name, f"must be None (no gradient), got {type(got).__name__}")
            continue
        failure = compare_quantity(name, got, want, tol, dtype, outcome)
        if failure:
            return failure
        if checks.aliasing and any(other is not None and np.shares_memory(got, other) for other in others):
            return Failure(name, f"shares memory with {named}; it must be a new array")
    return None


def compare_exact(quantity, actual, expected, outcome):
    """Integer results (indices) must equal torch's: same type, shape, dtype and values."""
    if not isinstance(actual, np.ndarray):
        return Failure(quantity, f"must be a numpy.ndarray, got {type(actual).__name__}")
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return Failure(quantity, f"{actual.dtype}{list(actual.shape)} != torch's {expected.dtype}{list(expected.shape)}")
    wrong = actual != expected
    outcome.errors[quantity] = float(np.abs(actual - expected).max()) if actual.size else 0.0
    if not wrong.any():
        return None
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    return Failure(quantity, f"{int(wrong.sum())} of {wrong.size} entries differ", max_error=outcome.errors[quantity],
                   index=index, tolerance=0.0, actual=float(actual[index]), expected=float(expected[index]))


def compare_quantity(quantity, actual, expected, tol, dtype, outcome):
    if not isinstance(actual, np.ndarray):
        return Failure(quantity, f"must be a numpy.ndarray, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        return Failure(quantity, f"shape {actual.shape} != torch's {expected.shape}")
    if dtype is not None and actual.dtype != np.dtype(dtype):
        return Failure(quantity, f"dtype {actual.dtype} != {np.dtype(dtype)} (the input's)")
    error, bad = excess(actual, expected, tol)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error == 0, 0.0, error / tol)
    outcome.errors[quantity] = float(error.max()) if error.size else 0.0
    outcome.ratios[quantity] = float(ratio.max()) if ratio.size else 0.0
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, ratio, -1.0))), error.shape))
    return Failure(
        quantity,
        f"{int(bad.sum())} of {bad.size} entries outside the tolerance",
        max_error=float(error.max()),
        index=index,
        tolerance=float(tol[index]),
        actual=float(actual[index]),
        expected=float(expected[index]),
    )


def unmodified(names, arrays, pristine):
    """A Failure naming the first argument the implementation changed in place, else None."""
    for name, a, before in zip(names, arrays, pristine):
        if a is not None and not (a.dtype == before.dtype and np.array_equal(a, before, equal_nan=True)):
            return Failure(name, f"{name} was modified in place; inputs must be left untouched")
    return None
