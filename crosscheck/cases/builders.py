"""The builders of cases, one per family of ops, and the readable ids they give them.

An id names every argument a reader needs to tell two cases apart: ``conv2d-k3x2-s2x1-p1x0-d2x1-g2-x2x4x5x7-o6``
is a 3x2 kernel, stride (2, 1), padding (1, 0), dilation (2, 1), two groups, an input of
shape (2, 4, 5, 7) and six output channels. A ``tag`` at the end says what a named case pins.
"""
from __future__ import annotations

from .case import Case


def fmt(value) -> str:
    """Readable id fragment: 3 → '3', (3, 2) → '3x2', (3,) → '(3)', 'same' → 'same'.

    A one-element sequence is a different call from an int (torch broadcasts it), so the
    id keeps them apart."""
    if isinstance(value, (tuple, list)):
        text = "x".join(str(v) for v in value)
        return f"({text})" if len(value) == 1 else text
    return str(value)


def fmt_shape(shape) -> str:
    """(2, 3, 5) → '2x3x5'; the empty shape → '()'."""
    return "x".join(str(v) for v in shape) or "()"


def conv_id(op, x_shape, w_shape, bias, stride, padding, dilation, groups, tag="") -> str:
    parts = [op, f"k{fmt_shape(w_shape[2:])}", f"s{fmt(stride)}", f"p{fmt(padding)}", f"d{fmt(dilation)}"]
    if groups != 1:
        parts.append(f"g{groups}")
    parts += [f"x{fmt_shape(x_shape)}", f"o{w_shape[0]}"]
    if not bias:
        parts.append("nobias")
    if tag:
        parts.append(tag)
    return "-".join(parts)


def conv_case(dims, x_shape, w_shape, bias=True, stride=1, padding=0, dilation=1, groups=1, tag="", **extra):
    op = f"conv{dims}d"
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    bias_shape = (w_shape[0],) if bias is True else None if bias is False else tuple(bias)
    shapes = (tuple(x_shape), tuple(w_shape), bias_shape)
    return Case(op, conv_id(op, x_shape, w_shape, bias, stride, padding, dilation, groups, tag), shapes, kwargs, **extra)


def pad_case(x_shape, pad, mode="constant", value=None, tag="", **extra):
    parts = ["pad", mode, f"x{fmt_shape(x_shape)}", f"pad{fmt_shape(pad)}"]
    if value is not None:
        parts.append(f"v{value}")
    if tag:
        parts.append(tag)
    kwargs = dict(pad=pad, mode=mode) if value is None else dict(pad=pad, mode=mode, value=value)
    return Case("pad", "-".join(parts), (tuple(x_shape),), kwargs, **extra)


def conv_transpose_case(dims, x_shape, w_shape, bias=True, stride=1, padding=0, output_padding=0, groups=1,
                        dilation=1, tag="", **extra):
    """``w_shape`` is the transposed layout ``(C_in, C_out/groups, *k)``."""
    op = f"conv_transpose{dims}d"
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    out_channels = w_shape[1] * groups
    bias_shape = (out_channels,) if bias is True else None if bias is False else tuple(bias)
    parts = [op, f"k{fmt_shape(w_shape[2:])}", f"s{fmt(stride)}", f"p{fmt(padding)}"]
    parts += [f"op{fmt(output_padding)}"] if output_padding != 0 else []
    parts += [f"d{fmt(dilation)}"] + ([f"g{groups}"] if groups != 1 else [])
    parts += [f"x{fmt_shape(x_shape)}", f"o{out_channels}"] + ([] if bias else ["nobias"]) + ([tag] if tag else [])
    return Case(op, "-".join(parts), (tuple(x_shape), tuple(w_shape), bias_shape), kwargs, **extra)


def _value_tag(values) -> list[str]:
    return [f"{name}={kind}" for name, kind in sorted(values.items()) if kind != "normal"]


def pool_case(kind, dims, x_shape, kernel_size, tag="", values=None, **kwargs):
    """``kind`` is 'max' or 'avg'; ``kwargs`` are the pooling function's own."""
    op = f"{kind}_pool{dims}d"
    parts = [op, f"k{fmt(kernel_size)}"]
    short = dict(stride="s", padding="p", dilation="d", divisor_override="div")
    flags = dict(ceil_mode=(True, "ceil"), return_indices=(True, "idx"), count_include_pad=(False, "nocip"))
    for name, value in kwargs.items():
        if name in flags:
            parts += [flags[name][1]] if value is flags[name][0] else []
        elif value is not None:
            parts.append(short[name] + fmt(value))
    parts += [f"x{fmt_shape(x_shape)}"] + _value_tag(values or {}) + ([tag] if tag else [])
    return Case(op, "-".join(parts), (tuple(x_shape),), dict(kernel_size=kernel_size, **kwargs),
                values=dict(values or {}))


def _window_parts(kwargs) -> list[str]:
    short = dict(kernel_size="k", dilation="d", padding="p", stride="s")
    return [short[name] + fmt(value) for name, value in kwargs.items()]


def unfold_case(x_shape, kernel_size, tag="", values=None, **kwargs):
    """``kwargs``: unfold's ``dilation``, ``padding``, ``stride`` (given ones only)."""
    kwargs = dict(kernel_size=kernel_size, **kwargs)
    parts = ["unfold"] + _window_parts(kwargs) + [f"x{fmt_shape(x_shape)}"] + _value_tag(values or {})
    return Case("unfold", "-".join(parts + ([tag] if tag else [])), (tuple(x_shape),), kwargs, values=dict(values or {}))


def fold_case(x_shape, output_size, kernel_size, tag="", values=None, **kwargs):
    """``x_shape`` is the columns' ``(N, C·|k|, B)`` or ``(C·|k|, B)``."""
    kwargs = dict(output_size=output_size, kernel_size=kernel_size, **kwargs)
    parts = ["fold", f"o{fmt(output_size)}"] + _window_parts({k: v for k, v in kwargs.items() if k != "output_size"})
    parts += [f"x{fmt_shape(x_shape)}"] + _value_tag(values or {})
    return Case("fold", "-".join(parts + ([tag] if tag else [])), (tuple(x_shape),), kwargs, values=dict(values or {}))


def adaptive_case(kind, dims, x_shape, output_size, return_indices=None, tag="", values=None):
    """``kind`` is 'max' or 'avg'; ``return_indices`` (max only) is passed when not None.
    ``o3xNone`` in the id is an output_size whose second axis keeps its length."""
    op = f"adaptive_{kind}_pool{dims}d"
    kwargs = dict(output_size=output_size)
    if return_indices is not None:
        kwargs["return_indices"] = return_indices
    parts = [op, f"o{fmt(output_size)}"] + (["idx"] if return_indices else []) + [f"x{fmt_shape(x_shape)}"]
    parts += _value_tag(values or {}) + ([tag] if tag else [])
    return Case(op, "-".join(parts), (tuple(x_shape),), kwargs, values=dict(values or {}))


def unary_case(op, x_shape, tag="", values=None, array_dtypes=None, **kwargs):
    """Activations: relu, sigmoid, tanh, softmax(dim=), log_softmax(dim=)."""
    parts = [op] + [f"{k}{fmt(v)}" for k, v in kwargs.items()] + [f"x{fmt_shape(x_shape)}"]
    parts += _value_tag(values or {}) + ([tag] if tag else [])
    return Case(op, "-".join(parts), (tuple(x_shape),), dict(kwargs), values=dict(values or {}),
                array_dtypes=dict(array_dtypes or {}))


def linear_case(x_shape, w_shape, bias=True, tag="", **extra):
    """``bias``: True (one per output), False (none) or a shape (``()``: torch's 0-d bias)."""
    bias_shape = (w_shape[0],) if bias is True else None if bias is False else tuple(bias)
    parts = ["linear", f"x{fmt_shape(x_shape)}", f"w{fmt_shape(w_shape)}"] + (["nobias"] if bias is False else [])
    return Case("linear", "-".join(parts + ([tag] if tag else [])), (tuple(x_shape), tuple(w_shape), bias_shape), {},
                **extra)


def loss_case(op, x_shape, t_shape, reduction="mean", tag="", values=None, **extra):
    parts = [op, str(reduction), f"x{fmt_shape(x_shape)}", f"t{fmt_shape(t_shape)}"] + _value_tag(values or {})
    return Case(op, "-".join(parts + ([tag] if tag else [])), (tuple(x_shape), tuple(t_shape)),
                dict(reduction=reduction), values=dict(values or {}), **extra)
