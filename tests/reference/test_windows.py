"""Tests of reference/windows.py: the strided window views and their adjoint.
"""
import numpy as np

from reference import windows


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
