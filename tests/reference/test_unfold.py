"""unfold and fold beyond torch's 2-d ops: the N-d engine held against torch's convolutions
(one matrix product of the unfolded input with the flattened kernel), and fold as unfold's adjoint."""
import numpy as np
import pytest
import torch
import torch.nn.functional as T

from reference import unfold as U

CALLS = [  # spatial size, kernel, dilation, padding, stride
    ((9,), (3,), (2,), (1,), (2,)),
    ((6, 7), (3, 2), (1, 2), (1, 0), (2, 1)),
    ((4, 5, 6), (2, 3, 2), (1, 1, 2), (1, 0, 1), (1, 2, 2)),
]


@pytest.mark.parametrize("size, kernel, dilation, padding, stride", CALLS, ids=["1d", "2d", "3d"])
def test_convolution_is_one_matrix_product_of_the_unfolded_input(size, kernel, dilation, padding, stride):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3) + size), rng.standard_normal((4, 3) + kernel), rng.standard_normal(4)
    cols = U.unfold_nd(x, kernel, dilation, padding, stride)  # (N, C·|k|, B)
    y = w.reshape(4, -1) @ cols + b[:, None]
    conv = getattr(T, f"conv{len(size)}d")
    expected = conv(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride, padding, dilation).numpy()
    np.testing.assert_allclose(y.reshape(expected.shape), expected, rtol=0, atol=1e-12)  # float64 sums of 3·|k| terms


@pytest.mark.parametrize("size, kernel, dilation, padding, stride", CALLS, ids=["1d", "2d", "3d"])
def test_fold_is_the_adjoint_of_unfold(size, kernel, dilation, padding, stride):
    """<unfold(x), c> = <x, fold(c)> for every x and c: fold adds back what unfold read."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3) + size)
    cols = U.unfold_nd(x, kernel, dilation, padding, stride)
    c = rng.standard_normal(cols.shape)
    folded = U.fold_nd(c, size, kernel, dilation, padding, stride)
    assert folded.shape == x.shape
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, folded), rtol=1e-12)  # two float64 dot products


def test_the_2d_ops_are_the_nd_engine_in_two_dimensions():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 7))
    np.testing.assert_array_equal(U.unfold(x, (3, 2), 2, 1, (1, 2)), U.unfold_nd(x, (3, 2), 2, 1, (1, 2)))


def test_the_nd_engine_reads_every_input_as_batched():
    """(3, 5, 6) is a batch of 3 with 5 channels and one spatial axis, so a 2-d kernel is refused."""
    assert U.unfold_nd(np.zeros((3, 5, 6)), 2).shape == (3, 10, 5)
    with pytest.raises(ValueError, match=r"kernel_size=\(2, 2\)"):
        U.unfold_nd(np.zeros((3, 5, 6)), (2, 2))
    with pytest.raises(ValueError, match=r"input.shape=\(12, 20\)"):
        U.fold_nd(np.zeros((12, 20)), (5, 6), 2)


def test_fold_of_unfold_counts_the_windows_reading_each_position():
    """fold(unfold(x)) is x times how many windows read each entry (the ones image's fold)."""
    x = np.arange(1.0, 13.0).reshape(1, 1, 3, 4)
    folded = U.fold(U.unfold(x, 2), (3, 4), 2)
    count = U.fold(U.unfold(np.ones_like(x), 2), (3, 4), 2)
    np.testing.assert_array_equal(count[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [1, 2, 2, 1]])
    np.testing.assert_array_equal(folded, x * count)
