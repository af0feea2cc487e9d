"""The cases of the dense layers: linear, the activations and the losses; named
configurations, the calls torch rejects, and a generated grid.

Same rules as :mod:`crosscheck.cases.conv_table`: named cases pin one behaviour each (1-d
weights and 0-d biases, 0-d and empty inputs, every softmax axis, broadcast targets, ignored
class targets, NaN and ±inf where parity is easy to get wrong, ...), the grid is drawn from a
fixed seed, and torch decides at run time which calls are valid.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .builders import linear_case, loss_case, unary_case
from .case import Case

SPECIAL, LARGE = {"input": "specials"}, {"input": "large"}
REDUCTIONS = ("mean", "sum", "none")


def _mse(*args, **kwargs) -> Case:
    return loss_case("mse_loss", *args, **kwargs)


def _ce(*args, **kwargs) -> Case:
    return loss_case("cross_entropy", *args, **kwargs)


def _named_linear_cases() -> list[Case]:
    """y = x·wᵀ + b over leading axes of any number, with the 1-d weight and 0-d bias torch documents."""
    lin = linear_case
    return [
        lin((2, 3, 4), (5, 4), tag="leading-axes"),
        lin((4,), (5, 4), tag="vector-input"),
        lin((3, 4), (5, 4), bias=False, tag="matrix"),
        lin((3, 4), (5, 4), bias=(), tag="bias-0d"),
        lin((2, 3, 4), (4,), bias=(), tag="vector-weight-bias-0d"),
        lin((3, 4), (4,), bias=False, tag="vector-weight"),
        lin((4,), (4,), bias=(), tag="vector-weight-bias-0d"),
        lin((0, 4), (5, 4), tag="empty-batch"),
        lin((3, 0), (5, 0), tag="no-features"),
        lin((3, 4), (0, 4), tag="no-outputs"),
        lin((1, 2, 1, 6), (3, 6), tag="leading-ones"),
    ]


def _named_activation_cases() -> list[Case]:
    u, cases = unary_case, []
    for op in ("relu", "sigmoid", "tanh"):
        cases += [
            u(op, (2, 3, 4), tag="3d"),
            u(op, (), tag="0d"),
            u(op, (0, 3), tag="empty"),
            u(op, (4, 6), values={"input": "scaled:40"}, tag="tails"),
            u(op, (15,), values={"input": "fixed:special-values"}),
        ]
    for op in ("softmax", "log_softmax"):
        cases += [u(op, (2, 3, 4), dim=d, tag="every-dim") for d in (0, 1, 2, -1, -3)]
        cases += [
            u(op, (5,), dim=0, tag="vector"),
            u(op, (), dim=0, tag="0d"),
            u(op, (), dim=-1, tag="0d"),
            u(op, (0, 3), dim=1, tag="no-rows"),
            u(op, (2, 0), dim=1, tag="empty-rows"),
            u(op, (3, 4), dim=1, values=LARGE, tag="large-logits"),
            u(op, (7, 3), dim=1, values={"input": "fixed:special-rows"}),
            u(op, (7, 3), dim=0, values={"input": "fixed:special-rows"}),
        ]
    return cases


def _named_loss_cases() -> list[Case]:
    cases = []
    for r in REDUCTIONS:
        cases += [
            _mse((2, 3, 4), (2, 3, 4), r, tag="3d"),
            _mse((), (), r, tag="0d"),
            _mse((0, 3), (0, 3), r, tag="empty"),
            _mse((2, 3, 4), (3, 1), r, tag="broadcast-target"),  # torch warns, and so does the reference
            _mse((3, 1), (1, 4), r, tag="broadcast-both"),
            _mse((15,), (15,), r, values={"input": "fixed:special-values", "target": "fixed:special-values-reversed"}),
            _mse((4,), (4,), r, values={"input": "fixed:inf-inputs", "target": "fixed:inf-targets"}),
            _ce((4, 5), (4,), r, values={"target": "classes:5"}, tag="batch"),
            _ce((6, 5), (6,), r, values={"target": "labels:5"}, tag="ignored-targets"),
            _ce((5,), (), r, values={"target": "classes:5"}, tag="unbatched-vector"),
            _ce((2, 3, 4, 2), (2, 4, 2), r, values={"target": "labels:3"}, tag="k-dim-ignored-targets"),
            _ce((0, 3), (0,), r, values={"target": "classes:3"}, tag="empty-batch"),
            _ce((2, 3), (2,), r, values={"target": "label:-100"}, tag="all-ignored"),
            _ce((4, 3), (4,), r, values={"input": "large", "target": "classes:3"}, tag="large-logits"),
            _ce((5, 3), (5,), r, values={"input": "fixed:ce-logits", "target": "fixed:ce-targets"}),
        ]
    return cases


def named_dense_cases() -> list[Case]:
    u = unary_case
    return [
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
        *_named_linear_cases(),
        *_named_activation_cases(),
        *_named_loss_cases(),
    ]


def _refused(case: Case, blame: str) -> Case:
    return replace(case, invalid=True, blame=blame)


def _invalid_linear_and_activation_cases() -> list[Case]:
    lin, u = linear_case, unary_case
    cases = [
        (lin((), (4, 3), bias=False, tag="input-0d"), "input"),
        (lin((2, 3), (1, 4, 3), bias=False, tag="weight-3d"), "weight"),
        (lin((2, 3), (), bias=False, tag="weight-0d"), "weight"),
        (lin((2, 3), (4, 5), bias=False, tag="feature-mismatch"), "weight"),
        (lin((2, 3), (4, 3), bias=(5,), tag="bias-size"), "bias"),
        (lin((2, 3), (4, 3), bias=(1, 1, 4), tag="bias-3d"), "bias"),
        (lin((2, 3), (3,), bias=(), tag="vector-weight-bias-0d-batched"), "bias"),
        (lin((3,), (3,), bias=(1,), tag="vector-weight-bias-1"), "bias"),
        (lin((2, 3), (4, 3), bias=False, array_dtypes={"input": "other"}, tag="mixed-input-dtype"), "dtype"),
        (lin((2, 3), (4, 3), array_dtypes={"bias": "other"}, tag="mixed-bias-dtype"), "bias.dtype"),
        (u("softmax", (2, 3), dim=2, tag="dim-past-the-last"), "dim"),
        (u("softmax", (2, 3), dim=-3, tag="dim-before-the-first"), "dim"),
        (u("softmax", (), dim=1, tag="0d-dim-1"), "dim"),
        (u("softmax", (2, 3), dim=1.0, tag="float-dim"), "dim"),
        (u("softmax", (2, 3), dim=True, tag="bool-dim"), "dim"),
        (u("softmax", (2, 3), dim=(0,), tag="tuple-dim"), "dim"),
        (u("softmax", (2, 3), dim=1, array_dtypes={"input": "int64"}, tag="int64-input"), "input"),
        (u("log_softmax", (2, 3), dim=2, tag="dim-past-the-last"), "dim"),
        (u("log_softmax", (2, 3), dim=0.0, tag="float-dim"), "dim"),
    ]
    return [_refused(case, blame) for case, blame in cases]


def _invalid_loss_cases() -> list[Case]:
    mse, ce = _mse, _ce

    def label(value):  # a target of ``value`` everywhere: out of range by construction, never by chance
        return {"target": f"label:{value}"}

    cases = [
        (mse((2, 3), (4,), tag="shapes"), "target"),
        (mse((2, 3), (2, 3), "avg", tag="unknown-reduction"), "reduction"),
        (mse((2, 3), (2, 3), None, tag="none-reduction"), "reduction"),
        (mse((2, 3), (2, 3), 1, tag="int-reduction"), "reduction"),
        (mse((2, 3), (2, 3), array_dtypes={"input": "int64", "target": "int64"}, tag="int64"), "input"),
        (ce((2, 3), (2,), values=label(3), tag="target-past-the-classes"), "target"),
        (ce((2, 3), (2,), values=label(-1), tag="negative-target"), "target"),
        (ce((2, 3, 4), (2, 4), values=label(3), tag="target-past-the-classes-k-dim"), "target"),
        (ce((3,), (), values=label(3), tag="target-past-the-classes-unbatched"), "target"),
        (ce((2, 3), (2,), "none", values=label(3), tag="target-past-the-classes"), "target"),
        (ce((2, 0), (2,), values=label(0), tag="no-classes"), "target"),
        (ce((2, 3), (2,), values=label(0), array_dtypes={"target": "int32"}, tag="int32-target"), "target.dtype"),
        (ce((2, 3), (2,), values=label(0), array_dtypes={"target": "int16"}, tag="int16-target"), "target.dtype"),
        (ce((2, 3), (2,), values=label(0), array_dtypes={"target": "bool"}, tag="bool-target"), "target.dtype"),
        (ce((2, 3), (2,), tag="float-target-of-labels-shape"), "target.dtype"),
        (ce((2, 3), (2, 4), tag="float-target-of-another-shape"), "target"),
        (ce((2, 3), (2, 3), values=label(0), tag="int-target-of-input-shape"), "target.dtype"),
        (ce((1,), (1,), values=label(0), tag="unbatched-one-class-int-target"), "target.dtype"),
        (ce((2, 3), (3,), values={"target": "classes:3"}, tag="target-batch"), "target.shape"),
        (ce((2, 3), (), values=label(2), tag="0d-target-batched"), "target.shape"),
        (ce((2, 3), (1, 2), values=label(0), tag="2d-target"), "target.shape"),
        (ce((3,), (2,), values={"target": "classes:3"}, tag="unbatched-two-targets"), "target.shape"),
        (ce((2, 3, 4, 5), (2, 5, 4), values=label(0), tag="k-dim-axes-swapped"), "target.shape"),
        (ce((3, 4), (4,), values=label(0), tag="unbatched-k-dim"), "target.shape"),
        (ce((), (), values=label(0), tag="0d-input"), "input"),
        (ce((), (), tag="0d-input-float-target"), "input"),
        (ce((2, 3), (2,), "avg", values={"target": "classes:3"}, tag="unknown-reduction"), "reduction"),
    ]
    return [_refused(case, blame) for case, blame in cases]


def invalid_dense_cases() -> list[Case]:
    cases = [
        linear_case((3, 5), (4, 6), tag="feature-mismatch"),
        linear_case((3, 5), (4, 5), bias=(3,), tag="bias-size"),
        linear_case((3, 5), (4, 5), array_dtypes={"weight": "other"}, tag="mixed-dtype"),
        loss_case("cross_entropy", (4, 5), (3,), values={"target": "classes:5"}, tag="batch-mismatch"),
        loss_case("cross_entropy", (4, 5), (4,), values={"target": "classes:5"}, reduction="average",
                  tag="unknown-reduction"),
    ]
    blames = ["weight", "bias", "dtype", "target", "reduction"]
    return ([_refused(c, b) for c, b in zip(cases, blames)] + _invalid_linear_and_activation_cases()
            + _invalid_loss_cases())


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
