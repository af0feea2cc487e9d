"""The fully connected layer and the elementwise layers, as ``torch.nn.Linear``, ``ReLU``,
``Sigmoid``, ``Tanh`` and ``Flatten``; the math is :mod:`reference.dense` and :mod:`reference.activations`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import checks
from .module import Module, Parameter, functional_op, uniform, zero_cotangents


class Linear(Module):
    """``y = x·wᵀ + b`` as ``torch.nn.Linear``: input ``(*, in_features)``, weight
    ``(out_features, in_features)``, bias ``(out_features,)``; the math and its backward are
    :func:`reference.functional.linear` (see :mod:`reference.dense`).

    Initialisation is torch's: weight and bias from ``U(−1/√in_features, 1/√in_features)``,
    weight first (with no input features torch draws nothing: the bias is then 0). Negative
    feature counts are refused with a ``ValueError``, non-int ones with a ``TypeError``.
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None, dtype=np.float32):
        super().__init__()
        op = type(self).__name__
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if checks.int_arg(op, name, value) < 0:
                raise ValueError(f"{op}: {name} must be non-negative, got {name}={value}")
        dtype = checks.float_dtype(op, dtype)
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng(rng)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        self.weight = Parameter(uniform(rng, bound, (self.out_features, self.in_features), dtype))
        self.bias = Parameter(uniform(rng, bound, self.out_features, dtype)) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        bias = None if self.bias is None else self.bias.data
        y = functional_op("linear")(x, self.weight.data, bias)
        self._saved_for_backward = (x, bias)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, bias = self._saved()
        grad_input, grad_weight, grad_bias = functional_op("linear_backward")(
            self._keep_upstream(grad_output), x, self.weight.data, bias)
        self.weight.accumulate(grad_weight)
        if self.bias is not None:
            self.bias.accumulate(grad_bias)
        return grad_input

    def double_backward(self, grad_grad_input: np.ndarray):
        """``(∂Φ/∂g, ∂Φ/∂x)`` of ``Φ = ⟨v, ∂E/∂x⟩``; see :meth:`Module.double_backward`."""
        x, bias = self._saved()
        cotangents = (grad_grad_input, *zero_cotangents(self.weight.data, bias))
        grad_grad_output, grad2_input, grad2_weight, grad2_bias = functional_op("linear_double_backward")(
            cotangents, self._last_upstream(), x, self.weight.data, bias)
        self.weight.accumulate(grad2_weight)
        if self.bias is not None:
            self.bias.accumulate(grad2_bias)
        return grad_grad_output, grad2_input

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Elementwise(Module):
    """An activation with no parameters: ``y = f(x)``, ``∂E/∂x = g·f'(x)`` (``fn`` names the op)."""

    fn = ""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = functional_op(self.fn)(x)
        self._saved_for_backward = (x,)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (x,) = self._saved()
        (grad_input,) = functional_op(self.fn + "_backward")(self._keep_upstream(grad_output), x)
        return grad_input

    def double_backward(self, grad_grad_input: np.ndarray):
        """``(∂Φ/∂g, ∂Φ/∂x)`` of ``Φ = ⟨v, ∂E/∂x⟩``: ``v·f'(x)`` and ``g·v·f''(x)``."""
        (x,) = self._saved()
        return functional_op(self.fn + "_double_backward")((grad_grad_input,), self._last_upstream(), x)


class ReLU(_Elementwise):
    """``max(x, 0)`` as ``torch.nn.ReLU`` (see :func:`reference.functional.relu`).

    ``inplace`` is accepted for torch's signature, but the result is always a new array: the
    contract never modifies an input. The values are the same either way."""

    fn = "relu"

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(_Elementwise):
    """``1/(1 + e^{−x})`` as ``torch.nn.Sigmoid`` (see :func:`reference.functional.sigmoid`)."""

    fn = "sigmoid"


class Tanh(_Elementwise):
    """``tanh(x)`` as ``torch.nn.Tanh`` (see :func:`reference.functional.tanh`)."""

    fn = "tanh"


class Flatten(Module):
    """``torch.nn.Flatten(start_dim=1, end_dim=-1)``: axes ``start_dim … end_dim`` merged into one
    (a 0-d input counts as having one axis, as in torch). The backward reshapes the gradient
    back. Both return new arrays. An axis out of range, or ``start_dim`` after ``end_dim``, is a
    ``ValueError`` naming it (torch: ``IndexError`` and ``RuntimeError``)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        op = type(self).__name__
        self.start_dim = checks.int_arg(op, "start_dim", start_dim)
        self.end_dim = checks.int_arg(op, "end_dim", end_dim)

    def _output_shape(self, shape) -> tuple[int, ...]:
        op, ndim = type(self).__name__, max(len(shape), 1)
        axes = []
        for name, value in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -ndim <= value < ndim:
                raise ValueError(f"{op}: {name} must be in [{-ndim}, {ndim - 1}] for input of shape {shape}, "
                                 f"got {name}={value}")
            axes.append(value % ndim)
        start, end = axes
        if start > end:
            raise ValueError(f"{op}: start_dim must not come after end_dim, got start_dim={self.start_dim}, "
                             f"end_dim={self.end_dim} for input of shape {shape}")
        if not shape:
            return (1,)
        return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{type(self).__name__}: input must be a numpy.ndarray, got {type(x).__name__}")
        y = x.reshape(self._output_shape(x.shape)).copy()
        self._saved_for_backward = (x.shape, y.shape)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape, out_shape = self._saved()
        if not isinstance(grad_output, np.ndarray) or grad_output.shape != out_shape:
            got = grad_output.shape if isinstance(grad_output, np.ndarray) else type(grad_output).__name__
            raise ValueError(f"{type(self).__name__}.backward: grad_output must have the output's shape "
                             f"{out_shape}, got grad_output={got}")
        return grad_output.reshape(shape).copy()

    def double_backward(self, grad_grad_input: np.ndarray):
        """The backward is a reshape, linear in ``g`` alone: ``(v`` reshaped like the output, ``0)``."""
        shape, out_shape = self._saved()
        return grad_grad_input.reshape(out_shape).copy(), np.zeros(shape, dtype=grad_grad_input.dtype)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
