"""The losses, as ``torch.nn.MSELoss`` and ``torch.nn.CrossEntropyLoss``; the math is
:mod:`reference.losses`.
"""
from __future__ import annotations

import numpy as np

from .. import checks
from .module import Module, functional_op


REDUCTIONS = ("none", "mean", "sum")


class _Loss(Module):
    """A loss: ``forward(input, target)`` returns the loss (a 0-d array for ``'mean'`` and
    ``'sum'``), ``backward(grad_output=1.0)`` returns ``∂E/∂input`` for ``E = grad_output·loss``
    (entrywise for ``'none'``, where ``grad_output`` must be an array of the loss's shape, as
    torch's ``backward`` needs an explicit gradient for a non-scalar loss). A Python number is
    taken in the input's dtype. ``reduction`` is refused at construction unless it is one of
    ``'none'``, ``'mean'``, ``'sum'``; the deprecated ``size_average`` and ``reduce`` are refused."""

    fn = ""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        op = type(self).__name__
        for name, value in (("size_average", size_average), ("reduce", reduce)):
            if value is not None:
                raise ValueError(f"{op}: {name} is deprecated in torch and not supported here; use reduction, "
                                 f"got {name}={value!r}")
        if not isinstance(reduction, str) or reduction not in REDUCTIONS:
            raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got reduction={reduction!r}")
        self.reduction = reduction

    def forward(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        loss = functional_op(self.fn)(input, target, reduction=self.reduction)
        self._saved_for_backward = (input, target)
        return loss

    def backward(self, grad_output=1.0) -> np.ndarray:
        input, target = self._saved()
        if not isinstance(grad_output, np.ndarray):
            op = type(self).__name__ + ".backward"
            if not isinstance(grad_output, (int, float, np.floating, np.integer)) or isinstance(grad_output, bool):
                raise TypeError(f"{op}: grad_output must be a number or a numpy.ndarray, got grad_output={grad_output!r}")
            if self.reduction == "none":
                raise ValueError(f"{op}: with reduction='none' the loss is not a scalar; grad_output must be an "
                                 f"array of its shape, got grad_output={grad_output!r}")
            grad_output = np.asarray(grad_output, dtype=input.dtype)
        self._keep_upstream(grad_output)
        return functional_op(self.fn + "_backward")(grad_output, input, target, reduction=self.reduction)[0]

    def double_backward(self, grad_grad_input: np.ndarray) -> np.ndarray:
        """``∂Φ/∂input`` for ``Φ = ⟨v, ∂E/∂input⟩``: the curvature of the loss applied to ``v`` (the
        loss's upstream gradient is the constant it was given, so its cotangent is not returned).
        Differentiable targets (mse_loss's) get a zero cotangent, as the penalty's ``Φ`` reads the
        input's gradient alone."""
        input, target = self._saved()
        target_cotangent = np.zeros_like(target) if target.dtype.kind == "f" else None
        _, grad2_input, _ = functional_op(self.fn + "_double_backward")(
            (grad_grad_input, target_cotangent), self._last_upstream(), input, target, reduction=self.reduction)
        return grad2_input

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """``torch.nn.MSELoss``: the mean (or sum, or entrywise) of ``(input − target)²``; see
    :func:`reference.functional.mse_loss`. Same positional order as torch:
    ``MSELoss(size_average=None, reduce=None, reduction='mean')``."""

    fn = "mse_loss"


class CrossEntropyLoss(_Loss):
    """``torch.nn.CrossEntropyLoss`` over logits ``(N, C, …)`` or ``(C,)`` and int64 class targets
    (or class probabilities); see :func:`reference.functional.cross_entropy`. Same positional order
    as torch; ``weight``, ``ignore_index`` other than −100 and ``label_smoothing`` are not
    implemented by the functional op, so anything but their defaults is refused naming them."""

    fn = "cross_entropy"

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        op = type(self).__name__
        if weight is not None:
            raise ValueError(f"{op}: class weights are not implemented, got weight={weight!r}")
        if not checks.is_int(ignore_index) or ignore_index != -100:
            raise ValueError(f"{op}: only torch's default ignore_index=-100 is implemented, got ignore_index={ignore_index!r}")
        if label_smoothing != 0.0:
            raise ValueError(f"{op}: label smoothing is not implemented, got label_smoothing={label_smoothing!r}")
        super().__init__(size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = -100, 0.0
