"""A third oracle, independent of torch: central finite differences confirm every backward.

For an op ``f``, one of its array arguments ``a``, a direction ``u`` (of ``a``'s shape) and a
cotangent ``v`` (of the output's shape), the backward's claim is

    ⟨NAME_backward(v, …)[a], u⟩ = vᵀ·J·u = φ'(0),   φ(t) = ⟨v, f(…, a + t·u, …)⟩,

and the central difference ``D(h) = (φ(h) − φ(−h)) / 2h`` estimates ``φ'(0)`` from the forward
alone. Each argument is checked on its own (so an error in ``grad_weight`` cannot hide behind
``grad_input``), entry by entry (``u`` = every unit vector in turn: the whole row ``vᵀJ``) and
along one random direction.

**Error analysis.** Taylor's theorem gives ``D(h) − φ'(0) = (h²/6)·φ'''(ξ)``, and rounding adds
``(ρ₊ − ρ₋)/2h`` where ``ρ±`` are the rounding errors of the two evaluations of ``φ``. With
``|φ'''| ≤ B₃`` and ``|ρ±| ≤ δ``:

    |D(h) − φ'(0)| ≤ h²·B₃/6 + δ/h,   smallest at h = (3δ/B₃)^(1/3).

For values of order one, ``δ ≈ eps·scale`` and ``B₃ ≈ scale``, so ``h ≈ (3·eps)^(1/3) ≈ 8.7e-6``,
where the error is about ``1.5·δ/h ≈ 4e-11·scale``: a relative error of a few 1e-11, against
errors of order one for a wrong backward. We take ``H = 2⁻¹⁷ ≈ 7.6e-6``, the power of two
next to that optimum, and put every argument and direction on the grid of multiples of 2⁻¹⁰
(magnitudes ≤ 4): then ``a ± H·u`` needs at most 30 significant bits and is exact in float64,
and so is the division by ``2H``: the only errors are the two terms above. The tolerance of
each comparison is their bound, evaluated for that very case:

    tol = H²·B₃/6 + γ·eps·Φ/H + γ·eps·(Φ + ⟨|g|, |u|⟩)

* ``Φ = ⟨|v|, T⟩``, where ``T`` bounds, entry by entry, the sum of the absolute values of
  everything the forward adds up (for a multilinear op, the op on the absolute values of its
  arguments; for a copy or a selection, ``|f|``; see :func:`magnitude`). ``γ = n + m + 8``,
  with ``n`` the largest argument's size (no entry of any op here sums more terms), ``m`` the
  output's size (the terms of ``⟨v, ·⟩``) and 8 for the few roundings of exp, log and a
  division: the classical bound ``|fl(Σ aₖ) − Σ aₖ| ≤ (n − 1)·eps·Σ|aₖ|`` of a sum of ``n``
  terms, for the forward at ±H (``δ ≤ γ·eps·Φ``) and, without the ``1/H``, for the backward
  and its contraction with ``u`` (``g`` the backward's gradient).
* ``B₃``: 0 for every op that is a polynomial of degree ≤ 2 between its kinks (convolutions,
  padding, pooling, linear, relu, mse_loss) when no kink lies within ``H`` of the input (next
  paragraph). For the smooth ops, with ``‖u‖ = max|uᵢ| ≤ 1``, each output entry (each row for
  cross_entropy) has ``|d³/dt³| ≤ 24‖u‖³``: ``|σ'''| ≤ 1/8``, ``|tanh'''| ≤ 2``; along ``u``,
  log-sum-exp's third derivative is the third central moment of ``u`` under the softmax,
  at most ``R³ ≤ 8‖u‖³`` (``R`` the range of ``u``), which bounds a log_softmax entry and a
  cross-entropy row (a probability target's row sums to 1); a softmax entry ``p`` has
  ``p''' = p·((uᵢ − μ)³ − 3s²(uᵢ − μ) − κ₃)``, at most ``2.75·R³ ≤ 22‖u‖³``. So
  ``B₃ = 24‖u‖³·Σ|cᵣ|``, ``cᵣ`` the weight of each such term in ``φ``: ``v`` entry by entry, or
  the upstream scalar ``g`` per row for a 'sum' reduction and ``g`` once for 'mean'.

With these numbers the tolerance comes out between 5e-10 and 5e-9 relative to ``Φ``: a
worst-case bound (γ counts every rounding as if they all added up), not a tuned one. Measured
on these cases: the smooth ops and the averages differ from their central differences by
1e-13 to 1e-10, at most 1% of their tolerance (the typical ``1.5·eps·Φ/H`` above); the
multilinear and piecewise-linear ops by exactly 0, since on the 2⁻¹⁰ grid every product and
sum they form is exact, so for them the check is an identity that a wrong backward cannot meet.

**Kinks.** relu is not differentiable at 0 and max pooling not where two entries of a window
tie; there a one-sided difference is all there is and the backward picks a convention. These
ops are checked away from their kinks: their inputs are a permutation of a spaced grid
(:func:`spaced`: ``(2k + 1 − m)/m``, ``m`` = 16 or 64 here), so no entry is 0 and any two differ
by at least ``2/m ≥ 2⁻⁵``, far more than the ``2H·max|u| ≈ 1.5e-5`` a perturbation can close. (The
conventions at the kinks are held against torch by the conformance suite.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

import reference.functional as F

EPS = np.finfo(np.float64).eps
H = 2.0**-17  # the power of two next to the optimal step (3·eps)^(1/3) ≈ 8.7e-6
GRID = 2.0**-10  # arguments, directions and cotangents are multiples of this: a ± H·u is exact
C3 = 24.0  # |third derivative| of one smooth term along a direction of max-norm 1 (docstring)


def grid(rng, shape, scale=1.0):
    """Multiples of 2⁻¹⁰ in [−scale, scale] (scale a power of two ≤ 4)."""
    steps = int(scale / GRID)
    return rng.integers(-steps, steps + 1, shape) * GRID


def spaced(rng, shape):
    """A permutation of ``(2k + 1 − m)/m`` for ``k < m``, ``m`` the power of two ≥ the number of
    entries: distinct values in (−1, 1), ``2/m`` apart, none 0 (the numerators are odd); on the
    grid for ``m ≤ 1024``. Keeps relu's and max pooling's kinks out of reach."""
    size = int(np.prod(shape))
    m = 1 << max(size - 1, 1).bit_length()
    values = (2 * np.arange(m) + 1 - m) / m
    return rng.permutation(values)[:size].reshape(shape)


def probabilities(rng, shape):
    """Rows (along axis 1, or 0 for a 1-d shape) of multiples of 1/16 summing to 1."""
    axis = 0 if len(shape) == 1 else 1
    moved = np.moveaxis(np.zeros(shape), axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    for row in flat:
        row[:] = rng.multinomial(16, np.full(len(row), 1 / len(row))) / 16
    return np.moveaxis(flat.reshape(moved.shape), -1, axis)


@dataclass
class Case:
    """One call: ``op(*arrays, **kwargs)``; ``kind`` says how to bound its rounding and curvature."""

    op: str
    arrays: tuple
    kwargs: dict = field(default_factory=dict)
    kind: str = "multilinear"
    name: str = ""

    @property
    def id(self):
        return f"{self.op}-{self.name}" if self.name else self.op


def _cases():
    rng = np.random.default_rng(0)

    def g(*shape, scale=1.0):
        return grid(rng, shape, scale)

    def s(*shape):
        return spaced(rng, shape)

    cases = [
        Case("conv1d", (g(2, 4, 7), g(6, 2, 3), g(6)), dict(stride=2, padding=1, groups=2), name="s2-p1-g2"),
        Case("conv1d", (g(1, 2, 6), g(3, 2, 2), None), dict(padding="same", dilation=2), name="same-even-kernel-d2-nobias"),
        Case("conv2d", (g(1, 2, 5, 6), g(3, 2, 2, 3), g(3)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2)), name="s2x1-p1x0-d1x2"),
        Case("conv2d", (g(3, 4, 5), g(6, 1, 3, 2), g(6)), dict(padding="same", groups=3), name="unbatched-same-g3"),
        Case("conv3d", (g(1, 2, 3, 4, 3), g(2, 1, 2, 2, 1), g(2)), dict(stride=(1, 2, 1), padding=(1, 0, 1), groups=2),
             name="s1x2x1-p1x0x1-g2"),
        Case("conv_transpose1d", (g(2, 4, 3), g(4, 2, 3), g(4)), dict(stride=2, padding=1, output_padding=1, groups=2),
             name="s2-p1-op1-g2"),
        Case("conv_transpose2d", (g(1, 2, 3, 2), g(2, 3, 2, 3), g(3)),
             dict(stride=(2, 1), padding=(0, 1), output_padding=(1, 0), dilation=(1, 2)), name="s2x1-p0x1-op1x0-d1x2"),
        Case("conv_transpose3d", (g(1, 2, 2, 3, 2), g(2, 1, 2, 1, 2), None),
             dict(stride=(1, 2, 2), padding=(0, 0, 1), output_padding=(0, 1, 0)), name="s1x2x2-op0x1x0-nobias"),
        Case("pad", (g(2, 5),), dict(pad=(2, -1), mode="constant", value=0.5), "copy", "constant-crop-value"),
        Case("pad", (g(1, 2, 4, 5),), dict(pad=(2, 1, 1, 3), mode="reflect"), "copy", "reflect-2d"),
        Case("pad", (g(1, 1, 2, 3, 2),), dict(pad=(1, 2, 0, 1, 2, 0), mode="replicate"), "copy", "replicate-3d"),
        Case("pad", (g(2, 3, 5),), dict(pad=(3, 2), mode="circular"), "copy", "circular-1d"),
        Case("pad", (g(1, 2, 3, 4),), dict(pad=(1, 4, 3, 0), mode="circular"), "copy", "circular-2d"),
        Case("max_pool1d", (s(2, 3, 9),), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), "copy", "k3-s2-p1-ceil"),
        Case("max_pool2d", (s(1, 2, 5, 6),), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), dilation=(1, 2)),
             "copy", "k3x2-s1x2-p1x0-d1x2"),
        Case("max_pool3d", (s(1, 1, 4, 3, 4),), dict(kernel_size=2, stride=1, padding=(1, 0, 1)), "copy", "k2-s1-overlap"),
        Case("avg_pool1d", (g(2, 3, 7),), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
             name="k3-s2-p1-ceil-exclude-pad"),
        Case("avg_pool2d", (g(1, 2, 5, 4),), dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1)), name="k2x3-s2x1-p1"),
        Case("avg_pool2d", (g(2, 4, 4),), dict(kernel_size=2, divisor_override=3), name="unbatched-divisor-override"),
        Case("avg_pool3d", (g(1, 1, 3, 4, 5),), dict(kernel_size=(2, 2, 3), stride=(1, 2, 2), padding=(1, 0, 1), ceil_mode=True),
             name="k2x2x3-ceil"),
        Case("unfold", (g(2, 2, 5, 4),), dict(kernel_size=(2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2)),
             name="k2x3-d2x1-p1x0-s1x2"),
        Case("unfold", (g(2, 4, 4),), dict(kernel_size=2, stride=3), name="unbatched-stride-skips-inputs"),
        Case("fold", (g(2, 8, 10),), dict(output_size=(4, 5), kernel_size=2, padding=(1, 0), stride=(1, 2)),
             name="o4x5-k2-p1x0-s1x2"),
        Case("fold", (g(9, 4),), dict(output_size=(4, 4), kernel_size=3, dilation=1, stride=1), name="unbatched-overlapping"),
        Case("adaptive_max_pool1d", (s(2, 3, 7),), dict(output_size=5), "copy", "o5-overlapping"),
        Case("adaptive_max_pool2d", (s(1, 2, 5, 3),), dict(output_size=(3, 4)), "copy", "o3x4-longer-than-input"),
        Case("adaptive_max_pool3d", (s(2, 4, 3, 5),), dict(output_size=(2, None, 3)), "copy", "unbatched-none"),
        Case("adaptive_avg_pool1d", (g(2, 3, 7),), dict(output_size=3), name="o3-uneven"),
        Case("adaptive_avg_pool2d", (g(1, 2, 5, 4),), dict(output_size=(3, 6)), name="o3x6"),
        Case("adaptive_avg_pool3d", (g(1, 1, 3, 4, 5),), dict(output_size=(2, 3, 2)), name="o2x3x2"),
        Case("linear", (g(3, 4), g(5, 4), g(5)), name="batch"),
        Case("linear", (g(4), g(2, 4), None), name="vector-nobias"),
        Case("relu", (s(3, 5),), kind="copy"),
        Case("sigmoid", (g(3, 5, scale=4.0),), kind="smooth"),
        Case("tanh", (g(3, 5, scale=4.0),), kind="smooth"),
        Case("softmax", (g(3, 5, scale=4.0),), dict(dim=1), "smooth", "dim1"),
        Case("softmax", (g(4, 3, 2, scale=4.0),), dict(dim=0), "smooth", "dim0"),
        Case("log_softmax", (g(2, 3, 4, scale=4.0),), dict(dim=-1), "log", "dim-1"),
        Case("log_softmax", (g(5, scale=4.0),), dict(dim=0), "log", "vector"),
    ]
    for reduction in ("none", "mean", "sum"):
        cases += [
            Case("mse_loss", (g(3, 4), g(3, 4)), dict(reduction=reduction), "quadratic", reduction),
            Case("cross_entropy", (g(4, 5, scale=4.0), np.array([1, 4, -100, 0])), dict(reduction=reduction), "ce",
                 f"{reduction}-indices-with-ignored"),
            Case("cross_entropy", (g(2, 3, 4, scale=4.0), rng.integers(0, 3, (2, 4))), dict(reduction=reduction), "ce",
                 f"{reduction}-spatial"),
            Case("cross_entropy", (g(3, 4, scale=4.0), probabilities(rng, (3, 4))), dict(reduction=reduction), "ce",
                 f"{reduction}-probabilities"),
        ]
    return cases


CASES = _cases()


def _call(case, arrays):
    return getattr(F, case.op)(*arrays, **case.kwargs)


def magnitude(case, arrays) -> np.ndarray:
    """``T``: per output entry, a bound on the sum of the absolute values of what the forward adds.

    multilinear (convolutions, linear, avg pooling): the op on absolute values is exactly that
    sum; copy (pad, max pooling, relu) and smooth (sigmoid, tanh, softmax, each a few roundings
    relative to its value): ``|f|``; log (log_softmax, ``x − m − log Σ exp(x − m)``):
    ``|x| + 2·max|x| + log C``; quadratic (mse): the reduction of ``(|x| + |t|)²``; ce: a row
    is ``log Σ exp(x − m) + m − x_t`` (or its average under probabilities), so
    ``3·max|x| + log C`` per row, times the number of rows for 'sum'.
    """
    out = _call(case, arrays)
    if case.kind == "multilinear":
        return _call(case, [None if a is None else np.abs(a) for a in arrays])
    if case.kind in ("copy", "smooth"):
        return np.abs(out)
    x = arrays[0]
    if case.kind == "log":
        return np.abs(x) + 2 * np.abs(x).max() + math.log(x.shape[case.kwargs["dim"]])
    if case.kind == "quadratic":
        return F.mse_loss(np.abs(x), -np.abs(arrays[1]), **case.kwargs)
    classes = x.shape[0 if x.ndim == 1 else 1]
    per_row = 3 * np.abs(x).max() + math.log(classes)
    rows = x.size // classes if case.kwargs["reduction"] == "sum" else 1
    return np.full(np.shape(out), per_row * rows)


def third_derivative_bound(case, v, u) -> float:
    """``B₃`` of the module docstring: ``24‖u‖³·Σ|cᵣ|`` for the smooth ops, 0 for the rest."""
    if case.kind not in ("smooth", "log", "ce"):
        return 0.0
    weights = np.abs(v).sum()
    if case.kind == "ce" and case.kwargs["reduction"] == "sum":
        x = case.arrays[0]
        weights *= x.size // x.shape[0 if x.ndim == 1 else 1]  # g once per row
    return C3 * float(np.abs(u).max()) ** 3 * weights


def _argument_cases():
    """``(case, index)`` for every differentiable array argument of every case."""
    for case in CASES:
        for k, a in enumerate(case.arrays):
            if a is not None and a.dtype.kind == "f":
                yield pytest.param(case, k, id=f"{case.id}-arg{k}")


ARGUMENTS = list(_argument_cases())


def _phi(case, k, v, u, t):
    arrays = list(case.arrays)
    arrays[k] = arrays[k] + t * u  # exact: both on the 2⁻¹⁰ grid, t = ±2⁻¹⁷
    return float(np.sum(v * _call(case, arrays))), arrays


def _check_direction(case, k, v, grad, u):
    """``|D(H) − ⟨grad, u⟩| ≤ tol`` for one direction; returns the share of the tolerance used."""
    plus, at_plus = _phi(case, k, v, u, H)
    minus, at_minus = _phi(case, k, v, u, -H)
    difference = (plus - minus) / (2 * H)
    exact = float(np.sum(grad * u))
    scale = max(float(np.sum(np.abs(v) * magnitude(case, a))) for a in (at_plus, at_minus))
    gamma = max(a.size for a in case.arrays if a is not None) + np.size(v) + 8
    tol = (H**2 * third_derivative_bound(case, v, u) / 6 + gamma * EPS * scale / H
           + gamma * EPS * (scale + float(np.sum(np.abs(grad) * np.abs(u)))))
    assert abs(difference - exact) <= tol, (
        f"{case.id}, argument {k}: central difference {difference!r} but the backward gives {exact!r} "
        f"(error {abs(difference - exact):.3e}, tolerance {tol:.3e}, h={H}, kwargs={case.kwargs})"
    )
    return abs(difference - exact) / tol


def _cotangent_and_gradient(case, k, seed):
    rng = np.random.default_rng(seed)
    out = _call(case, case.arrays)
    v = np.asarray(grid(rng, np.shape(out)))
    grads = getattr(F, case.op + "_backward")(v, *case.arrays, **case.kwargs)
    return rng, v, grads[k]


@pytest.mark.parametrize("case, k", ARGUMENTS)
def test_every_entry_of_the_gradient_is_a_central_difference(case, k):
    """``u`` = each unit vector in turn: the backward's whole gradient, entry by entry."""
    _, v, grad = _cotangent_and_gradient(case, k, seed=1)
    assert grad is not None and grad.shape == case.arrays[k].shape
    for index in np.ndindex(grad.shape):
        u = np.zeros(grad.shape)
        u[index] = 1.0
        _check_direction(case, k, v, grad, u)


@pytest.mark.parametrize("case, k", ARGUMENTS)
def test_a_random_directional_derivative_is_a_central_difference(case, k):
    """``vᵀ·J·u`` for a random ``u`` of max-norm ≤ 1 on the grid (all entries move at once)."""
    rng, v, grad = _cotangent_and_gradient(case, k, seed=2)
    _check_direction(case, k, v, grad, grid(rng, grad.shape))


def test_every_op_with_a_backward_has_a_case():
    """The oracle covers the whole module: every ``NAME`` of ``reference.functional.__all__``
    with a ``NAME_backward`` is checked above, every argument that has a gradient included."""
    ops = {name for name in F.__all__ if name + "_backward" in F.__all__}
    assert ops == {case.op for case in CASES}
    for case in CASES:
        v = np.ones(np.shape(_call(case, case.arrays)))
        grads = getattr(F, case.op + "_backward")(v, *case.arrays, **case.kwargs)
        has_gradient = {k for k, g in enumerate(grads) if g is not None}
        floats = {k for k, a in enumerate(case.arrays) if a is not None and a.dtype.kind == "f"}
        assert has_gradient == floats, case.id


def test_the_spaced_inputs_keep_every_kink_out_of_reach():
    """The premise of the kink-free checks: entries distinct and away from 0 by far more than
    a perturbation ``H·max|u| ≤ H`` can close (from both sides: 2H)."""
    for case in CASES:
        if case.op.startswith(("max_pool", "adaptive_max_pool")) or case.op == "relu":
            x = np.sort(case.arrays[0].ravel())
            assert np.diff(x).min() > 2 * H and np.abs(x).min() > 2 * H, case.id
