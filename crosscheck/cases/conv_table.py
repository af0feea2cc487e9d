"""The convolution and padding cases: a readable table of named configurations and a generated grid.

The named cases each pin one thing a reader can see from the id (an even kernel under
'same', a stride that leaves inputs unread, a kernel exactly as long as the padded input).
The grid is drawn from a fixed seed, so a profile is the same list of ids on every machine;
the run's ``--seed`` changes only the data. Shapes, kernels, strides and dilations are drawn
per axis, so most cases are anisotropic: a square case hides axis mix-ups.
"""
from __future__ import annotations

import numpy as np

from .builders import conv_case, conv_transpose_case, pad_case
from .case import Case


def named_cases() -> list[Case]:
    c = conv_case
    return [
        # the seed post's worked example: 3×3 image, 2×2 kernel, valid
        c(2, (1, 1, 3, 3), (1, 1, 2, 2), bias=False, tag="seed-example"),
        c(2, (2, 4, 5, 7), (6, 2, 3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1), groups=2),
        c(2, (2, 3, 9, 8), (4, 3, 3, 3), padding=1, tag="resnet-block"),
        c(2, (2, 3, 17, 15), (4, 3, 7, 7), stride=2, padding=3, tag="stem"),
        c(2, (2, 4, 6, 5), (4, 1, 3, 3), padding=1, groups=4, tag="depthwise"),
        c(2, (2, 3, 6, 5), (6, 1, 3, 2), groups=3, tag="multiplier"),
        c(2, (1, 2, 9, 7), (3, 2, 3, 3), dilation=(2, 3), tag="dilated"),
        c(2, (1, 2, 6, 5), (3, 2, 2, 4), padding="same", tag="same-even-kernel"),
        c(2, (1, 2, 6, 5), (3, 2, 2, 3), padding="same", dilation=(3, 2), tag="same-dilated"),
        c(1, (2, 2, 3), (2, 2, 5), padding="same", tag="same-kernel-longer-than-input"),
        c(2, (1, 2, 6, 5), (3, 2, 3, 2), padding="valid"),
        c(1, (2, 3, 8), (2, 3, 2), stride=3, tag="unread-inputs"),
        c(2, (1, 2, 3, 4), (2, 2, 5, 4), padding=(1, 0), tag="kernel-fills-padded-input"),
        c(2, (2, 3, 4, 5), (5, 3, 1, 1), tag="pointwise"),
        c(2, (3, 5, 4), (2, 3, 2, 3), stride=(1, 2), tag="unbatched"),
        c(1, (3, 7), (2, 3, 3), padding=1, tag="unbatched"),
        c(3, (2, 3, 4, 5), (2, 2, 2, 2, 3), tag="unbatched"),
        c(2, (0, 3, 5, 4), (2, 3, 2, 3), padding=1, tag="empty-batch"),
        c(3, (0, 2, 3, 4, 5), (2, 2, 1, 2, 3), tag="empty-batch"),
        c(2, (0, 2, 0, 3), (3, 2, 3, 2), padding=2, tag="empty-batch-and-spatial"),
        c(1, (1, 2, 9), (2, 2, 3), stride=(2,), padding=(1,), dilation=[2], tag="sequence-args"),
        c(3, (2, 2, 4, 5, 6), (4, 1, 2, 3, 1), stride=(1, 2, 3), padding=(1, 0, 2), dilation=(2, 1, 1), groups=2),
        c(3, (1, 3, 4, 3, 5), (3, 3, 3, 1, 2), padding="same", dilation=(1, 2, 2)),
        c(1, (4, 6, 11), (12, 2, 4), stride=2, padding=2, dilation=2, groups=3),
        pad_case((2, 3, 4, 5), (1, 2, 3, 0), "reflect"),
        pad_case((1, 4), (2, 2), "reflect", tag="numpy-reflect-not-symmetric"),
        pad_case((2, 3, 4, 5), (3, 4, 2, 1), "replicate"),
        pad_case((2, 3, 4, 5), (5, 4, 4, 1), "circular", tag="pad-equals-size"),
        pad_case((2, 3, 4, 5), (-1, 2, 3, -2), "constant", tag="negative-crops"),
        pad_case((2, 3, 4), (1, 1), "constant", value=2.5),
        pad_case((1, 2, 3, 4, 5), (1, 0, 0, 2, 2, 1), "reflect"),
        pad_case((2, 3, 4, 5), (0, 0), "constant", tag="no-padding"),
        pad_case((2, 3, 4, 5), (0, 0, 0, 0), "reflect", tag="no-padding"),
        pad_case((0, 3, 4), (2, 1), "reflect", tag="empty-batch"),
        pad_case((0, 0, 4), (2, 1), "circular", tag="empty-batch-and-channels"),
        pad_case((2, 3, 4, 0), (0, 0, 1, 1), "circular", tag="empty-axis-unpadded"),
        pad_case((2, 3, 6), (-1, 2), "circular", tag="crop-then-wrap"),
        pad_case((2, 3, 4), (-6, 5), "replicate", tag="crop-past-edge"),
        pad_case((2, 3, 4, 5), (2, -3, -4, 0), "reflect", tag="crop-to-empty"),
        pad_case((2, 3, 4), (), "constant", tag="empty-pad"),
        pad_case((), (), "constant", tag="scalar"),
        pad_case((2, 0, 3), (1, 2, 0, 1), "constant", value=-1.0, tag="empty-axis"),
    ]


def named_transpose_cases() -> list[Case]:
    t = conv_transpose_case
    return [
        t(2, (2, 4, 3, 4), (4, 3, 3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2), groups=2),
        t(2, (1, 2, 4, 3), (2, 3, 4, 4), stride=2, padding=1, tag="upsample-x2"),
        t(1, (2, 3, 5), (3, 2, 3), stride=3, output_padding=2, tag="output-padding-max"),
        t(1, (2, 3, 5), (3, 2, 3), dilation=3, output_padding=2, padding=4, tag="output-padding-below-dilation"),
        t(1, (1, 2, 4), (2, 2, 3), padding=2, tag="padding-crops"),
        t(2, (3, 4, 5), (3, 2, 2, 3), stride=(1, 2), tag="unbatched"),
        t(3, (0, 2, 2, 3, 2), (2, 1, 2, 1, 2), stride=2, tag="empty-batch"),
        t(3, (1, 4, 2, 3, 2), (4, 1, 2, 2, 3), stride=(2, 1, 3), padding=(0, 1, 1), output_padding=(1, 0, 2), groups=4,
          tag="depthwise"),
        t(1, (2, 2, 6), (2, 3, 2), stride=(2,), padding=[1], tag="sequence-args"),
    ]


def invalid_cases() -> list[Case]:
    """Calls torch rejects; the implementation must reject each with ValueError/TypeError."""
    c, p, t = conv_case, pad_case, conv_transpose_case

    def bad(blame):
        return dict(invalid=True, blame=blame)

    return [
        c(2, (3, 5), (2, 3, 2, 2), tag="input-rank", **bad("input")),
        c(2, (1, 1, 3, 5, 5), (2, 3, 2, 2), tag="input-rank", **bad("input")),
        c(2, (1, 3, 5, 5), (2, 3, 2), tag="weight-rank", **bad("weight")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), stride=0, **bad("stride")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), stride=(1, -1), **bad("stride")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), stride=(1, 1, 1), tag="stride-length", **bad("stride")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), stride=2.0, tag="float-stride", **bad("stride")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), dilation=0, **bad("dilation")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), padding=-1, **bad("padding")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), padding=(0, -1), **bad("padding")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), padding="full", **bad("padding")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), stride=2, padding="same", **bad("padding")),
        c(1, (1, 3, 5), (2, 3, 2), stride=(2,), padding="same", **bad("padding")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), groups=0, **bad("groups")),
        c(2, (1, 4, 5, 5), (3, 2, 2, 2), groups=2, tag="groups-out-channels", **bad("groups")),
        c(2, (1, 3, 5, 5), (2, 1, 2, 2), groups=2, tag="groups-in-channels", **bad("groups")),
        c(2, (1, 4, 5, 5), (2, 3, 2, 2), tag="channel-mismatch", **bad("weight")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), bias=(3,), tag="bias-size", **bad("bias")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), bias=(2, 1), tag="bias-rank", **bad("bias")),
        c(2, (1, 3, 3, 5), (2, 3, 4, 2), tag="kernel-too-large", **bad("weight")),
        c(2, (1, 3, 4, 5), (2, 3, 3, 2), dilation=(2, 1), padding=(0, 1), tag="dilated-kernel-too-large", **bad("weight")),
        c(3, (1, 1, 2, 3, 4), (1, 1, 2, 3, 5), padding=(0, 0, 0), tag="kernel-too-large", **bad("weight")),
        c(2, (1, 3, 0, 5), (2, 3, 1, 2), tag="zero-spatial", **bad("input")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), tag="mixed-dtype", array_dtypes={"weight": "other"}, **bad("dtype")),
        t(2, (1, 2, 3, 3), (2, 2, 2, 2), stride=2, output_padding=2, tag="output-padding-too-large", **bad("output_padding")),
        t(1, (1, 2, 3), (2, 2, 2), output_padding=1, tag="output-padding-without-stride", **bad("output_padding")),
        t(1, (1, 2, 3), (2, 2, 2), stride=0, **bad("stride")),
        t(1, (1, 2, 3), (2, 2, 2), padding=-1, **bad("padding")),
        t(1, (1, 2, 3), (2, 2, 2), padding="same", tag="string-padding", **bad("padding")),
        t(1, (1, 2, 1), (2, 2, 1), padding=1, tag="empty-output", **bad("input")),
        t(2, (1, 3, 3, 3), (2, 2, 2, 2), tag="channel-mismatch", **bad("weight")),
        t(2, (1, 3, 3, 3), (3, 2, 2, 2), groups=2, tag="groups-in-channels", **bad("groups")),
        t(2, (1, 2, 3, 3), (2, 2, 2, 2), bias=(3,), tag="bias-size", **bad("bias")),
        t(1, (3,), (2, 2, 2), tag="input-rank", **bad("input")),
        c(2, (1, 3, 5, 5), (2, 3, 2, 2), tag="mixed-bias-dtype", array_dtypes={"bias": "other"}, **bad("dtype")),
        p((2, 3, 4), (1, 2, 3), "constant", tag="odd-length", **bad("pad")),
        p((2, 3), (1, 1, 1, 1, 1, 1), "constant", tag="longer-than-input", **bad("pad")),
        p((2, 3, 4, 5), (4, 1), "reflect", tag="reflect-pad-equals-size", **bad("pad")),
        p((2, 3, 4, 5), (1, 1, 0, 4), "reflect", tag="reflect-pad-equals-size", **bad("pad")),
        p((2, 3, 4, 5), (6, 1), "circular", tag="circular-pad-over-size", **bad("pad")),
        p((5,), (1, 1, 1, 1), "replicate", tag="too-few-axes", **bad("pad")),
        p((1, 2, 3, 4, 5), (1, 1), "reflect", tag="too-many-axes", **bad("pad")),
        p((2, 3, 4), (1, 1), "symmetric", tag="unknown-mode", **bad("mode")),
        p((2, 3, 4), (-3, -2), "constant", tag="crop-below-zero", **bad("pad")),
        p((2, 3, 4), (-5, 2), "constant", tag="crop-left-past-end", **bad("pad")),
        p((2, 3, 0), (0, 0), "reflect", tag="zero-size-axis", **bad("input")),
        p((2, 0, 4), (1, 1), "replicate", tag="zero-channels", **bad("input")),
        p((2, 3, 4), (), "reflect", tag="empty-pad", **bad("pad")),
        p((1, 2, 3, 4, 5, 6), (1, 1, 1, 1, 1, 1, 1, 1), "replicate", tag="four-axes", **bad("pad")),
        p((2, 3, 4), (1, 1), "reflect", value=1.5, tag="value-with-reflect", **bad("value")),
        p((2, 3, 4), (-2, -3), "replicate", tag="crop-to-nothing", **bad("pad")),
        p((2, 3, 4), (-3, -2), "circular", tag="crop-below-zero", **bad("pad")),
    ]


def _axis_tuple(rng, dims, choices, p=None):
    return tuple(int(v) for v in rng.choice(choices, size=dims, p=p))


def _as_arg(rng, values):
    """An int when all axes agree (most of the time), else a tuple; sometimes a list."""
    if len(set(values)) == 1 and rng.random() < 0.6:
        return values[0]
    return list(values) if rng.random() < 0.1 else values


def _channels(rng):
    scheme = rng.choice(["plain", "plain", "groups2", "groups3", "depthwise", "multiplier"])
    if scheme == "plain":
        return 1, int(rng.integers(1, 4)), int(rng.choice([1, 2, 4]))
    if scheme == "groups2":
        return 2, 2 * int(rng.integers(1, 3)), 2 * int(rng.integers(1, 3))
    if scheme == "groups3":
        return 3, 3 * int(rng.integers(1, 3)), 3 * int(rng.integers(1, 3))
    c = int(rng.integers(2, 5))
    return c, c, c * (1 if scheme == "depthwise" else int(rng.integers(2, 4)))


def conv_grid(dims: int, count: int, seed: int = 0) -> list[Case]:
    """``count`` valid convolution configurations of ``dims`` spatial axes, drawn per axis."""
    rng = np.random.default_rng([seed, dims])
    max_kernel, max_extra = (4, 4) if dims < 3 else (3, 2)
    cases = {}
    while len(cases) < count:
        groups, channels, out_channels = _channels(rng)
        kernel = _axis_tuple(rng, dims, range(1, max_kernel + 1))
        dilation = _axis_tuple(rng, dims, [1, 2, 3], p=[0.6, 0.3, 0.1])
        form = rng.choice(["int", "tuple", "valid", "same"], p=[0.35, 0.35, 0.1, 0.2])
        stride = (1,) * dims if form == "same" else _axis_tuple(rng, dims, [1, 2, 3], p=[0.5, 0.35, 0.15])
        if form == "int":
            pads = (int(rng.integers(0, 3)),) * dims
            padding = pads[0]
        elif form == "tuple":
            pads = _axis_tuple(rng, dims, [0, 1, 2])
            padding = pads
        else:
            pads, padding = (0,) * dims, str(form)
        span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        floor = [1 if form == "same" else max(1, s - 2 * p) for s, p in zip(span, pads)]
        length = tuple(f + int(rng.integers(0, max_extra + 1)) for f in floor)
        batch = rng.choice(["0", "1", "2", "3", "unbatched"], p=[0.05, 0.3, 0.3, 0.25, 0.1])
        x_shape = ((channels,) if batch == "unbatched" else (int(batch), channels)) + length
        case = conv_case(
            dims,
            x_shape,
            (out_channels, channels // groups) + kernel,
            bias=bool(rng.random() < 0.75),
            stride=_as_arg(rng, stride),
            padding=padding,
            dilation=_as_arg(rng, dilation),
            groups=groups,
        )
        cases.setdefault(case.id, case)
    return list(cases.values())


def conv_transpose_grid(dims: int, count: int, seed: int = 0) -> list[Case]:
    """``count`` valid transposed convolutions of ``dims`` spatial axes, drawn per axis."""
    rng = np.random.default_rng([seed, 10 + dims])
    max_kernel, max_length = (4, 5) if dims < 3 else (3, 3)
    cases = {}
    while len(cases) < count:
        groups, channels, out_channels = _channels(rng)
        kernel = _axis_tuple(rng, dims, range(1, max_kernel + 1))
        dilation = _axis_tuple(rng, dims, [1, 2, 3], p=[0.6, 0.3, 0.1])
        stride = _axis_tuple(rng, dims, [1, 2, 3], p=[0.4, 0.4, 0.2])
        output_padding = tuple(int(rng.integers(0, max(s, d))) if rng.random() < 0.4 else 0
                               for s, d in zip(stride, dilation))
        length = _axis_tuple(rng, dims, range(1, max_length + 1))
        reach = [(n - 1) * s + d * (k - 1) + q for n, s, d, k, q in zip(length, stride, dilation, kernel, output_padding)]
        pads = tuple(int(rng.integers(0, min(2, r // 2) + 1)) for r in reach)  # keeps the output non-empty
        padding = pads[0] if len(set(pads)) == 1 and rng.random() < 0.5 else pads
        batch = rng.choice(["0", "1", "2", "3", "unbatched"], p=[0.05, 0.3, 0.3, 0.25, 0.1])
        x_shape = ((channels,) if batch == "unbatched" else (int(batch), channels)) + length
        case = conv_transpose_case(
            dims, x_shape, (channels, out_channels // groups) + kernel, bias=bool(rng.random() < 0.75),
            stride=_as_arg(rng, stride), padding=padding, output_padding=_as_arg(rng, output_padding),
            groups=groups, dilation=_as_arg(rng, dilation),
        )
        cases.setdefault(case.id, case)
    return list(cases.values())


def pad_grid(count: int, seed: int = 0) -> list[Case]:
    """``count`` valid pad calls over every mode, 1 to 3 padded axes and every allowed rank."""
    rng = np.random.default_rng([seed, 99])
    cases = {}
    while len(cases) < count:
        mode = str(rng.choice(["constant", "reflect", "replicate", "circular"]))
        axes = int(rng.integers(1, 4))
        if mode == "constant":
            ndim = int(rng.integers(axes, 6))
        else:
            ndim = axes + int(rng.integers(1, 3))
        shape = tuple(int(v) for v in rng.integers(1, 4, size=ndim - axes)) + tuple(
            int(v) for v in rng.integers(2, 6, size=axes)
        )
        pad = []
        for axis in range(ndim - 1, ndim - 1 - axes, -1):
            size = shape[axis]
            low, high = {"constant": (-1, 3), "reflect": (0, size - 1), "replicate": (0, size + 2),
                         "circular": (0, size)}[mode]
            pad += [int(v) for v in rng.integers(low, high + 1, size=2)]
        value = None
        if mode == "constant" and rng.random() < 0.3:
            value = float(rng.choice([0.0, 1.5, -2.0]))
        case = pad_case(shape, tuple(pad), mode, value=value)
        cases.setdefault(case.id, case)
    return list(cases.values())
