"""The framework adapter for MyGrad (https://github.com/rsokl/MyGrad), an autograd library on
NumPy: the whole protocol of ``crosscheck.Framework`` for another library, in a few lines.

    python -m crosscheck --framework examples.mygrad_framework --impl examples.mygrad_ops
"""
from __future__ import annotations

import mygrad as mg
import numpy as np

from crosscheck import Framework
from crosscheck.checking import Violation


class MyGrad(Framework):
    name = "mygrad"
    rejections = (ValueError, TypeError, IndexError)  # MyGrad raises NumPy's errors

    def describe(self) -> str:
        return f"mygrad {mg.__version__}"

    def to_native(self, array):
        return mg.Tensor(array)  # a copy: MyGrad keeps its own data

    def to_numpy(self, value, quantity):
        if not isinstance(value, mg.Tensor):
            raise Violation(quantity, f"must be a mygrad.Tensor, got {type(value).__name__}")
        return np.array(value.data, copy=True)

    def vjp(self, fn, natives, kwargs, grad_output):
        leaves = [None if t is None else mg.Tensor(t.data, constant=not np.issubdtype(t.dtype, np.floating))
                  for t in natives]
        fn(*leaves, **kwargs).backward(grad_output.data)
        return [None if t is None or t.constant else mg.Tensor(np.zeros_like(t.data) if t.grad is None else t.grad)
                for t in leaves]


FRAMEWORK = MyGrad()
