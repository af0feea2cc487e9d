"""Time reference layers (convolution, transposed convolution, pooling), forward + backward, against torch on the CPU.

Each row times one training step of one layer: ``NAME`` then ``NAME_backward`` with a
random ``grad_output`` for the reference, and the same forward plus
``torch.autograd.grad`` for torch, on the same shapes, dtype and thread count. Runs are
interleaved (ref, torch, ref, torch, ...) after a warm-up, so drift on a shared machine
hits both sides alike; the reported ratio is the median of the per-pair ratios, not the
ratio of the medians. Before every timed run the script sleeps ``--pause`` seconds: after a
call, OpenBLAS's worker threads keep spinning for about 0.1 s, and without the pause they would
take a core from the torch run that follows (doubling its time) rather than measure either side.

    python benchmarks/bench_layers.py                 # every case, float32 and float64
    python benchmarks/bench_layers.py --cases resnet,stem --repeat 9 --json out.json
    python benchmarks/bench_layers.py --smoke         # tiny shapes, one run: a quick check that it works

Threads: torch gets ``torch.set_num_threads``; NumPy's BLAS gets ``threadpoolctl`` when it
is installed, else ``OPENBLAS_NUM_THREADS`` (and its OpenMP/MKL siblings), which must be
set before NumPy is imported, so this module sets them before its first NumPy import.
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are left as the environment has them (they pick
OpenBLAS's kernels) and printed in the header; ``--unset-openblas-env`` runs the script again
without them, for its own process only. Each row's GFLOP/s reads against the SGEMM and DGEMM
rates measured at the start of the same run.

A timing is never an assertion: this script measures and prints; it does not pass or fail.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass, field

DEFAULT_THREADS = 2
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables that pin OpenBLAS's kernel choice (some machines set them to an older kernel than
the CPU would get): shown in the header, and removed for this process alone by
``--unset-openblas-env``, which runs the script again without them."""
_UNSET_MARK = "BENCH_OPENBLAS_ENV_UNSET"


def rerun_without_openblas_pins(argv, flag="--unset-openblas-env") -> None:
    """With ``flag`` in ``argv``: replace this process by the same script, ``flag`` dropped, its
    environment without :data:`OPENBLAS_PINS` (they are read when OpenBLAS loads, so they cannot
    be unset later in the process). Nothing else's environment changes."""
    if flag not in argv:
        return
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_PINS}
    env[_UNSET_MARK] = "1"
    args = [a for a in argv if a != flag]
    os.execve(sys.executable, [sys.executable, os.path.abspath(sys.argv[0])] + args, env)


def _threads_from_argv(argv) -> int:
    """``--threads`` read ahead of argparse: the BLAS thread count must be fixed before NumPy loads."""
    for i, arg in enumerate(argv):
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
    return DEFAULT_THREADS


def _benchmark_script_runs() -> bool:
    """Whether the program is a script of this folder (this one, or bench_networks.py, which
    imports it): only then is the environment the benchmark's to change, and it must change
    here, before this module's NumPy import loads OpenBLAS. Imported by tests, nothing is changed."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.isfile(sys.argv[0]) and os.path.dirname(os.path.abspath(sys.argv[0])) == here


HAVE_THREADPOOLCTL = importlib.util.find_spec("threadpoolctl") is not None
if _benchmark_script_runs():
    rerun_without_openblas_pins(sys.argv[1:])
    if not HAVE_THREADPOOLCTL:
        for _var in _THREAD_VARS:
            os.environ[_var] = str(_threads_from_argv(sys.argv[1:]))

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402  (after the thread variables, on purpose)
import torch  # noqa: E402

import reference.functional as R  # noqa: E402
from reference import conv  # noqa: E402


@dataclass(frozen=True)
class Bench:
    """One layer: ``op`` of reference.functional / torch.nn.functional on arrays of ``shapes``
    (input, then weight and bias for the convolutions), with ``kwargs``."""

    name: str
    op: str
    shapes: tuple
    kwargs: dict = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        shapes = self.shapes
        extra = "".join(f" {key[0]}{v}" for key, v in self.kwargs.items()
                        if key not in ("padding", "kernel_size") and (key, v) != ("groups", 1))
        kernel = self.kwargs.get("kernel_size") or "x".join(map(str, shapes[1][2:]))
        channels = f" o{shapes[1][0] if self.op.startswith('conv') and 'transpose' not in self.op else ''}"
        if "transpose" in self.op:
            channels = f" o{shapes[1][1] * self.kwargs.get('groups', 1)}"
        elif not self.op.startswith("conv"):
            channels = ""
        return f"{self.name} {self.op} k{kernel}{extra} x{'x'.join(map(str, shapes[0]))}{channels}"


def _conv(name, x, w, **kwargs):
    return Bench(name, f"conv{len(x) - 2}d", (x, w, w[:1]), kwargs)


def _transpose(name, x, w, groups=1, **kwargs):
    return Bench(name, f"conv_transpose{len(x) - 2}d", (x, w, (w[1] * groups,)), dict(kwargs, groups=groups))


def _pool(name, kind, x, **kwargs):
    return Bench(name, f"{kind}_pool{len(x) - 2}d", (x,), kwargs)


CASES = (
    _conv("resnet", (32, 64, 32, 32), (64, 64, 3, 3), padding=1),
    _conv("stem", (16, 3, 64, 64), (32, 3, 7, 7), stride=2, padding=3),
    _conv("depthwise", (32, 64, 32, 32), (64, 1, 3, 3), padding=1, groups=64),
    _conv("dilated", (16, 32, 32, 32), (32, 32, 3, 3), padding=2, dilation=2),
    _conv("conv1d", (32, 64, 256), (64, 64, 5), padding=2),
    _conv("conv3d", (4, 16, 16, 16, 16), (16, 16, 3, 3, 3), padding=1),
    _pool("maxpool", "max", (32, 64, 32, 32), kernel_size=2, stride=2),
    _pool("maxpool-stem", "max", (16, 32, 64, 64), kernel_size=3, stride=2, padding=1),
    _pool("avgpool", "avg", (32, 64, 32, 32), kernel_size=2, stride=2),
    _pool("avgpool-3x3", "avg", (16, 32, 32, 32), kernel_size=3, stride=1, padding=1, count_include_pad=False),
    _transpose("upsample", (16, 64, 16, 16), (64, 32, 4, 4), stride=2, padding=1),
    _transpose("upsample3d", (4, 16, 8, 8, 8), (16, 8, 2, 2, 2), stride=2),
)

SMOKE_CASES = (
    _conv("resnet", (2, 4, 6, 5), (4, 4, 3, 3), padding=1),
    _conv("stem", (2, 3, 9, 8), (4, 3, 7, 7), stride=2, padding=3),
    _conv("depthwise", (2, 4, 6, 5), (4, 1, 3, 3), padding=1, groups=4),
    _conv("dilated", (2, 4, 7, 6), (4, 4, 3, 3), padding=2, dilation=2),
    _conv("conv1d", (2, 4, 11), (4, 4, 5), padding=2),
    _conv("conv3d", (1, 2, 4, 5, 3), (2, 2, 3, 3, 3), padding=1),
    _pool("maxpool", "max", (2, 3, 6, 5), kernel_size=2, stride=2),
    _pool("maxpool-stem", "max", (2, 3, 7, 6), kernel_size=3, stride=2, padding=1),
    _pool("avgpool", "avg", (2, 3, 6, 5), kernel_size=2, stride=2),
    _pool("avgpool-3x3", "avg", (2, 3, 6, 5), kernel_size=3, stride=1, padding=1, count_include_pad=False),
    _transpose("upsample", (2, 4, 3, 4), (4, 2, 4, 4), stride=2, padding=1),
    _transpose("upsample3d", (1, 2, 2, 3, 2), (2, 2, 2, 2, 2), stride=2),
)


def flops(case: Bench) -> int | None:
    """Floating-point operations of one forward + backward of a convolution row, from the shapes:
    the forward's ``N·O·|out|·(C/G)·|k|`` multiply-adds, three times (the forward, the input
    gradient and the weight gradient are each that many), two operations each. A transposed
    convolution is a convolution's input gradient, with the roles of its input and output
    swapped: ``N·C_in·|in|·(C_out/G)·|k|``. None for pooling, which is no product."""
    if not case.op.startswith("conv"):
        return None
    x, w = case.shapes[0], case.shapes[1]
    n, kernel = x[0], int(np.prod(w[2:]))
    if "transpose" in case.op:  # w: (C_in, C_out/G, *k); every input entry meets C_out/G·|k| taps
        macs = n * w[0] * int(np.prod(x[2:])) * w[1] * kernel
    else:
        out = conv_output(case)
        macs = n * w[0] * int(np.prod(out)) * w[1] * kernel
    return 2 * 3 * macs


def conv_output(case: Bench) -> tuple:
    """The output's spatial shape of a convolution row, from the reference's own geometry (the
    arrays are never touched: ``np.empty`` of the shapes)."""
    x, w = (np.empty(shape, dtype=np.float32) for shape in case.shapes[:2])
    kw = {key: case.kwargs[key] for key in ("stride", "padding", "dilation", "groups") if key in case.kwargs}
    geo = conv.geometry(case.op, len(case.shapes[0]) - 2, x, w, None, kw.get("stride", 1), kw.get("padding", 0),
                        kw.get("dilation", 1), kw.get("groups", 1))
    return geo.out_spatial


def gemm_rate(dtype: str, n: int, repeat: int = 5) -> float:
    """The machine's matrix-product rate in GFLOP/s: the best of ``repeat`` products of two
    ``n × n`` matrices through NumPy (so through the same BLAS and threads as the reference)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    a @ b
    best = min(_clock(np.matmul, a, b) for _ in range(repeat))
    return 2 * n**3 / best / 1e9


def reference_step(case: Bench, *arrays):
    """The reference's forward and backward, as a training step calls them."""
    *args, gy = arrays
    getattr(R, case.op)(*args, **case.kwargs)
    return getattr(R, case.op + "_backward")(gy, *args, **case.kwargs)


def torch_step(case: Bench, *tensors):
    """torch's forward and autograd backward on the same shapes."""
    *args, gy = tensors
    y = getattr(torch.nn.functional, case.op)(*args, **case.kwargs)
    return torch.autograd.grad(y, args, gy)


def _clock(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure(case: Bench, dtype: str, repeat: int, warmup: int, pause: float, seed: int = 0) -> dict:
    """Interleaved timings of both sides; medians in ms and the median per-pair ratio."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in case.shapes]
    gy = rng.standard_normal(getattr(R, case.op)(*arrays, **case.kwargs).shape).astype(dtype)
    tensors = [torch.from_numpy(a).requires_grad_() for a in arrays]
    ref_args, torch_args = (case, *arrays, gy), (case, *tensors, torch.from_numpy(gy))
    for _ in range(warmup):
        reference_step(*ref_args)
        torch_step(*torch_args)
    ref, tor = [], []
    for _ in range(repeat):
        time.sleep(pause)
        ref.append(_clock(reference_step, *ref_args))
        time.sleep(pause)
        tor.append(_clock(torch_step, *torch_args))
    ratios = [r / t for r, t in zip(ref, tor)]
    work = flops(case)
    return dict(
        case=case.name,
        label=case.label,
        dtype=dtype,
        ref_ms=1e3 * float(np.median(ref)),
        torch_ms=1e3 * float(np.median(tor)),
        flops=work,
        ref_gflops=None if work is None else work / float(np.median(ref)) / 1e9,
        torch_gflops=None if work is None else work / float(np.median(tor)) / 1e9,
        ratio=float(np.median(ratios)),
        ratio_of_best=min(ref) / min(tor),  # the least disturbed run of each side; JSON only
        ref_runs_ms=[1e3 * t for t in ref],
        torch_runs_ms=[1e3 * t for t in tor],
    )


def summary(rows) -> dict:
    ratios = np.array([r["ratio"] for r in rows])
    worst = rows[int(np.argmax(ratios))]
    return dict(worst_ratio=float(ratios.max()), worst=f"{worst['case']} {worst['dtype']}",
                geomean_ratio=float(np.exp(np.log(ratios).mean())))


def rate_cell(value) -> str:
    """A GFLOP/s or percentage cell of the tables: "–" where the row has none (pooling)."""
    return "–" if value is None else f"{value:.0f}"


def table(rows, totals, gemm=None) -> str:
    """The rows as markdown: medians, ratio, each side's GFLOP/s and the reference's share of the
    machine's matrix-product rate in its dtype (``gemm``: dtype → GFLOP/s)."""
    gemm = gemm or {}
    lines = ["| case | dtype | ref ms | torch ms | ratio | ref GFLOP/s | torch GFLOP/s | ref % of GEMM |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        share = None if r.get("ref_gflops") is None or r["dtype"] not in gemm else 100 * r["ref_gflops"] / gemm[r["dtype"]]
        lines.append(f"| {r['label']} | {r['dtype']} | {r['ref_ms']:.1f} | {r['torch_ms']:.1f} | {r['ratio']:.2f} | "
                     f"{rate_cell(r.get('ref_gflops'))} | {rate_cell(r.get('torch_gflops'))} | {rate_cell(share)} |")
    lines.append("")
    lines.append(f"worst ratio {totals['worst_ratio']:.2f} ({totals['worst']}), "
                 f"geometric mean {totals['geomean_ratio']:.2f} over {len(rows)} rows")
    return "\n".join(lines)


def blas_kernel() -> str:
    """NumPy's BLAS library, version and the kernel it picked for this CPU, as threadpoolctl
    reports them (OpenBLAS chooses its kernels at load time: 'Haswell', 'SkylakeX', ...)."""
    if not HAVE_THREADPOOLCTL:
        return "unknown (threadpoolctl not installed)"
    from threadpoolctl import threadpool_info

    found = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(found) or "none found"


def environment(threads: int) -> dict:
    return dict(
        threads=threads,
        blas=blas_kernel(),
        blas_threads_via="threadpoolctl" if HAVE_THREADPOOLCTL else "OPENBLAS_NUM_THREADS",
        openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
        openblas_l2_size=os.environ.get("OPENBLAS_L2_SIZE"),
        openblas_env_unset=os.environ.get(_UNSET_MARK) == "1",
        numpy=np.__version__,
        torch=torch.__version__,
        cpu_count=os.cpu_count(),
        load_average=os.getloadavg()[0],
    )


def select(cases, names):
    """The cases whose name is in the comma-separated ``names`` (all when None)."""
    if names is None:
        return list(cases)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = sorted(set(wanted) - {c.name for c in cases})
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {[c.name for c in cases]}")
    return [c for c in cases if c.name in wanted]


def run(args) -> tuple[list, dict]:
    cases = select(SMOKE_CASES if args.smoke else CASES, args.cases)
    repeat, warmup, pause = (1, 0, 0.0) if args.smoke else (args.repeat, args.warmup, args.pause)
    rows = [measure(case, dtype, repeat, warmup, pause) for case in cases for dtype in args.dtypes.split(",")]
    return rows, summary(rows)


def header(env: dict, gemm: dict) -> str:
    """The first line: BLAS and its kernel, threads, the OpenBLAS pins, versions, load; then the
    matrix-product rates measured in this run."""
    pins = ", ".join(f"{name}={env[name.lower()]}" for name in OPENBLAS_PINS)
    if env["openblas_env_unset"]:
        pins += " (unset for this process by --unset-openblas-env)"
    rates = ", ".join(f"{'S' if dtype == 'float32' else 'D'}GEMM {rate:.0f} GFLOP/s" for dtype, rate in gemm.items())
    return (f"BLAS {env['blas']}; threads {env['threads']} (BLAS via {env['blas_threads_via']}), {pins}, "
            f"numpy {env['numpy']}, torch {env['torch']}, {env['cpu_count']} CPUs, load average {env['load_average']:.2f}\n"
            f"matrix products measured in this run ({env['gemm_size']}² by {env['gemm_size']}², best of 5): {rates}")


def prepare(threads: int, dtypes, smoke: bool) -> tuple[dict, dict]:
    """Fix both sides' thread counts, then measure the GEMM rate of each dtype under them (a tiny
    product in smoke mode): the environment and the rates every table of a run is read against.
    Printed first, before any row."""
    torch.set_num_threads(threads)
    if HAVE_THREADPOOLCTL:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    env = environment(threads)
    env["gemm_size"] = 64 if smoke else 2048
    gemm = {dtype: gemm_rate(dtype, env["gemm_size"]) for dtype in dtypes}
    print(header(env, gemm), flush=True)
    return env, gemm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=11, help="timed runs per side (default 11)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per side first (default 1)")
    parser.add_argument("--pause", type=float, default=0.15, help="seconds of sleep before each timed run (default 0.15)")
    parser.add_argument("--cases", help="comma-separated names: " + ",".join(c.name for c in CASES))
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads for torch and for BLAS")
    parser.add_argument("--json", metavar="PATH", help="also write rows, summary and environment as JSON")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, one run, no warm-up")
    parser.add_argument("--unset-openblas-env", action="store_true",
                        help="run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (this process only)")
    args = parser.parse_args(argv)

    env, gemm = prepare(args.threads, args.dtypes.split(","), args.smoke)
    rows, totals = run(args)
    print(table(rows, totals, gemm))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(environment=env, gemm_gflops=gemm, summary=totals, rows=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
