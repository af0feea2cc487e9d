"""The framework adapter for tinygrad (https://github.com/tinygrad/tinygrad), a framework
that compiles every kernel it runs: the protocol of ``crosscheck.Framework`` in a few lines.

    CC=clang-14 python -m crosscheck --framework examples.tinygrad_framework --impl examples.tinygrad_ops

tinygrad's CPU device compiles its kernels with clang (``$CC``, else ``clang``); where no clang
is on the PATH it finds no device at all. Set ``CC`` to the clang there is (``clang-14`` is
Debian 12's package).
"""
from __future__ import annotations

import importlib.metadata

import numpy as np
from tinygrad import Tensor, dtypes

from crosscheck import Framework
from crosscheck.checking import Violation


class Tinygrad(Framework):
    name = "tinygrad"
    # tinygrad refuses a bad call with these; an AssertionError is its unchecked shape
    # assumption failing, not a refusal, and the gate reports it as such
    rejections = (ValueError, TypeError, RuntimeError)

    def describe(self) -> str:
        return f"tinygrad {importlib.metadata.version('tinygrad')} ({Tensor([0]).device})"

    def to_native(self, array):
        # a copy (tinygrad owns its buffers), made from the flat array: tinygrad turns a 0-d array
        # into a constant of its compiled CPU device, whatever the default device, which fails
        # where there is no clang
        return Tensor(np.ascontiguousarray(array).reshape(-1)).reshape(np.shape(array))

    def to_numpy(self, value, quantity):
        if not isinstance(value, Tensor):
            raise Violation(quantity, f"must be a tinygrad.Tensor, got {type(value).__name__}")
        return np.array(value.numpy(), copy=True)

    def vjp(self, fn, natives, kwargs, grad_output):
        out = fn(*natives, **kwargs)
        wanted = [t is not None and dtypes.is_float(t.dtype) for t in natives]
        leaves = [t for t, w in zip(natives, wanted) if w]
        grads = iter(out.gradient(*leaves, gradient=grad_output) if leaves else ())
        return [next(grads) if w else None for w in wanted]


FRAMEWORK = Tinygrad()
