"""The benchmark still runs: its smoke mode on tiny shapes (timings are never asserted; they
are measured by `make bench` and reported, see benchmarks/README.md)."""
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_layers  # noqa: E402
import bench_networks as networks  # noqa: E402

NETS = (networks.resnet50, networks.mobilenet_v2)


PINS = dict(OPENBLAS_CORETYPE="Haswell", OPENBLAS_L2_SIZE="262144")


def test_bench_layers_smoke_runs_and_prints_the_table():
    """With the OpenBLAS pins set, which the script leaves as they are and shows in its header."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_layers.py"), "--smoke"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT, env=dict(os.environ, **PINS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("BLAS ")  # the header names NumPy's BLAS and its kernel
    assert "| case | dtype | ref ms | torch ms | ratio | ref GFLOP/s | torch GFLOP/s | ref % of GEMM |" in result.stdout
    assert "OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE=262144," in result.stdout
    assert "SGEMM " in result.stdout and "DGEMM " in result.stdout
    assert "geometric mean" in result.stdout


def test_unset_openblas_env_runs_the_benchmark_without_the_pins():
    """--unset-openblas-env reruns the script with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed,
    for its own process: set here, they are reported unset."""
    script = [sys.executable, str(ROOT / "benchmarks" / "bench_layers.py"), "--smoke", "--cases", "conv1d",
              "--unset-openblas-env"]
    unset = subprocess.run(script, capture_output=True, text=True, timeout=300, cwd=ROOT, env=dict(os.environ, **PINS))
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
    # a grouped network row (a strided depthwise layer): each output entry meets C/G = 1 channel
    layer = next(layer for layer in networks.mobilenet_v2(2, 32) if layer.groups != 1 and layer.stride == 2)
    x, w = torch.zeros(layer.x), torch.zeros(layer.w)
    out = torch.nn.functional.conv2d(x, w, stride=layer.stride, padding=layer.padding, groups=layer.groups)
    assert bench_layers.flops(layer.bench("depthwise")) == 6 * out.numel() * 1 * 3 * 3


def test_the_network_layer_sets_are_the_architectures():
    """53 convolutions in ResNet-50 and 52 in MobileNet-v2, as torchvision builds them, each of its
    kind; their multiply-adds at 224×224, 4.09 G and 0.30 G, are the figures published for both."""
    resnet, mobilenet = networks.resnet50(4, 224), networks.mobilenet_v2(4, 224)
    # the timed rows: each distinct shape once, the counts summing back to every layer
    assert [len(networks.unique(net)) for net in (resnet, mobilenet)] == [23, 30]
    assert [sum(count for _, count in networks.unique(net)) for net in (resnet, mobilenet)] == [53, 52]
    # by kernel and whether it widens: the stem, 16 bottlenecks' 1×1 reduction, 3×3 and 1×1
    # expansion, and the 4 widening shortcuts; 7 strided (stem, 3 of the 3×3, 3 shortcuts)
    kinds = Counter((layer.w[2], layer.w[0] > layer.x[1]) for layer in resnet)
    assert kinds == {(7, True): 1, (1, False): 16, (3, False): 16, (1, True): 16 + 4}
    assert sum(layer.stride == 2 for layer in resnet) == 7
    # the stem, 17 depthwise 3×3 (groups = channels), 16 expansions (the first block has none)
    # and the last 1×1 to 1280, 17 projections
    kinds = Counter((layer.w[2], layer.groups != 1, layer.w[0] > layer.x[1]) for layer in mobilenet)
    assert kinds == {(3, False, True): 1, (3, True, False): 17, (1, False, True): 16 + 1, (1, False, False): 17}
    assert all(layer.groups == layer.x[1] == layer.w[0] for layer in mobilenet if layer.groups != 1)
    assert mobilenet[-1].w == (1280, 320, 1, 1) and mobilenet[-1].x[2:] == (7, 7)
    macs = [sum(bench_layers.flops(layer.bench("x")) for layer in net(1, 224)) / 6 for net in NETS]
    assert round(macs[0] / 1e9, 2) == 4.09 and round(macs[1] / 1e9, 2) == 0.30


def test_network_benchmark_smoke_runs_and_prints_both_networks():
    # one thread a side: 53 tiny layers on two threads each spend most of their time in the two
    # thread pools spinning against each other (about 7 s here, 4 s on one)
    script = [sys.executable, str(ROOT / "benchmarks" / "bench_networks.py"), "--smoke", "--threads", "1"]
    result = subprocess.run(script, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for name, layers in (("resnet50", 53), ("mobilenet_v2", 52)):
        assert f"### {name}, float32" in result.stdout
        assert f"{name} float32: {layers} layers" in result.stdout and "weighted by count" in result.stdout
    assert result.stdout.count("geometric mean ratio") == 2 and result.stdout.count("| layer | count |") == 2


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


def test_the_gemm_floor_smoke_runs_and_prints_the_floor():
    script = [sys.executable, str(ROOT / "benchmarks" / "gemm_floor.py"), "--smoke", "--threads", "1"]
    result = subprocess.run(script, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "| layer | torch ms | floor ms (fwd, ∂x, ∂w) | floor / torch |" in result.stdout
    assert "depthwise: no floor" in result.stdout and "the depthwise layers left out: worst" in result.stdout
    assert "matrix products measured in this run" in result.stdout  # the SGEMM rate it reads against
