"""Cases for the layers around the convolutions: pooling, linear, activations and losses.

Same rules as :mod:`crosscheck.cases.conv_table`: named cases pin one behaviour each (the ceil-mode
last-window rule, ties, NaN, large logits, ...), the grids are drawn from a fixed seed per
axis, and torch decides at run time which calls are valid.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .builders import linear_case, loss_case, pool_case, unary_case
from .case import Case

INT, SPECIAL, LARGE = {"input": "integers"}, {"input": "specials"}, {"input": "large"}


def named_layer_cases() -> list[Case]:
    mp, ap, u = (lambda *a, **k: pool_case("max", *a, **k)), (lambda *a, **k: pool_case("avg", *a, **k)), unary_case
    return [
        mp(1, (1, 1, 5), 2, stride=2, padding=1, ceil_mode=True, tag="last-window-dropped"),
        ap(1, (1, 1, 5), 2, stride=2, padding=1, ceil_mode=True, tag="last-window-dropped"),
        mp(2, (2, 3, 6, 5), (3, 2), stride=(1, 2), values=INT, tag="ties"),
        mp(2, (2, 3, 6, 5), 2, stride=1, values=INT, return_indices=True, tag="overlapping-ties"),
        mp(2, (2, 2, 5, 6), (2, 3), stride=(2, 1), values=SPECIAL, return_indices=True, tag="nan-inf"),
        mp(1, (2, 3, 9), 3, stride=2, padding=1, dilation=2, return_indices=True),
        mp(3, (1, 2, 4, 5, 3), (2, 3, 2), stride=(2, 1, 1), padding=(1, 1, 0), ceil_mode=True, return_indices=True),
        mp(2, (3, 5, 4), 2, tag="unbatched"),
        mp(2, (0, 3, 5, 4), 2, tag="empty-batch"),
        ap(2, (2, 3, 5, 6), (3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=False),
        ap(1, (1, 2, 4), 3, stride=3, ceil_mode=True, tag="overhang-not-counted"),
        ap(1, (1, 2, 4), 3, stride=3, padding=1, ceil_mode=True, tag="overhang-past-padding"),
        ap(2, (2, 3, 5, 6), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        ap(2, (2, 3, 5, 6), (2, 3), divisor_override=5),
        ap(3, (1, 2, 4, 5, 3), (2, 3, 2), stride=(1, 2, 1), padding=(1, 1, 0), divisor_override=2, ceil_mode=True),
        ap(1, (3, 7), 3, stride=2, tag="unbatched"),
        linear_case((3, 5), (4, 5)),
        linear_case((5,), (4, 5), bias=False, tag="vector"),
        linear_case((2, 3, 5), (4, 5), tag="leading-dims"),
        linear_case((0, 5), (4, 5), tag="empty"),
        linear_case((3, 4), (4, 4), tag="square"),
        u("relu", (3, 4), values={"input": "zeros"}, tag="at-zero"),
        u("relu", (2, 5), values=SPECIAL),
        u("sigmoid", (3, 4), values=LARGE, tag="saturated"),
        u("tanh", (3, 4), values=SPECIAL),
        u("softmax", (3, 5), dim=1, values=LARGE, tag="large-logits"),
        u("log_softmax", (3, 5), dim=-1, values=LARGE, tag="large-logits"),
        u("softmax", (2, 3, 4), dim=0),
        u("log_softmax", (2, 3, 4), dim=1, values=SPECIAL),
        loss_case("mse_loss", (3, 4), (3, 4), "none"),
        loss_case("mse_loss", (2, 3, 4), (2, 3, 4), "sum"),
        loss_case("mse_loss", (0, 4), (0, 4), "sum", tag="empty"),
        loss_case("cross_entropy", (4, 5), (4,), values={"target": "classes:5"}),
        loss_case("cross_entropy", (5,), (), "sum", values={"target": "classes:5"}, tag="unbatched"),
        loss_case("cross_entropy", (2, 4, 3, 2), (2, 3, 2), "none", values={"target": "classes:4"}, tag="k-dim"),
        loss_case("cross_entropy", (3, 6), (3,), values={"input": "large", "target": "classes:6"}, tag="large-logits"),
    ]


def invalid_layer_cases() -> list[Case]:
    mp, ap = (lambda *a, **k: pool_case("max", *a, **k)), (lambda *a, **k: pool_case("avg", *a, **k))

    cases = [
        mp(2, (1, 2, 5, 5), 2, padding=2, tag="padding-over-half-kernel"),
        mp(1, (1, 2, 9), 3, padding=2, dilation=3, tag="padding-over-half-raw-kernel"),
        ap(2, (1, 2, 5, 5), 3, padding=2, tag="padding-over-half-kernel"),
        ap(2, (1, 2, 5, 5), 2, divisor_override=0),
        mp(2, (1, 2, 5, 5), 0, tag="zero-kernel"),
        mp(2, (1, 2, 5, 5), 2, stride=0),
        mp(1, (1, 2, 5), 2, dilation=0),
        mp(2, (1, 2, 1, 5), 3, tag="kernel-larger-than-input"),
        ap(1, (1, 2, 5), (2, 2), tag="kernel-length"),
        mp(2, (5, 5), 2, tag="input-rank"),
        linear_case((3, 5), (4, 6), tag="feature-mismatch"),
        linear_case((3, 5), (4, 5), bias=(3,), tag="bias-size"),
        linear_case((3, 5), (4, 5), array_dtypes={"weight": "other"}, tag="mixed-dtype"),
        loss_case("cross_entropy", (4, 5), (3,), values={"target": "classes:5"}, tag="batch-mismatch"),
        loss_case("cross_entropy", (4, 5), (4,), values={"target": "classes:5"}, reduction="average",
                  tag="unknown-reduction"),
    ]
    blames = ["padding", "padding", "padding", "divisor_override", "kernel_size", "stride", "dilation", "input",
              "kernel_size", "input", "weight", "bias", "dtype", "target", "reduction"]
    return [replace(c, invalid=True, blame=b) for c, b in zip(cases, blames)]


def every_window_reads_input(length, kernel, stride, padding, dilation, ceil_mode) -> bool:
    """False when some window reads padding alone: torch 2.13 then indexes outside the input
    plane (wrong indices, gradients written into the next plane, heap corruption), a call
    the reference refuses (README, deviations) and the grid must not hand to torch."""
    extra = stride - 1 if ceil_mode else 0
    out = (length + 2 * padding - dilation * (kernel - 1) - 1 + extra) // stride + 1
    if ceil_mode and (out - 1) * stride >= length + padding:
        out -= 1
    starts = (i * stride - padding for i in range(out))
    return all(any(0 <= start + t * dilation < length for t in range(kernel)) for start in starts)


def pool_grid(kind: str, dims: int, count: int, seed: int = 0) -> list[Case]:
    """Valid max ('max') or average ('avg') pooling calls, anisotropic, every argument drawn."""
    rng = np.random.default_rng([seed, 20 + dims + (3 if kind == "avg" else 0)])
    cases = {}
    while len(cases) < count:
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=dims))
        dilation = tuple(int(d) for d in rng.choice([1, 2], size=dims, p=[0.7, 0.3])) if kind == "max" else (1,) * dims
        stride = None if rng.random() < 0.25 else tuple(int(s) for s in rng.integers(1, 4, size=dims))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        length = tuple(max(1, s - 2 * p) + int(rng.integers(0, 4)) for s, p in zip(span, padding))
        batch = rng.choice(["0", "1", "2", "unbatched"], p=[0.05, 0.45, 0.4, 0.1])
        channels = int(rng.integers(1, 4))
        x_shape = ((channels,) if batch == "unbatched" else (int(batch), channels)) + length
        kwargs = dict(stride=stride, padding=padding[0] if len(set(padding)) == 1 else padding,
                      ceil_mode=bool(rng.random() < 0.4))
        steps = kernel if stride is None else stride
        if not all(every_window_reads_input(n, k, s, p, d, kwargs["ceil_mode"])
                   for n, k, s, p, d in zip(length, kernel, steps, padding, dilation)):
            continue
        if kind == "max":
            kwargs.update(dilation=dilation, return_indices=bool(rng.random() < 0.4))
        else:
            kwargs.update(count_include_pad=bool(rng.random() < 0.6))
            if dims > 1 and rng.random() < 0.2:
                kwargs.update(divisor_override=int(rng.integers(1, 7)))
        values = {"input": str(rng.choice(["normal", "integers", "specials"], p=[0.5, 0.35, 0.15]))}
        case = pool_case(kind, dims, x_shape, kernel[0] if len(set(kernel)) == 1 else kernel, values=values, **kwargs)
        cases.setdefault(case.id, case)
    return list(cases.values())


def dense_grid(count: int, seed: int = 0) -> list[Case]:
    """Linear layers, activations, softmaxes and losses over assorted shapes and data."""
    rng = np.random.default_rng([seed, 40])
    cases = {}
    kinds = ["normal", "normal", "integers", "specials", "large"]
    while len(cases) < count:
        family = rng.choice(["linear", "unary", "softmax", "mse", "ce"])
        lead = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        if family == "linear":
            fin, fout = int(rng.integers(1, 7)), int(rng.integers(1, 7))
            case = linear_case(lead + (fin,), (fout, fin), bias=bool(rng.random() < 0.75))
        elif family == "unary":
            op = str(rng.choice(["relu", "sigmoid", "tanh"]))
            case = unary_case(op, lead + (int(rng.integers(1, 5)),), values={"input": str(rng.choice(kinds))})
        elif family == "softmax":
            shape = lead + (int(rng.integers(1, 6)),)
            dim = int(rng.integers(-len(shape), len(shape)))
            case = unary_case(str(rng.choice(["softmax", "log_softmax"])), shape, dim=dim,
                              values={"input": str(rng.choice(kinds))})
        elif family == "mse":
            shape = lead + (int(rng.integers(1, 5)),)
            case = loss_case("mse_loss", shape, shape, str(rng.choice(["none", "mean", "sum"])))
        else:
            classes, n = int(rng.integers(1, 6)), int(rng.integers(1, 5))
            extra = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(0, 3))))
            case = loss_case("cross_entropy", (n, classes) + extra, (n,) + extra,
                             str(rng.choice(["none", "mean", "sum"])),
                             values={"input": str(rng.choice(["normal", "large"])), "target": f"classes:{classes}"})
        cases.setdefault(case.id, case)
    return list(cases.values())
