"""The tutorial's figure script: it runs, writes real PNGs and GIFs, and draws the right numbers."""
import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as T

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


# --- the animations (docs/figures/animations.py) -------------------------------------------------

def _gif_frames(path):
    from PIL import Image
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.info.get("loop") == 0, path  # loops forever
        return gif.n_frames


def test_the_animations_have_one_frame_per_step_and_stay_small(figures, tmp_path):
    anim = figures.animations
    for name, draw in anim.ANIMATIONS.items():
        draw(tmp_path / name)
        assert 2_000 <= (tmp_path / name).stat().st_size <= 300_000, name
    conv = T.conv2d(torch.from_numpy(anim.IMAGE), torch.from_numpy(anim.POWERS), **anim.SLIDING)
    assert _gif_frames(tmp_path / "conv-sliding.gif") == conv.numel()  # one frame per output
    assert _gif_frames(tmp_path / "conv-transpose.gif") == anim.ENTRIES.size + 1  # per entry, then the crop
    pooled = T.max_pool1d(torch.from_numpy(anim.ROW), **anim.POOLING)
    assert _gif_frames(tmp_path / "pool-ceil.gif") == pooled.shape[-1] + 1  # per window, then the dropped one


def test_the_sliding_window_shows_the_taps_of_the_index_equation_and_torchs_values(figures):
    anim = figures.animations
    frames = anim.sliding_frames()
    s, d = anim.SLIDING["stride"], anim.SLIDING["dilation"]
    conv = T.conv2d(torch.from_numpy(anim.IMAGE), torch.from_numpy(anim.POWERS), **anim.SLIDING)[0, 0].numpy()
    assert [f["value"] for f in frames] == conv.ravel().tolist()
    for f in frames:  # padded coordinates i·s + p·d, taps in row-major order
        i = f["output"]
        expected = [(i[0] * s + p * d, i[1] * s + q * d) for p in range(2) for q in range(2)]
        assert [tuple(int(v) for v in t) for t in f["taps"]] == expected


def test_the_transposed_convolution_accumulates_as_torch_does(figures):
    anim = figures.animations
    frames, flat = anim.transpose_frames(), anim.ENTRIES.ravel()
    for k, f in enumerate(frames):
        partial = torch.from_numpy(np.where(np.arange(flat.size) <= k, flat, 0.0).reshape(anim.ENTRIES.shape))
        expected = T.conv_transpose2d(partial, torch.from_numpy(anim.KERNEL), stride=anim.TRANSPOSED["stride"])
        assert np.array_equal(f["canvas"], expected[0, 0].numpy())
    full = T.conv_transpose2d(torch.from_numpy(anim.ENTRIES), torch.from_numpy(anim.KERNEL), **anim.TRANSPOSED)
    assert np.array_equal(anim.transpose_result(), full[0, 0].numpy())
    # the crop the last frame outlines: padding 1 off the canvas, output_padding 1 adding a zero column
    canvas = np.pad(frames[-1]["canvas"], ((0, 1), (0, 1)))
    assert np.array_equal(canvas[1:5, 1:5], full[0, 0].numpy())


def test_the_pooling_animation_drops_the_window_that_starts_in_the_padding(figures):
    anim = figures.animations
    data = anim.pool_frames()
    out, index = T.max_pool1d(torch.from_numpy(anim.ROW), **anim.POOLING, return_indices=True)
    assert [w["value"] for w in data["windows"]] == out.ravel().tolist()
    assert [w["index"] for w in data["windows"]] == index.ravel().tolist()
    L, pad, k, s = anim.ROW.shape[-1], anim.POOLING["padding"], anim.POOLING["kernel_size"], anim.POOLING["stride"]
    naive = -(-(L + 2 * pad - k) // s) + 1  # ⌈(L + 2p − k)/s⌉ + 1 windows, without the last-window rule
    assert naive == len(data["windows"]) + 1 and data["dropped_start"] >= L  # the dropped one starts in the padding
