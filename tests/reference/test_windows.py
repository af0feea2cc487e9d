"""The row-phase layout of reference.windows reads exactly the windows of the strided view.

Pooling reads its last axis from :func:`split_rows` runs; the strided :func:`windows` view is
the plain definition of a window. Random geometries (1-3 leading axes, kernel, stride,
dilation, padding on either side) compare the two tap by tap, and check that merging the
phases gives the input back.
"""
import numpy as np
import pytest

from reference import windows


def _geometries(seed, count):
    rng = np.random.default_rng(seed)
    while count:
        lead = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(1, 4))))
        length, kernel, stride, dilation = (int(v) for v in rng.integers([1, 1, 1, 1], [12, 5, 5, 4]))
        before, after = (int(v) for v in rng.integers(0, 4, 2))
        if windows.output_length(before + length + after, kernel, stride, dilation) >= 1:
            count -= 1
            yield lead, length, kernel, stride, dilation, before, after


@pytest.mark.parametrize("geometry", list(_geometries(7, 200)), ids=lambda g: "-".join(map(str, g)))
def test_row_runs_read_the_windows(geometry):
    lead, length, kernel, stride, dilation, before, after = geometry
    x = np.arange(int(np.prod(lead)) * length, dtype=np.float64).reshape(lead + (length,)) + 1
    fill = -5.0
    padded = np.pad(x, ((0, 0),) * len(lead) + ((before, after),), constant_values=fill)
    view = windows.windows(padded, (kernel,), (stride,), (dilation,))  # (*lead, out, k)
    out = view.shape[-2]
    slots = windows.phase_length(before + length + after, stride)
    slack = (kernel - 1) * dilation // stride
    rows = int(np.prod(lead))
    phased = windows.split_rows(x, before, after, stride, fill, slack)
    assert phased.shape == (stride, rows * slots + slack)
    runs = list(windows.row_runs(rows, slots, kernel, stride, dilation))
    assert len(runs) == kernel
    for tap, index in enumerate(runs):
        run = phased[index]
        assert run.flags.c_contiguous  # one contiguous run over every row: the point of the layout
        np.testing.assert_array_equal(run.reshape(lead + (slots,))[..., :out], view[..., tap])
    merged = windows.merge_rows(phased, before, slots, np.full(x.shape, np.nan))
    np.testing.assert_array_equal(merged, x)


def test_split_rows_stores_only_the_input_and_the_fill():
    """Every entry that is not an input position (padding, the slots past a short phase, the
    slack) holds the fill: a max pass may read them, so they must never be stale memory."""
    x = np.arange(1.0, 2 * 7 + 1).reshape(2, 7)
    phased = windows.split_rows(x, 2, 1, 3, -np.inf, 2)
    inside = np.isfinite(phased)
    assert sorted(phased[inside]) == sorted(x.ravel())
    assert (phased[~inside] == -np.inf).all()


def test_split_rows_reads_a_non_contiguous_input():
    x = np.arange(60.0).reshape(3, 4, 5).transpose(1, 2, 0)  # (4, 5, 3), not C-contiguous
    phased = windows.split_rows(x, 1, 0, 2, 0.0, 1)
    np.testing.assert_array_equal(windows.merge_rows(phased, 1, 2, np.empty(x.shape)), x)


def test_windows_views_are_read_only():
    """Guards that `windows` and `flat_windows` return read-only views.

    Kills ``writeable=False`` → ``True``, ``None`` or left out in ``windows.windows`` and
    ``windows.flat_windows``: the views overlap (neighbouring windows share entries), so a
    write through one would change the input and other windows; the module promises read-only
    views."""
    x = np.arange(24.0).reshape(2, 3, 4)
    assert not windows.windows(x, (2,), (1,), (1,)).flags.writeable
    assert not windows.flat_windows(x, (2,), (1,), 3).flags.writeable


def test_scatter_windows_is_the_adjoint_of_windows():
    """Guards `scatter_windows` as the adjoint of `windows` when it allocates its own buffer (its shape and dtype).

    Kills the mutants of ``windows.scatter_windows``'s own buffer (``out=None``: the shape
    ``lead + spatial``, its dtype) that the ops never reach, since they always pass ``out``:
    ⟨windows(x), c⟩ = ⟨x, scatter_windows(c)⟩ for every x and c, and the result has the
    dtype of ``c``."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    kernel, stride, dilation = (2, 3), (2, 1), (2, 1)
    view = windows.windows(x, kernel, stride, dilation)  # (2, 3, *out, *k)
    cols = rng.standard_normal(view.shape[:2] + kernel + view.shape[2:4]).astype(np.float32)  # (..., *k, *out)
    back = windows.scatter_windows(cols, x.shape[2:], kernel, stride, dilation)
    assert back.shape == x.shape and back.dtype == np.float32
    lhs = np.sum(view.astype(np.float64) * np.moveaxis(cols, (2, 3), (4, 5)))
    assert np.isclose(lhs, np.sum(x.astype(np.float64) * back), rtol=1e-5)  # float32 rounding of the sums
