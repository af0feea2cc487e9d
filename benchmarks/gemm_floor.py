"""The floor of an im2col convolution in NumPy: its matrix products alone, against torch's whole step.

A forward + backward of a convolution done as im2col and matrix products (the reference's way)
does three products per group: ``y = W · cols``, ``∂E/∂cols = Wᵀ · gy`` and ``∂E/∂Wᵀ = cols · gyᵀ``,
with ``W`` of ``O/G × (C/G)·|k|`` and ``cols`` of ``(C/G)·|k| × N·|out|``. This script times just
those three products, on contiguous matrices of the real shapes, the whole batch in one product,
each in the faster of its two orientations (``A · B`` or ``(Bᵀ · Aᵀ)ᵀ``): no im2col copy, no
col2im, no padding, no tiling. Whatever else an im2col formulation does can only add to it.
A depthwise layer (one channel in and out per group) is marked: its products are ``1 × |k|``
matrices, and other formulations (a loop over taps) beat them, so its row is no floor.

Beside it, torch's forward + ``autograd.grad`` on the same shapes, in the same process and
threads. A row whose ``floor / torch`` is above 1 cannot be as fast as torch by im2col and
NumPy's BLAS however the copies are done; ``floor GFLOP/s`` is the most such a formulation can
reach, to read against the SGEMM rate in the header.

    python benchmarks/gemm_floor.py                     # the float32 convolution rows of bench_layers
    python benchmarks/gemm_floor.py --networks          # and the distinct layers of ResNet-50 and MobileNet-v2
    python benchmarks/gemm_floor.py --smoke             # tiny shapes, one run

Times are the best of ``--repeat`` runs (a pause before each), since a floor is a best case.
A measurement, never an assertion.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_layers as B  # noqa: E402  (the OpenBLAS pins and the BLAS threads, before NumPy loads)
import bench_networks as N  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def best(fn, repeat: int, pause: float) -> float:
    """The least time of ``repeat`` calls of ``fn`` after one untimed call, in seconds."""
    fn()
    times = []
    for _ in range(repeat):
        time.sleep(pause)
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def products(case: B.Bench, dtype: str):
    """The three products of the case's im2col step, each as its two orientations: pairs of
    ``(a, b)`` whose ``a @ b`` is the product or its transpose."""
    x, w = case.shapes[0], case.shapes[1]
    groups = case.kwargs.get("groups", 1)
    og, rows = w[0] // groups, (x[1] // groups) * int(np.prod(w[2:]))
    columns = x[0] * int(np.prod(B.conv_output(case)))
    rng = np.random.default_rng(0)

    def m(*shape):
        return rng.standard_normal((groups,) + shape).astype(dtype)

    forward = ((m(og, rows), m(rows, columns)), (m(columns, rows), m(rows, og)))
    input_grad = ((m(rows, og), m(og, columns)), (m(columns, og), m(og, rows)))
    weight_grad = ((m(rows, columns), m(columns, og)), (m(og, columns), m(columns, rows)))
    return forward, input_grad, weight_grad


def row(case: B.Bench, dtype: str, repeat: int, pause: float) -> dict:
    parts = [min(best(lambda a=a, b=b: a @ b, repeat, pause) for a, b in product) for product in products(case, dtype)]
    floor = sum(parts)
    depthwise = case.kwargs.get("groups", 1) == case.shapes[0][1] == case.shapes[1][0]
    rng = np.random.default_rng(1)
    tensors = [torch.from_numpy(rng.standard_normal(s).astype(dtype)).requires_grad_() for s in case.shapes]
    out = getattr(torch.nn.functional, case.op)(*tensors, **case.kwargs)
    gy = torch.from_numpy(rng.standard_normal(out.shape).astype(dtype))
    torch_time = best(lambda: B.torch_step(case, *tensors, gy), repeat, pause)
    work = B.flops(case)
    return dict(label=case.label, torch_ms=1e3 * torch_time, floor_ms=1e3 * floor, parts_ms=[1e3 * p for p in parts],
                ratio=floor / torch_time, floor_gflops=work / floor / 1e9, depthwise=depthwise)


def table(rows, gemm_rate: float) -> str:
    lines = ["| layer | torch ms | floor ms (fwd, ∂x, ∂w) | floor / torch | floor GFLOP/s | % of SGEMM |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        parts = ", ".join(f"{p:.1f}" for p in r["parts_ms"]) + ("; depthwise: no floor" if r["depthwise"] else "")
        lines.append(f"| {r['label']} | {r['torch_ms']:.1f} | {r['floor_ms']:.1f} ({parts}) | {r['ratio']:.2f} | "
                     f"{r['floor_gflops']:.0f} | {100 * r['floor_gflops'] / gemm_rate:.0f} |")
    ratios = np.array([r["ratio"] for r in rows if not r["depthwise"]])
    lines.append("")
    lines.append(f"floor / torch, the depthwise layers left out: worst {ratios.max():.2f}, geometric mean "
                 f"{np.exp(np.log(ratios).mean()):.2f} over {len(ratios)} layers; {int((ratios > 1).sum())} above 1")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each product and of torch (default 7)")
    parser.add_argument("--pause", type=float, default=0.15, help="seconds of sleep before each timed run")
    parser.add_argument("--threads", type=int, default=B.DEFAULT_THREADS)
    parser.add_argument("--networks", action="store_true", help="also the distinct layers of both networks")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, one run")
    parser.add_argument("--unset-openblas-env", action="store_true",
                        help="run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (this process only)")
    args = parser.parse_args(argv)
    dtype = "float32"
    _, gemm = B.prepare(args.threads, [dtype], args.smoke)
    repeat, pause = (1, 0.0) if args.smoke else (args.repeat, args.pause)
    cases = [c for c in (B.SMOKE_CASES if args.smoke else B.CASES) if c.op.startswith("conv") and "transpose" not in c.op]
    sets = {"bench_layers": cases}
    if args.networks:
        n, size = (1, 32) if args.smoke else (4, 224)
        for name, build in N.NETWORKS.items():
            sets[name] = [layer.bench(f"{name}-{i}") for i, (layer, _) in enumerate(N.unique(build(n, size)))]
    for name, chosen in sets.items():
        print(f"\n{name}, {dtype}\n")
        print(table([row(case, dtype, repeat, pause) for case in chosen], gemm[dtype]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
