"""The benchmark still runs: its smoke mode on tiny shapes (timings are never asserted; they
are measured by `make bench` and reported, see benchmarks/README.md)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_layers_smoke_runs_and_prints_the_table():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_layers.py"), "--smoke"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("BLAS ")  # the header names NumPy's BLAS and its kernel
    assert "| case | dtype | ref ms | torch ms | ratio |" in result.stdout
    assert "geometric mean" in result.stdout
