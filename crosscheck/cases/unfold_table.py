"""The unfold and fold cases: named configurations, the calls torch rejects, and a grid.

Same rules as :mod:`crosscheck.cases.conv_table`. The named cases pin the layout of the
columns (row ``c·|k| + p``, column ``i``, both row-major: an anisotropic kernel and image tell a
transposed layout apart), padding, stride and dilation, a single window, windows that skip
inputs (stride larger than the kernel: fold leaves those positions 0) and overlapping windows
(fold sums them), unbatched calls and empty batches.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .builders import fold_case, unfold_case
from .case import Case


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def blocks(size, kernel_size, dilation=1, padding=0, stride=1) -> tuple[int, int]:
    """Windows per axis of an image of ``size`` (torch's formula, the convolution's)."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, p, s in
                 zip(_pair(size), _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)))


def fold_of(batch, channels, output_size, kernel_size, tag="", values=None, **kwargs) -> Case:
    """The fold whose columns come from an image of ``channels`` and ``output_size``
    (``batch`` None: unbatched)."""
    b = blocks(output_size, kernel_size, **kwargs)
    rows = channels * int(np.prod(_pair(kernel_size)))
    x_shape = ((rows,) if batch is None else (batch, rows)) + (b[0] * b[1],)
    return fold_case(x_shape, output_size, kernel_size, tag=tag, values=values, **kwargs)


def _shared() -> list[tuple]:
    """``(batch, channels, size, kernel, kwargs, tag)`` pinned for both ops."""
    return [
        (2, 3, (5, 6), (2, 3), {}, "layout"),
        (2, 2, (6, 7), (3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2)), "strided-dilated"),
        (1, 2, (5, 5), 3, dict(padding=1), "padded"),
        (2, 3, (4, 5), (4, 5), {}, "one-window"),
        (2, 2, (7, 8), 2, dict(stride=3), "stride-skips-inputs"),
        (1, 3, (6, 6), 3, dict(stride=1, padding=2, dilation=2), "overlapping"),
        (2, 4, (5, 7), 1, {}, "kernel-one"),
        (1, 2, (3, 4), 2, dict(padding=(2, 1)), "padding-past-kernel"),
        (None, 3, (5, 6), (2, 3), dict(stride=2), "unbatched"),
        (0, 3, (5, 6), 2, {}, "empty-batch"),
        (1, 1, (4, 9), (2, 3), dict(dilation=(1, 3), stride=[1, 2], padding=[0, 1]), "list-arguments"),
        (2, 2, (6, 5), 2, dict(stride=10**6), "stride-far-past-input"),
    ]


def named_unfold_cases() -> list[Case]:
    cases = []
    for batch, channels, size, kernel, kwargs, tag in _shared():
        x_shape = ((channels,) if batch is None else (batch, channels)) + size
        cases.append(unfold_case(x_shape, kernel, tag=tag, **kwargs))
        cases.append(fold_of(batch, channels, size, kernel, tag=tag, **kwargs))
    cases.append(unfold_case((2, 2, 5, 6), 2, stride=1, values={"input": "specials"}, tag="nan-inf"))
    cases.append(fold_of(2, 2, (5, 6), 2, values={"input": "specials"}, tag="nan-inf"))
    return cases


def _refused(case: Case, blame: str) -> Case:
    return replace(case, invalid=True, blame=blame)


def invalid_unfold_cases() -> list[Case]:
    """Calls torch 2.13 refuses, each with the argument its rejection must name."""
    u, image = unfold_case, (2, 3, 5, 6)
    cases = [
        (u((3, 5), 2, tag="input-rank-2"), "input"),
        (u((1, 2, 3, 5, 6), 2, tag="input-rank-5"), "input"),
        (u((2, 0, 5, 6), 2, tag="no-channels"), "input"),
        (u((0, 5, 6), 2, tag="unbatched-no-channels"), "input"),
        (u((2, 3, 0, 6), 2, tag="empty-spatial"), "input"),
        (u(image, 0, tag="zero-kernel"), "kernel_size"),
        (u(image, (2,), tag="kernel-length-1"), "kernel_size"),
        (u(image, (2, 2, 2), tag="kernel-length-3"), "kernel_size"),
        (u(image, 2.0, tag="float-kernel"), "kernel_size"),
        (u(image, True, tag="bool-kernel"), "kernel_size"),
        (u(image, 6, tag="kernel-over-input"), "kernel_size"),
        (u(image, 2, dilation=(0, 1), tag="zero-dilation"), "dilation"),
        (u(image, 2, padding=-1, tag="negative-padding"), "padding"),
        (u(image, 2, stride=0, tag="zero-stride"), "stride"),
        (u(image, 2, stride=None, tag="none-stride"), "stride"),
        (u(image, 2, stride=(1,), tag="stride-length-1"), "stride"),
        (fold_case((2, 11, 20), (5, 6), 2, tag="rows-not-a-multiple-of-the-taps"), "input"),
        (fold_case((2, 12, 21), (5, 6), 2, tag="window-count"), "input"),
        (fold_case((2, 12, 20), (5, 7), 2, tag="output-size-of-other-windows"), "input"),
        (fold_case((12,), (5, 6), 2, tag="input-rank-1"), "input"),
        (fold_case((2, 12, 20, 1), (5, 6), 2, tag="input-rank-4"), "input"),
        (fold_case((2, 0, 20), (5, 6), 2, tag="no-rows"), "input"),
        (fold_case((0, 20), (5, 6), 2, tag="unbatched-no-rows"), "input"),
        (fold_case((2, 12, 20), (5,), 2, tag="output-size-length-1"), "output_size"),
        (fold_case((2, 12, 20), (5, 6, 1), 2, tag="output-size-length-3"), "output_size"),
        (fold_case((2, 12, 20), (5.0, 6), 2, tag="float-output-size"), "output_size"),
        (fold_case((2, 12, 20), (5, 6), 0, tag="zero-kernel"), "kernel_size"),
        (fold_case((2, 12, 20), (5, 6), 2, stride=0, tag="zero-stride"), "stride"),
        (fold_case((2, 12, 20), (5, 6), 2, padding=-1, tag="negative-padding"), "padding"),
        (fold_case((2, 12, 20), (5, 6), 2, dilation=0, tag="zero-dilation"), "dilation"),
    ]
    return [_refused(case, blame) for case, blame in cases]


def unfold_grid(op: str, count: int, seed: int = 0) -> list[Case]:
    """Valid unfold or fold calls, anisotropic, every argument drawn."""
    rng = np.random.default_rng([seed, 60 + (op == "fold")])
    cases = {}
    while len(cases) < count:
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
        dilation = tuple(int(d) for d in rng.choice([1, 2], size=2, p=[0.7, 0.3]))
        padding = tuple(int(p) for p in rng.integers(0, 3, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
        span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        size = tuple(max(1, s - 2 * p) + int(rng.integers(0, 5)) for s, p in zip(span, padding))
        batch = rng.choice(["0", "1", "2", "unbatched"], p=[0.05, 0.45, 0.4, 0.1])
        channels = int(rng.integers(1, 4))

        def spell(values):
            return values[0] if values[0] == values[1] and rng.random() < 0.5 else values

        kwargs = dict(dilation=spell(dilation), padding=spell(padding), stride=spell(stride))
        values = {"input": str(rng.choice(["normal", "integers", "specials"], p=[0.6, 0.3, 0.1]))}
        if op == "unfold":
            x_shape = ((channels,) if batch == "unbatched" else (int(batch), channels)) + size
            case = unfold_case(x_shape, spell(kernel), values=values, **kwargs)
        else:
            case = fold_of(None if batch == "unbatched" else int(batch), channels, size, spell(kernel), values=values,
                           **kwargs)
        cases.setdefault(case.id, case)
    return list(cases.values())
