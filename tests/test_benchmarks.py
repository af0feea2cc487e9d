"""The benchmark still runs: its smoke mode on tiny shapes (timings are never asserted; they
are measured by `make bench` and reported, see benchmarks/README.md)."""
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_layers  # noqa: E402
import bench_networks as networks  # noqa: E402

NETS = (networks.resnet50, networks.mobilenet_v2)


def test_bench_layers_smoke_runs_and_prints_the_table():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_layers.py"), "--smoke"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("BLAS ")  # the header names NumPy's BLAS and its kernel
    assert "| case | dtype | ref ms | torch ms | ratio | ref GFLOP/s | torch GFLOP/s | ref % of GEMM |" in result.stdout
    assert "OPENBLAS_CORETYPE=" in result.stdout and "OPENBLAS_L2_SIZE=" in result.stdout
    assert "SGEMM " in result.stdout and "DGEMM " in result.stdout
    assert "geometric mean" in result.stdout


def test_unset_openblas_env_runs_the_benchmark_without_the_pins():
    """--unset-openblas-env reruns the script with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed,
    for its own process: set here, they are reported unset."""
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OPENBLAS_L2_SIZE="262144")
    script = [sys.executable, str(ROOT / "benchmarks" / "bench_layers.py"), "--smoke", "--cases", "conv1d"]
    pinned = subprocess.run(script, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert pinned.returncode == 0, pinned.stderr
    assert "OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE=262144," in pinned.stdout
    unset = subprocess.run(script + ["--unset-openblas-env"], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert unset.returncode == 0, unset.stderr
    assert "OPENBLAS_CORETYPE=None, OPENBLAS_L2_SIZE=None (unset for this process by --unset-openblas-env)" in unset.stdout


def test_flops_of_a_row_count_the_products_independently():
    """The flop count of a row against a count of the products by torch's output shape: the
    forward's multiply-adds are the output's entries times C/G·|k|, three passes, two flops each."""
    case = next(c for c in bench_layers.CASES if c.name == "stem")
    x, w = (torch.zeros(s) for s in case.shapes[:2])
    out = torch.nn.functional.conv2d(x, w, **case.kwargs)
    assert bench_layers.flops(case) == 6 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
    up = next(c for c in bench_layers.CASES if c.name == "upsample")
    x, w = torch.zeros(up.shapes[0]), torch.zeros(up.shapes[1])
    # a transposed convolution: each input entry meets C_out/G·|k| kernel taps
    assert bench_layers.flops(up) == 6 * x.numel() * w.shape[1] * w.shape[2] * w.shape[3]
    assert bench_layers.flops(next(c for c in bench_layers.CASES if c.name == "maxpool")) is None


def test_the_network_layer_sets_are_the_architectures():
    """53 convolutions in ResNet-50 and 52 in MobileNet-v2, as torchvision builds them; their
    multiply-adds at 224×224, 4.09 G and 0.30 G, are the figures published for both networks."""
    assert len(networks.resnet50(4, 224)) == 53 and len(networks.mobilenet_v2(4, 224)) == 52
    assert len(networks.unique(networks.resnet50(4, 224))) == 23
    macs = [sum(bench_layers.flops(layer.bench("x")) for layer in net(1, 224)) / 6 for net in NETS]
    assert round(macs[0] / 1e9, 2) == 4.09 and round(macs[1] / 1e9, 2) == 0.30
    depthwise = [layer for layer in networks.mobilenet_v2(1, 224) if layer.groups != 1]
    assert len(depthwise) == 17 and all(layer.groups == layer.x[1] == layer.w[0] for layer in depthwise)


def test_network_benchmark_smoke_runs_and_prints_both_networks():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_networks.py"), "--smoke"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for name, layers in (("resnet50", 53), ("mobilenet_v2", 52)):
        assert f"### {name}, float32" in result.stdout
        assert f"{name} float32: {layers} layers" in result.stdout and "weighted by count" in result.stdout


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
