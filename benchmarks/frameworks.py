"""Seconds per case of the gate, per framework, side by side in one process.

    python benchmarks/frameworks.py                   # the quick profile's cases of each subject
    python benchmarks/frameworks.py --ops conv2d --profile default

Each subject runs the cases of the profile that it implements, in this process (no worker),
one torch thread: the reference (numpy), torch.nn.functional (torch), examples/jax_ops.py
eagerly (jax) and compiled per call (jax-jit), examples/mygrad_ops.py (MyGrad),
examples/numpy_ml_ops.py (numpy-ml's layers) and examples/tinygrad_ops.py (tinygrad's CPU
device, where a clang is found for it to compile with; its row says so where none is). The
table has the cases, the seconds and the milliseconds per case; JAX's and tinygrad's cost is
compilation, once per new shape and dtype (JAX eager: per primitive; jit: per call).
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crosscheck import cases_for, load_impl, run_case, subject_of  # noqa: E402
from crosscheck.oracle import use_one_torch_thread  # noqa: E402
from examples.ecosystem import clang  # noqa: E402

SUBJECTS = [("reference.functional", "numpy"), ("torch.nn.functional", "torch"), ("examples.jax_ops", "jax"),
            ("examples.jax_ops", "jax-jit"), ("examples.mygrad_ops", "examples.mygrad_framework"),
            ("examples.numpy_ml_ops", "numpy"), ("examples.tinygrad_ops", "examples.tinygrad_framework")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick", choices=("quick", "default", "full"))
    parser.add_argument("--ops", default=None, help="comma-separated ops (default: all)")
    args = parser.parse_args(argv)
    use_one_torch_thread()
    warnings.simplefilter("ignore")
    ops = args.ops.split(",") if args.ops else None
    print(f"| impl | framework | cases | s | ms per case | verdicts |\n|---|---|---:|---:|---:|---|")
    for impl, framework in SUBJECTS:
        if framework == "examples.tinygrad_framework" and not clang():
            print(f"| `{impl}` | `{framework}` | | | | not run: no clang for tinygrad's CPU device |", flush=True)
            continue
        subject = subject_of(load_impl(impl), framework, name=impl)
        cases = [c for c in cases_for(args.profile, ops=ops) if subject.forward(c.op) is not None]
        start = time.perf_counter()
        counts = collections.Counter(run_case(subject, case).status for case in cases)
        seconds = time.perf_counter() - start
        print(f"| `{impl}` | `{framework}` | {len(cases):,} | {seconds:.1f} | {1000 * seconds / max(len(cases), 1):.1f} "
              f"| {', '.join(f'{n} {s}' for s, n in sorted(counts.items()))} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
