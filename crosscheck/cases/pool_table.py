"""The pooling cases: named configurations, the calls torch rejects, and a generated grid.

Same rules as :mod:`crosscheck.cases.conv_table`: named cases pin one behaviour each (the
ceil-mode last-window rule, ties, NaN, a window of −inf alone, a kernel longer than the input,
...), the grid is drawn from a fixed seed per axis, and torch decides at run time which calls
are valid. Most named max poolings come twice, without and with ``return_indices=True``: the
forward that returns the values alone may be a function of its own in an implementation (it
is in the reference), and the indices are compared exactly.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .builders import pool_case
from .case import Case

INT, SPECIAL = {"input": "integers"}, {"input": "specials"}
TIES_AND_SPECIALS, MINUS_INF = {"input": "integer-specials"}, {"input": "minus-inf"}


def _max(*args, **kwargs):
    return pool_case("max", *args, **kwargs)


def _avg(*args, **kwargs):
    return pool_case("avg", *args, **kwargs)


def _max_both_ways(*args, **kwargs) -> list[Case]:
    """The same max pooling without and with ``return_indices=True``."""
    return [_max(*args, **kwargs), _max(*args, **kwargs, return_indices=True)]


def _named_max_cases() -> list[Case]:
    m, i, s, n = _max_both_ways, INT, TIES_AND_SPECIALS, MINUS_INF
    return [
        *m(1, (2, 3, 11), 3, values=i, tag="non-overlapping"),
        *m(1, (2, 3, 10), 3, stride=2, padding=1, dilation=2, ceil_mode=True, values=i, tag="dilated-ceil"),
        *m(1, (2, 2, 5), 2, stride=2, padding=1, ceil_mode=True, values=i, tag="three-windows-not-four"),
        *m(1, (1, 2, 6), 3, stride=2, padding=1, ceil_mode=True, values=i, tag="ceil-last-window-kept"),
        *m(1, (2, 2, 3), 4, stride=4, ceil_mode=True, values=i, tag="kernel-longer-than-input"),
        *m(1, (2, 2, 6), 3, stride=3, padding=1, ceil_mode=True, values=i, tag="overhang-past-padding"),
        *m(1, (2, 2, 9), 4, stride=1, padding=2, values=i, tag="overlapping-shared-maxima"),
        *m(1, (2, 2, 9), [3], stride=(), padding=(1,), values=i, tag="empty-stride-means-kernel"),
        *m(1, (3, 7), 2, stride=1, values=i, tag="unbatched"),
        *m(1, (0, 2, 9), 3, stride=2, tag="empty-batch"),
        *m(1, (2, 3, 12), 3, stride=1, padding=1, values=s, tag="nan-inf-ties"),
        *m(1, (2, 3, 12), 3, stride=2, padding=1, ceil_mode=True, values=n, tag="windows-of-minus-inf"),
        *m(2, (2, 3, 7, 6), (3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 1), ceil_mode=True, values=i,
           tag="dilated-ceil"),
        *m(2, (2, 2, 8, 5), (2, 3), values=i, tag="non-overlapping"),
        *m(2, (1, 2, 9, 7), (4, 3), stride=(3, 2), padding=(2, 1), dilation=(1, 2), ceil_mode=True, values=i,
           tag="dilated-ceil"),
        *m(2, (2, 2, 5, 6), 2, stride=2, padding=1, ceil_mode=True, values=i, tag="ceil"),
        *m(2, (2, 2, 5, 7), (5, 2), stride=(1, 3), padding=(2, 1), dilation=(1, 2), tag="tall-kernel"),
        *m(2, (3, 5, 4), (2, 3), stride=1, padding=(1, 0), values=i, tag="unbatched"),
        *m(2, (0, 3, 5, 6), (2, 3), stride=(1, 2), tag="empty-batch"),
        *m(2, (2, 2, 6, 7), (3, 2), stride=(1, 2), padding=(1, 1), values=s, tag="nan-inf-ties"),
        *m(2, (2, 2, 6, 7), (2, 3), stride=1, padding=1, dilation=(2, 1), values=n, tag="windows-of-minus-inf"),
        # the outer axis (L = 2, k = 2, pad = 1): every tap misses a window, none serves them all
        *m(2, (2, 2, 2, 5), (2, 3), stride=1, padding=1, values=i, tag="no-tap-serves-every-window"),
        *m(3, (2, 2, 5, 6, 7), (2, 3, 2), stride=(2, 1, 3), padding=(1, 1, 0), dilation=(1, 1, 2), ceil_mode=True,
           values=i, tag="dilated-ceil"),
        *m(3, (2, 3, 4, 5, 6), 2, values=i, tag="non-overlapping"),
        *m(3, (3, 4, 6, 5), (3, 2, 2), stride=(1, 2, 2), padding=(1, 0, 1), values=i, tag="unbatched"),
        *m(3, (0, 2, 4, 4, 5), (2, 2, 3), tag="empty-batch"),
        *m(3, (1, 2, 2, 5, 4), 3, stride=(1, 2, 1), padding=1, values=i, tag="input-shorter-than-kernel"),
        *m(3, (1, 2, 4, 5, 6), (2, 3, 2), stride=1, padding=1, values=s, tag="nan-inf-ties"),
        # few windows over a long last axis: most slots of a row-phase layout would be no window
        *m(1, (2, 3, 300), 299, stride=1, padding=1, values=i, tag="few-windows-long-axis"),
        *m(2, (1, 2, 5, 200), (2, 199), stride=1, padding=(1, 50), values=n, tag="few-windows-long-axis"),
        *m(2, (1, 2, 5, 200), (3, 199), stride=1, padding=(1, 50), values=s, tag="few-windows-long-axis"),
        # one window: a stride of 10⁹ reads what a stride of the window's extent reads
        *m(1, (2, 3, 7), 3, stride=10**9, padding=1, values=i, tag="stride-far-past-input"),
    ]


def _named_avg_cases() -> list[Case]:
    a, s = _avg, TIES_AND_SPECIALS
    return [
        a(1, (2, 3, 11), 3, tag="non-overlapping"),
        a(1, (2, 2, 5), 2, stride=2, padding=1, ceil_mode=True, tag="ceil"),
        a(1, (2, 2, 5), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False, tag="ceil"),
        a(1, (2, 3, 10), 4, stride=3, padding=2, ceil_mode=True, tag="last-window-overhangs-padding"),
        a(1, (2, 2, 3), 4, stride=4, ceil_mode=True, tag="kernel-longer-than-input"),
        # window [5, 8) overhangs the padding [−1, 7): divides by 2, not 3
        a(1, (2, 3, 6), 3, stride=3, padding=1, ceil_mode=True, tag="divides-by-two-not-three"),
        a(1, (2, 3, 6), 3, stride=3, padding=1, ceil_mode=True, count_include_pad=False, tag="divides-by-two-not-three"),
        a(1, (2, 2, 9), [4], stride=1, padding=2, count_include_pad=False, tag="overlapping"),
        a(1, (2, 2, 2), 3, stride=1, padding=1, tag="input-shorter-than-kernel"),
        a(1, (3, 9), 4, stride=3, padding=2, ceil_mode=True, tag="unbatched"),
        a(1, (0, 2, 7), 3, stride=(), tag="empty-batch"),
        a(1, (2, 3, 12), 3, stride=1, padding=1, values=s, tag="nan-inf"),
        a(2, (2, 3, 7, 6), (3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True, tag="ceil"),
        a(2, (2, 3, 7, 6), (3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True, count_include_pad=False, tag="ceil"),
        a(2, (2, 2, 8, 7), (4, 3), stride=(3, 2), padding=(2, 1), ceil_mode=True, divisor_override=5, tag="divisor"),
        a(2, (2, 2, 8, 7), (2, 3), stride=1, padding=(1, 0), divisor_override=-3, tag="negative-divisor"),
        a(2, (3, 5, 4), (2, 3), stride=1, padding=(1, 1), count_include_pad=False, tag="unbatched"),
        a(2, (0, 3, 5, 6), (2, 3), stride=(1, 2), tag="empty-batch"),
        a(2, (1, 2, 2, 5), 3, stride=1, padding=1, tag="only-avg-pool3d-refuses-this"),
        a(2, (2, 2, 6, 7), (3, 2), stride=(1, 2), padding=(1, 1), values=s, tag="nan-inf"),
        a(2, (2, 2, 2, 5), (2, 3), stride=1, padding=1, tag="no-tap-serves-every-window"),
        a(3, (2, 2, 5, 6, 7), (2, 3, 2), stride=(2, 1, 3), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False,
          tag="ceil"),
        a(3, (2, 2, 5, 6, 7), (3, 2, 3), stride=(2, 2, 1), padding=(1, 0, 1), divisor_override=7, tag="divisor"),
        a(3, (3, 6, 7, 5), (3, 3, 2), stride=(3, 3, 2), padding=1, ceil_mode=True, tag="unbatched"),
        a(3, (0, 2, 4, 4, 5), (2, 2, 3), tag="empty-batch"),
        a(3, (1, 2, 4, 5, 6), (2, 3, 2), stride=1, padding=1, values=s, tag="nan-inf"),
        a(1, (2, 3, 300), 299, stride=1, padding=1, tag="few-windows-long-axis"),
        a(2, (1, 2, 5, 200), (2, 199), stride=1, padding=(1, 50), count_include_pad=False, tag="few-windows-long-axis"),
        a(1, (2, 3, 7), 3, stride=10**9, padding=1, tag="stride-far-past-input"),
    ]


def named_pool_cases() -> list[Case]:
    mp, ap = _max, _avg
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
        *_named_max_cases(),
        *_named_avg_cases(),
    ]


def _refused(case: Case, blame: str) -> Case:
    return replace(case, invalid=True, blame=blame)


def _argument_cases() -> list[Case]:
    """Calls torch refuses for one argument's type, length, sign or size, each named by a tag."""
    mp, ap = _max, _avg
    one, two, three = (2, 3, 7), (2, 3, 7, 6), (2, 3, 7, 6, 5)
    cases = [
        (mp(1, (5,), 2, tag="input-rank-1"), "input"),
        (mp(1, (1, 1, 1, 5), 2, tag="input-rank-4"), "input"),
        (ap(2, (1, 1, 1, 5, 5), 2, tag="input-rank-5"), "input"),
        (ap(3, (1, 5, 5), 2, tag="input-rank-3"), "input"),
        (mp(1, (1, 1, 0), 1, tag="zero-length"), "input"),
        (ap(1, (2, 0, 4), 2, tag="zero-channels"), "input"),
        (mp(2, (0, 4, 4), 2, tag="unbatched-no-channels"), "input"),
        (mp(3, (2, 0, 4, 4, 4), 2, tag="zero-channels"), "input"),
        (ap(2, (0, 2, 0, 4), 2, tag="only-the-batch-may-be-empty"), "input"),
        (mp(1, one, (2, 2), tag="kernel-length"), "kernel_size"),
        (mp(2, two, (2, 2, 2), tag="kernel-length"), "kernel_size"),
        (ap(3, three, (), tag="empty-kernel"), "kernel_size"),
        (ap(1, one, 0, tag="zero-kernel"), "kernel_size"),
        (mp(3, three, -1, tag="negative-kernel"), "kernel_size"),
        (ap(2, two, 2.0, tag="float-kernel"), "kernel_size"),
        (mp(2, two, True, tag="bool-kernel"), "kernel_size"),
        (mp(1, one, 2, stride=0, tag="zero-stride"), "stride"),
        (ap(2, two, 2, stride=-1, tag="negative-stride"), "stride"),
        (ap(1, one, 2, stride=(1, 2), tag="stride-length"), "stride"),
        (mp(3, three, 2, stride=(1, 2), tag="stride-length"), "stride"),
        (mp(2, two, 2, stride=1.0, tag="float-stride"), "stride"),
        (mp(1, one, 2, padding=-1, tag="negative-padding"), "padding"),
        (ap(1, one, 2, padding=2, tag="padding-over-half-kernel"), "padding"),
        (mp(2, two, (4, 2), padding=(1, 2), tag="padding-over-half-kernel"), "padding"),
        (mp(2, two, 3, padding=2, dilation=2, tag="dilation-does-not-widen-the-limit"), "padding"),
        (ap(3, three, 3, padding=(1, 2, 1), tag="padding-over-half-kernel"), "padding"),
        (mp(1, one, 2, padding=(0, 1), tag="padding-length"), "padding"),
        (ap(2, two, 2, padding=(), tag="empty-padding"), "padding"),
        (mp(3, three, 2, padding=1.0, tag="float-padding"), "padding"),
        (mp(1, one, 2, dilation=0, tag="zero-dilation"), "dilation"),
        (mp(2, two, 2, dilation=-1, tag="negative-dilation"), "dilation"),
        (mp(3, three, 2, dilation=(1, 2), tag="dilation-length"), "dilation"),
        (mp(1, one, 2, dilation=(), tag="empty-dilation"), "dilation"),
        (mp(2, two, 2, ceil_mode=1, tag="int-ceil-mode"), "ceil_mode"),
        (ap(1, one, 2, ceil_mode=None, tag="none-ceil-mode"), "ceil_mode"),
        (mp(3, three, 2, ceil_mode=np.bool_(True), tag="numpy-bool-ceil-mode"), "ceil_mode"),
        (ap(2, two, 2, count_include_pad=1, tag="int-count-include-pad"), "count_include_pad"),
        (ap(3, three, 2, count_include_pad=None, tag="none-count-include-pad"), "count_include_pad"),
        (ap(2, two, 2, divisor_override=0, tag="zero-divisor"), "divisor_override"),
        (ap(3, three, 2, divisor_override=2.0, tag="float-divisor"), "divisor_override"),
        (ap(2, two, 2, divisor_override=True, tag="bool-divisor"), "divisor_override"),
    ]
    return [_refused(case, blame) for case, blame in cases]


def _size_cases() -> list[Case]:
    """Calls whose kernel does not fit the (padded) input, or leaves no output."""
    mp, ap = _max, _avg
    cases = [
        ap(3, (1, 1, 2, 5, 5), 3, stride=1, padding=1, tag="kernel-over-input-though-padding-fits"),
        ap(3, (0, 1, 5, 5, 2), 3, stride=1, padding=1, tag="kernel-over-input-empty-batch"),
        ap(3, (1, 3, 5, 5), (4, 1, 1), stride=4, ceil_mode=True, tag="kernel-over-input-unbatched"),
        mp(1, (1, 1, 3), 4, stride=4, tag="no-output"),
        mp(1, (1, 1, 3), 4, stride=1, ceil_mode=True, tag="no-output-ceil"),
        ap(2, (1, 1, 3, 8), (4, 2), tag="kernel-over-input"),
        mp(3, (1, 1, 4, 4, 4), 3, dilation=(1, 2, 1), tag="dilated-kernel-over-input"),
    ]
    return [_refused(case, "kernel_size") for case in cases]


def invalid_pool_cases() -> list[Case]:
    mp, ap = _max, _avg
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
    ]
    blames = ["padding", "padding", "padding", "divisor_override", "kernel_size", "stride", "dilation", "input",
              "kernel_size", "input"]
    return [_refused(c, b) for c, b in zip(cases, blames)] + _argument_cases() + _size_cases()


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
