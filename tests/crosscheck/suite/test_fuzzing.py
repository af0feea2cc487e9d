"""The fuzzing finds what the grid misses; the reference names what it rejects; known
deviations are honoured and reported.

* ``tests/impls/fuzz_only/conv1d_chunk_offset.py`` passes every case of the default and full
  profiles, and the suite's fuzz test, derandomised, finds it, shrinks it to the smallest
  call that shows it (stride 2, 9 output positions, one sample, one channel, kernel 1) and
  prints the case and a reproduction snippet.
* Every call drawn by :func:`crosscheck.cases.rejections.rejected_calls` is rejected by the
  reference with a message that names the argument the rule is about.
* ``--known-deviations``: a matching case becomes an expected failure; a pattern that
  matches nothing is listed at the end; a malformed file is a usage error.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import crosscheck
from crosscheck.cases import rejections
from crosscheck.checking.compare import REJECTIONS
from crosscheck.oracle import torch_rejection
from reference import functional as R
from tests.impls.fuzz_only import conv1d_chunk_offset

ROOT = Path(__file__).resolve().parents[3]
MUTANT = "tests.impls.fuzz_only.conv1d_chunk_offset"


def _suite(tmp_path, *args):
    """Run the installed conformance suite from an unrelated folder, as a downstream project does."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "crosscheck.suite", "-p", "no:cacheprovider",
                           "-q", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def _failures(out, message):
    """The dtypes of the failed cases whose failure section says `message`. The failure sections,
    not the short summary: pytest prints a summary line's message whole on CI (the CI variable
    set) and cuts it at the terminal's width elsewhere, so counting the text would count twice."""
    pattern = rf"^E\s+AssertionError: {re.escape(message)}\S*\[(float\d+)\]"
    return sorted(re.findall(pattern, out, re.M))


@pytest.mark.parametrize("profile", ["default", "full"])
def test_the_grid_misses_the_planted_bug(profile):
    cases = crosscheck.cases_for(profile, ops=["conv1d"])
    failed = [c.key for c in cases if crosscheck.run_case(conv1d_chunk_offset, c).status != "passed"]
    assert cases and not failed


def test_fuzzing_finds_shrinks_and_reports_the_planted_bug(tmp_path):
    result = _suite(tmp_path, "-m", "fuzz", "--impl", MUTANT, "--ops", "conv1d", "--fuzz-ci", "--max-examples", "50")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    assert "1 failed" in out and "test_drawn_calls_agree_with_torch[conv1d]" in out
    shrunk = re.search(r"FAILED conv1d (conv1d-\S+)\[float(32|64)\]: output", out)
    assert shrunk, out[-3000:]
    # The smallest call that shows the bug: kernel 1, stride 2, 17 inputs (9 outputs), one sample
    # and one channel, no bias; hypothesis prints it as the labelled draw.
    assert re.fullmatch(r"conv1d-k1-s\(?2\)?-p(\(?0\)?|valid)-d\(?1\)?-x1x1x17-o1-nobias", shrunk.group(1)), shrunk.group(1)
    assert "Draw 1 (case): Case(op='conv1d'" in out
    assert "reproduce:" in out and f"importlib.import_module('{MUTANT}')" in out


def test_the_reference_passes_the_same_search(tmp_path):
    result = _suite(tmp_path, "-m", "fuzz", "--ops", "conv1d", "--fuzz-ci", "--max-examples", "50")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=rejections.rejected_calls())
def test_the_reference_rejects_drawn_calls_naming_the_argument(case):
    arrays = case.arrays(0)
    assert torch_rejection(case.op, arrays, case.kwargs) is not None, f"{case.id}: torch accepts it"
    with pytest.raises(REJECTIONS) as info:
        getattr(R, case.op)(*arrays, **case.kwargs)
    message = str(info.value)
    assert case.blame in message, f"{case.id}: {case.blame!r} not named in: {message}"


def test_known_deviations_expected_failures_and_unmatched_patterns(tmp_path):
    known = tmp_path / "known.txt"
    known.write_text("# pattern: reason\n"
                     "conv1d: this implementation chunks strided outputs wrongly (a planted bug)\n"
                     "pad-*-never-a-case: matches nothing\n")
    result = _suite(tmp_path, "--impl", MUTANT, "--ops", "conv1d", "--profile", "quick", "-k", "agrees",
                    f"--known-deviations={known}", "-rxX")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(r"\d+ xpassed", out) and "known deviation: this implementation chunks" in out
    assert "known deviations that matched no case" in out and "pad-*-never-a-case: matches nothing" in out
    assert "conv1d: this implementation" not in out.split("matched no case")[1]


def test_a_malformed_known_deviations_file_is_a_usage_error(tmp_path):
    known = tmp_path / "known.txt"
    known.write_text("conv2d without a reason\n")
    result = _suite(tmp_path, "--ops", "relu", "--profile", "quick", f"--known-deviations={known}")
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    assert "expected 'pattern: reason'" in result.stdout + result.stderr


def test_a_call_torch_takes_only_in_float32_is_reported_not_raised():
    """The soak found it: the float64 truth of a call torch accepts in float32 may be refused;
    run_case reports that as the case's failure instead of letting torch's error escape."""
    from crosscheck.cases.builders import conv_transpose_case
    from tests.impls import torch_backed

    case = conv_transpose_case(1, (2, 1, 1), (1, 1, 1), bias=False, dilation=0, dtype="float32")
    outcome = crosscheck.run_case(torch_backed, case)
    assert outcome.status == "failed" and "refuses it in float64" in outcome.failure.reason


def test_the_suite_gates_torch_code_through_the_torch_framework(tmp_path):
    """The plugin's --framework: torch.nn.functional passes, a torch-native mutant fails, and
    declared support is reported as skipped with the reason "unsupported"."""
    passed = _suite(tmp_path, "--framework", "torch", "--impl", "torch.nn.functional", "--ops", "conv2d,pad",
                    "--profile", "quick", "-k", "agrees")
    assert passed.returncode == 0, (passed.stdout + passed.stderr)[-3000:]
    failed = _suite(tmp_path, "--impl", "tests.impls.torch_native.kernel_flip", "--ops", "conv2d", "--profile",
                    "quick", "-k", "agrees", "--checks-off", "rejection,aliasing")
    assert failed.returncode == 1 and "FAILED conv2d" in failed.stdout, failed.stdout[-3000:]
    (tmp_path / "no_groups.py").write_text("from reference.functional import conv2d, conv2d_backward  # noqa: F401\n"
                                           "CROSSCHECK_SUPPORT = {'conv2d': {'groups': [1]}}\n")
    env_path = f"{tmp_path}{os.pathsep}{ROOT}"
    declared = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "crosscheck.suite", "-p", "no:cacheprovider",
                               "-q", "-rs", "--impl", "no_groups", "--ops", "conv2d", "--profile", "quick", "-k",
                               "agrees"], cwd=tmp_path, env=dict(os.environ, PYTHONPATH=env_path),
                              capture_output=True, text=True, timeout=600)
    assert declared.returncode == 0, declared.stdout[-3000:]
    assert "unsupported by no_groups: declared unsupported: groups=" in declared.stdout


def test_unknown_checks_off_is_a_usage_error(tmp_path):
    result = _suite(tmp_path, "--ops", "relu", "--profile", "quick", "--checks-off", "values")
    assert result.returncode == 4 and "--checks-off: unknown ['values']" in result.stdout + result.stderr


def test_under_xdist_an_abort_fails_its_case_only(tmp_path):
    """The plugin under -n: xdist replaces the worker a case brought down, reports that case as
    failed and runs the rest."""
    result = _suite(tmp_path, "--impl", "tests.impls.crashing", "--ops", "conv1d", "--profile", "quick", "-k",
                    "agrees", "-n", "2")
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    assert "crashed while running 'test_conformance.py::test_agrees_with_torch[conv1d-k4-s2-p2-d2-g3-x4x6x11" in out
    assert re.search(r"2 failed, 34 passed", out), out[-1000:]


def test_with_a_timeout_an_abort_and_a_hang_fail_their_cases_only(tmp_path):
    """--crosscheck-timeout: the table cases run in a worker process, so the aborting conv1d
    cases fail as crashed, the hanging sigmoid ones as timed out, each with its reproduction,
    and every other case is checked; no pytest process goes down."""
    result = _suite(tmp_path, "--impl", "tests.impls.crashing", "--ops", "conv1d,sigmoid", "--profile", "quick",
                    "-k", "agrees and (conv1d or x2x3x4)", "--crosscheck-timeout", "5")
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    assert _failures(out, "CRASHED conv1d conv1d-k4-s2-p2-d2-g3-x4x6x11") == ["float32", "float64"], out[-3000:]
    assert "the process running the case killed by signal 6 (SIGABRT)" in out
    assert re.search(r"TIMED OUT sigmoid \S+x2x3x4\S*: .*5", out), out[-3000:]
    assert "reproduce:" in out and "crashed while running" not in out
    assert re.search(r"4 failed, 34 passed", out), out[-1000:]


def test_a_timeout_that_is_not_positive_is_a_usage_error(tmp_path):
    result = _suite(tmp_path, "--ops", "relu", "--profile", "quick", "--crosscheck-timeout", "0")
    assert result.returncode == 4 and "--crosscheck-timeout must be positive" in result.stdout + result.stderr


def test_with_a_memory_limit_a_case_past_it_fails_as_crashed(tmp_path):
    """tanh of tests.impls.crashing reserves 4 GiB: under a 2 GiB cap its cases fail as crashed
    (both dtypes of one id here), and relu's pass beside them."""
    result = _suite(tmp_path, "--impl", "tests.impls.crashing", "--ops", "relu,tanh", "--profile", "quick",
                    "-k", "agrees and x2x3x4", "--crosscheck-timeout", "60", "--crosscheck-memory-limit", "2048")
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    assert _failures(out, "CRASHED tanh tanh-x2x3x4-3d") == ["float32", "float64"], out[-3000:]
    assert "exhausted the memory limit of 2048 MiB" in out
    assert re.search(r"2 failed, 2 passed", out), out[-1000:]


def test_a_memory_limit_without_a_timeout_is_a_usage_error(tmp_path):
    result = _suite(tmp_path, "--ops", "relu", "--profile", "quick", "--crosscheck-memory-limit", "2048")
    assert result.returncode == 4 and "with --crosscheck-timeout" in result.stdout + result.stderr
