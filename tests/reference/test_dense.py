"""linear, the activations and the losses (reference.dense, .activations, .losses): what the harness cannot see.

Their calls against torch (outputs, gradients, rejections, 1-d weights, 0-d and empty inputs,
broadcast targets, ignored class targets, NaN and ±inf) are cases of the table
(:mod:`crosscheck.cases.dense_table`), run by the CLI, the suite and fuzzing, and both tiers
are held to each other over it (tests/reference/test_definitional.py). Here:

* neither tier warns on the table's calls (overflow, invalid value, division by zero), and
  mse_loss with broadcast shapes warns, as torch does, at the line that called it;
* class-probability targets, which the reference takes beyond the contract, through the same
  comparison routine as the table's cases;
* special values where parity is easy to get wrong, bit for bit: relu at exactly ±0, sigmoid's
  tails, NaN and ±inf rows of softmax, ignored class targets;
* the contract's signatures and the deliberate differences from torch, each pinned against
  torch so it is revisited if torch changes.
"""
from __future__ import annotations

import inspect
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.activations as A
import reference.definitional as RD
import reference.definitional_dense as DD
import reference.dense as DN
import reference.functional as F
import reference.losses as L
from crosscheck import run_case
from crosscheck.cases.builders import loss_case
from crosscheck.cases.case import FIXED
from crosscheck.cases.dense_table import named_dense_cases
from crosscheck.gate.report import format_failure
from crosscheck.oracle import torch_forward_backward
from tests.helpers.calls import valid_call, refusal

VECTORISED = {name: getattr(m, name) for m in (DN, A, L) for name in dir(m) if not name.startswith("_")}
DENSE_OPS = ("linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "mse_loss", "cross_entropy")
DTYPES = ("float64", "float32")
INF, NAN = np.inf, np.nan
NAMED = [case.with_dtype(dtype) for case in named_dense_cases() for dtype in DTYPES]


def _broadcast(case) -> bool:
    """mse_loss on shapes that differ: torch warns that they are broadcast, and so must the reference."""
    return case.op == "mse_loss" and case.shapes[0] != case.shapes[1]


@pytest.mark.parametrize("tier", ["vectorised", "definitional"])
@pytest.mark.parametrize("case", NAMED, ids=[c.key for c in NAMED])
def test_no_numpy_warning_and_mse_loss_warns_at_the_caller(case, tier):
    """A NumPy warning (overflow, invalid value, division by zero; underflow to 0 is the right
    answer) fails the test; mse_loss with broadcast shapes must warn, pointing at the line that
    called the op."""
    functions = VECTORISED if tier == "vectorised" else vars(DD)
    forward, backward = functions[case.op], functions[case.op + "_backward"]
    arrays = case.arrays(seed=0)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        warnings.simplefilter("error")
        if _broadcast(case):
            with pytest.warns(UserWarning, match="broadcast") as record:
                out = forward(*arrays, **case.kwargs)
            if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampolines add frames of their own
                assert record[0].filename == __file__  # the warning points at the line that called the op
        else:
            out = forward(*arrays, **case.kwargs)
        backward(case.grad_output(np.shape(out), seed=0), *arrays, **case.kwargs)


def test_the_table_covers_every_dense_op_in_both_tiers():
    assert {c.op for c in NAMED} == set(DENSE_OPS)
    for op in DENSE_OPS:
        for name in (op, op + "_backward"):
            assert callable(VECTORISED[name]) and callable(getattr(DD, name))


def _probabilities(x_shape, reduction, tag, logits="normal", probabilities="uniform"):
    return loss_case("cross_entropy", x_shape, x_shape, reduction, values={"input": logits, "target": probabilities},
                     tag=tag)


# Beyond the contract (integer class targets only), so not in the table: torch_backed refuses them.
PROBABILITIES = [
    case.with_dtype(dtype) for reduction in ("mean", "sum", "none") for dtype in DTYPES
    for case in (
        _probabilities((4, 5), reduction, "probabilities"),
        _probabilities((5,), reduction, "probabilities-unbatched"),
        _probabilities((2, 3, 4), reduction, "probabilities-k-dim"),
        _probabilities((3, 4), reduction, "probabilities-large-logits", logits="large"),
        _probabilities((5, 3), reduction, "probabilities-special-logits", "fixed:ce-logits", "fixed:ce-probabilities"),
    )
]


@pytest.mark.parametrize("tier", ["reference.functional", "reference.definitional"])
@pytest.mark.parametrize("case", PROBABILITIES, ids=[c.key for c in PROBABILITIES])
def test_class_probability_targets_agree_with_torch(case, tier):
    """cross_entropy with class probabilities: the loss, the input gradient and the target's
    gradient within the harness's bound (crosscheck.checking.bounds, ``_probability_targets``)."""
    outcome = run_case({"reference.functional": F, "reference.definitional": RD}[tier], case, seed=0)
    assert outcome.status == "passed", format_failure(outcome, tier, 0)


# special values -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_at_zero_nan_and_inf_is_torch_bit_for_bit(dtype):
    x = np.array([0.0, -0.0, 1.0, -1.0, NAN, INF, -INF, 0.0, -1.0, 0.0, 2.0], dtype)
    grad = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, NAN, INF, -INF, NAN], dtype)
    truth = torch_forward_backward("relu", [x], {}, grad, dtype=None)  # in x's own dtype: bit for bit
    want, (want_grad,) = truth.output, truth.grads
    out, (got_grad,) = A.relu(x), A.relu_backward(grad, x)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(want))  # relu(−0.0) is −0.0 in torch
    np.testing.assert_array_equal(got_grad, want_grad)
    # the derivative at exactly 0 is 0; a NaN input passes its gradient through (torch tests
    # x ≤ 0, false for NaN); an upstream NaN or inf where x ≤ 0 is dropped, not multiplied by 0
    np.testing.assert_array_equal(got_grad, [0, 0, 5, 0, 5, 5, 0, 0, 0, 0, NAN])
    for tier in (A, DD):
        np.testing.assert_array_equal(tier.relu_backward(grad, x)[0], want_grad)
        np.testing.assert_array_equal(np.signbit(tier.relu(x)), np.signbit(want))


@pytest.mark.parametrize("dtype, below", [("float32", -88.8), ("float64", -709.9)])
def test_sigmoid_tails_are_exact_where_torch_flushes(dtype, below):
    """torch's 1/(1 + e^{−x}) overflows e^{−x} below ``below`` and returns 0; the reference
    returns the subnormal that is the correctly rounded σ(x) (within one subnormal step), with
    no warning; above the overflow point both give the same."""
    x = np.array([below, below - 5.0, below + 1.0, -30.0, 30.0, 1e4, -1e4], dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = A.sigmoid(x)
    exact = np.array([math.exp(v) / (1 + math.exp(v)) if v < 0 else 1 / (1 + math.exp(-v)) for v in x.astype(float)])
    step = float(np.finfo(dtype).smallest_subnormal)
    assert np.all(np.abs(y - exact) <= np.maximum(np.finfo(dtype).eps * exact, step))
    torch_y = torch.sigmoid(torch.from_numpy(x)).numpy()
    assert torch_y[0] == 0.0 < y[0] < np.finfo(dtype).tiny  # the one documented difference
    np.testing.assert_allclose(y[2:], torch_y[2:], rtol=2 * np.finfo(dtype).eps, atol=0)  # two formulas, an ulp apart


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_non_finite_rows_match_torch(op):
    """A row holding +inf or NaN is NaN throughout, an all −inf row is NaN, a single −inf
    entry gets probability 0 (log −inf) and logits of ±1e4 give 1 and 0 (log 0 and −2e4), as in
    torch: NaN and infinities in the same places, finite values within 4 ulps (exp and a divide)."""
    x = np.array(FIXED["special-rows"][:-1])
    want = getattr(T, op)(torch.from_numpy(x), 1).numpy()
    got = getattr(A, op)(x, 1)
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(x.dtype).eps, atol=0)  # NaN where torch has NaN
    assert np.isnan(got[[0, 1, 3, 4]]).all() and not np.isnan(got[[2, 5]]).any()
    assert np.array_equal(got[5], [0.0, -2e4, -1e4] if op == "log_softmax" else [1.0, 0.0, 0.0])


def test_cross_entropy_ignored_targets(rng):
    """−100 (torch's default ignore_index) adds 0, is not counted by 'mean', gets no gradient;
    all ignored: the mean is NaN (0/0) and the gradient 0, as in torch."""
    x = rng.standard_normal((3, 4))
    target = np.array([1, -100, 3])
    losses = L.cross_entropy(x, target, reduction="none")
    assert losses[1] == 0.0
    assert L.cross_entropy(x, target) == pytest.approx((losses[0] + losses[2]) / 2, rel=1e-15)
    grad_x, grad_t = L.cross_entropy_backward(np.array(1.0), x, target)
    assert grad_t is None and np.all(grad_x[1] == 0)
    ignored = np.array([-100, -100, -100])
    assert np.isnan(L.cross_entropy(x, ignored))
    np.testing.assert_array_equal(L.cross_entropy_backward(np.array(1.0), x, ignored)[0], np.zeros_like(x))
    assert np.isnan(T.cross_entropy(torch.from_numpy(x), torch.from_numpy(ignored)).item())


def test_losses_return_zero_dimensional_arrays(rng):
    x, t = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    for value in (L.mse_loss(x, t), L.mse_loss(x, t, reduction="sum"), L.cross_entropy(x, np.array([0, 2]))):
        assert isinstance(value, np.ndarray) and value.shape == () and value.dtype == x.dtype


# rejections the table cannot hold ---------------------------------------------------------------------


def _f(*shape, dtype=np.float64):
    return np.ones(shape, dtype=dtype)


def _i(*values, dtype=np.int64):
    return np.array(values, dtype=dtype)


@pytest.mark.parametrize("op", ["linear", "relu", "sigmoid", "tanh"])
def test_lists_are_refused_by_type(op):
    """The contract's arrays are numpy.ndarray; torch refuses a list too (the table's arrays are all ndarrays)."""
    args = [[[1.0, 2.0, 3.0]], _f(4, 3)] if op == "linear" else [[1.0, -1.0]]
    for functions in (VECTORISED, vars(DD)):
        with pytest.raises(TypeError, match="input"):
            functions[op](*args)


@pytest.mark.parametrize(
    "op, arrays, kwargs, grad",
    [
        ("linear", [_f(2, 3), _f(4, 3)], {}, _f(2, 3)),
        ("relu", [_f(2, 3)], {}, _f(3, 2)),
        ("softmax", [_f(2, 3)], {"dim": 1}, _f(2, 3, dtype=np.float32)),
        ("mse_loss", [_f(2, 3), _f(2, 3)], {}, _f(2, 3)),
        ("mse_loss", [_f(2, 3), _f(2, 3)], {"reduction": "none"}, np.array(1.0)),
        ("cross_entropy", [_f(2, 3), _i(0, 1)], {"reduction": "none"}, _f(2, 3)),
    ],
)
def test_backward_rejects_a_grad_output_of_the_wrong_shape_or_dtype(op, arrays, kwargs, grad):
    for functions in (VECTORISED, vars(DD)):
        with pytest.raises((ValueError, TypeError), match="grad_output"):
            functions[op + "_backward"](grad, *arrays, **kwargs)


# the contract's signatures and the deliberate differences from torch -------------------


SIGNATURES = {
    "linear": "(input, weight, bias=None)",
    "relu": "(input)",
    "sigmoid": "(input)",
    "tanh": "(input)",
    "softmax": "(input, dim)",
    "log_softmax": "(input, dim)",
    "mse_loss": "(input, target, *, reduction='mean')",
    "cross_entropy": "(input, target, *, reduction='mean')",
}


@pytest.mark.parametrize("op", SIGNATURES)
def test_signatures_are_the_contracts(op):
    for functions in (VECTORISED, vars(DD)):
        assert str(inspect.signature(functions[op])) == SIGNATURES[op]
        assert str(inspect.signature(functions[op + "_backward"])) == "(grad_output, " + SIGNATURES[op][1:]


def test_reduction_is_keyword_only_because_torch_reads_a_third_positional_differently(rng):
    """torch's third positional is size_average (mse_loss) or weight (cross_entropy):
    ``mse_loss(x, t, 'sum')`` is a deprecated *mean* there. The reference refuses the positional form."""
    x, t = rng.standard_normal(4), rng.standard_normal(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_value = T.mse_loss(torch.from_numpy(x), torch.from_numpy(t), "sum").item()
    assert torch_value == pytest.approx(np.mean((x - t) ** 2))
    with pytest.raises(TypeError):
        L.mse_loss(x, t, "sum")
    with pytest.raises(TypeError):  # torch: weight must be a Tensor; here: no third positional
        L.cross_entropy(rng.standard_normal((2, 3)), np.array([0, 1]), "sum")


@pytest.mark.parametrize("kwargs", [{"weight": None}, {"ignore_index": 1}, {"label_smoothing": 0.1}, {"size_average": 1}])
def test_torch_only_keywords_are_refused_by_the_signature(kwargs, rng):
    x, t = rng.standard_normal((2, 3)), np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # size_average is deprecated
        T.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), **kwargs)
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.cross_entropy(x, t, **kwargs)


def test_softmax_dim_none_torch_guesses_a_dim(rng):
    """torch picks dim 0 for a 3-d input (across the batch) with a deprecation warning."""
    x = rng.standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = T.softmax(torch.from_numpy(x), None).numpy()
    # which dim torch picked: dim 0 agrees to rounding (a few ulps in float64), any other dim differs by O(1)
    np.testing.assert_allclose(out, A.softmax(x, 0), rtol=1e-15)
    for op in (A.softmax, A.log_softmax, DD.softmax):
        with pytest.raises(TypeError, match="dim=None"):
            op(x, None)


@pytest.mark.parametrize("bias_shape", [(1,), (1, 4), (2, 4), (2, 1)])
def test_linear_bias_shapes_torch_broadcasts_but_does_not_document(bias_shape, rng):
    """torch documents a bias (out_features,) or (); its addmm also broadcasts these for a 2-d input."""
    x, w, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal(bias_shape)
    assert tuple(T.linear(*map(torch.from_numpy, (x, w, b))).shape) == (2, 4)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\) or \(\)"):
        DN.linear(x, w, b)


def test_float_dtype_mixing_torch_promotes_the_losses(rng):
    x, t = rng.standard_normal((2, 3)).astype(np.float32), rng.random((2, 3))
    assert T.mse_loss(torch.from_numpy(x), torch.from_numpy(t)).dtype == torch.float64
    assert T.cross_entropy(torch.from_numpy(x), torch.from_numpy(t)).dtype == torch.float64
    for op in (L.mse_loss, L.cross_entropy):
        with pytest.raises(TypeError, match="target.dtype=float64"):
            op(x, t)


def test_uint8_class_targets_torch_takes_them_for_2d_input_only(rng):
    x = rng.standard_normal((2, 3))
    T.cross_entropy(torch.from_numpy(x), torch.tensor([0, 2], dtype=torch.uint8))
    with pytest.raises(RuntimeError, match="Long"):
        T.cross_entropy(torch.randn(2, 3, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.uint8))
    with pytest.raises(TypeError, match="target.dtype=uint8"):
        L.cross_entropy(x, np.array([0, 2], np.uint8))


def test_unbatched_target_of_shape_1_torch_forward_accepts_but_backward_fails(rng):
    x = torch.from_numpy(rng.standard_normal(3)).requires_grad_()
    loss = T.cross_entropy(x, torch.tensor([2]))
    with pytest.raises(RuntimeError, match="size mismatch"):
        loss.backward()
    with pytest.raises(ValueError, match=r"target.shape=\(1,\)"):
        L.cross_entropy(x.detach().numpy(), np.array([2]))


def test_the_new_modules_import_without_torch():
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "import reference.dense, reference.activations, reference.losses, reference.definitional_dense\n"
        "assert reference.losses.cross_entropy(np.zeros((1, 2)), np.array([1])) > 0\n"
        "assert not any(n == 'torch' or n.startswith('torch.') for n, m in sys.modules.items() if m is not None)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_linear_names_its_weight_and_its_feature_count():
    """Guards linear's weight-rank and feature-count messages (a 1-d weight must not turn the refusal into an IndexError).

    Kills ``checks.rank(op, "weight", ...)`` → ``"XXweightXX"`` (and the ranks' listing) and
    ``weight.shape[-1]`` → ``weight.shape[+1]`` or ``[-2]`` in the message of ``dense.plan``: with
    a 1-d weight, ``weight.shape[1]`` does not exist, and the refusal became an IndexError."""
    x, w, b = valid_call("linear")[0]
    assert refusal(F.linear, x, w[None], b) == f"linear: weight must have 2 or 1 dimensions, got weight.shape={(1,) + w.shape}"
    for wide in (np.ones((3, 7)), np.ones(7)):
        message = refusal(F.linear, x, wide)
        assert message.startswith("linear: input's last axis must have weight.shape[-1]=7 features, "), message
