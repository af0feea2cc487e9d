"""The one comparison routine: run a case through torch and through an implementation.

For every case, whatever the op:

1. torch runs the call in the case's dtypes. If torch rejects it, the implementation must
   reject it too, with ``ValueError`` or ``TypeError``; if torch accepts, so must it.
2. The implementation's ``NAME`` and ``NAME_backward`` run on copies of the same arrays,
   with a random upstream gradient.
3. torch recomputes the output and every gradient in float64 on the same values (the
   truth), and twice more to size the tolerance entrywise (see :mod:`crosscheck.tolerance`).
4. Output and gradients are compared in order: type, shape, dtype, values. The inputs and
   the upstream gradient must come back unmodified, and the output must not share memory
   with an input.

The first disagreement is reported as a :class:`Failure`; the largest error and its ratio
to the tolerance are kept for every quantity compared, pass or fail.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from . import tolerance as _tol
from .cases import Case
from .ops import OPS

REJECTIONS = (ValueError, TypeError)


def use_one_torch_thread() -> None:
    """Cases are small, so torch's intra-op threads only add contention: with other work
    on the machine, 672 conv1d cases took 97 s on 2 threads and 7 s on 1. The CLI and the
    pytest plugin call this once at start-up."""
    torch.set_num_threads(1)


@dataclass
class Failure:
    quantity: str
    reason: str
    max_error: float = float("nan")
    index: tuple | None = None
    tolerance: float = float("nan")
    actual: float = float("nan")
    expected: float = float("nan")


@dataclass
class Outcome:
    case: Case
    status: str  # passed, failed or skipped
    errors: dict = field(default_factory=dict)  # quantity -> largest absolute error
    ratios: dict = field(default_factory=dict)  # quantity -> largest error / tolerance
    failure: Failure | None = None
    note: str = ""  # why skipped; what torch said when it rejected

    @property
    def rejected(self) -> bool:
        return self.note.startswith("torch rejects")


def _to_torch(arrays, dtype=None):
    tensors = []
    for a in arrays:
        if a is None:
            tensors.append(None)
            continue
        widen = dtype is not None and np.asarray(a).dtype.kind == "f"
        t = torch.from_numpy(np.array(a, dtype=dtype if widen else None, copy=True))
        tensors.append(t.requires_grad_() if t.is_floating_point() else t)
    return tensors


class TorchResult(NamedTuple):
    output: np.ndarray  # the differentiated output
    grads: list  # one per array argument, None where it is None or not differentiable
    grad_output: np.ndarray
    extras: tuple = ()  # further outputs, compared exactly (max pooling's indices)


def torch_forward_backward(name, arrays, kwargs, grad_output, dtype=np.float64) -> TorchResult:
    """torch's output and the gradient of every array argument, as NumPy arrays.

    Float arrays are converted to ``dtype`` (float64 by default: the truth); integer arrays
    are passed as they are. ``grad_output`` is an array, or a function of the output's shape
    that makes one.
    """
    tensors = _to_torch(arrays, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = OPS[name].torch_fn(*tensors, **kwargs)
    out, extras = (out[0], tuple(e.numpy() for e in out[1:])) if isinstance(out, tuple) else (out, ())
    if callable(grad_output):
        grad_output = grad_output(tuple(out.shape))
    wanted = [t for t in tensors if t is not None and t.requires_grad]
    upstream = torch.from_numpy(np.asarray(grad_output, dtype))
    grads = iter(torch.autograd.grad(out, wanted, upstream, allow_unused=True))
    result = [None if t is None or not t.requires_grad else next(grads) for t in tensors]
    return TorchResult(out.detach().numpy(), [None if g is None else g.numpy() for g in result], grad_output, extras)


def torch_rejection(name, arrays, kwargs):
    """None if torch accepts the call in the case's own dtypes, else its error text."""
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            OPS[name].torch_fn(*_to_torch(arrays), **kwargs)
    except Exception as exc:  # torch signals rejection with several exception types
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def run_case(impl, case: Case, seed: int = 0) -> Outcome:
    spec = OPS[case.op]
    forward = getattr(impl, case.op, None)
    backward = getattr(impl, case.op + "_backward", None)
    if forward is None or backward is None:
        return Outcome(case, "skipped", note="not implemented")
    pristine = case.arrays(seed)  # torch's copy; the implementation gets its own
    arrays = [None if a is None else a.copy() for a in pristine]
    outcome = Outcome(case, "passed")
    torch_error = torch_rejection(case.op, pristine, case.kwargs)
    if torch_error is not None:
        outcome.note = "torch rejects: " + torch_error
        failure = expect_rejection(forward, arrays, case.kwargs, torch_error)
        failure = failure or unmodified(spec.arrays, arrays, pristine)
    else:
        failure = _compare_all(spec, forward, backward, case, arrays, pristine, seed, outcome)
    if failure is not None:
        outcome.status, outcome.failure = "failed", failure
    return outcome


def expect_rejection(forward, arrays, kwargs, torch_error):
    try:
        forward(*arrays, **kwargs)
    except REJECTIONS:
        return None
    except Exception as exc:  # any other type breaks the contract, and is reported as such
        return Failure("rejection", f"raised {type(exc).__name__} ({exc}); rejections must be ValueError or TypeError")
    return Failure("rejection", f"accepted a call torch rejects ({torch_error})")


def call(quantity, fn, *args, **kwargs):
    """``(result, None)``, or ``(None, Failure)`` when the implementation raises."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # reported, never propagated: the harness must outlive a broken impl
        return None, Failure(quantity, f"raised {type(exc).__name__} on a call torch accepts: {exc}")


def _compare_all(spec, forward, backward, case, arrays, pristine, seed, outcome):
    result, failure = call("output", forward, *arrays, **case.kwargs)
    failure = failure or unmodified(spec.arrays, arrays, pristine)
    if failure:
        return failure
    try:
        truth = torch_forward_backward(case.op, pristine, case.kwargs, lambda shape: case.grad_output(shape, seed))
    except Exception as exc:  # torch took the call in the case's dtype and refuses it in float64
        return Failure("output", f"torch accepts this call in {case.dtype} but refuses it in float64, the dtype "
                                 f"of the truth, so it cannot be checked: {type(exc).__name__}: {exc}")
    tol_out, tol_grads = spec.bound(case, pristine, truth.grad_output, truth.output, truth.grads)

    names = spec.outputs(case.kwargs)
    if len(names) > 1 and not (isinstance(result, tuple) and len(result) == len(names)):
        return Failure("output", f"must be a tuple ({', '.join(names)}), got {type(result).__name__}")
    out, extras = (result[0], result[1:]) if len(names) > 1 else (result, ())
    failure = compare_quantity("output", out, truth.output, tol_out, case.dtype, outcome)
    for name, got, want in zip(names[1:], extras, truth.extras):
        failure = failure or compare_exact(name, got, want, outcome)
    if failure:
        return failure
    if any(a is not None and np.shares_memory(out, a) for a in arrays):
        return Failure("output", "shares memory with an input; it must be a new array")

    grad_output = truth.grad_output.astype(case.dtype)
    grad_copy = grad_output.copy()
    results, failure = call("gradients", backward, grad_output, *arrays, **case.kwargs)
    failure = failure or unmodified(spec.arrays, arrays, pristine)
    if failure:
        return failure
    if not isinstance(results, tuple) or len(results) != len(arrays):
        got = type(results).__name__
        got += f" of {len(results)} entries" if isinstance(results, (tuple, list)) else ""
        return Failure("gradients", f"backward must return a tuple of {len(arrays)} entries, got {got}")
    for name, a, got, want, tol in zip(spec.arrays, arrays, results, truth.grads, tol_grads):
        quantity = "grad_" + name
        if a is None or want is None:
            if got is not None:
                return Failure(quantity, f"must be None (no gradient), got {type(got).__name__}")
            continue
        failure = compare_quantity(quantity, got, want, tol, case.dtype, outcome)
        if failure:
            return failure
        if any(np.shares_memory(got, other) for other in (grad_output, *arrays) if other is not None):
            return Failure(quantity, "shares memory with grad_output or an input; it must be a new array")
    if not np.array_equal(grad_output, grad_copy, equal_nan=True):
        return Failure("grad_output", "modified in place by the backward")
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
    if actual.dtype != np.dtype(dtype):
        return Failure(quantity, f"dtype {actual.dtype} != {np.dtype(dtype)} (the input's)")
    error, bad = _tol.excess(actual, expected, tol)
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
