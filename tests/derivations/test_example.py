"""The seed post's worked example, number by number.

The post draws a 3×3 image, a 2×2 kernel and the result, under the words "first rotate 180"
and 'mode = "valid"'::

    | 1 2 3 |     | 1 2 |     | 23 33 |
    | 4 5 6 |  *  | 3 4 |  =  | 53 63 |
    | 7 8 9 |
    Image 3 X 3   Kernel 2 X 2 (first rotate 180, mode = "valid")

and the same computation as a layer of a fully connected network ("vector:"), where output 23
collects ``1·4 + 2·3`` and ``4·2 + 5·1`` ("4 + 6", "8 + 5"), output 63 collects ``5·4 + 6·3``
and ``8·2 + 9·1`` ("20 + 18", "16 + 9"), and input 5 feeds all four outputs ("weight sharing").
Every expected number below was derived by hand in the docstrings, never by the code under test.
"""
import numpy as np
import pytest
import torch

import reference.functional as F
from reference import unroll

IMAGE = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
KERNEL = [[1, 2], [3, 4]]
DTYPES = [np.float64, np.float32]  # every number here is a small integer: exact in both


def _arrays(dtype):
    """The image as one sample of one channel ``(1, 1, 3, 3)``, the kernel as ``(1, 1, 2, 2)``."""
    return np.array(IMAGE, dtype=dtype)[None, None], np.array(KERNEL, dtype=dtype)[None, None]


def _torch_conv2d(x, w):
    return torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_the_seed_result_is_the_convolution_with_the_kernel_rotated(dtype):
    """Convolution rotates the kernel by 180° first: [[1, 2], [3, 4]] becomes [[4, 3], [2, 1]],
    then each output is the dot product of a 2×2 window with it ('valid': the 4 windows inside):

        top-left      [[1, 2], [4, 5]]·[[4, 3], [2, 1]] = 4 + 6 + 8 + 5    = 23
        top-right     [[2, 3], [5, 6]]·[[4, 3], [2, 1]] = 8 + 9 + 10 + 6   = 33
        bottom-left   [[4, 5], [7, 8]]·[[4, 3], [2, 1]] = 16 + 15 + 14 + 8 = 53
        bottom-right  [[5, 6], [8, 9]]·[[4, 3], [2, 1]] = 20 + 18 + 16 + 9 = 63

    which is the post's [[23, 33], [53, 63]]. ``conv2d`` (torch's and the reference's) slides the
    kernel without rotating it, so it gives the post's numbers only when handed the rotated kernel.
    """
    x, w = _arrays(dtype)
    rotated = w[..., ::-1, ::-1]
    np.testing.assert_array_equal(rotated[0, 0], [[4, 3], [2, 1]])
    expected = np.array([[[[23, 33], [53, 63]]]], dtype=dtype)
    np.testing.assert_array_equal(F.conv2d(x, np.ascontiguousarray(rotated)), expected)
    np.testing.assert_array_equal(_torch_conv2d(x, np.ascontiguousarray(rotated)), expected)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_conv2d_without_the_rotation_is_the_cross_correlation(dtype):
    """Unrotated, each window is multiplied entry by entry with [[1, 2], [3, 4]]:

        top-left      1·1 + 2·2 + 4·3 + 5·4 = 1 + 4 + 12 + 20  = 37
        top-right     2·1 + 3·2 + 5·3 + 6·4 = 2 + 6 + 15 + 24  = 47
        bottom-left   4·1 + 5·2 + 7·3 + 8·4 = 4 + 10 + 21 + 32 = 67
        bottom-right  5·1 + 6·2 + 8·3 + 9·4 = 5 + 12 + 24 + 36 = 77

    the cross-correlation, which is what ``conv2d`` computes, in torch and in the reference; it
    differs from the post's convolution by 14 everywhere (37 − 23 = 47 − 33 = ... = 14).
    """
    x, w = _arrays(dtype)
    expected = np.array([[[[37, 47], [67, 77]]]], dtype=dtype)
    np.testing.assert_array_equal(F.conv2d(x, w), expected)
    np.testing.assert_array_equal(_torch_conv2d(x, w), expected)


SEED_MATRIX = [
    # x: 1  2  3  4  5  6  7  8  9
    [4, 3, 0, 2, 1, 0, 0, 0, 0],  # 23 = 1·4 + 2·3 + 4·2 + 5·1
    [0, 4, 3, 0, 2, 1, 0, 0, 0],  # 33 = 2·4 + 3·3 + 5·2 + 6·1
    [0, 0, 0, 4, 3, 0, 2, 1, 0],  # 53 = 4·4 + 5·3 + 7·2 + 8·1
    [0, 0, 0, 0, 4, 3, 0, 2, 1],  # 63 = 5·4 + 6·3 + 8·2 + 9·1
]
"""The post's "vector:" picture as a 4×9 matrix: row r holds the rotated kernel [[4, 3], [2, 1]]
on the pixels of window r, read off the picture's edges (``1 → *4 (w_22)``, ``2 → *3 (w_21)``,
``4 → *2 (w_12)``, ``5 → *1 (w_11)`` into 23, and likewise for the others)."""


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_the_seed_example_is_the_4x9_matrix_of_its_vector_picture(dtype):
    """The convolution of the picture is ``y = M·x`` with the 9 pixels as a vector and ``M`` the
    4×9 matrix above (the post's "WX + b", no bias): ``M·(1, …, 9) = (23, 33, 53, 63)``."""
    x, w = _arrays(dtype)
    rotated = np.ascontiguousarray(w[..., ::-1, ::-1])
    matrix = unroll.conv_matrix((1, 3, 3), rotated)
    assert matrix.dtype == dtype
    np.testing.assert_array_equal(matrix, np.array(SEED_MATRIX, dtype=dtype))
    np.testing.assert_array_equal(matrix @ x.ravel(), [23, 33, 53, 63])


def test_input_5_feeds_every_output_through_a_different_weight():
    """The centre pixel 5 sits in all four windows, at a different place in each, so its column
    of the matrix is (1, 2, 3, 4): w_11 into 23, w_12 into 33, w_21 into 53, w_22 into 63."""
    _, w = _arrays(np.float64)
    matrix = unroll.conv_matrix((1, 3, 3), np.ascontiguousarray(w[..., ::-1, ::-1]))
    np.testing.assert_array_equal(matrix[:, 4], [1, 2, 3, 4])


def test_each_weight_is_tied_to_one_entry_per_output():
    """Weight sharing: the rotated kernel's 4 (the post's w_22) multiplies pixel 1 into 23,
    pixel 2 into 33, pixel 4 into 53 and pixel 5 into 63: entries (0, 0), (1, 1), (2, 3), (3, 4)
    of the matrix, one per output, and those are the only places it appears."""
    _, w = _arrays(np.float64)
    rotated = np.ascontiguousarray(w[..., ::-1, ::-1])
    assert unroll.tied_positions((1, 3, 3), rotated, (0, 0, 0, 0)) == [(0, 0), (1, 1), (2, 3), (3, 4)]
    assert unroll.tied_positions((1, 3, 3), rotated, (0, 0, 1, 1)) == [(0, 4), (1, 5), (2, 7), (3, 8)]
