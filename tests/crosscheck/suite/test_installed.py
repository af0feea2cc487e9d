"""A downstream project's view: an empty folder, the installed package, its own module.

The folder holds nothing of this repository: a copy of the torch-backed implementation
(a correct one) and a module with one bug. ``pytest --pyargs crosscheck.suite`` run there
must pass the first and fail the second, table cases and fuzzing alike.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

BROKEN = '''"""conv2d adds 1e-3 to every output entry; everything else is torch's."""
from gate_ok import *  # noqa: F401,F403
import gate_ok


def conv2d(*args, **kwargs):
    return gate_ok.conv2d(*args, **kwargs) + 1e-3
'''


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    folder = tmp_path_factory.mktemp("downstream")
    shutil.copy(ROOT / "tests" / "impls" / "torch_backed.py", folder / "gate_ok.py")
    (folder / "gate_bad.py").write_text(BROKEN)
    return folder


def _run(folder, impl):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(folder), "HOME": str(folder)}
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "crosscheck.suite", "--impl", impl,
                           "--profile", "quick", "--ops", "conv2d,relu", "--fuzz-ci", "--max-examples", "20",
                           "-p", "no:cacheprovider"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def test_a_correct_implementation_passes(downstream):
    result = _run(downstream, "gate_ok")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "impl=gate_ok" in result.stdout and " passed" in result.stdout and "failed" not in result.stdout


def test_a_broken_implementation_fails(downstream):
    result = _run(downstream, "gate_bad")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "FAILED" in result.stdout and "conv2d" in result.stdout
    assert "test_drawn_calls_agree_with_torch[conv2d]" in result.stdout  # the fuzzing catches it too
    assert "test_drawn_calls_agree_with_torch[relu]" not in result.stdout.split("short test summary")[-1]
