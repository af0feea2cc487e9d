"""Cases: what to call, on which shapes, in which dtype.

A :class:`Case` is plain data. Its array values are drawn from a generator seeded by the
run's seed and the case id, so a case id and a seed reproduce a failure exactly. Whether a
call is valid is not written here: torch decides at run time, and the implementation must
agree. (``invalid=True`` only marks the cases written to be rejected, so a test can check
that torch does reject them, and the table does not silently test nothing.)
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Case:
    op: str
    id: str
    shapes: tuple  # one entry per array argument: a shape tuple, or None to pass None
    kwargs: dict = field(default_factory=dict, hash=False)
    dtype: str = "float64"
    array_dtypes: dict = field(default_factory=dict, hash=False)  # per-argument override
    invalid: bool = False
    blame: str = ""  # for an invalid case: the argument its rejection must name
    values: dict = field(default_factory=dict, hash=False)  # per-argument kind of data, see draw()

    @property
    def key(self) -> str:
        return f"{self.id}[{self.dtype}]"

    @property
    def arg_names(self) -> tuple[str, ...]:
        return _array_names(self.op)

    def with_dtype(self, dtype: str) -> Case:
        return replace(self, dtype=dtype)

    def arrays(self, seed: int) -> list:
        """The argument values: standard normal draws, reproducible from (seed, id, dtype)."""
        rng = np.random.default_rng([seed, zlib.crc32(self.key.encode())])
        values = []
        for name, shape in zip(_array_names(self.op), self.shapes):
            if shape is None:
                values.append(None)
                continue
            values.append(draw(rng, self.values.get(name, "normal"), shape, np.dtype(self._dtype_of(name))))
        return values

    def _dtype_of(self, name: str) -> str:
        """The argument's dtype: the case's, or an override ('other' is the other float dtype)."""
        wanted = self.array_dtypes.get(name, self.dtype)
        if wanted == "other":
            return "float32" if self.dtype == "float64" else "float64"
        return wanted

    def grad_output(self, shape, seed: int) -> np.ndarray:
        """A random upstream gradient (never all ones: a sum would hide permuted gradients)."""
        rng = np.random.default_rng([seed, zlib.crc32(self.key.encode()), 1])
        return rng.standard_normal(shape).astype(self.dtype)


def draw(rng, kind: str, shape, dtype) -> np.ndarray:
    """Data of one ``kind``:

    normal       standard normal draws
    integers     integers in [−3, 3]: windows hold equal values, so max-pool ties occur
    zeros        the same with every third entry +0.0 and the second −0.0
    specials     normal, with a fifth of the entries NaN, +inf, −inf, +0.0 or −0.0
    large        normal × 1e4 (logits whose exp overflows unless the max is subtracted)
    classes:C    integer class labels in [0, C)

    Integer dtypes (a rejection case's int64 input) get normal draws × 4, truncated.
    """
    if kind.startswith("classes:"):  # labels are int64 whatever the case's float dtype
        return rng.integers(0, int(kind.split(":")[1]), size=shape).astype(np.int64)
    if kind == "integers":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    if kind == "zeros":  # integers with every third entry 0 and a −0.0: relu at exactly zero
        data = rng.integers(-3, 4, size=shape).astype(dtype)
        flat = data.reshape(-1)
        flat[::3] = 0
        flat[1:2] = -0.0
        return data
    data = np.asarray(rng.standard_normal(shape))  # a 0-d shape gives a scalar, not an array
    if kind == "large":
        data = data * 1e4
    elif kind == "specials":
        pick = rng.random(shape) < 0.2
        data = np.where(pick, rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], size=shape), data)
    elif kind != "normal":
        raise ValueError(f"unknown kind of data {kind!r}")
    data = np.asarray(data)  # arithmetic on a 0-d array returns a scalar
    return np.asarray(data * 4).astype(dtype) if dtype.kind in "iu" else data.astype(dtype)


def _array_names(op: str):
    from .ops import OPS

    return OPS[op].arrays


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


def unary_case(op, x_shape, tag="", values=None, **kwargs):
    """Activations: relu, sigmoid, tanh, softmax(dim=), log_softmax(dim=)."""
    parts = [op] + [f"{k}{fmt(v)}" for k, v in kwargs.items()] + [f"x{fmt_shape(x_shape)}"]
    parts += _value_tag(values or {}) + ([tag] if tag else [])
    return Case(op, "-".join(parts), (tuple(x_shape),), dict(kwargs), values=dict(values or {}))


def linear_case(x_shape, w_shape, bias=True, tag="", **extra):
    bias_shape = (w_shape[0],) if bias is True else None if bias is False else tuple(bias)
    parts = ["linear", f"x{fmt_shape(x_shape)}", f"w{fmt_shape(w_shape)}"] + ([] if bias else ["nobias"])
    return Case("linear", "-".join(parts + ([tag] if tag else [])), (tuple(x_shape), tuple(w_shape), bias_shape), {},
                **extra)


def loss_case(op, x_shape, t_shape, reduction="mean", tag="", values=None, **extra):
    parts = [op, reduction, f"x{fmt_shape(x_shape)}", f"t{fmt_shape(t_shape)}"] + _value_tag(values or {})
    return Case(op, "-".join(parts + ([tag] if tag else [])), (tuple(x_shape), tuple(t_shape)),
                dict(reduction=reduction), values=dict(values or {}), **extra)
