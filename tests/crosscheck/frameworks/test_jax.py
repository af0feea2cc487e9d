"""``--framework jax``: JAX code written under torch's signatures (``examples/jax_ops.py``)
passes every case it supports but the calls torch refuses and JAX does not (listed here, as
its deviations), a planted JAX bug fails, and the adapter's own rules hold."""
from __future__ import annotations

import collections

import jax.numpy as jnp
import numpy as np
import pytest

import crosscheck
from crosscheck.checking import Checks
from crosscheck.frameworks import subject_of
from crosscheck.gate.isolation import Isolated
from examples import jax_ops
from tests.helpers.mutants import SEED
from tests.impls.jax_native import lhs_dilation

JAX_OPS = subject_of(jax_ops)  # its CROSSCHECK_FRAMEWORK names jax
# What examples/jax_ops.py gets wrong on the quick profile, as (op, quantity, the start of the
# reason) -> count: in every group JAX takes a call torch refuses. lax pads with a negative
# amount by cropping, broadcasts a bias or a weight of the wrong size, takes 'same' with a stride,
# a kernel larger than the padded input (an empty output), and mixed float dtypes (it promotes).
DEVIATIONS = {
    ("conv2d", "rejection", "accepted a call torch rejects (RuntimeError: Calculated padded input"): 6,
    ("conv2d", "rejection", "accepted a call torch rejects (RuntimeError: Given weight of size"): 2,
    ("conv2d", "rejection", "accepted a call torch rejects (RuntimeError: Input type (double) and"): 1,
    ("conv2d", "rejection", "accepted a call torch rejects (RuntimeError: Input type (float) and b"): 1,
    ("conv2d", "rejection", "accepted a call torch rejects (RuntimeError: negative padding is not"): 4,
    ("conv2d", "rejection", "accepted a call torch rejects (RuntimeError: padding='same' is not su"): 2,
}


def _groups(outcomes):
    return collections.Counter((o.case.op, o.failure.quantity, o.failure.reason[:70]) for o in outcomes
                               if o.status == "failed")


def _deviations(groups):
    return {next(k for k in DEVIATIONS if key[:2] == k[:2] and key[2].startswith(k[2])): n for key, n in groups.items()}


@pytest.fixture(scope="module")
def conv2d_outcomes():
    return [crosscheck.run_case(JAX_OPS, case, SEED) for case in crosscheck.cases_for("quick", ops=["conv2d"])]


def test_jax_conv2d_fails_only_on_its_listed_deviations(conv2d_outcomes):
    groups = _groups(conv2d_outcomes)
    assert _deviations(groups) == DEVIATIONS, groups
    assert sum(o.status == "passed" for o in conv2d_outcomes) == len(conv2d_outcomes) - sum(DEVIATIONS.values())


def test_with_rejection_parity_off_every_supported_case_passes():
    cases = crosscheck.cases_for("quick", ops=["conv1d", "tanh", "log_softmax"])
    outcomes = [crosscheck.run_case(JAX_OPS, case, SEED, Checks(rejection=False)) for case in cases]
    bad = [(o.case.key, o.failure) for o in outcomes if o.status == "failed"]
    assert not bad, bad[:5]
    assert {o.status for o in outcomes} == {"passed", "skipped"}  # skipped: the calls torch rejects


def test_float64_is_computed_in_float64(conv2d_outcomes):
    """Without jax_enable_x64 JAX would compute float64 cases in float32: errors of 1e-7."""
    float64 = [o for o in conv2d_outcomes if o.case.dtype == "float64" and o.status == "passed" and o.errors]
    assert float64 and max(o.errors["output"] for o in float64) < 1e-12


def test_the_planted_jax_bug_is_caught_and_the_xla_abort_it_meets_is_isolated():
    """In a worker process: XLA aborts the process compiling some lhs-dilated convolutions
    (conv2d-k4x2-s2x1-p2x0-d2-x2x1x3x3-o4-nobias of the default profile, SIGABRT)."""
    assert lhs_dilation.__doc__ and "Revealed by" in lhs_dilation.__doc__
    cases = crosscheck.cases_for("quick", ops=["conv2d"], dtypes=["float64"])
    with Isolated("tests.impls.jax_native.lhs_dilation", timeout=120) as isolated:
        outcomes = [isolated.run(case) for case in cases]
    failed = [o for o in outcomes if o.status == "failed"]
    assert any(o.failure.quantity == "output" for o in failed)
    # besides the bug, only the deviations examples/jax_ops.py has too (calls torch rejects)
    assert {o.failure.quantity for o in failed} <= {"output", "rejection"}
    dilated = [o for o in outcomes if o.case.kwargs.get("dilation", 1) not in (1, (1, 1), [1, 1], (1,), [1])]
    assert dilated and all(o.status in ("failed", "crashed") for o in dilated if not o.case.invalid)


def test_jit_per_case_gives_the_same_verdicts(conv2d_outcomes):
    jitted = subject_of(jax_ops, "jax-jit")
    cases = [o.case for o in conv2d_outcomes][:40]
    assert [crosscheck.run_case(jitted, case, SEED).status for case in cases] == [o.status for o in
                                                                                  conv2d_outcomes[:40]]


class _Impl:
    def __init__(self, **ops):
        self.__dict__.update(ops)


def test_a_result_that_is_not_a_jax_array_fails_naming_the_type():
    case = next(c for c in crosscheck.cases_for("quick", ops=["relu"]) if not c.invalid)
    outcome = crosscheck.run_case(subject_of(_Impl(relu=lambda x: np.asarray(x)), "jax"), case, SEED)
    assert outcome.status == "failed" and "must be a jax.Array, got ndarray" in outcome.failure.reason


def test_an_explicit_backward_is_used_where_the_module_has_one():
    case = next(c for c in crosscheck.cases_for("quick", ops=["tanh"]) if not c.invalid)
    wrong = _Impl(tanh=jnp.tanh, tanh_backward=lambda g, x: (g * (1 - jnp.tanh(x)),))  # the bug: not squared
    outcome = crosscheck.run_case(subject_of(wrong, "jax"), case, SEED)
    assert outcome.status == "failed" and outcome.failure.quantity == "grad_input"


def test_jax_vjp_of_vjp_passes_the_second_order_where_the_first_passes():
    """jax.vjp of the gradients, on ops whose first order passes every supported case (a sample:
    JAX compiles each primitive of the twice-differentiated graph per shape, about 0.1 s a case)."""
    cases = [c for c in crosscheck.cases_for("quick", ops=["tanh"]) if not c.invalid]
    cases += [c for c in crosscheck.cases_for("quick", ops=["conv1d"]) if not c.invalid][:4]
    outcomes = [crosscheck.run_case(JAX_OPS, case, SEED, Checks(rejection=False, order=2)) for case in cases]
    bad = [(o.case.key, o.failure) for o in outcomes if o.status == "failed"]
    assert not bad, bad[:5]
    checked = [o for o in outcomes if o.status == "passed"]
    assert checked and all("grad2_input" in o.ratios for o in checked)
