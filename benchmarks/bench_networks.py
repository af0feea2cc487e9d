"""Time every convolution layer of a ResNet-50 and of a MobileNet-v2, forward + backward, against torch.

The layers are written out from the two architectures as torchvision builds them (torchvision
itself is not needed): ResNet-50 v1.5 (the stride on each bottleneck's 3×3 convolution, 1×1
downsampling convolutions with the stride), 53 convolutions; MobileNet-v2 at width 1.0, 52
convolutions, its 3×3 depthwise ones with ``groups`` = channels. None has a bias (each is
followed by a batch norm). Identical layers are timed once and counted.

    python benchmarks/bench_networks.py                          # both networks, batch 4, 224×224, float32
    python benchmarks/bench_networks.py --networks mobilenet_v2 --dtypes float32,float64 --json out.json
    python benchmarks/bench_networks.py --smoke                  # batch 1 at 32×32, one run: does it work?

Each unique layer is one row of ``benchmarks/bench_layers.py``'s kind, measured the same way
(interleaved pairs, a pause before each run, the median of the per-pair ratios). Per network it
prints the geometric mean ratio over the unique layers, the same weighted by how often each
occurs, and the time of all its layers (Σ count × median) on each side. A measurement, never
an assertion.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import NamedTuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_layers as B  # noqa: E402  (reruns without the OpenBLAS pins if asked; BLAS threads before NumPy)
import numpy as np  # noqa: E402


class Layer(NamedTuple):
    """One convolution of a network: input ``(N, C, H, W)``, weight ``(O, C/G, k, k)``."""

    x: tuple
    w: tuple
    stride: int
    padding: int
    groups: int

    def bench(self, name: str) -> B.Bench:
        kwargs = dict(stride=self.stride, padding=self.padding)
        if self.groups != 1:
            kwargs["groups"] = self.groups
        return B.Bench(name, "conv2d", (self.x, self.w), kwargs)


def _conv(n, c, size, o, k, stride=1, groups=1) -> tuple[Layer, int]:
    """A layer and the size of its output (padding ``k // 2``, as both networks use)."""
    pad = k // 2
    return Layer((n, c, size, size), (o, c // groups, k, k), stride, pad, groups), (size + 2 * pad - k) // stride + 1


def resnet50(n: int, size: int) -> list[Layer]:
    """The 53 convolutions of ResNet-50 v1.5 on ``n`` images of ``size``²."""
    stem, size = _conv(n, 3, size, 64, 7, stride=2)
    size = (size + 2 - 3) // 2 + 1  # the 3×3 max pooling, stride 2, padding 1
    layers, channels = [stem], 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            s = stride if b == 0 else 1
            reduce, _ = _conv(n, channels, size, width, 1)
            spatial, out = _conv(n, width, size, width, 3, stride=s)
            expand, _ = _conv(n, width, out, 4 * width, 1)
            layers += [reduce, spatial, expand]
            if b == 0:  # the shortcut's 1×1 projection, with the block's stride
                layers.append(_conv(n, channels, size, 4 * width, 1, stride=s)[0])
            channels, size = 4 * width, out
    return layers


def mobilenet_v2(n: int, size: int) -> list[Layer]:
    """The 52 convolutions of MobileNet-v2 (width 1.0) on ``n`` images of ``size``²."""
    stem, size = _conv(n, 3, size, 32, 3, stride=2)
    layers, channels = [stem], 32
    # torchvision's inverted residual settings: expansion t, output channels c, repeats, first stride
    for t, c, repeats, stride in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                  (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for r in range(repeats):
            hidden = channels * t
            if t != 1:
                layers.append(_conv(n, channels, size, hidden, 1)[0])
            depthwise, out = _conv(n, hidden, size, hidden, 3, stride=stride if r == 0 else 1, groups=hidden)
            layers += [depthwise, _conv(n, hidden, out, c, 1)[0]]
            channels, size = c, out
    layers.append(_conv(n, channels, size, 1280, 1)[0])
    return layers


NETWORKS = {"resnet50": resnet50, "mobilenet_v2": mobilenet_v2}


def unique(layers: list[Layer]) -> list[tuple[Layer, int]]:
    """Each distinct layer once, in order of first appearance, with how often it occurs."""
    counts: dict[Layer, int] = {}
    for layer in layers:
        counts[layer] = counts.get(layer, 0) + 1
    return list(counts.items())


def _label(layer: Layer) -> str:
    k = layer.w[2]
    extra = (f" s{layer.stride}" if layer.stride != 1 else "") + (f" g{layer.groups}" if layer.groups != 1 else "")
    return f"{k}×{k}{extra} {layer.x[1]}→{layer.w[0]} @{layer.x[2]}"


def network_rows(name, layers, dtype, args) -> list[dict]:
    repeat, warmup, pause = (1, 0, 0.0) if args.smoke else (args.repeat, args.warmup, args.pause)
    rows = []
    for i, (layer, count) in enumerate(unique(layers)):
        row = B.measure(layer.bench(f"{name}-{i}"), dtype, repeat, warmup, pause)
        row.update(layer=_label(layer), count=count)
        rows.append(row)
    return rows


def network_summary(rows) -> dict:
    ratios, counts = np.array([r["ratio"] for r in rows]), np.array([r["count"] for r in rows])
    return dict(
        layers=int(counts.sum()), unique=len(rows),
        geomean_ratio=float(np.exp(np.log(ratios).mean())),
        weighted_geomean_ratio=float(np.exp((counts * np.log(ratios)).sum() / counts.sum())),
        ref_total_ms=float(sum(r["count"] * r["ref_ms"] for r in rows)),
        torch_total_ms=float(sum(r["count"] * r["torch_ms"] for r in rows)),
    )


def network_table(name, dtype, rows, totals, gemm) -> str:
    lines = [f"### {name}, {dtype}", "",
             "| layer | count | ref ms | torch ms | ratio | ref GFLOP/s | torch GFLOP/s | ref % of GEMM |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        share = None if r["ref_gflops"] is None else 100 * r["ref_gflops"] / gemm[dtype]
        lines.append(f"| {r['layer']} | {r['count']} | {r['ref_ms']:.1f} | {r['torch_ms']:.1f} | {r['ratio']:.2f} | "
                     f"{B.rate_cell(r['ref_gflops'])} | {B.rate_cell(r['torch_gflops'])} | {B.rate_cell(share)} |")
    total = totals["ref_total_ms"] / totals["torch_total_ms"]
    lines += ["", f"{name} {dtype}: {totals['layers']} layers, {totals['unique']} distinct; geometric mean ratio "
              f"{totals['geomean_ratio']:.2f} over the distinct layers, {totals['weighted_geomean_ratio']:.2f} "
              f"weighted by count; all layers {totals['ref_total_ms']:.0f} ms against {totals['torch_total_ms']:.0f} ms "
              f"(ratio {total:.2f})", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated: " + ",".join(NETWORKS))
    parser.add_argument("--dtypes", default="float32")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--pause", type=float, default=0.15, help="seconds of sleep before each timed run")
    parser.add_argument("--threads", type=int, default=B.DEFAULT_THREADS)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--smoke", action="store_true", help="batch 1 at 32×32, one run each")
    parser.add_argument("--unset-openblas-env", action="store_true",
                        help="run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (this process only)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.networks.split(",") if n.strip()]
    unknown = sorted(set(names) - set(NETWORKS))
    if unknown:
        parser.error(f"--networks: unknown {unknown}; choose from {list(NETWORKS)}")
    batch, size = (1, 32) if args.smoke else (args.batch, args.size)

    env, gemm = B.prepare(args.threads, args.dtypes.split(","), args.smoke)
    print(f"batch {batch}, {size}×{size} input\n")
    results = {}
    for name in names:
        layers = NETWORKS[name](batch, size)
        for dtype in args.dtypes.split(","):
            rows = network_rows(name, layers, dtype, args)
            totals = network_summary(rows)
            print(network_table(name, dtype, rows, totals, gemm), flush=True)
            results[f"{name} {dtype}"] = dict(summary=totals, rows=rows)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(environment=env, gemm_gflops=gemm, batch=batch, size=size, networks=results), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
