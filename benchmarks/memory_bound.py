"""Run the convolution whose kernel covers its whole input, at a real layer's size, and report
its time and peak memory.

Input 1×32×192×192×192 and one 32×192×192×192 filter (float32, 905 MiB each): the output has one
position. The flat im2col layout once tried to allocate 60.8 TiB for it (``|k|`` padded planes
per output row); :mod:`reference.im2col` now picks the dense layout by cost, cuts the columns
into chunks of the tile budget, and computes the input gradient by col2im. The peak is measured
with ``tracemalloc`` (NumPy reports its arrays to it), the arguments not included.

    python benchmarks/memory_bound.py              # the layer above: about 5 GiB of memory
    python benchmarks/memory_bound.py --size 48    # the same shape at 48³, quicker

A measurement, not a test: ``tests/reference/test_memory.py`` holds the bound on small shapes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import reference.functional as R  # noqa: E402

MiB = 1 << 20


def traced(fn, *args):
    """``fn(*args)``, its wall time in s and its traced peak in bytes."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = fn(*args)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=192, help="spatial extent of input and kernel (default 192)")
    parser.add_argument("--channels", type=int, default=32)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    shape = (args.channels,) + (args.size,) * 3
    x = rng.standard_normal((1,) + shape, dtype=np.float32)
    w = rng.standard_normal((1,) + shape, dtype=np.float32)
    print(f"input {x.shape}, weight {w.shape}, float32: {x.nbytes / MiB:.0f} MiB each")
    y, seconds, peak = traced(R.conv3d, x, w)
    print(f"conv3d: output {y.shape}, {seconds:.2f} s, peak {peak / MiB:.0f} MiB beyond the arguments")
    gy = np.ones_like(y)
    grads, seconds, peak = traced(R.conv3d_backward, gy, x, w)
    results = sum(g.nbytes for g in grads if g is not None)
    print(f"conv3d_backward: {seconds:.2f} s, peak {peak / MiB:.0f} MiB, of which the gradients {results / MiB:.0f} MiB")
    # an independent check of the one output: the sum of all products, in float64
    exact = float(np.dot(x.ravel().astype(np.float64), w.ravel().astype(np.float64)))
    print(f"output {float(y.ravel()[0]):.6g}, float64 sum of the products {exact:.6g}; "
          f"grad_input equals the weight: {np.array_equal(grads[0], w)}, grad_weight the input: {np.array_equal(grads[1], x)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
