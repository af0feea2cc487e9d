"""The gate: proof that the harness catches what it exists to catch, for the right reason,
and passes what it must pass.

* every mutant in ``tests/impls/broken`` (one realistic bug each) fails some case of the
  default profile, and every failure names the quantity that its bug breaks (its ``GATE``);
* ``tests/impls/torch_backed`` (a correct implementation on torch) passes every default case;
* the float64 tolerance is tight but sane: a relative error of 1e-6 fails, 1 ulp passes;
* the CLI's exit status: 0 for the correct implementation, 1 for a mutant, 2 for a module
  that cannot be imported.
"""
from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import crosscheck
from crosscheck.specs import OPS
from tests.helpers.mutants import SEED, assert_caught, describe
from tests.impls import broken
from tests.impls import torch_backed

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = sorted(m.name for m in pkgutil.iter_modules(broken.__path__) if not m.name.startswith("_"))


def _failures(impl, cases, checks=None):
    outcomes = [crosscheck.run_case(impl, case, SEED, checks) for case in cases]
    return [o for o in outcomes if o.status == "failed"], outcomes


# --- (a) every mutant is caught, on the quantity its bug breaks -----------------------------

def test_there_are_mutants_of_every_kind():
    assert len(MUTANTS) >= 16, MUTANTS
    gates = [importlib.import_module(f"tests.impls.broken.{name}").GATE for name in MUTANTS]
    caught_on = {gate["quantity"] for gate in gates} | {q for gate in gates for q in gate.get("also", ())}
    kinds = {"output", "indices", "grad_input", "grad_weight", "grad_bias", "gradients", "rejection", "input",
             "grad_grad_output", "grad2_input", "grad2_weight"}  # the last three at order 2
    assert kinds <= caught_on, kinds - caught_on


@pytest.mark.parametrize("name", MUTANTS)
def test_the_harness_catches_the_mutant_for_its_bug(name):
    assert_caught(name, importlib.import_module(f"tests.impls.broken.{name}"))


# --- (b) the correct torch-backed implementation passes everything ---------------------------

@pytest.mark.parametrize("op", list(OPS))
def test_the_torch_backed_impl_passes_every_default_case(op):
    cases = crosscheck.cases_for("default", ops=[op])
    failures, outcomes = _failures(torch_backed, cases)
    assert not failures, f"{len(failures)} of {len(cases)} failed:\n" + "\n".join(describe(o) for o in failures[:10])
    assert all(o.status == "passed" for o in outcomes)
    # the cases written to be rejected are rejected by torch, so the rejection path was exercised
    accepted = [o.case.key for o in outcomes if o.case.invalid and not o.rejected]
    assert not accepted, f"torch accepts cases written to be rejected: {accepted}"


@pytest.mark.parametrize(
    "bad",
    [[[1.0, 2.0]], np.ones((1, 2, 5), np.float16), np.ones((1, 2, 5), np.int64), np.ones((1, 2, 5), bool)],
    ids=["list", "float16", "int64", "bool"],
)
def test_the_torch_backed_impl_refuses_non_float_arrays(bad):
    weight = np.ones((1, 2, 2))
    with pytest.raises(TypeError, match="input"):
        torch_backed.conv1d(bad, weight)
    with pytest.raises(TypeError, match="input"):
        torch_backed.pad(bad, (1, 1))
    with pytest.raises(TypeError, match="weight"):
        torch_backed.conv1d(np.ones((1, 2, 5)), bad)


def test_the_torch_backed_impl_takes_integer_class_targets_only_for_cross_entropy():
    x, t = np.zeros((2, 3)), np.array([0, 2])
    loss = torch_backed.cross_entropy(x, t)
    assert loss.shape == () and loss.dtype == np.float64 and np.isclose(loss, np.log(3))
    grad_input, grad_target = torch_backed.cross_entropy_backward(np.array(1.0), x, t)
    assert grad_input.shape == x.shape and grad_target is None
    with pytest.raises(TypeError, match="target"):
        torch_backed.cross_entropy(x, t.astype(np.float64))  # class probabilities: not in the contract
    with pytest.raises(TypeError, match="target"):
        torch_backed.mse_loss(x, t)  # mse_loss's target is a float array
    with pytest.raises(TypeError, match="float32"):
        torch_backed.mse_loss(x, x.astype(np.float32))  # torch would promote; the contract refuses


def test_the_torch_backed_max_pool_returns_int64_indices_and_a_one_entry_gradient():
    x = np.arange(10.0, dtype=np.float32).reshape(1, 1, 10)
    output, indices = torch_backed.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
    assert output.dtype == np.float32 and indices.dtype == np.int64
    assert indices.tolist() == [[[1, 3, 5, 7, 9]]]  # offsets into the unpadded plane
    grads = torch_backed.max_pool1d_backward(np.ones_like(output), x, 3, stride=2, padding=1, return_indices=True)
    assert isinstance(grads, tuple) and len(grads) == 1 and grads[0].shape == x.shape


def test_the_torch_backed_impl_quotes_torch_and_the_arguments_when_torch_refuses():
    x, w = np.ones((1, 3, 5, 5)), np.ones((2, 3, 2, 2))
    with pytest.raises(ValueError) as info:
        torch_backed.conv2d(x, w, stride=0)
    message = str(info.value)
    assert "non-positive stride" in message  # torch's words
    assert "stride=0" in message and "shape=(1, 3, 5, 5)" in message  # the call's arguments


def test_the_torch_backed_backward_returns_a_tuple_with_none_for_no_bias():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 6)).astype(np.float32), rng.standard_normal((3, 2, 3)).astype(np.float32)
    grads = torch_backed.conv1d_backward(np.ones((1, 3, 4), np.float32), x, w)
    assert isinstance(grads, tuple) and len(grads) == 3 and grads[2] is None
    assert grads[0].dtype == grads[1].dtype == np.float32


# --- (c) the float64 tolerance is tight but sane ----------------------------------------------

def _perturbed(quantity, change):
    """torch_backed with ``change`` applied to one quantity of every conv call (float64)."""
    position = {"grad_input": 0, "grad_weight": 1, "grad_bias": 2}.get(quantity)

    def family(dims):
        forward, backward = getattr(torch_backed, f"conv{dims}d"), getattr(torch_backed, f"conv{dims}d_backward")

        def conv(*args, **kwargs):
            out = forward(*args, **kwargs)
            return change(out) if quantity == "output" else out

        def conv_backward(*args, **kwargs):
            grads = list(backward(*args, **kwargs))
            if position is not None and grads[position] is not None:
                grads[position] = change(grads[position])
            return tuple(grads)

        return {f"conv{dims}d": conv, f"conv{dims}d_backward": conv_backward}

    return SimpleNamespace(**family(1), **family(2), **family(3))


def _one_ulp(a):
    return np.where(a != 0, np.nextafter(a, np.inf), a)  # exact zeros (no terms) stay exact


def _relative(a):
    return a * (1 + 1e-6)


TOLERANCE_CASES = [
    c for c in crosscheck.cases_for("quick", ops=["conv1d", "conv2d", "conv3d"], dtypes=["float64"]) if not c.invalid
]
QUANTITIES = ["output", "grad_input", "grad_weight", "grad_bias"]


@pytest.mark.parametrize("quantity", QUANTITIES)
def test_a_relative_error_of_1e6_fails(quantity):
    failures, outcomes = _failures(_perturbed(quantity, _relative), TOLERANCE_CASES)
    assert failures
    assert all(o.failure.quantity == quantity for o in failures), [describe(o) for o in failures[:5]]
    # a case may pass only if the perturbation changed nothing (an empty or all-zero quantity)
    missed = [o.case.key for o in outcomes if o.status == "passed" and o.errors.get(quantity, 0.0) > 0]
    assert not missed, f"a relative error of 1e-6 on {quantity} passed: {missed[:5]}"


@pytest.mark.parametrize("quantity", QUANTITIES)
def test_an_error_of_1_ulp_passes(quantity):
    failures, outcomes = _failures(_perturbed(quantity, _one_ulp), TOLERANCE_CASES)
    assert not failures, "\n".join(describe(o) for o in failures[:10])
    assert any(o.errors.get(quantity, 0.0) > 0 for o in outcomes), "the perturbation changed nothing"


# --- (d) the CLI's exit status ----------------------------------------------------------------

def _cli(*args, pythonpath=None):
    env = {k: v for k, v in os.environ.items() if k != "CROSSCHECK_IMPL"}
    if pythonpath is not None:  # a module written by the test, importable beside the checkout's
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "crosscheck", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_exits_0_for_the_torch_backed_impl():
    run = _cli("--impl", "tests.impls.torch_backed", "--profile", "quick")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


# One mutant through the CLI: that every mutant is caught is (a) above, in-process; what the
# CLI adds is the exit status, the same for any of them (each run costs a Python start and
# torch's import, about 5 s).
@pytest.mark.parametrize("name, ops", [("grad_weight_first_sample", "conv1d,conv3d")])
def test_cli_exits_1_for_a_mutant(name, ops):
    mutant = importlib.import_module(f"tests.impls.broken.{name}")
    run = _cli("--impl", f"tests.impls.broken.{name}", "--profile", "quick", "--ops", ops, "-x")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert mutant.GATE["quantity"] in run.stdout, run.stdout[-3000:]


@pytest.mark.parametrize("op", list(OPS))
def test_the_torch_backed_impl_passes_every_quick_case_at_order_2(op):
    """Both orders' bounds hold torch's own float32 and float64 arithmetic."""
    failures, outcomes = _failures(torch_backed, crosscheck.cases_for("quick", ops=[op]), crosscheck.Checks(order=2))
    assert not failures, "\n".join(describe(o) for o in failures[:10])
    assert all(o.status == "passed" for o in outcomes)


def test_cli_order_2_exits_0_for_the_reference_and_1_for_a_second_order_mutant(tmp_path):
    # every op at order 2 is held in-process (test_second_order.py, and the suite under make test);
    # the CLI's part is the switch, the header, the columns and the exit status
    report = tmp_path / "report.json"
    run = _cli("--impl", "reference.functional", "--profile", "quick", "--ops", "conv2d,softmax", "--order", "2",
               "--json", str(report))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "order 2 (double backward)" in run.stdout and "grad2_input" in run.stdout  # the summary's columns
    document = json.loads(report.read_text())
    assert document["order"] == 2 and all("grad_grad_output" in c["errors"] for c in document["cases"]
                                          if c["status"] == "passed" and c["errors"])
    name = "second_order_softmax_drops_cross_term"
    run = _cli("--impl", f"tests.impls.broken.{name}", "--profile", "quick", "--ops", "softmax", "--order", "2", "-x")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "grad2_input" in run.stdout and "softmax_double_backward(grad_grads, grad" in run.stdout  # its reproduction
    mutant = importlib.import_module(f"tests.impls.broken.{name}")
    first = [crosscheck.run_case(mutant, case, SEED) for case in crosscheck.cases_for("quick", ops=["softmax"])]
    assert all(o.status == "passed" for o in first)  # the same bug is invisible to a first-order run


def test_cli_order_2_skips_an_op_without_double_backward(tmp_path):
    (tmp_path / "first_only.py").write_text("from reference.functional import relu, relu_backward\n")
    run = _cli("--impl", "first_only", "--profile", "quick", "--ops", "relu", "--order", "2", pythonpath=tmp_path)
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    assert "relu_double_backward missing" in run.stderr


def test_cli_exits_2_when_the_impl_cannot_be_imported():
    run = _cli("--impl", "no.such.module", "--profile", "quick")
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    assert "no.such.module" in run.stderr
