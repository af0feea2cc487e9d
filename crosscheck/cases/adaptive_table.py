"""The adaptive pooling cases: named configurations, the calls torch rejects, and a grid.

Same rules as :mod:`crosscheck.cases.pool_table`. The named cases pin torch's window rule
``[⌊i·L/O⌋, ⌈(i + 1)·L/O⌉)`` where it is easiest to get wrong: sizes that do not divide (windows
of two lengths that overlap by one input), an output longer than the input (inputs read by
several windows), a global pooling (``O = 1``), ``O = L``, None for an axis that keeps its
length; and for max pooling ties, NaN and windows of −inf, without and with ``return_indices``.
An output size of 0, and a batched input without channels, are not cases: torch's forward takes
them (the latter in ``adaptive_avg_pool1d/2d`` only) and its backward refuses them, so they
cannot be checked, and the reference refuses them (docs/semantics.md, deviations).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .builders import adaptive_case
from .case import Case

INT, TIES_AND_SPECIALS, MINUS_INF = {"input": "integers"}, {"input": "integer-specials"}, {"input": "minus-inf"}


def _max_both_ways(*args, **kwargs) -> list[Case]:
    """The same adaptive max pooling without and with ``return_indices=True``."""
    return [adaptive_case("max", *args, **kwargs), adaptive_case("max", *args, return_indices=True, **kwargs)]


def _shared() -> list[tuple]:
    """Configurations pinned for both kinds: ``(dims, x_shape, output_size, tag)``."""
    return [
        (1, (2, 3, 5), 3, "overlapping-windows"),
        (1, (2, 3, 7), (3,), "uneven-windows"),
        (1, (2, 2, 6), 3, "divides"),
        (1, (2, 2, 4), 9, "output-longer-than-input"),
        (1, (2, 3, 11), 1, "global"),
        (1, (2, 3, 5), 5, "output-equals-input"),
        (1, (3, 7), 4, "unbatched"),
        (1, (0, 2, 7), 3, "empty-batch"),
        (2, (2, 3, 5, 7), (3, 4), "overlapping-windows"),
        (2, (2, 2, 6, 5), 2, "int-output-size"),
        (2, (2, 2, 5, 6), (None, 4), "none-keeps-the-axis"),
        (2, (1, 2, 3, 8), (7, 3), "output-longer-than-input"),
        (2, (2, 3, 4, 6), (1, 1), "global"),
        (2, (3, 5, 4), (2, 3), "unbatched"),
        (2, (0, 3, 5, 6), (2, 4), "empty-batch"),
        (3, (2, 2, 5, 4, 6), (2, 3, 4), "overlapping-windows"),
        (3, (1, 2, 3, 5, 4), (5, None, 2), "none-keeps-the-axis"),
        (3, (1, 2, 2, 3, 4), 5, "output-longer-than-input"),
        (3, (3, 4, 5, 3), (2, 2, 2), "unbatched"),
        (3, (0, 2, 4, 4, 5), (2, 3, 2), "empty-batch"),
    ]


def named_adaptive_cases() -> list[Case]:
    cases = []
    for dims, x_shape, size, tag in _shared():
        cases += _max_both_ways(dims, x_shape, size, tag=tag, values=INT)
        cases.append(adaptive_case("avg", dims, x_shape, size, tag=tag))
    specials = [(1, (2, 3, 12), 5), (2, (2, 2, 7, 6), (3, 4)), (3, (1, 2, 4, 5, 6), (3, 2, 4))]
    for dims, x_shape, size in specials:
        cases += _max_both_ways(dims, x_shape, size, tag="nan-inf-ties", values=TIES_AND_SPECIALS)
        cases += _max_both_ways(dims, x_shape, size, tag="windows-of-minus-inf", values=MINUS_INF)
        cases.append(adaptive_case("avg", dims, x_shape, size, tag="nan-inf", values=TIES_AND_SPECIALS))
    # an unbatched input's first axis is read as the batch: it may be empty
    cases += [adaptive_case("max", 2, (0, 5, 4), 2, tag="unbatched-no-channels"),
              adaptive_case("avg", 3, (0, 3, 4, 5), (2, 1, 3), tag="unbatched-no-channels")]
    # the window rule in integers: i·L overflows no int64 here, but must not be done in floats
    cases.append(adaptive_case("avg", 1, (1, 1, 1000), 999, tag="long-axis"))
    cases += _max_both_ways(1, (1, 1, 1000), 7, tag="long-axis")
    return cases


def _refused(case: Case, blame: str) -> Case:
    return replace(case, invalid=True, blame=blame)


def invalid_adaptive_cases() -> list[Case]:
    """Calls torch 2.13 refuses, each with the argument its rejection must name."""
    a = adaptive_case
    cases = [
        (a("avg", 1, (5,), 2, tag="input-rank-1"), "input"),
        (a("max", 1, (1, 1, 1, 5), 2, tag="input-rank-4"), "input"),
        (a("avg", 2, (5, 5), 2, tag="input-rank-2"), "input"),
        (a("max", 3, (1, 1, 1, 5, 5, 5), 2, tag="input-rank-6"), "input"),
        (a("avg", 1, (2, 3, 0), 2, tag="empty-spatial"), "input"),
        (a("max", 2, (2, 3, 5, 0), 2, tag="empty-spatial"), "input"),
        (a("avg", 3, (2, 3, 0, 4, 4), 2, tag="empty-spatial"), "input"),
        (a("max", 1, (2, 0, 5), 2, tag="no-channels"), "input"),
        (a("max", 2, (2, 0, 5, 5), 2, tag="no-channels"), "input"),
        (a("max", 3, (2, 0, 4, 4, 4), 2, tag="no-channels"), "input"),
        (a("avg", 3, (2, 0, 4, 4, 4), 2, tag="no-channels"), "input"),
        (a("avg", 1, (2, 3, 5), -1, tag="negative"), "output_size"),
        (a("max", 2, (2, 3, 5, 5), (2, -1), tag="negative"), "output_size"),
        (a("avg", 3, (2, 3, 4, 4, 4), -2, tag="negative"), "output_size"),
        (a("avg", 1, (2, 3, 5), (2, 2), tag="length"), "output_size"),
        (a("max", 1, (2, 3, 5), (2, 2), tag="length"), "output_size"),
        (a("avg", 2, (2, 3, 5, 5), (2,), tag="length"), "output_size"),
        (a("max", 3, (2, 3, 4, 4, 4), (2, 2), tag="length"), "output_size"),
        (a("avg", 1, (2, 3, 5), 2.0, tag="float"), "output_size"),
        (a("max", 2, (2, 3, 5, 5), 2.0, tag="float"), "output_size"),
        (a("avg", 3, (2, 3, 4, 4, 4), (2, 2.0, 2), tag="float-entry"), "output_size"),
        (a("max", 1, (2, 3, 5), True, tag="bool"), "output_size"),
        (a("avg", 2, (2, 3, 5, 5), True, tag="bool"), "output_size"),
        (a("avg", 1, (2, 3, 5), (None,), tag="none-in-1d"), "output_size"),
        (a("max", 1, (2, 3, 5), None, tag="none"), "output_size"),
        # torch's 2-d and 3-d wrappers repeat a Python int only (a NumPy integer has no len())
        (a("avg", 2, (2, 3, 5, 5), np.int64(2), tag="numpy-int"), "output_size"),
        (a("max", 3, (2, 3, 4, 4, 4), np.int64(2), tag="numpy-int"), "output_size"),
    ]
    return [_refused(case, blame) for case, blame in cases]


def adaptive_grid(kind: str, dims: int, count: int, seed: int = 0) -> list[Case]:
    """Valid adaptive max ('max') or average ('avg') poolings, every argument drawn: lengths
    1 … 9, outputs 1 … 11 per axis (longer than the input often), None for an axis in 2-d and
    3-d, and an int for every axis at once."""
    rng = np.random.default_rng([seed, 40 + dims + (3 if kind == "avg" else 0)])
    cases = {}
    while len(cases) < count:
        length = tuple(int(n) for n in rng.integers(1, 10, size=dims))
        size = [int(rng.integers(1, 12)) for _ in range(dims)]
        if dims > 1 and rng.random() < 0.15:
            size[int(rng.integers(0, dims))] = None
        if len(set(size)) == 1 and None not in size and rng.random() < 0.5:
            output_size = size[0]
        else:
            output_size = tuple(size)
        batch = rng.choice(["0", "1", "2", "unbatched"], p=[0.05, 0.45, 0.4, 0.1])
        channels = int(rng.integers(1, 4))
        x_shape = ((channels,) if batch == "unbatched" else (int(batch), channels)) + length
        values = {"input": str(rng.choice(["normal", "integers", "specials"], p=[0.5, 0.35, 0.15]))}
        return_indices = bool(rng.random() < 0.5) if kind == "max" else None
        case = adaptive_case(kind, dims, x_shape, output_size, return_indices=return_indices, values=values)
        cases.setdefault(case.id, case)
    return list(cases.values())
