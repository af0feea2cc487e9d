"""``python -m crosscheck`` as a user meets it: exit codes, the failure template, the JSON
report, the environment variable, and ops an implementation lacks."""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

FLIPPED = """
import numpy as np
from reference.functional import *  # noqa: F401,F403 -- everything correct but conv1d
import reference.functional as _ref


def conv1d(input, weight, bias=None, **kwargs):
    return _ref.conv1d(input, np.ascontiguousarray(weight[..., ::-1]), bias, **kwargs)
"""

PAD_ONLY = """
from reference.functional import pad, pad_backward  # noqa: F401
"""


def crosscheck(*args, tmp_path, env=None):
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), **(env or {}))
    environ.pop("CROSSCHECK_IMPL", None) if env is None else None
    return subprocess.run(
        [sys.executable, "-m", "crosscheck", *args], cwd=tmp_path, env=environ, capture_output=True, text=True,
        timeout=300,
    )


@pytest.fixture
def impls(tmp_path):
    (tmp_path / "flipped_conv1d.py").write_text(FLIPPED)
    (tmp_path / "pad_only.py").write_text(PAD_ONLY)
    return tmp_path


def test_a_correct_impl_exits_0_with_a_summary_and_json(impls):
    report = impls / "report.json"
    result = crosscheck("--profile", "quick", "--ops", "conv2d,pad", "--json", str(report), tmp_path=impls)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed, 0 failed" in result.stdout
    doc = json.loads(report.read_text())
    assert set(doc) == {"impl", "framework", "checks_off", "order", "torch_version", "numpy_version", "cases", "summary",
                        "ops"}
    assert doc["impl"] == "reference.functional" and doc["framework"] == "numpy" and doc["checks_off"] == []
    assert doc["order"] == 1
    assert {c["op"] for c in doc["cases"]} == {"conv2d", "pad"}
    assert {c["dtype"] for c in doc["cases"]} == {"float32", "float64"}
    assert doc["summary"]["total"] == len(doc["cases"]) == doc["summary"]["passed"]
    assert set(doc["ops"]) == {"conv2d", "pad"}
    assert sum(counts["passed"] for counts in doc["ops"].values()) == doc["summary"]["passed"]
    compared = [c for c in doc["cases"] if c["errors"]]
    assert compared and all(set(c["errors"]) <= {"output", "grad_input", "grad_weight", "grad_bias"} for c in compared)
    assert not result.stderr  # no progress bar when stderr is not a terminal


def test_a_disagreement_exits_1_and_prints_the_failure_template(impls):
    report = impls / "report.json"
    result = crosscheck("--impl", "flipped_conv1d", "--profile", "quick", "--ops", "conv1d", "--dtype", "float64",
                        "--json", str(report), tmp_path=impls)
    assert result.returncode == 1
    out = result.stdout
    assert "FAILED conv1d conv1d-" in out and ": output: " in out
    assert "largest error" in out and "tolerance" in out and "configuration: op=conv1d" in out
    doc = json.loads(report.read_text())
    assert doc["summary"]["failed"] > 0 and doc["summary"]["failed"] == out.count("FAILED conv1d")

    # the reproduction snippet runs as printed and shows the disagreement
    block = out[out.index("  reproduce:"):].splitlines()[1:]
    first = [line for line in block[: next(i for i, line in enumerate(block) if not line.startswith("    "))]]
    snippet = textwrap.dedent("\n".join(first)) + "\nimport numpy as np\nprint(np.abs(out - torch_out).max())\n"
    ran = subprocess.run([sys.executable, "-c", snippet], cwd=impls, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(impls), str(ROOT)])))
    assert ran.returncode == 0, ran.stderr
    assert float(ran.stdout) > 1e-6


def test_exitfirst_stops_at_the_first_failure(impls):
    result = crosscheck("--impl", "flipped_conv1d", "--profile", "quick", "--ops", "conv1d", "-x", tmp_path=impls)
    assert result.returncode == 1
    assert result.stdout.count("FAILED ") == 1


def test_missing_ops_are_skipped_and_reported(impls):
    result = crosscheck("--impl", "pad_only", "--profile", "quick", "--ops", "conv3d,pad", tmp_path=impls)
    assert result.returncode == 0, result.stdout
    assert "conv3d: not implemented by pad_only, skipped" in result.stdout
    assert " 0 failed" in result.stdout and " skipped" in result.stdout


def test_a_missing_backward_is_named_with_what_to_do(impls):
    (impls / "forward_only.py").write_text("from reference.functional import relu, tanh, tanh_backward  # noqa: F401\n")
    result = crosscheck("--impl", "forward_only", "--profile", "quick", "--ops", "relu", tmp_path=impls)
    assert result.returncode == 2
    assert "relu found, relu_backward missing: add it, or use --forward-only" in result.stderr
    result = crosscheck("--impl", "forward_only", "--profile", "quick", "--ops", "relu,tanh", tmp_path=impls)
    assert result.returncode == 0 and "relu: relu found, relu_backward missing" in result.stdout
    report = impls / "forward.json"
    result = crosscheck("--impl", "forward_only", "--profile", "quick", "--ops", "relu", "--forward-only",
                        "--no-dtype", "--json", str(report), tmp_path=impls)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks off: dtype, backward" in result.stdout
    doc = json.loads(report.read_text())
    assert doc["checks_off"] == ["dtype", "backward"] and doc["summary"]["passed"] == doc["summary"]["total"]
    assert all(set(c["errors"]) <= {"output"} for c in doc["cases"])


def test_declared_support_is_counted_apart(impls):
    (impls / "no_dilation.py").write_text(
        "from reference.functional import conv1d, conv1d_backward  # noqa: F401\n"
        "CROSSCHECK_SUPPORT = {'conv1d': {'dilation': [1]}}\n")
    report = impls / "support.json"
    result = crosscheck("--impl", "no_dilation", "--profile", "quick", "--ops", "conv1d", "--json", str(report),
                        tmp_path=impls)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(report.read_text())
    unsupported = [c for c in doc["cases"] if c["status"] == "unsupported"]
    assert unsupported and all("dilation=" in c["note"] for c in unsupported)
    assert doc["summary"]["unsupported"] == len(unsupported) == doc["ops"]["conv1d"]["unsupported"]
    assert f"{len(unsupported)} unsupported" in result.stdout and "unsupported" in result.stdout.splitlines()[2]


def test_an_abort_leaves_a_report_of_every_other_case(impls):
    report = impls / "crash.json"
    result = crosscheck("--impl", "tests.impls.crashing", "--profile", "quick", "--ops", "conv1d", "--json",
                        str(report), tmp_path=impls)
    assert result.returncode == 1
    assert "CRASHED conv1d conv1d-k4-s2-p2-d2-g3-x4x6x11-o12[float64]: the process running the case killed by " \
           "signal 6 (SIGABRT)" in result.stdout
    assert "reproduce:" in result.stdout
    doc = json.loads(report.read_text())
    assert doc["summary"]["crashed"] == 2 and doc["summary"]["passed"] == doc["summary"]["total"] - 2


def test_a_case_past_the_memory_limit_is_crashed(impls):
    """Every tanh case of tests.impls.crashing reserves 4 GiB: each is crashed, in a new worker,
    and relu's cases around them pass."""
    result = crosscheck("--impl", "tests.impls.crashing", "--profile", "quick", "--ops", "relu,tanh", "--dtype",
                        "float64", "--memory-limit", "2048", tmp_path=impls)
    assert result.returncode == 1
    assert re.search(r"CRASHED tanh \S+: exhausted the memory limit of 2048 MiB", result.stdout), result.stdout[-2000:]
    assert "8 passed, 0 failed, 0 skipped, 8 crashed" in result.stdout, result.stdout[-1000:]


@pytest.mark.parametrize("args, message", [(["--memory-limit", "0"], "must be a positive whole number of MiB"),
                                           (["--memory-limit", "512", "--no-isolate"], "cannot be used with --no-isolate")])
def test_a_bad_memory_limit_is_a_usage_error(impls, args, message):
    result = crosscheck("--ops", "relu", "--profile", "quick", *args, tmp_path=impls)
    assert result.returncode == 2 and message in result.stderr


def test_torch_nn_functional_through_the_torch_framework(impls):
    result = crosscheck("--framework", "torch", "--impl", "torch.nn.functional", "--profile", "quick",
                        "--ops", "conv2d,max_pool1d,cross_entropy", tmp_path=impls)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "torch.nn.functional (torch 2." in result.stdout and " 0 failed" in result.stdout


def test_help_lists_ops_profiles_and_exit_codes(impls):
    result = crosscheck("--help", tmp_path=impls)
    assert result.returncode == 0
    text = result.stdout
    assert "ops: conv1d, conv2d," in text and "cross_entropy" in text
    counts = {p: len(__import__("crosscheck").cases_for(p)) for p in ("quick", "default", "full")}
    assert f"quick {counts['quick']:,}, default {counts['default']:,}, full {counts['full']:,}" in text
    assert "exit status: 0" in text and "--forward-only" in text and "(default: 60)" in text


def test_the_environment_names_the_impl(impls):
    result = crosscheck("--profile", "quick", "--ops", "conv1d", tmp_path=impls,
                        env={"CROSSCHECK_IMPL": "flipped_conv1d"})
    assert result.returncode == 1
    assert "flipped_conv1d against torch" in result.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["--impl", "no.such.module"], "cannot import --impl no.such.module"),
        (["--impl", "pad_only", "--ops", "conv2d"], "implements none of the ops"),
        (["--framework", "tensorflow"], "--framework 'tensorflow' is neither"),
        (["--framework", "torch", "--device", "tpu9"], "--device 'tpu9'"),
        (["--timeout", "0"], "must be a positive number of seconds"),
        (["--ops", "conv4d"], "unknown op"),
        (["--dtype", "float16"], "unknown dtype"),
        (["--profile", "huge"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(impls, args, says):
    result = crosscheck(*args, tmp_path=impls)
    assert result.returncode == 2
    assert says in result.stderr
