"""The memory bound of :mod:`reference.im2col`, measured with ``tracemalloc`` on shapes that stress it.

NumPy reports its array allocations to ``tracemalloc``, so the traced peak of a call is the most
it held at once: its results, and everything it allocated on the way. The module's docstring
bounds what it allocates beyond its arguments, output and gradients by a few copies of those
(a padded input at most ``PAD_FACTOR`` × input and output, an upstream gradient laid out at most
``FLAT_WASTE`` × its size, matrices of the weight's size) plus two tile buffers of at most
``max(TILE_BYTES, U)``. The test allows 4 × (arguments + results) for the copies, which covers
those terms (2 + 1.5 + weight-sized matrices, each at most the arguments), and 1 MiB for
Python's own objects.

Three of the shapes broke this bound before the layout was chosen by cost: the flat layout
on a kernel as large as its input held 243 MiB (3-d) and 55 MiB (2-d) for outputs of one
position, as it computes a padded plane's row of columns for every output row; a materialised
padding under a stride of 500 held 61 MiB, a 2,005² plane, for a 5 × 5 output. The others pin
what already held (1×1 layers on large planes, heavy padding at stride 1, transposed layers with
one input position or a stride of 300). The values are checked too (against torch, in the same
call), so a bound met by a wrong answer does not pass.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

import reference.functional as R
from reference import im2col

MiB = 1 << 20

# (name, op, input shape, weight shape, keyword arguments)
STRESS = [
    ("kernel-as-large-as-input-3d", "conv3d", (1, 4, 24, 24, 24), (2, 4, 24, 24, 24), {}),
    ("kernel-as-large-as-input-2d", "conv2d", (1, 8, 96, 96), (1, 8, 96, 96), {}),
    ("huge-stride-heavy-padding", "conv2d", (1, 2, 5, 5), (3, 2, 2, 2), dict(stride=500, padding=1000)),
    ("huge-dilation-heavy-padding", "conv2d", (1, 2, 6, 6), (2, 2, 3, 3), dict(dilation=300, padding=300)),
    ("1x1-many-outputs-large-plane", "conv2d", (1, 3, 128, 128), (256, 3, 1, 1), {}),
    ("1x1-strided-large-plane", "conv2d", (2, 16, 256, 256), (16, 16, 1, 1), dict(stride=2)),
    ("heavy-padding-stride-1", "conv2d", (1, 1, 4, 4), (2, 1, 3, 3), dict(padding=200)),
    ("transpose-one-input-position", "conv_transpose2d", (1, 2, 1, 1), (2, 3, 64, 64), {}),
    ("transpose-huge-stride", "conv_transpose2d", (1, 2, 3, 3), (2, 2, 3, 3), dict(stride=300)),
]


def _unit(x_shape, w_shape, y_shape) -> int:
    """An upper bound of ``U`` of the docstring, in bytes (float64): one output row's columns for
    one local channel's kernel row, or one output row of every output channel. An output row is at
    most 1.5 × (``FLAT_WASTE``) the longer of the input's and the output's rows (the input's for
    a gradient computed as a correlation), and the channels at most the larger of C and O."""
    row = max(int(np.prod(x_shape[3:])), int(np.prod(y_shape[3:])))
    channels = max(x_shape[1], y_shape[1])
    return int(8 * channels * int(np.prod(w_shape[3:])) * im2col.FLAT_WASTE * row)


def _traced(fn, *args, **kwargs):
    tracemalloc.start()
    try:
        result = fn(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def _nbytes(arrays) -> int:
    return sum(a.nbytes for a in arrays if a is not None)


def _run_within_bound(name, op, x_shape, w_shape, kwargs):
    """Forward and backward of ``op`` on standard normals (float64), each call's traced peak held
    to its results + 4 × (arguments + results) + two tile buffers + 1 MiB. Returns the arrays
    ``(x, w, b, y, gy, grads)`` for a caller that checks the values too."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1] * kwargs.get("groups", 1) if "transpose" in op else w_shape[0])
    y, peak = _traced(getattr(R, op), x, w, b, **kwargs)
    allowance = 2 * max(im2col.TILE_BYTES, _unit(x_shape, w_shape, y.shape)) + MiB
    assert peak <= y.nbytes + 4 * _nbytes([x, w, b, y]) + allowance, (name, peak / MiB)
    gy = rng.standard_normal(y.shape)
    grads, peak = _traced(getattr(R, op + "_backward"), gy, x, w, b, **kwargs)
    assert peak <= _nbytes(grads) + 4 * _nbytes([gy, x, w, b, *grads]) + allowance, (name, peak / MiB)
    return x, w, b, y, gy, grads


@pytest.mark.parametrize("name, op, x_shape, w_shape, kwargs", STRESS, ids=[s[0] for s in STRESS])
def test_peak_memory_within_the_documented_bound(name, op, x_shape, w_shape, kwargs):
    """Guards the layout choice, the cropping of padding no window reads and the product's share
    of the tile budget (``reference.im2col``), and the choice of col2im over the
    correlation for a gradient whose input is far larger than its output (``reference.conv``)."""
    x, w, b, y, gy, grads = _run_within_bound(name, op, x_shape, w_shape, kwargs)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    ty = getattr(torch.nn.functional, op)(tx, tw, tb, **kwargs)
    expected = torch.autograd.grad(ty, (tx, tw, tb), torch.from_numpy(gy))
    # float64 throughout; sums of up to 36,864 products of standard normals: 1e-9 is ~10⁴ ulps of
    # their size, far above rounding and far below any indexing error (an O(1) difference)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=0, atol=1e-9)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-9)


def test_chunks_hold_the_bound_when_one_row_is_over_budget(monkeypatch):
    """Guards ``Im2col.chunks``: a kernel half the input's size, whose one output row of columns
    (16·32²·33 entries, 4.1 MiB) is 8 × the input. At a budget of 256 KiB (the real 4 MiB would
    need a layer 16 times larger, and a float64 torch twin too slow for the suite) only the
    chunks keep the call within its bound; without them the backward holds 8.9 MiB against 7.5."""
    monkeypatch.setattr(im2col, "TILE_BYTES", 1 << 18)
    x, w, b, y, gy, grads = _run_within_bound("half-size-kernel", "conv2d", (1, 16, 64, 64), (1, 16, 32, 32), {})
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb)
    # as above: 16,384-product sums in float64
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=0, atol=1e-9)
    for got, want in zip(grads, torch.autograd.grad(ty, (tx, tw, tb), torch.from_numpy(gy))):
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-9)


def _benchmark_rows():
    """The convolution rows of ``benchmarks/bench_layers.py``, at their real sizes."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_layers

    return [(c.name, c.op, c.shapes[0], c.shapes[1], c.kwargs) for c in bench_layers.CASES if c.op.startswith("conv")]


BENCHMARK_ROWS = _benchmark_rows()


@pytest.mark.parametrize("name, op, x_shape, w_shape, kwargs", BENCHMARK_ROWS, ids=[r[0] for r in BENCHMARK_ROWS])
def test_benchmark_rows_within_the_documented_bound(name, op, x_shape, w_shape, kwargs):
    """The benchmark's eight convolution layers, in float64 (the larger itemsize), under the same
    bound; their values are the benchmark's concern, and the case tables' against torch."""
    _run_within_bound(name, op, x_shape, w_shape, kwargs)
