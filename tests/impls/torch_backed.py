"""A correct implementation of the contract (CONTRACT.md §1) on top of PyTorch.

It exists to test the harness, not to be fast: if the harness is right, this module passes
every case of every profile, and each mutant in :mod:`tests.impls.broken` (most of them
wrap this module or :mod:`reference.functional`) fails for its one bug.

* forward: NumPy → ``torch.from_numpy`` (no copy; torch never writes to its inputs here)
  → ``torch.nn.functional`` → NumPy, in the input's dtype, never sharing memory with an input;
* backward: ``torch.autograd.grad`` of the same call, one entry per array argument, ``None``
  where the argument was ``None``;
* arguments: arrays must be float32/float64 ``numpy.ndarray`` (TypeError otherwise, as the
  contract says: torch would happily take float16 or ints); everything else is left to torch,
  and its rejection (RuntimeError, NotImplementedError, ...) is re-raised as ValueError (or
  TypeError for torch's TypeError) naming the call's arguments and quoting torch's message.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv3d",
    "conv3d_backward",
    "pad",
    "pad_backward",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# What torch raises when it refuses a call, other than TypeError (kept as TypeError).
_TORCH_REJECTIONS = (RuntimeError, ValueError, NotImplementedError, IndexError)


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)


def _signature(op: str, arrays: dict, kwargs: dict) -> str:
    parts = [f"{name}={_describe(a)}" for name, a in arrays.items()]
    parts += [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"{op}({', '.join(parts)})"


def _check_arrays(op: str, arrays: dict, optional=("bias",)) -> None:
    for name, value in arrays.items():
        if value is None and name in optional:
            continue
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{op}: {name} must be a numpy.ndarray, got {name}={_describe(value)}")
        if value.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{op}: {name} must have dtype float32 or float64, got {name}.dtype={value.dtype}")


def _tensor(array, requires_grad=False):
    if array is None:
        return None
    # from_numpy shares memory; it refuses negative strides and warns on read-only arrays,
    # so those (never the harness's) are copied first.
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = array.copy()
    return torch.from_numpy(array).requires_grad_(requires_grad)


def _torch(op: str, arrays: dict, kwargs: dict, call):
    """Run ``call()``, turning torch's refusal into the contract's ValueError/TypeError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. 'same' with an even kernel: a note, not a rejection
            return call()
    except TypeError as exc:
        raise TypeError(f"{_signature(op, arrays, kwargs)} rejected by torch: {exc}") from exc
    except _TORCH_REJECTIONS as exc:
        raise ValueError(f"{_signature(op, arrays, kwargs)} rejected by torch: {type(exc).__name__}: {exc}") from exc


def _fresh(result: np.ndarray, dtype, *arrays) -> np.ndarray:
    """``result`` in ``dtype``, as a new array (never a view of an argument)."""
    result = result.astype(dtype, copy=False)
    if any(a is not None and np.shares_memory(result, a) for a in arrays):
        result = result.copy()
    return result


def _forward(op: str, fn, arrays: dict, kwargs: dict):
    _check_arrays(op, arrays)
    tensors = [_tensor(a) for a in arrays.values()]

    def call():
        with torch.no_grad():
            return fn(*tensors, **kwargs)

    out = _torch(op, arrays, kwargs, call)
    return _fresh(out.numpy(), arrays["input"].dtype, *arrays.values())


def _backward(op: str, fn, grad_output, arrays: dict, kwargs: dict):
    name = op + "_backward"
    _check_arrays(name, dict(grad_output=grad_output, **arrays))
    dtype = arrays["input"].dtype
    if grad_output.dtype != dtype:
        raise TypeError(f"{name}: grad_output.dtype={grad_output.dtype} must be the input's dtype {dtype}")
    tensors = [_tensor(a, requires_grad=True) for a in arrays.values()]
    upstream = _tensor(grad_output)

    def call():
        out = fn(*tensors, **kwargs)
        if tuple(out.shape) != grad_output.shape:
            raise ValueError(f"grad_output must have the output's shape {tuple(out.shape)}, got {grad_output.shape}")
        wanted = [t for t in tensors if t is not None]
        return iter(torch.autograd.grad(out, wanted, upstream, allow_unused=True))

    grads = _torch(name, dict(grad_output=grad_output, **arrays), kwargs, call)
    result = []
    for a in arrays.values():
        if a is None:
            result.append(None)
            continue
        g = next(grads)
        g = np.zeros_like(a) if g is None else g.numpy()  # None: the output does not depend on it
        result.append(_fresh(g, dtype, grad_output, *arrays.values()))
    return tuple(result)


def _conv_family(dims: int):
    op = f"conv{dims}d"
    fn = getattr(F, op)

    def forward(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return _forward(op, fn, dict(input=input, weight=weight, bias=bias), kwargs)

    def backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return _backward(op, fn, grad_output, dict(input=input, weight=weight, bias=bias), kwargs)

    forward.__name__ = forward.__qualname__ = op
    backward.__name__ = backward.__qualname__ = op + "_backward"
    forward.__doc__ = f"``torch.nn.functional.{op}`` on NumPy arrays."
    backward.__doc__ = f"``(grad_input, grad_weight, grad_bias)`` of :func:`{op}` by ``torch.autograd.grad``."
    return forward, backward


conv1d, conv1d_backward = _conv_family(1)
conv2d, conv2d_backward = _conv_family(2)
conv3d, conv3d_backward = _conv_family(3)


def pad(input, pad, mode="constant", value=None):
    """``torch.nn.functional.pad`` on a NumPy array."""
    return _forward("pad", F.pad, dict(input=input), dict(pad=pad, mode=mode, value=value))


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    """``(grad_input,)`` of :func:`pad` by ``torch.autograd.grad``."""
    return _backward("pad", F.pad, grad_output, dict(input=input), dict(pad=pad, mode=mode, value=value))
