"""The plan of a separable pooling (:mod:`reference.separable`): its passes, blocks and layouts.

A :class:`Plan` lists the one-axis passes over a block of planes, last spatial axis first; each
:class:`Pass` says, tap by tap (:class:`Read`), which entries of its input the windows combine
and where the results go. ``geo`` is always a :class:`reference.pooling.Geometry`.

* Layout. The last axis's pass reads the input padded (−∞ for max, 0 for average) and stored
  by stride phase (:func:`reference.windows.split_rows`), where each tap is one contiguous run
  over every row: NumPy's maximum over strided float64 is several times slower than over a
  contiguous run. The outer passes read only positions inside the input (their padding is
  clipped away, never stored), and so does the last axis's pass where at least half of the
  layout's slots would be no window (few windows over a long axis).
* Blocks. Planes are pooled a block of about :data:`BLOCK_BYTES` at a time, so that a block's
  passes and temporaries stay in the cache and main memory sees the input read and the
  result written about once rather than once per NumPy step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import windows


class Read(NamedTuple):
    """One kernel tap of a pass: the output entries ``region`` combine the input entries ``source``."""

    tap: int
    region: tuple
    source: tuple
    full: bool  # the region is every output entry of the pass
    group: int  # taps of different groups never read the same input entry


@dataclass(frozen=True)
class Pass:
    """Pooling along one spatial axis of a block of planes, the other axes left as they are.

    The last spatial axis goes first, read from the input in the row-phase layout of
    :func:`reference.windows.split_rows` (padding stored, each tap one contiguous run); its
    output keeps ``M`` entries per row, the windows ``i < out`` and then a few that belong to no
    window (they are carried along and dropped at the end). Each earlier axis then pools the
    previous pass's output, reading only positions inside the input (padding clipped away).
    """

    axis: int  # the spatial axis
    kernel: int
    in_shape: tuple
    out_shape: tuple
    reads: tuple  # of Read
    first_inside: np.ndarray  # per window (broadcast over out_shape): its first tap inside the input


@dataclass(frozen=True)
class Plan:
    """The passes over a block of ``planes`` planes (lead axes ``(planes, 1)``), last axis first."""

    passes: tuple
    slots: int  # M, the entries per row of the last pass's output (``out`` when not phased)
    slack: int  # entries after the last row, so that every tap's run stays inside the array
    lead: tuple
    phased: bool  # the last axis is read from the row-phase layout (else in place, clipped)
    stride: int  # the row-phase layout's stride


def _first_inside_along(geo, a: int) -> np.ndarray:
    return windows.first_read(geo.starts(a), geo.kernel[a], geo.dilation[a], geo.in_spatial[a])[0].astype(np.int32)


def _row_pass(geo, lead: tuple, slots: int, slack: int, s: int) -> Pass:
    """The pass over the last spatial axis from the row-phase layout of stride ``s``: tap ``p``
    reads one run of it, padding included; the taps of one phase form a group (they share
    entries, those of two phases never do)."""
    a = geo.dims - 1
    k, d = geo.kernel[a], geo.dilation[a]
    row_shape, out_shape = lead + geo.in_spatial[:-1], lead + geo.in_spatial[:-1] + (slots,)
    rows = int(np.prod(row_shape))
    runs = list(windows.row_runs(rows, slots, k, s, d))
    reads = tuple(Read(p, (Ellipsis,), run, True, run[0]) for p, run in enumerate(runs))
    first = np.zeros(slots, dtype=np.int32)  # the entries past the windows take tap 0
    first[: geo.out_spatial[a]] = _first_inside_along(geo, a)
    return Pass(a, k, (s, rows * slots + slack), out_shape, reads, first)


def _clipped_pass(geo, a: int, in_shape: tuple) -> Pass:
    """The pass over spatial axis ``a`` of an array ``in_shape`` (``L`` on axis ``2 + a``), read in
    place: tap ``p`` serves the windows ``i`` (a slice) whose position ``i·s − pad + p·d`` is
    inside the input, and reads those positions (a slice with step ``s``). Each tap is a group
    of its own where no position is read twice along the axis, else all taps form one group."""
    k, s, d, pad, n, out = (geo.kernel[a], geo.stride[a], geo.dilation[a], geo.padding[a], geo.in_spatial[a],
                            geo.out_spatial[a])
    lead = (slice(None),) * (2 + a)
    read_at = (np.arange(out)[:, None] * s + np.arange(k) * d).ravel()
    disjoint = np.unique(read_at).size == read_at.size
    reads = []
    for p in range(k):
        offset = p * d - pad
        first = max(0, -(offset // s))  # the first window whose tap p is at position ≥ 0
        last = min(out, (n - 1 - offset) // s + 1)  # one past the last whose tap p is < L
        if last > first:
            positions = slice(first * s + offset, (last - 1) * s + offset + 1, s)
            reads.append(Read(p, lead + (slice(first, last),), lead + (positions,), first == 0 and last == out,
                              p if disjoint else 0))
    first_inside = _first_inside_along(geo, a).reshape((-1,) + (1,) * (len(in_shape) - 3 - a))
    return Pass(a, k, in_shape, in_shape[: 2 + a] + (out,) + in_shape[3 + a:], tuple(reads), first_inside)


def plan_passes(geo, planes: int) -> Plan:
    """The last axis is read from the row-phase layout unless most of its ``M`` slots per row
    would be no window (few windows over a long axis, as in a global pooling with stride 1):
    then it is read in place, like the other axes. A stride past the extent leaves one window,
    which a layout of stride ``extent`` reads alike, with ``extent`` phases instead of ``s``."""
    a = geo.dims - 1
    lead = (planes, 1)
    stride = min(geo.stride[a], geo.extent[a])
    slots = windows.phase_length(geo.extent[a], stride)
    phased = 2 * geo.out_spatial[a] >= slots
    if phased:
        slack = (geo.kernel[a] - 1) * geo.dilation[a] // stride
        passes = [_row_pass(geo, lead, slots, slack, stride)]
    else:
        slots, slack = geo.out_spatial[a], 0
        passes = [_clipped_pass(geo, a, lead + geo.in_spatial)]
    for axis in reversed(range(a)):
        passes.append(_clipped_pass(geo, axis, passes[-1].out_shape))
    return Plan(tuple(passes), slots, slack, lead, phased, stride)


BLOCK_BYTES = 2**21
"""Input bytes pooled at a time: a block's passes and their temporaries stay in the cache, so
main memory sees the input read and the result written about once, not once per NumPy step."""


def blocks(geo, planes: int, itemsize: int):
    """``(plan, block)`` over the ``planes`` (n, c) planes, ``block`` a slice of them."""
    per = max(1, BLOCK_BYTES // (int(np.prod(geo.in_spatial)) * itemsize))
    plans = {}
    for start in range(0, planes, per):
        count = min(per, planes - start)
        if count not in plans:
            plans[count] = plan_passes(geo, count)
        yield plans[count], slice(start, start + count)


def as_planes(a: np.ndarray) -> np.ndarray:
    """``(N, C, *spatial)`` as ``(N·C, 1, *spatial)``: one plane per entry of the first axis."""
    return a.reshape((-1, 1) + a.shape[2:])


def split(geo, plan: Plan, x: np.ndarray, value) -> np.ndarray:
    """A block of planes in the row-phase layout of the last axis, padded with ``value`` (the
    planes themselves where the last axis is read in place)."""
    if not plan.phased:
        return x
    a = geo.dims - 1
    after = geo.extent[a] - geo.in_spatial[a] - geo.padding[a]
    return windows.split_rows(x, geo.padding[a], after, plan.stride, value, plan.slack)


def unsplit(geo, plan: Plan, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`split`, written into ``out``, then +0.0 added: a tap that lost
    holds ``g·0``, −0.0 where ``g < 0``, and torch, which adds onto +0.0, has +0.0 there."""
    if plan.phased:
        windows.merge_rows(grad, geo.padding[-1], plan.slots, out=out)
    else:
        np.copyto(out, grad)
    out += 0.0
    return out


def unrun(geo, run: np.ndarray) -> np.ndarray:
    """The windows (``i < out`` on the last axis) of the last pass's output."""
    return run[..., : geo.out_spatial[-1]]


def as_run(geo, plan: Plan, a: np.ndarray) -> np.ndarray:
    """``a`` (``(planes, 1, *out)``) in the last pass's output layout, zeros past the windows."""
    if plan.slots == geo.out_spatial[-1]:
        return a
    run = np.zeros(a.shape[:-1] + (plan.slots,), dtype=a.dtype)
    run[..., : a.shape[-1]] = a
    return run
