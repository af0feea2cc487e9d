"""Modules named and built like ``torch.nn``: parameters, state dicts and a hand-written backward.

A :class:`Module` computes ``forward(x)`` and, from the upstream gradient ``∂E/∂y``,
``backward(grad_output)``: it returns ``∂E/∂x`` and *adds* ``∂E/∂θ`` to each parameter's
``.grad``, as ``loss.backward()`` does in torch. ``forward`` keeps what ``backward`` needs
(the last input and the arrays it read), so a backward always refers to the latest forward.

Parameters and child modules are registered by assigning them as attributes, as in torch, so
``state_dict()`` names them the way torch does: ``weight`` and ``bias`` for a layer, and
``0.weight``, ``1.bias``, ... for a layer registered under the name ``0``, ``1``, ... of a
container. Each layer's math lives in the functional op it calls (see :mod:`reference.conv`
and :mod:`reference.padding`); a module only composes those ops and their backward.
"""
from __future__ import annotations

import numpy as np

from . import _check
from . import functional as F

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Parameter:
    """A trainable array ``data`` and its accumulated gradient ``grad`` (None until a backward)."""

    def __init__(self, data: np.ndarray):
        self.data = data
        self.grad = None

    def accumulate(self, grad: np.ndarray) -> None:
        """``grad += g``, starting from a fresh copy when ``grad`` is None."""
        if self.grad is None:
            self.grad = grad.astype(self.data.dtype, copy=True)
        else:
            self.grad += grad

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: registers parameters and children assigned as attributes, names them for
    ``state_dict`` (children's names prefix their own: ``'0.weight'``) and zeroes gradients."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call Module.__init__() before assigning {name!r}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def add_module(self, name: str, module: Module) -> None:
        """Register a child under ``name`` (containers use ``'0'``, ``'1'``, ...)."""
        setattr(self, name, module)

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def named_parameters(self, prefix: str = ""):
        """``(name, Parameter)`` pairs, own parameters first, then each child's, in the
        order they were registered (torch's order)."""
        for name, param in self._parameters.items():
            yield prefix + name, param
        for child_name, child in self._modules.items():
            yield from child.named_parameters(prefix + child_name + ".")

    def parameters(self):
        for _, param in self.named_parameters():
            yield param

    def state_dict(self) -> dict:
        """``{name: copy of the parameter's array}``, keyed as torch keys its state dict."""
        return {name: param.data.copy() for name, param in self.named_parameters()}

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy ``state_dict``'s arrays into the parameters (cast to each parameter's dtype).

        Every key and shape is checked before anything is copied, so a refused dict leaves
        the module unchanged. With ``strict``, missing and unexpected keys are refused.
        """
        own = dict(self.named_parameters())
        where = type(self).__name__ + ".load_state_dict"
        if strict:
            missing = [k for k in own if k not in state_dict]
            unexpected = [k for k in state_dict if k not in own]
            if missing or unexpected:
                raise ValueError(f"{where}: missing keys {missing}, unexpected keys {unexpected}")
        values = {}
        for key, value in state_dict.items():
            if key not in own:
                continue
            value = np.asarray(value)
            if value.shape != own[key].data.shape:
                raise ValueError(
                    f"{where}: {key!r} has shape {value.shape}, the module's parameter has {own[key].data.shape}"
                )
            if not np.can_cast(value.dtype, own[key].data.dtype, casting="same_kind"):
                raise TypeError(f"{where}: {key!r} has dtype {value.dtype}, not castable to {own[key].data.dtype}")
            values[key] = value
        for key, value in values.items():
            own[key].data = value.astype(own[key].data.dtype, copy=True)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``grad = None`` (torch's default) or zeros."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad[...] = 0

    def _saved(self):
        """What the last forward kept for backward; refuses a backward before any forward."""
        saved = getattr(self, "_saved_for_backward", None)
        if saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: there is nothing to differentiate")
        return saved

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


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
    padding, ``(⌊d(k−1)/2⌋, d(k−1) − ⌊d(k−1)/2⌋)`` for ``'same'``, zeros for ``'valid'``.

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
        in_channels = _check.int_arg(op, "in_channels", in_channels)
        out_channels = _check.int_arg(op, "out_channels", out_channels)
        groups = _check.int_arg(op, "groups", groups)
        if groups <= 0:
            raise ValueError(f"{op}: groups must be a positive integer, got groups={groups}")
        for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels <= 0:
                raise ValueError(f"{op}: {name} must be positive, got {name}={channels}")
            if channels % groups:
                raise ValueError(f"{op}: {name} must be divisible by groups, got {name}={channels}, groups={groups}")
        kernel_size = _check.int_tuple(op, "kernel_size", kernel_size, n, minimum=1)
        stride = _check.int_tuple(op, "stride", stride, n, minimum=1)
        dilation = _check.int_tuple(op, "dilation", dilation, n, minimum=1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{op}: invalid padding string, expected 'same' or 'valid', got padding={padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(
                    f"{op}: padding='same' is not supported for strided convolutions, got stride={stride}"
                )
        else:
            padding = _check.int_tuple(op, "padding", padding, n, minimum=0)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}")
        dtype = _float_dtype(op, dtype)

        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = _pad_amounts(padding, kernel_size, dilation)

        rng = np.random.default_rng(rng)
        fan_in = in_channels // groups * int(np.prod(kernel_size))
        bound = 1.0 / np.sqrt(fan_in)
        shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(rng.uniform(-bound, bound, shape).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_channels).astype(dtype)) if bias else None

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
        grad_input, grad_weight, grad_bias = conv_backward(grad_output, conv_input, *args)
        if self.padding_mode != "zeros":
            (grad_input,) = F.pad_backward(grad_input, x, self._reversed_padding_repeated_twice, self.padding_mode)
        self.weight.accumulate(grad_weight)
        if self.bias is not None:
            self.bias.accumulate(grad_bias)
        return grad_input

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


def _float_dtype(op: str, dtype) -> np.dtype:
    """float32 (also for None, torch's default) or float64; anything else is refused."""
    try:
        resolved = np.dtype(np.float32 if dtype is None else dtype)
    except TypeError:
        resolved = np.dtype(object)
    if resolved not in _check.FLOAT_DTYPES:
        raise TypeError(f"{op}: dtype must be float32 or float64, got dtype={dtype!r}")
    return resolved


def _pad_amounts(padding, kernel_size, dilation) -> tuple[int, ...]:
    """torch's ``_reversed_padding_repeated_twice``: ``(left, right)`` per axis, last axis first."""
    if padding == "valid":
        pairs = [(0, 0)] * len(kernel_size)
    elif padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        pairs = [(t // 2, t - t // 2) for t in totals]
    else:
        pairs = [(p, p) for p in padding]
    return tuple(amount for pair in reversed(pairs) for amount in pair)


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
