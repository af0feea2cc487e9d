"""The tutorial's figure script: it runs, writes real PNGs, and draws the right numbers."""
import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reference.functional as R

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "make_figures.py"
NAMES = ("conv-matrix-seed.png", "conv-matrix-strided.png", "receptive-field.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The seed example unrolled: y = M x for x = the 3×3 image read row by row, kernel [[1, 2], [3, 4]].
SEED_MATRIX = [
    [1, 2, 0, 3, 4, 0, 0, 0, 0],
    [0, 1, 2, 0, 3, 4, 0, 0, 0],
    [0, 0, 0, 1, 2, 0, 3, 4, 0],
    [0, 0, 0, 0, 1, 2, 0, 3, 4],
]


@pytest.fixture(scope="module")
def figures():
    """The script loaded as a module, so its data functions can be called."""
    spec = importlib.util.spec_from_file_location("make_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_three_valid_pngs(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in NAMES:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert data[12:16] == b"IHDR", name
        width, height = struct.unpack(">II", data[16:24])
        assert 300 <= width <= 2000 and 200 <= height <= 1500, (name, width, height)
        assert 5_000 <= len(data) <= 300_000, (name, len(data))  # a drawn figure, kept small for the repository


def test_seed_matrix_is_the_weight_sharing_literal(figures):
    matrix = figures.seed_matrix()
    assert matrix.shape == (4, 9)
    assert np.array_equal(matrix, SEED_MATRIX)
    image = np.arange(1.0, 10.0)
    assert (matrix @ image).tolist() == [37.0, 47.0, 67.0, 77.0]  # the cross-correlation of the seed


def test_strided_matrix_is_the_convolution(figures):
    matrix = figures.strided_matrix()
    assert matrix.shape == (9, 25)
    x = np.random.default_rng(0).integers(-9, 10, (1, 1, 5, 5)).astype(np.float64)
    kernel = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    assert np.array_equal(matrix @ x.ravel(), R.conv2d(x, kernel, stride=2, padding=1).ravel())  # integers: exact
    # the corner output's window has only its bottom-right 2×2 taps (5, 6, 8, 9) inside the input
    assert matrix[0].tolist() == [5, 6, 0, 0, 0, 8, 9] + [0] * 18


def test_receptive_fields_count_paths(figures):
    plain, strided = figures.receptive_fields().values()
    pyramid = np.outer([1, 2, 3, 2, 1], [1, 2, 3, 2, 1])
    assert plain.shape == (7, 7) and np.array_equal(plain[1:6, 1:6], pyramid) and plain.sum() == pyramid.sum()
    uneven = np.outer([1, 1, 2, 1, 2, 1, 1], [1, 1, 2, 1, 2, 1, 1])
    assert strided.shape == (11, 11) and np.array_equal(strided[2:9, 2:9], uneven) and strided.sum() == uneven.sum()
