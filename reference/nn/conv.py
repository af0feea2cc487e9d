"""Modules named and built like ``torch.nn``: parameters, state dicts and a hand-written backward.

A :class:`Module` computes ``forward(x)`` and, from the upstream gradient ``∂E/∂y``,
``backward(grad_output)``: it returns ``∂E/∂x`` and *adds* ``∂E/∂θ`` to each parameter's
``.grad``, as ``loss.backward()`` does in torch. ``forward`` keeps what ``backward`` needs
(the last input and the arrays it read), so a backward always refers to the latest forward.

Parameters and child modules are registered by assigning them as attributes, as in torch, so
``state_dict()`` names them the way torch does: ``weight`` and ``bias`` for a layer, and
``0.weight``, ``1.bias``, ... for a layer registered under the name ``0``, ``1``, ... of a
container such as :class:`Sequential`. Each layer's math lives in the functional op it calls
(see :mod:`reference.functional`); a module only composes those ops and their backward.

The layers: :class:`Conv1d`/``2d``/``3d``, :class:`ConvTranspose1d`/``2d``/``3d``,
:class:`MaxPool1d`/``2d``/``3d``, :class:`AvgPool1d`/``2d``/``3d``, :class:`Linear`, :class:`ReLU`,
:class:`Sigmoid`, :class:`Tanh`, :class:`Flatten`; the container :class:`Sequential`; the losses
:class:`MSELoss` and :class:`CrossEntropyLoss`, whose ``forward(input, target)`` returns the loss
and whose ``backward(grad_output=1.0)`` starts the chain rule, as ``loss.backward()`` does.
A training step reads as in torch::

    net = Sequential(Conv2d(1, 4, 3, rng=0), ReLU(), Flatten(), Linear(4 * 6 * 6, 10, rng=1))
    criterion = CrossEntropyLoss()
    loss = criterion(net(x), labels)
    net.zero_grad()
    net.backward(criterion.backward())      # torch: loss.backward()
    for p in net.parameters():
        p.data -= 0.1 * p.grad
"""
from __future__ import annotations

import math
from collections import OrderedDict

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

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

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
        in_channels, out_channels, groups = _channels(op, in_channels, out_channels, groups)
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
        self.weight = Parameter(_uniform(rng, bound, shape, dtype))
        self.bias = Parameter(_uniform(rng, bound, out_channels, dtype)) if bias else None

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


def _op(name: str):
    """``reference.functional.NAME`` (layers pick their op by name: ``max_pool{dims}d``, ...)."""
    return getattr(F, name)


def _channels(op: str, in_channels, out_channels, groups) -> tuple[int, int, int]:
    """Positive int channel counts, both divisible by a positive int ``groups``."""
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
    return in_channels, out_channels, groups


def _uniform(rng: np.random.Generator, bound: float, shape, dtype) -> np.ndarray:
    """``U(−bound, bound)`` draws in float64 from ``rng``, rounded to ``dtype``."""
    return rng.uniform(-bound, bound, shape).astype(dtype)


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
        kernel_size = _check.int_tuple(op, "kernel_size", kernel_size, n, minimum=1)
        stride = _check.int_tuple(op, "stride", stride, n, minimum=1)
        padding = _check.int_tuple(op, "padding", padding, n, minimum=0)
        output_padding = _check.int_tuple(op, "output_padding", output_padding, n, minimum=0)
        dilation = _check.int_tuple(op, "dilation", dilation, n, minimum=1)
        if any(q >= max(s, d) for q, s, d in zip(output_padding, stride, dilation)):
            raise ValueError(
                f"{op}: output_padding must be smaller than stride or dilation on each axis, got "
                f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
            )
        dtype = _float_dtype(op, dtype)

        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.groups, self.dilation, self.padding_mode = groups, dilation, padding_mode

        rng = np.random.default_rng(rng)
        shape = (in_channels, out_channels // groups) + kernel_size
        bound = 1.0 / math.sqrt(shape[1] * math.prod(kernel_size))
        self.weight = Parameter(_uniform(rng, bound, shape, dtype))
        self.bias = Parameter(_uniform(rng, bound, out_channels, dtype)) if bias else None

    def _ops(self):
        name = f"conv_transpose{self.dims}d"
        return _op(name), _op(name + "_backward")

    def _output_padding(self, x, output_size) -> tuple[int, ...]:
        """torch's ``_output_padding``: the constructor's, or the one ``output_size`` implies."""
        if output_size is None:
            return self.output_padding
        op, n = type(self).__name__, self.dims
        _check.float_array(op, "input", x)
        sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
        if not all(_check.is_int(v) for v in sizes):
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
        grad_input, grad_weight, grad_bias = conv_transpose_backward(grad_output, x, *args)
        self.weight.accumulate(grad_weight)
        if self.bias is not None:
            self.bias.accumulate(grad_bias)
        return grad_input

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


# --- pooling ------------------------------------------------------------------------------------

def _flag(op: str, name: str, value) -> bool:
    """torch's pooling ops take only a Python bool here (``ceil_mode=1`` is a TypeError)."""
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a bool, got {name}={value!r}")
    return value


def _pool_geometry(op: str, n: int, kernel_size, stride, padding, dilation=1):
    """Normalised ``(kernel, stride, padding, dilation)``: stride None (or empty) means the
    kernel, as in torch, and padding may be at most half the kernel on every axis."""
    kernel = _check.int_tuple(op, "kernel_size", kernel_size, n, minimum=1)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if empty else _check.int_tuple(op, "stride", stride, n, minimum=1)
    pads = _check.int_tuple(op, "padding", padding, n, minimum=0)
    dilation = _check.int_tuple(op, "dilation", dilation, n, minimum=1)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(
            f"{op}: padding must be at most half of kernel_size on every axis, got padding={padding!r}, "
            f"kernel_size={kernel_size!r}"
        )
    return kernel, stride, pads, dilation


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
        geometry = _pool_geometry(op, self.dims, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = geometry
        self.return_indices = bool(return_indices)
        self.ceil_mode = _flag(op, "ceil_mode", ceil_mode)

    def _args(self):
        return self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode

    def forward(self, x: np.ndarray):
        """``x`` ``(N, C, *L)`` or ``(C, *L)`` → ``(N, C, *L_out)``, and the indices if asked."""
        result = _op(f"max_pool{self.dims}d")(x, *self._args(), self.return_indices)
        self._saved_for_backward = (x,)
        return result

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``∂E/∂y`` (of the output, not the indices) → ``∂E/∂x``."""
        (x,) = self._saved()
        (grad_input,) = _op(f"max_pool{self.dims}d_backward")(grad_output, x, *self._args())
        return grad_input

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
        self.kernel_size, self.stride, self.padding, _ = _pool_geometry(op, self.dims, kernel_size, stride, padding)
        self.ceil_mode = _flag(op, "ceil_mode", ceil_mode)
        self.count_include_pad = _flag(op, "count_include_pad", count_include_pad)
        if divisor_override is not None:
            if not _check.is_int(divisor_override):
                raise TypeError(f"{op}: divisor_override must be an int or None, got divisor_override={divisor_override!r}")
            if divisor_override == 0:
                raise ValueError(f"{op}: divisor_override must not be zero, got divisor_override={divisor_override!r}")
            divisor_override = int(divisor_override)
        self.divisor_override = divisor_override

    def _args(self):
        args = (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)
        return args if self.dims == 1 else args + (self.divisor_override,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(N, C, *L)`` or ``(C, *L)`` → ``(N, C, *L_out)`` or ``(C, *L_out)``."""
        y = _op(f"avg_pool{self.dims}d")(x, *self._args())
        self._saved_for_backward = (x,)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (x,) = self._saved()
        (grad_input,) = _op(f"avg_pool{self.dims}d_backward")(grad_output, x, *self._args())
        return grad_input

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


# --- dense layer and activations ---------------------------------------------------------------

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
            if _check.int_arg(op, name, value) < 0:
                raise ValueError(f"{op}: {name} must be non-negative, got {name}={value}")
        dtype = _float_dtype(op, dtype)
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng(rng)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        self.weight = Parameter(_uniform(rng, bound, (self.out_features, self.in_features), dtype))
        self.bias = Parameter(_uniform(rng, bound, self.out_features, dtype)) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        bias = None if self.bias is None else self.bias.data
        y = _op("linear")(x, self.weight.data, bias)
        self._saved_for_backward = (x, bias)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x, bias = self._saved()
        grad_input, grad_weight, grad_bias = _op("linear_backward")(grad_output, x, self.weight.data, bias)
        self.weight.accumulate(grad_weight)
        if self.bias is not None:
            self.bias.accumulate(grad_bias)
        return grad_input

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Elementwise(Module):
    """An activation with no parameters: ``y = f(x)``, ``∂E/∂x = g·f'(x)`` (``fn`` names the op)."""

    fn = ""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = _op(self.fn)(x)
        self._saved_for_backward = (x,)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (x,) = self._saved()
        (grad_input,) = _op(self.fn + "_backward")(grad_output, x)
        return grad_input


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
        self.start_dim = _check.int_arg(op, "start_dim", start_dim)
        self.end_dim = _check.int_arg(op, "end_dim", end_dim)

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

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# --- the container ------------------------------------------------------------------------------

class Sequential(Module):
    """``torch.nn.Sequential``: children named ``'0'``, ``'1'``, ... (or by the keys of one
    ``OrderedDict``), so ``state_dict()`` keys read ``'0.weight'``, ``'3.bias'`` and
    ``torch.nn.Sequential`` of the same layers loads them with ``strict=True``.

    ``forward`` chains the children: ``y = f_n(… f_1(x))``. ``backward`` is the chain rule read
    backwards: with ``x_0 = x`` and ``x_i = f_i(x_{i−1})``,

        ∂E/∂x_{i−1} = f_i.backward(∂E/∂x_i),   i = n, …, 1

    each child adding its own parameter gradients on the way, and it returns ``∂E/∂x_0``. A
    backward therefore refers to the last forward of every child.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            items = list(args[0].items())
        else:
            items = [(str(i), module) for i, module in enumerate(args)]
        for name, module in items:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: child {name!r} must be a reference.nn Module, got {type(module).__name__}")
            self.add_module(str(name), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if not _check.is_int(index) or not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index!r} out of range for {len(items)} children")
        return items[index][1]

    def append(self, module: Module) -> "Sequential":
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: module must be a reference.nn Module, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for module in self:
            x = module(x)
        return x.copy() if not len(self) else x

    def backward(self, grad_output):
        grad = grad_output
        for module in reversed(list(self)):
            grad = module.backward(grad)
        return grad.copy() if not len(self) else grad

    def __repr__(self):
        lines = [f"  ({name}): " + repr(module).replace("\n", "\n  ") for name, module in self._modules.items()]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"


# --- losses -------------------------------------------------------------------------------------

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
        loss = _op(self.fn)(input, target, reduction=self.reduction)
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
        return _op(self.fn + "_backward")(grad_output, input, target, reduction=self.reduction)[0]

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
        if not _check.is_int(ignore_index) or ignore_index != -100:
            raise ValueError(f"{op}: only torch's default ignore_index=-100 is implemented, got ignore_index={ignore_index!r}")
        if label_smoothing != 0.0:
            raise ValueError(f"{op}: label smoothing is not implemented, got label_smoothing={label_smoothing!r}")
        super().__init__(size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = -100, 0.0
