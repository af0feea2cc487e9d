"""The double backward (reference/second_order.py): derived, composed, and proven three ways.

1. **Finite differences, torch out of it.** For ``Φ(g, a) = Σᵢ ⟨vᵢ, NAME_backward(g, a)ᵢ⟩`` and a
   direction ``d`` (for ``g`` and every array), the double backward claims
   ``Σ ⟨NAME_double_backward(v, g, a), d⟩ = φ'(0)``, ``φ(t) = Φ((g, a) + t·d)``. For the bilinear
   ops, mse_loss and the linear maps ``φ`` is a polynomial of degree ≤ 2 in ``t``, and for the
   selections (relu, max pooling) linear away from the kinks, so the central difference
   ``(φ(h) − φ(−h))/2h`` *is* ``φ'(0)``, with no truncation error at any ``h``. With every value a
   multiple of 2⁻¹⁰ of magnitude ≤ 1 and ``h = 2⁻⁴``, each product of three factors needs at most
   11 + 15 + 15 = 41 bits and every sum here stays within float64's 53, so both sides are
   computed exactly and must be **equal**: an identity a wrong rule cannot meet. (The pooling
   windows here have 2 or 4 entries, so an average divides exactly too.) The selections'
   directions are scaled by 2⁻⁴, so no perturbation (``≤ 2⁻⁸``) reaches a kink: their inputs are
   at least 2⁻⁶ apart and nowhere 0.
2. **Against torch**, every quick case of both tiers through the harness at order 2, with the
   policy's bounds (the default profile of the vectorised tier runs in the conformance suite
   under ``make test``'s ``--crosscheck-order 2``).
3. **By composition**: the bilinear rule is the op's own forward and backward, so with only one
   cotangent non-zero each result is one forward or one backward call, bit for bit.
"""
from __future__ import annotations

import numpy as np
import pytest

import reference.definitional as D
import reference.functional as F
from crosscheck.cases import cases_for
from crosscheck.checking import Checks, run_case
from reference import second_order

GRID = 2.0**-10
H = 2.0**-4  # any h is exact for a quadratic; this one keeps every product within 53 bits (docstring)


def grid(rng, shape, scale=1.0):
    steps = int(scale / GRID)
    return np.asarray(rng.integers(-steps, steps + 1, shape) * GRID)  # a 0-d shape: an array, not a scalar


def spaced(rng, shape):
    """A permutation of ``(2k + 1 − m)/m``, ``m`` the power of two ≥ the size (at most 128 here):
    distinct values in (−1, 1) at least 2⁻⁶ apart, none 0, so no ties and no kink at 0."""
    size = int(np.prod(shape))
    m = 1 << max(size - 1, 1).bit_length()
    assert m <= 128, "a larger m would let a perturbation of 2⁻⁸ close the spacing"
    values = (2 * np.arange(m) + 1 - m) / m
    return rng.permutation(values)[:size].reshape(shape)


CALLS = [  # (op, array shapes, kwargs, input kind)
    ("conv1d", ((2, 4, 7), (6, 2, 3), (6,)), dict(stride=2, padding=1, groups=2), "grid"),
    ("conv1d", ((1, 2, 6), (3, 2, 2), None), dict(padding="same", dilation=2), "grid"),
    ("conv2d", ((1, 2, 5, 6), (3, 2, 2, 3), (3,)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2)), "grid"),
    ("conv2d", ((3, 4, 5), (6, 1, 3, 2), (6,)), dict(padding="same", groups=3), "grid"),
    ("conv3d", ((1, 2, 3, 4, 3), (2, 1, 2, 2, 1), (2,)), dict(stride=(1, 2, 1), padding=(1, 0, 1), groups=2), "grid"),
    ("conv_transpose1d", ((2, 4, 3), (4, 2, 3), (4,)), dict(stride=2, padding=1, output_padding=1, groups=2), "grid"),
    ("conv_transpose2d", ((1, 2, 3, 2), (2, 3, 2, 3), (3,)),
     dict(stride=(2, 1), padding=(0, 1), output_padding=(1, 0), dilation=(1, 2)), "grid"),
    ("linear", ((3, 2, 4), (5, 4), (5,)), {}, "grid"),
    ("linear", ((4,), (4,), ()), {}, "grid"),
    ("pad", ((2, 3, 4),), dict(pad=(1, 2, 0, 1), value=0.5), "grid"),
    ("pad", ((1, 2, 5),), dict(pad=(2, 3), mode="reflect"), "grid"),
    ("pad", ((1, 2, 3, 4),), dict(pad=(1, 1, 2, 0), mode="circular"), "grid"),
    ("unfold", ((1, 2, 4, 5),), dict(kernel_size=(2, 3), padding=1, stride=(1, 2)), "grid"),
    ("fold", ((1, 8, 6),), dict(output_size=(3, 4), kernel_size=2), "grid"),
    ("avg_pool2d", ((2, 3, 4, 6),), dict(kernel_size=2), "grid"),
    ("avg_pool1d", ((2, 3, 7),), dict(kernel_size=2, stride=1), "grid"),
    ("adaptive_avg_pool2d", ((1, 2, 4, 8),), dict(output_size=(2, 2)), "grid"),
    ("max_pool2d", ((2, 2, 5, 4),), dict(kernel_size=2, stride=1, padding=1), "spaced"),
    ("max_pool1d", ((1, 3, 9),), dict(kernel_size=3, stride=2, dilation=2, return_indices=True), "spaced"),
    ("adaptive_max_pool1d", ((2, 2, 7),), dict(output_size=3), "spaced"),
    ("relu", ((3, 5),), {}, "spaced"),
    ("mse_loss", ((3, 4), (3, 4)), dict(reduction="none"), "grid"),
    ("mse_loss", ((2, 3, 4), (3, 1)), dict(reduction="sum"), "grid"),
    ("mse_loss", ((4, 2), (4, 2)), dict(reduction="mean"), "grid"),  # 1/8: a power of two, exact
]


def _first(tier, op, arrays, kwargs):
    out = getattr(tier, op)(*arrays, **kwargs)
    return out[0] if isinstance(out, tuple) else out


def _phi(tier, op, v, g, arrays, kwargs) -> float:
    grads = getattr(tier, op + "_backward")(g, *arrays, **kwargs)
    return sum(float(np.sum(a * b)) for a, b in zip(v, grads) if a is not None)


@pytest.mark.parametrize("tier", [F, D], ids=["vectorised", "definitional"])
@pytest.mark.parametrize("op, shapes, kwargs, kind", CALLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CALLS)])
def test_the_double_backward_is_the_derivative_of_the_backward(tier, op, shapes, kwargs, kind):
    rng = np.random.default_rng(0)
    arrays = [None if s is None else (spaced(rng, s) if kind == "spaced" and i == 0 else grid(rng, s))
              for i, s in enumerate(shapes)]
    with np.errstate(all="ignore"), pytest.warns(UserWarning) if op == "mse_loss" and shapes[0] != shapes[1] else _quiet():
        out = _first(tier, op, arrays, kwargs)
    g = grid(rng, out.shape)
    grads = getattr(tier, op + "_backward")(g, *arrays, **kwargs)
    v = tuple(None if b is None else grid(rng, b.shape) for b in grads)
    scale = 2.0**-4 if kind == "spaced" else 1.0  # no perturbation reaches a kink (docstring)
    direction = [grid(rng, g.shape)] + [None if a is None else grid(rng, a.shape, scale) for a in arrays]
    result = getattr(tier, op + "_double_backward")(v, g, *arrays, **kwargs)
    claimed = sum(float(np.sum(r * d)) for r, d in zip(result, direction) if d is not None)

    def moved(t):
        g_t = np.asarray(g + t * direction[0])
        arrays_t = [None if a is None else np.asarray(a + t * d) for a, d in zip(arrays, direction[1:])]
        return _phi(tier, op, v, g_t, arrays_t, kwargs)

    assert (moved(H) - moved(-H)) / (2 * H) == claimed
    assert claimed != 0  # a zero on both sides would prove nothing


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


QUICK = [c for c in cases_for("quick") if not c.invalid]
TINY = [c for c in QUICK if sum(int(np.prod(s)) for s in c.shapes if s is not None) <= 400]


@pytest.mark.parametrize("tier, cases", [(F, QUICK), (D, TINY)], ids=["vectorised", "definitional"])
def test_every_quick_case_agrees_with_torch_at_order_2(tier, cases):
    outcomes = [run_case(tier, case, 0, Checks(order=2)) for case in cases]
    failed = [f"{o.case.key}: {o.failure}" for o in outcomes if o.status != "passed"]
    assert not failed, "\n".join(failed[:10])
    assert {o.case.op for o in outcomes} == set(second_order.RULES)  # every op of the contract was checked
    accepted = [o for o in outcomes if not o.rejected]
    assert all("grad_grad_output" in o.ratios for o in accepted)  # each accepted call's second order compared


def test_a_bilinear_double_backward_is_the_ops_own_forward_and_backward():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 3)), rng.standard_normal(6)
    kwargs = dict(stride=2, padding=1, dilation=(1, 2), groups=2)
    g = rng.standard_normal(F.conv2d(x, w, b, **kwargs).shape)
    vx, vw, vb = rng.standard_normal(x.shape), rng.standard_normal(w.shape), rng.standard_normal(b.shape)
    zero_x, zero_w, zero_b = np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
    # v_x alone: ∂Φ/∂g is the convolution of v_x, ∂Φ/∂w the weight gradient taken at input v_x
    ggo, g2x, g2w, g2b = F.conv2d_double_backward((vx, zero_w, zero_b), g, x, w, b, **kwargs)
    np.testing.assert_array_equal(ggo, F.conv2d(vx, w, None, **kwargs) + F.conv2d(x, zero_w, None, **kwargs))
    np.testing.assert_array_equal(g2w, F.conv2d_backward(g, vx, w, None, **kwargs)[1])
    np.testing.assert_array_equal(g2b, zero_b)
    # v_w alone: ∂Φ/∂x is the input gradient taken with weight v_w
    ggo, g2x, g2w, _ = F.conv2d_double_backward((zero_x, vw, zero_b), g, x, w, b, **kwargs)
    np.testing.assert_array_equal(g2x, F.conv2d_backward(g, x, vw, None, **kwargs)[0])
    # v_b alone: broadcast over the output
    ggo, *_ = F.conv2d_double_backward((zero_x, zero_w, vb), g, x, w, b, **kwargs)
    np.testing.assert_array_equal(ggo, np.broadcast_to(vb[:, None, None], ggo.shape[1:]) + 0 * ggo)


def test_dim_and_keywords_bind_as_in_the_first_order():
    rng = np.random.default_rng(2)
    x, g, v = (rng.standard_normal((3, 4)) for _ in range(3))
    by_keyword = F.softmax_double_backward((v,), g, x, dim=1)
    by_position = F.softmax_double_backward((v,), g, x, 1)
    for a, b in zip(by_keyword, by_position):
        np.testing.assert_array_equal(a, b)


def test_cross_entropy_with_class_probabilities_agrees_with_torch():
    """Beyond the contract (no case holds probability targets), so checked here, in float64,
    against torch's autograd twice: each entry sums at most C = 5 terms of magnitude ≤ ~10, so
    1e-12 absolute leaves three orders of magnitude over float64 rounding (≈ 1e-15)."""
    from crosscheck.oracle import torch_double_backward

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 2))
    t = rng.random((4, 5, 2))
    for reduction in ("none", "sum", "mean"):
        loss = F.cross_entropy(x, t, reduction=reduction)
        g = rng.standard_normal(loss.shape)
        v = (rng.standard_normal(x.shape), rng.standard_normal(t.shape))
        ours = F.cross_entropy_double_backward(v, g, x, t, reduction=reduction)
        theirs = torch_double_backward("cross_entropy", [x, t], dict(reduction=reduction), g, v)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "grad_grads, match",
    [
        ("not a tuple", "grad_grads must be a tuple of 3 cotangents"),
        ((np.zeros((1, 2, 5)), np.zeros((3, 2, 2))), "grad_grads must be a tuple of 3 cotangents, one for each of "
                                                     "grad_input, grad_weight, grad_bias, got tuple of 2"),
        ((np.zeros((1, 2, 5)), np.zeros((3, 2, 3)), np.zeros(3)), r"grad_grads\[1\] must match grad_weight, "
                                                                  r"float64\[3, 2, 2\]"),
        ((np.zeros((1, 2, 5), np.float32), np.zeros((3, 2, 2)), np.zeros(3)), r"grad_grads\[0\]\.dtype=float32"),
        ((np.zeros((1, 2, 5)), np.zeros((3, 2, 2)), None), r"grad_grads\[2\] must be a numpy.ndarray"),
        (([[0.0] * 5] * 2, np.zeros((3, 2, 2)), np.zeros(3)), r"grad_grads\[0\] must be a numpy.ndarray"),
    ],
    ids=["not-a-tuple", "too-few", "wrong-shape", "wrong-dtype", "none-for-a-gradient", "a-list"],
)
def test_bad_cotangents_are_refused_naming_the_entry(grad_grads, match):
    x, w, b = np.ones((1, 2, 5)), np.ones((3, 2, 2)), np.ones(3)
    g = np.ones((1, 3, 4))
    kept = [a.copy() for a in (x, w, b, g)]
    with pytest.raises((ValueError, TypeError), match=match):
        F.conv1d_double_backward(grad_grads, g, x, w, b)
    assert all(np.array_equal(a, k) for a, k in zip((x, w, b, g), kept))  # nothing touched


def test_a_cotangent_for_a_gradient_that_is_none_is_refused():
    x, w = np.ones((1, 2, 5)), np.ones((3, 2, 2))
    g = np.ones((1, 3, 4))
    with pytest.raises(ValueError, match=r"grad_bias is None \(no gradient\), so grad_grads\[2\] must be None"):
        F.conv1d_double_backward((np.ones_like(x), np.ones_like(w), np.ones(3)), g, x, w, None)


def test_a_bad_call_is_refused_as_the_first_order_refuses_it():
    x, w = np.ones((1, 2, 5)), np.ones((3, 2, 2))
    with pytest.raises(ValueError, match="stride"):
        F.conv1d_double_backward((x, w, None), np.ones((1, 3, 4)), x, w, None, stride=0)


def test_every_tier_has_a_double_backward_for_every_op():
    ops = set(second_order.RULES)
    assert len(ops) == 29
    for tier in (F, D):
        assert {op for op in ops if callable(getattr(tier, op + "_double_backward", None))} == ops
    assert {n[: -len("_double_backward")] for n in F.__all__ if n.endswith("_double_backward")} == ops
