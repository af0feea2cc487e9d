"""How results read: one failure template, the per-op summary, and the JSON report.

The CLI and the pytest suite print failures through :func:`format_failure`, so a failure
reads the same wherever it shows up: op and case id, the quantity, the largest error and
where it is, the tolerance there, the whole configuration, and Python that reproduces it.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import torch

from ..checking import STATUSES
from ..specs import OPS

SECOND_ORDER_QUANTITIES = ("grad_grad_output", "grad2_input", "grad2_weight", "grad2_bias", "grad2_target")
QUANTITIES = ("output", "indices", "grad_input", "grad_weight", "grad_bias", "grad_target") + SECOND_ORDER_QUANTITIES
SECOND_ORDER = ("second order", "grad_grads") + SECOND_ORDER_QUANTITIES
"""The quantities of the second-order check (``--order 2``): a failure on one of them is reproduced
with the double backward too."""


def configuration(case, seed: int) -> str:
    shapes = ", ".join(f"{name}={shape}" for name, shape in zip(OPS[case.op].arrays, case.shapes))
    kwargs = ", ".join(f"{k}={v!r}" for k, v in case.kwargs.items())
    dtypes = f", array_dtypes={case.array_dtypes}" if case.array_dtypes else ""
    values = f", values={case.values}" if case.values else ""
    return f"op={case.op}, {shapes}, {kwargs}, dtype={case.dtype}{dtypes}{values}, seed={seed}"


def reproduction(case, impl_name: str, seed: int, framework: str = "numpy", second_order: bool = False) -> str:
    """A few lines of Python that rebuild the case's arrays and call both sides (through the
    framework's adapter, so that the calls are in NumPy terms whatever the implementation speaks);
    with ``second_order``, the double backward of both sides too."""
    names = OPS[case.op].arrays
    fields = ", ".join(
        [f"op={case.op!r}", f"id={case.id!r}", f"shapes={case.shapes!r}", f"kwargs={case.kwargs!r}",
         f"dtype={case.dtype!r}"]
        + ([f"array_dtypes={case.array_dtypes!r}"] if case.array_dtypes else [])
        + ([f"values={case.values!r}"] if case.values else [])
    )
    return "\n".join(
        [
            "import importlib, torch",
            "from crosscheck import Case",
            "from crosscheck.oracle import torch_forward_backward",
            *_loading(impl_name, framework),
            f"case = Case({fields})",
            f"{', '.join(names)}, = case.arrays(seed={seed})",
            f"out = impl.{case.op}({', '.join(names)}, **case.kwargs)",
            f"grad = case.grad_output(out.shape, seed={seed})",
            f"grads = impl.{case.op}_backward(grad, {', '.join(names)}, **case.kwargs)",
            f"truth = torch_forward_backward(case.op, [{', '.join(names)}], case.kwargs, grad)",
            "torch_out, torch_grads = truth.output, truth.grads",
            *(_second_order_lines(case, names, seed) if second_order else []),
        ]
    )


def _second_order_lines(case, names, seed: int) -> list[str]:
    arrays = ", ".join(names)
    return [
        "from crosscheck.checking.second_order import cotangents",
        "from crosscheck.oracle import torch_double_backward",
        f"grad_grads = cotangents(case, truth.grads, seed={seed})",
        f"second = impl.{case.op}_double_backward(grad_grads, grad, {arrays}, **case.kwargs)",
        f"torch_second = torch_double_backward(case.op, [{arrays}], case.kwargs, grad, grad_grads)",
    ]


def _loading(impl_name: str, framework: str) -> list[str]:
    if framework == "numpy":
        return [f"impl = importlib.import_module({impl_name!r})"]
    return ["from crosscheck.frameworks import subject_of",
            f"impl = subject_of(importlib.import_module({impl_name!r}), {framework!r}).ops"]


def format_failure(outcome, impl_name: str, seed: int, framework: str = "numpy") -> str:
    """A failed, crashed or timed-out case, in the one template."""
    case, f = outcome.case, outcome.failure
    if f is None:  # crashed or timed out: there is no comparison, only what happened
        lines = [f"{outcome.status.upper().replace('_', ' ')} {case.op} {case.key}: {outcome.note}"]
    else:
        lines = [f"FAILED {case.op} {case.key}: {f.quantity}: {f.reason}"]
    if f is not None and f.index is not None:
        lines.append(
            f"  largest error {f.max_error:.3e}; worst entry {f.index}: got {f.actual!r}, "
            f"torch {f.expected!r}, tolerance {f.tolerance:.3e}"
        )
    if outcome.note and f is not None:
        lines.append(f"  {outcome.note}")
    lines.append(f"  configuration: {configuration(case, seed)}")
    lines.append("  reproduce:")
    second = f is not None and f.quantity in SECOND_ORDER
    lines += ["    " + line for line in reproduction(case, impl_name, seed, framework, second).splitlines()]
    return "\n".join(lines)


def summarise(outcomes):
    """Per op and dtype: counts and, per quantity, the largest error and the largest
    error/tolerance (float32 and float64 errors differ by orders of magnitude, so they are
    kept apart)."""
    rows = defaultdict(lambda: {"cases": 0, **dict.fromkeys(STATUSES, 0), "errors": {}, "ratio": 0.0})
    for o in outcomes:
        row = rows[(o.case.op, o.case.dtype)]
        row["cases"] += 1
        row[o.status] += 1
        for q, e in o.errors.items():
            row["errors"][q] = max(row["errors"].get(q, 0.0), e)
        row["ratio"] = max([row["ratio"], *o.ratios.values()])
    return dict(rows)


def _num(value) -> str:
    return "-" if value is None else f"{value:.1e}" if math.isfinite(value) else str(value)


def summary_table(outcomes) -> str:
    rows = sorted(summarise(outcomes).items())
    shown = [q for q in QUANTITIES if any(q in row["errors"] for _, row in rows)] or list(QUANTITIES[:1])
    # passed, failed and skipped always; unsupported, crashed and timed out where any case was
    counted = [s for s in STATUSES if s in ("passed", "failed", "skipped") or any(row[s] for _, row in rows)]
    header = ["op", "dtype", "cases", *(s.replace("_", " ") for s in counted), *shown, "err/tol"]
    body = []
    for (op, dtype), row in rows:
        body.append(
            [op, dtype, *(str(row[k]) for k in ("cases", *counted))]
            + [_num(row["errors"].get(q)) for q in shown]
            + [f"{row['ratio']:.2f}" if row["ratio"] < 100 else f"{row['ratio']:.1e}"]
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, body)])


def totals(outcomes) -> dict:
    """The count of every status, over all cases."""
    counts = {"total": len(outcomes), **dict.fromkeys(STATUSES, 0)}
    for o in outcomes:
        counts[o.status] += 1
    return counts


def counts_line(counts: dict) -> str:
    """'3 passed, 1 failed, 0 skipped', with the other statuses where any case has them."""
    shown = [s for s in STATUSES if s in ("passed", "failed", "skipped") or counts[s]]
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in shown)


def per_op(outcomes) -> dict:
    """op -> the count of every status."""
    ops = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for o in outcomes:
        ops[o.case.op][o.status] += 1
    return dict(ops)


def write_json(path, outcomes, impl_name: str, framework: str = "numpy", checks_off=(), order: int = 1) -> None:
    document = {
        "impl": impl_name,
        "framework": framework,
        "checks_off": list(checks_off),
        "order": order,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "cases": [
            {"op": o.case.op, "id": o.case.id, "dtype": o.case.dtype, "status": o.status,
             "errors": {q: e if math.isfinite(e) else str(e) for q, e in o.errors.items()},
             **({"note": o.note} if o.status in ("unsupported", "crashed", "timed_out") else {})}
            for o in outcomes
        ],
        "summary": totals(outcomes),
        "ops": per_op(outcomes),
    }
    with open(path, "w") as fh:
        json.dump(document, fh, indent=1)
