"""Convolution and transposed convolution layers, as ``torch.nn.Conv1d/2d/3d`` and
``torch.nn.ConvTranspose1d/2d/3d``; the math is :mod:`reference.conv` and :mod:`reference.conv_transpose`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import checks
from .. import functional as F
from ..conv import resolve_padding
from ..conv_transpose import check_arguments as _transposed_arguments
from .module import Module, Parameter, functional_op, uniform, zero_cotangents

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared code of :class:`Conv1d`, :class:`Conv2d` and :class:`Conv3d` (``dims`` spatial axes).

    Shapes: input ``(N, C_in, *L)`` or unbatched ``(C_in, *L)``; weight
    ``(C_out, C_in/groups, *k)``; bias ``(C_out,)``; output ``(N, C_out, *L_out)`` with, per axis,
    ``L_out = ⌊(L + left + right − d·(k − 1) − 1)/s⌋ + 1``.

    ``padding_mode='zeros'`` is the convolution of :mod:`reference.conv` with its own zero
    padding. The other modes pad first and convolve with no padding:

        y = conv(pad(x, amounts, padding_mode), w, b, stride, 0, dilation, groups)

    so by the chain rule ``∂E/∂x = pad_backward(conv_backward(∂E/∂y)[0])`` while ``∂E/∂w``
    and ``∂E/∂b`` are the convolution's. ``amounts`` is torch's
    ``_reversed_padding_repeated_twice``: last axis first, ``(p, p)`` for an int or tuple
    padding, ``(⌊d(k−1)/2⌋, d(k−1) − ⌊d(k−1)/2⌋)`` for ``'same'``, zeros for ``'valid'``: the
    functional op's own split (:func:`reference.conv.resolve_padding`), in torch's order.

    Initialisation is torch's ``kaiming_uniform_(a=√5)``: weight and bias are drawn from
    ``U(−1/√fan_in, 1/√fan_in)`` with ``fan_in = C_in/groups · Πk``, weight first, from ``rng``
    (a ``numpy.random.Generator``, a seed, or None for fresh entropy).

    The constructor refuses what ``torch.nn`` refuses, and also what torch accepts there but
    no forward could run (a non-positive stride or dilation, negative padding, an empty kernel,
    zero channels, a tuple of the wrong length): every refusal is a ``ValueError`` or
    ``TypeError`` naming the argument and its value.
    """

    dims = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", *, rng=None, dtype=np.float32):
        super().__init__()
        op, n = type(self).__name__, self.dims
        in_channels, out_channels, groups = _channels(op, in_channels, out_channels, groups)
        kernel_size = checks.int_tuple(op, "kernel_size", kernel_size, n, minimum=1)
        stride = checks.int_tuple(op, "stride", stride, n, minimum=1)
        dilation = checks.int_tuple(op, "dilation", dilation, n, minimum=1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{op}: invalid padding string, expected 'same' or 'valid', got padding={padding!r}")
        else:
            padding = checks.int_tuple(op, "padding", padding, n, minimum=0)
        pairs = resolve_padding(op, padding, n, kernel_size, stride, dilation)  # refuses 'same' with a stride
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}")
        dtype = checks.float_dtype(op, dtype)

        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = tuple(amount for pair in reversed(pairs) for amount in pair)

        rng = np.random.default_rng(rng)
        fan_in = in_channels // groups * int(np.prod(kernel_size))
        bound = 1.0 / np.sqrt(fan_in)
        shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(uniform(rng, bound, shape, dtype))
        self.bias = Parameter(uniform(rng, bound, out_channels, dtype)) if bias else None

    def _conv(self):
        return getattr(F, f"conv{self.dims}d"), getattr(F, f"conv{self.dims}d_backward")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, C_in, *L)`` or ``(C_in, *L)`` → ``(N, C_out, *L_out)`` or ``(C_out, *L_out)``."""
        conv, _ = self._conv()
        weight = self.weight.data
        bias = None if self.bias is None else self.bias.data
        if self.padding_mode == "zeros":
            args = (weight, bias, self.stride, self.padding, self.dilation, self.groups)
            y = conv(x, *args)
            saved = (x, x, args)
        else:
            padded = F.pad(x, self._reversed_padding_repeated_twice, self.padding_mode)
            args = (weight, bias, self.stride, 0, self.dilation, self.groups)
            y = conv(padded, *args)
            saved = (x, padded, args)
        self._saved_for_backward = saved
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``∂E/∂y`` of the output's shape → ``∂E/∂x`` of the input's shape; adds ``∂E/∂w``
        (and ``∂E/∂b``) to ``weight.grad`` (and ``bias.grad``)."""
        _, conv_backward = self._conv()
        x, conv_input, args = self._saved()
        grad_input, grad_weight, grad_bias = conv_backward(self._keep_upstream(grad_output), conv_input, *args)
        if self.padding_mode != "zeros":
            (grad_input,) = F.pad_backward(grad_input, x, self._reversed_padding_repeated_twice, self.padding_mode)
        _accumulate(self, grad_weight, grad_bias)
        return grad_input

    def double_backward(self, grad_grad_input: np.ndarray):
        """``(∂Φ/∂g, ∂Φ/∂x)`` of ``Φ = ⟨v, ∂E/∂x⟩`` (see :meth:`Module.double_backward`). With a padding
        mode, ``∂E/∂x = pad_backward(c)``, ``c`` the convolution's input gradient: the cotangent of
        ``c`` is ``pad(v)`` (pad's double backward: its forward, a linear map), and the convolution's
        ``∂Φ/∂(padded input)`` reaches ``x`` through pad's backward."""
        x, conv_input, args = self._saved()
        v = grad_grad_input
        if self.padding_mode != "zeros":
            v = F.pad(v, self._reversed_padding_repeated_twice, self.padding_mode)
        double = functional_op(f"conv{self.dims}d_double_backward")
        grad_grad_output, grad2_input, grad2_weight, grad2_bias = double(
            (v, *zero_cotangents(*args[:2])), self._last_upstream(), conv_input, *args)
        _accumulate(self, grad2_weight, grad2_bias)
        if self.padding_mode != "zeros":
            (grad2_input,) = F.pad_backward(grad2_input, x, self._reversed_padding_repeated_twice, self.padding_mode)
        return grad_grad_output, grad2_input

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text


def _channels(op: str, in_channels, out_channels, groups) -> tuple[int, int, int]:
    """Positive int channel counts, both divisible by a positive int ``groups``."""
    in_channels = checks.int_arg(op, "in_channels", in_channels)
    out_channels = checks.int_arg(op, "out_channels", out_channels)
    groups = checks.int_arg(op, "groups", groups)
    if groups <= 0:
        raise ValueError(f"{op}: groups must be a positive integer, got groups={groups}")
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels <= 0:
            raise ValueError(f"{op}: {name} must be positive, got {name}={channels}")
        if channels % groups:
            raise ValueError(f"{op}: {name} must be divisible by groups, got {name}={channels}, groups={groups}")
    return in_channels, out_channels, groups


def _accumulate(layer, grad_weight, grad_bias) -> None:
    """Add the weight (and bias) gradient to the layer's parameters, as ``loss.backward()`` does."""
    layer.weight.accumulate(grad_weight)
    if layer.bias is not None:
        layer.bias.accumulate(grad_bias)


class Conv1d(_ConvNd):
    """1-d convolution as ``torch.nn.Conv1d``: input ``(N, C_in, L)`` or ``(C_in, L)``, weight
    ``(C_out, C_in/groups, k)``; see :class:`_ConvNd` and :mod:`reference.conv` for the math."""

    dims = 1


class Conv2d(_ConvNd):
    """2-d convolution as ``torch.nn.Conv2d``: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``, weight
    ``(C_out, C_in/groups, kH, kW)``; see :class:`_ConvNd` and :mod:`reference.conv` for the math."""

    dims = 2


class Conv3d(_ConvNd):
    """3-d convolution as ``torch.nn.Conv3d``: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``,
    weight ``(C_out, C_in/groups, kD, kH, kW)``; see :class:`_ConvNd` and :mod:`reference.conv`."""

    dims = 3


# --- transposed convolution -------------------------------------------------------------------

class _ConvTransposeNd(Module):
    """Shared code of :class:`ConvTranspose1d`, ``2d`` and ``3d`` (``dims`` spatial axes).

    Shapes: input ``(N, C_in, *L)`` or unbatched ``(C_in, *L)``; weight ``(C_in, C_out/groups, *k)``
    (torch's layout: the input channels first); bias ``(C_out,)``; output ``(N, C_out, *L_out)``
    with, per axis, ``L_out = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1``. The math, and its
    backward, is :func:`reference.functional.conv_transpose1d` (``2d``, ``3d``): the input
    gradient of a convolution, see :mod:`reference.conv_transpose`.

    ``forward(x, output_size=None)`` takes torch's optional ``output_size`` (the spatial sizes,
    or with the batch and channel axes too), which picks ``output_padding`` per axis as
    ``output_size − min_size``, ``min_size`` being the length with no output padding. As in
    torch, the sizes allowed are ``min_size … min_size + s − 1``.

    Initialisation is torch's ``kaiming_uniform_(a=√5)``: weight and bias from
    ``U(−1/√fan_in, 1/√fan_in)``, weight first, where torch's ``_calculate_fan_in_and_fan_out``
    reads ``fan_in = weight.shape[1]·Πk = C_out/groups · Πk`` (for a transposed weight that is the
    *output* channels per group: torch computes it from the weight's layout, not the layer's role).

    The constructor refuses what ``torch.nn`` refuses (groups not dividing the channels,
    ``padding_mode`` other than ``'zeros'``) and what torch only refuses at the first forward
    (a padding string, negative padding, non-positive stride or dilation, an empty kernel,
    ``output_padding`` not smaller than stride or dilation): a ``ValueError`` or ``TypeError``
    naming the argument and its value.
    """

    dims = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", *, rng=None, dtype=np.float32):
        super().__init__()
        op, n = type(self).__name__, self.dims
        in_channels, out_channels, groups = _channels(op, in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"{op}: only padding_mode='zeros' is supported (as in torch), got padding_mode={padding_mode!r}")
        kernel_size = checks.int_tuple(op, "kernel_size", kernel_size, n, minimum=1)
        stride, padding, output_padding, dilation = _transposed_arguments(op, n, stride, padding, output_padding,
                                                                          dilation)
        dtype = checks.float_dtype(op, dtype)

        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.groups, self.dilation, self.padding_mode = groups, dilation, padding_mode

        rng = np.random.default_rng(rng)
        shape = (in_channels, out_channels // groups) + kernel_size
        bound = 1.0 / math.sqrt(shape[1] * math.prod(kernel_size))
        self.weight = Parameter(uniform(rng, bound, shape, dtype))
        self.bias = Parameter(uniform(rng, bound, out_channels, dtype)) if bias else None

    def _ops(self):
        name = f"conv_transpose{self.dims}d"
        return functional_op(name), functional_op(name + "_backward")

    def _output_padding(self, x, output_size) -> tuple[int, ...]:
        """torch's ``_output_padding``: the constructor's, or the one ``output_size`` implies."""
        if output_size is None:
            return self.output_padding
        op, n = type(self).__name__, self.dims
        checks.float_array(op, "input", x)
        sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
        if not all(checks.is_int(v) for v in sizes):
            raise TypeError(f"{op}: output_size must be a sequence of ints, got output_size={output_size!r}")
        lead = 2 if x.ndim == n + 2 else 1
        if len(sizes) == lead + n:
            sizes = sizes[lead:]
        if len(sizes) != n or x.ndim not in (n + 1, n + 2):
            raise ValueError(
                f"{op}: for input.shape={x.shape}, output_size must have {n} or {lead + n} entries, "
                f"got output_size={output_size!r}"
            )
        axes = zip(x.shape[x.ndim - n:], self.stride, self.padding, self.dilation, self.kernel_size)
        smallest = [(length - 1) * s - 2 * p + d * (k - 1) + 1 for length, s, p, d, k in axes]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride)]
        if any(not lo <= v <= hi for v, lo, hi in zip(sizes, smallest, largest)):
            raise ValueError(
                f"{op}: requested output_size={output_size!r}, but the sizes possible for input.shape={x.shape} "
                f"range from {smallest} to {largest}"
            )
        return tuple(v - lo for v, lo in zip(sizes, smallest))

    def forward(self, x: np.ndarray, output_size=None) -> np.ndarray:
        """``x`` ``(N, C_in, *L)`` or ``(C_in, *L)`` → ``(N, C_out, *L_out)`` or ``(C_out, *L_out)``."""
        conv_transpose, _ = self._ops()
        bias = None if self.bias is None else self.bias.data
        args = (self.weight.data, bias, self.stride, self.padding, self._output_padding(x, output_size),
                self.groups, self.dilation)
        y = conv_transpose(x, *args)
        self._saved_for_backward = (x, args)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``∂E/∂y`` → ``∂E/∂x``; adds ``∂E/∂w`` (and ``∂E/∂b``) to the parameters' ``.grad``."""
        _, conv_transpose_backward = self._ops()
        x, args = self._saved()
        grad_input, grad_weight, grad_bias = conv_transpose_backward(self._keep_upstream(grad_output), x, *args)
        _accumulate(self, grad_weight, grad_bias)
        return grad_input

    def double_backward(self, grad_grad_input: np.ndarray):
        """``(∂Φ/∂g, ∂Φ/∂x)`` of ``Φ = ⟨v, ∂E/∂x⟩``; see :meth:`Module.double_backward`."""
        x, args = self._saved()
        double = functional_op(f"conv_transpose{self.dims}d_double_backward")
        grad_grad_output, grad2_input, grad2_weight, grad2_bias = double(
            (grad_grad_input, *zero_cotangents(*args[:2])), self._last_upstream(), x, *args)
        _accumulate(self, grad2_weight, grad2_bias)
        return grad_grad_output, grad2_input

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution as ``torch.nn.ConvTranspose1d``: input ``(N, C_in, L)`` or
    ``(C_in, L)``, weight ``(C_in, C_out/groups, k)``; see :class:`_ConvTransposeNd`."""

    dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution as ``torch.nn.ConvTranspose2d``: input ``(N, C_in, H, W)`` or
    ``(C_in, H, W)``, weight ``(C_in, C_out/groups, kH, kW)``; see :class:`_ConvTransposeNd`."""

    dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution as ``torch.nn.ConvTranspose3d``: input ``(N, C_in, D, H, W)`` or
    ``(C_in, D, H, W)``, weight ``(C_in, C_out/groups, kD, kH, kW)``; see :class:`_ConvTransposeNd`."""

    dims = 3
