"""docs/examples/minimal_conv2d.py, the contract's example module, passes the gate as the
contract says, and the gate fails it once a bug is planted.

The module is run through the CLI exactly as docs/contract.md shows it: every ``conv2d``
case of the default profile, in both dtypes, must pass. Each planted bug is a one-line edit
of a copy of the module; the edit must apply exactly once, so a rewrite of the module that
removes the line fails here instead of testing nothing.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import crosscheck

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "minimal_conv2d.py"


def run_cli(module_dir, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(module_dir), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "crosscheck", "--impl", "minimal_conv2d",
                           "--ops", "conv2d", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_the_example_passes_every_conv2d_case_of_the_default_profile(tmp_path):
    report = tmp_path / "report.json"
    result = run_cli(EXAMPLE.parent, "--json", str(report))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    document = json.loads(report.read_text())
    # the keys docs/contract.md names, exactly
    assert set(document) == {"impl", "framework", "checks_off", "order", "torch_version", "numpy_version", "cases",
                             "summary", "ops"}
    assert all(set(c) == {"op", "id", "dtype", "status", "errors"} for c in document["cases"])
    expected = crosscheck.cases_for("default", ops=["conv2d"])
    assert len(expected) > 0
    assert [(c["id"], c["dtype"]) for c in document["cases"]] == [(c.id, c.dtype) for c in expected]
    assert {c["status"] for c in document["cases"]} == {"passed"}
    assert {c["dtype"] for c in document["cases"]} == {"float32", "float64"}
    assert document["summary"] == {"total": len(expected), "passed": len(expected),
                                   "failed": 0, "skipped": 0, "unsupported": 0, "crashed": 0, "timed_out": 0}


BUGS = {
    # the textbook convolution: the kernel rotated by 180 degrees in the forward
    "flipped-kernel": (
        'y += np.einsum("ngcij,goc->ngoij", xg[..., rows, cols], wg[..., p, q])',
        'y += np.einsum("ngcij,goc->ngoij", xg[..., rows, cols], wg[..., -1 - p, -1 - q])',
    ),
    # 'same' with an even kernel: the odd row or column of padding at the start
    "same-odd-padding-first": (
        "return tuple((t // 2, t - t // 2) for t in total)",
        "return tuple((t - t // 2, t // 2) for t in total)",
    ),
    # the bias gradient of the first sample only
    "bias-gradient-of-one-sample": (
        "gy.sum(axis=(0, 2, 3))",
        "gy[:1].sum(axis=(0, 2, 3))",
    ),
    # 'same' with a stride accepted, where torch refuses it
    "same-with-stride-accepted": (
        "if stride != (1, 1):",
        "if False:",
    ),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_gate_fails_the_example_with_a_planted_bug(bug, tmp_path):
    correct, broken = BUGS[bug]
    source = EXAMPLE.read_text(encoding="utf-8")
    assert source.count(correct) == 1, f"the line {bug} edits is no longer in the example"
    (tmp_path / "minimal_conv2d.py").write_text(source.replace(correct, broken), encoding="utf-8")
    result = run_cli(tmp_path, "-x")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "FAILED conv2d " in result.stdout
