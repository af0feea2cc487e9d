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


def test_the_framework_timings_and_the_ecosystem_page_run(tmp_path):
    """On relu alone: both scripts run, the timing table has every subject, and the page has
    its table, a failure group with its verdict, and a reproduction that runs as printed."""
    timings = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "frameworks.py"), "--ops", "relu"],
                             capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert timings.returncode == 0, timings.stderr[-3000:]
    assert timings.stdout.count("\n| `") == 7 and "`jax-jit`" in timings.stdout and "numpy_ml_ops" in timings.stdout
    page, kept = tmp_path / "ecosystem.md", tmp_path / "outcomes.pickle"
    script = [sys.executable, str(ROOT / "examples" / "ecosystem.py"), "--keep", str(kept)]
    made = subprocess.run(script + ["--profile", "quick", "--ops", "relu", "--out", str(page)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert made.returncode == 0, made.stderr[-3000:]
    text = page.read_text()
    assert "| JAX | 0.10.2 | `jax` |" in text and "| MyGrad | 2.5.0 |" in text and "| numpy-ml | 0.1.2 | `numpy` |" in text
    # tinygrad's CPU device needs clang: gated where there is one, and said so where there is none
    assert "| tinygrad | 0.14.0 |" in text or "| tinygrad | | | | not gated: its CPU device compiles" in text
    assert "**`relu`, output: 2 cases, bug.** relu(-inf) is NaN" in text
    replayed = subprocess.run(script + ["--replay", "--out", str(tmp_path / "again.md")],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert replayed.returncode == 0 and (tmp_path / "again.md").read_text() == text, replayed.stderr[-2000:]
    unknown = subprocess.run(script + ["--libraries", "JAX,torch"], capture_output=True, text=True, timeout=300,
                             cwd=ROOT)
    assert unknown.returncode == 2 and "--libraries: unknown 'torch'; choose from JAX, MyGrad" in unknown.stderr
    snippet = text.split("```py\n", 1)[1].split("```", 1)[0]
    ran = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert ran.returncode == 0 and "status='failed'" in ran.stdout, ran.stderr[-2000:]
