"""Pooling layers, as ``torch.nn.MaxPool1d/2d/3d`` and ``torch.nn.AvgPool1d/2d/3d``; the math is
:mod:`reference.pooling`.
"""
from __future__ import annotations

import numpy as np

from ..pooling import check_divisor_override, check_flag, check_window
from .module import Module, functional_op


class _MaxPoolNd(Module):
    """Max pooling as ``torch.nn.MaxPool1d/2d/3d``, same constructor (note torch's order:
    ``return_indices`` before ``ceil_mode``). The math is :func:`reference.functional.max_pool2d`
    and its backward (see :mod:`reference.pooling`): each output is an entry of its window, and
    the backward adds each upstream entry into the position it was taken from.

    With ``return_indices=True``, ``forward`` returns ``(output, indices)`` like torch (int64 flat
    offsets into each input plane), and ``backward`` takes the gradient of ``output``.

    The constructor refuses what torch only refuses at the first forward (a non-positive kernel,
    stride or dilation, negative padding or padding over half the kernel, a ``ceil_mode`` that
    is not a bool), naming the argument and its value.
    """

    dims = 0

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        op = type(self).__name__
        geometry = check_window(op, self.dims, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = geometry
        self.return_indices = bool(return_indices)
        self.ceil_mode = check_flag(op, "ceil_mode", ceil_mode)

    def _args(self):
        return self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode

    def forward(self, x: np.ndarray):
        """``x`` ``(N, C, *L)`` or ``(C, *L)`` → ``(N, C, *L_out)``, and the indices if asked."""
        result = functional_op(f"max_pool{self.dims}d")(x, *self._args(), self.return_indices)
        self._saved_for_backward = (x,)
        return result

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``∂E/∂y`` (of the output, not the indices) → ``∂E/∂x``."""
        (x,) = self._saved()
        (grad_input,) = functional_op(f"max_pool{self.dims}d_backward")(self._keep_upstream(grad_output), x, *self._args())
        return grad_input

    def double_backward(self, grad_grad_input: np.ndarray):
        """``(v`` read at the selected entries, ``0)``: see :meth:`Module.double_backward`."""
        (x,) = self._saved()
        double = functional_op(f"max_pool{self.dims}d_double_backward")
        return double((grad_grad_input,), self._last_upstream(), x, *self._args())

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling as ``torch.nn.MaxPool1d``: ``(N, C, L)`` or ``(C, L)``; see :class:`_MaxPoolNd`."""

    dims = 1


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling as ``torch.nn.MaxPool2d``: ``(N, C, H, W)`` or ``(C, H, W)``; see :class:`_MaxPoolNd`."""

    dims = 2


class MaxPool3d(_MaxPoolNd):
    """3-d max pooling as ``torch.nn.MaxPool3d``: ``(N, C, D, H, W)`` or ``(C, D, H, W)``; see :class:`_MaxPoolNd`."""

    dims = 3


class _AvgPoolNd(Module):
    """Average pooling as ``torch.nn.AvgPool1d/2d/3d``, same constructor (``divisor_override``
    from 2-d on, as in torch). The math is :func:`reference.functional.avg_pool2d` and its backward
    (see :mod:`reference.pooling`): each output is its window's sum over a divisor, and the
    backward spreads each upstream entry, over that divisor, across its window.

    The constructor refuses what torch only refuses at the first forward (a non-positive kernel or
    stride, negative padding or padding over half the kernel, non-bool flags, a zero or non-int
    ``divisor_override``), naming the argument and its value.
    """

    dims = 0

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        op = type(self).__name__
        self.kernel_size, self.stride, self.padding, _ = check_window(op, self.dims, kernel_size, stride, padding)
        self.ceil_mode = check_flag(op, "ceil_mode", ceil_mode)
        self.count_include_pad = check_flag(op, "count_include_pad", count_include_pad)
        self.divisor_override = check_divisor_override(op, divisor_override)

    def _args(self):
        args = (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)
        return args if self.dims == 1 else args + (self.divisor_override,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, C, *L)`` or ``(C, *L)`` → ``(N, C, *L_out)`` or ``(C, *L_out)``."""
        y = functional_op(f"avg_pool{self.dims}d")(x, *self._args())
        self._saved_for_backward = (x,)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (x,) = self._saved()
        (grad_input,) = functional_op(f"avg_pool{self.dims}d_backward")(self._keep_upstream(grad_output), x, *self._args())
        return grad_input

    def double_backward(self, grad_grad_input: np.ndarray):
        """``(`` the average pooling of ``v, 0)``: see :meth:`Module.double_backward`."""
        (x,) = self._saved()
        double = functional_op(f"avg_pool{self.dims}d_double_backward")
        return double((grad_grad_input,), self._last_upstream(), x, *self._args())

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        if self.ceil_mode:
            text += ", ceil_mode=True"
        if not self.count_include_pad:
            text += ", count_include_pad=False"
        if self.divisor_override is not None:
            text += f", divisor_override={self.divisor_override}"
        return text


class AvgPool1d(_AvgPoolNd):
    """1-d average pooling as ``torch.nn.AvgPool1d`` (no ``divisor_override``, as in torch)."""

    dims = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """2-d average pooling as ``torch.nn.AvgPool2d``: ``(N, C, H, W)`` or ``(C, H, W)``."""

    dims = 2


class AvgPool3d(_AvgPoolNd):
    """3-d average pooling as ``torch.nn.AvgPool3d``: ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    dims = 3
