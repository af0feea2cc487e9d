"""The phase layout of reference._windows reads exactly the windows of the strided view.

Pooling computes on :func:`split_phases` runs; the strided :func:`windows` view is the plain
definition of a window. Random geometries (1-3 axes, kernel, stride, dilation, padding on
either side) compare the two tap by tap, and check that merging the phases gives the input back.
"""
import itertools

import numpy as np
import pytest

from reference import _windows


def _geometries(seed, count):
    rng = np.random.default_rng(seed)
    while count:
        dims = int(rng.integers(1, 4))
        draw = lambda lo, hi: tuple(int(v) for v in rng.integers(lo, hi, dims))  # noqa: E731
        spatial, kernel, stride, dilation = draw(1, 8), draw(1, 4), draw(1, 4), draw(1, 3)
        before, after = draw(0, 3), draw(0, 3)
        padded = [n + b + a for n, b, a in zip(spatial, before, after)]
        if all(_windows.output_length(n, k, s, d) >= 1 for n, k, s, d in zip(padded, kernel, stride, dilation)):
            count -= 1
            yield spatial, kernel, stride, dilation, before, after


@pytest.mark.parametrize("geometry", list(_geometries(7, 200)), ids=lambda g: "-".join(map(str, g)))
def test_phase_runs_read_the_windows(geometry):
    spatial, kernel, stride, dilation, before, after = geometry
    x = np.arange(2 * int(np.prod(spatial)), dtype=np.float64).reshape((2,) + spatial) + 1
    fill = -5.0
    padded = np.pad(x, ((0, 0),) + tuple(zip(before, after)), constant_values=fill)
    view = _windows.windows(padded, kernel, stride, dilation)
    out = view.shape[1:1 + len(kernel)]
    phased = _windows.split_phases(x, before, after, stride, fill)
    plane = phased.shape[-len(kernel):]
    runs = list(_windows.phase_taps(phased, kernel, stride, dilation, out))
    assert len(runs) == int(np.prod(kernel))
    for tap, run in zip(itertools.product(*(range(k) for k in kernel)), runs):
        assert run[0].flags.c_contiguous  # one contiguous run per sample: the point of the layout
        np.testing.assert_array_equal(_windows.crop(run, plane, out), view[(Ellipsis,) + tap])
    np.testing.assert_array_equal(_windows.merge_phases(phased, before, x.shape), x)
