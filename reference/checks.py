"""Argument checks shared by every op: one place that decides what is a valid call.

Each check either returns the argument in a normalised form or raises ``ValueError`` /
``TypeError`` with a message that names the op, the argument and the value it was given.
The rules follow what ``torch.nn.functional`` accepts (see docs/semantics.md), so that an
implementation of this module rejects exactly the calls torch rejects.
"""
from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)


def float_array(op: str, name: str, value) -> np.ndarray:
    """``value`` must be a float32 or float64 ndarray (torch refuses lists and integers here)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy.ndarray, got {name}={_describe(value)}")
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must have dtype float32 or float64, got {name}.dtype={value.dtype}")
    return value


def same_dtype(op: str, **arrays) -> np.dtype:
    """All non-None arrays share one dtype; mixing float32 and float64 is rejected like torch."""
    given = {name: a for name, a in arrays.items() if a is not None}
    dtypes = {a.dtype for a in given.values()}
    if len(dtypes) > 1:
        listing = ", ".join(f"{name}.dtype={a.dtype}" for name, a in given.items())
        raise TypeError(f"{op}: arrays must share one dtype, got {listing}")
    return dtypes.pop()


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def int_arg(op: str, name: str, value) -> int:
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {name}={value!r}")
    return int(value)


def int_tuple(op: str, name: str, value, n: int, minimum: int, broadcast: bool = True) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints, each at least ``minimum``. A one-element sequence is
    broadcast, as torch's convolutions and poolings do, unless ``broadcast`` is False (torch's
    ``_pair`` for unfold and fold takes an int or exactly ``n`` entries)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(is_int(v) for v in items):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {name}={value!r}")
    if len(items) == 1 and (broadcast or not isinstance(value, (tuple, list))):
        items = items * n
    if len(items) != n:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {name}={value!r}")
    if any(v < minimum for v in items):
        bound = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {bound}, got {name}={value!r}")
    return tuple(int(v) for v in items)


def float_dtype(op: str, dtype) -> np.dtype:
    """float32 (also for None, torch's default) or float64; anything else is refused."""
    try:
        resolved = np.dtype(np.float32 if dtype is None else dtype)
    except TypeError:
        resolved = np.dtype(object)
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"{op}: dtype must be float32 or float64, got dtype={dtype!r}")
    return resolved


def rank(op: str, name: str, array: np.ndarray, allowed: tuple[int, ...]) -> int:
    if array.ndim not in allowed:
        ranks = " or ".join(str(r) for r in allowed)
        raise ValueError(f"{op}: {name} must have {ranks} dimensions, got {name}.shape={array.shape}")
    return array.ndim


def grad_output(op: str, grad_output, input, shape) -> np.ndarray:
    """What every backward checks of its upstream gradient: an array of the input's float
    dtype and of the forward output's ``shape``. Returned as given."""
    float_array(op, "grad_output", grad_output)
    same_dtype(op, grad_output=grad_output, input=input)
    if grad_output.shape != shape:
        raise ValueError(
            f"{op}: grad_output must have the output's shape {shape}, got grad_output.shape={grad_output.shape}"
        )
    return grad_output
