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


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The folder the script, run as the docs say, wrote every figure to (run once: the GIFs
    take a second to draw)."""
    out = tmp_path_factory.mktemp("figures")
    result = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return out


def test_script_writes_three_valid_pngs(written):
    for name in NAMES:
        data = (written / name).read_bytes()
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


def _ceil_windows(length, k, s, pad):
    """⌈(L + 2p − k)/s⌉ + 1: the windows ceil mode would give without the last-window rule."""
    return -(-(length + 2 * pad - k) // s) + 1


def test_the_animations_have_one_frame_per_step_and_stay_small(figures, written):
    anim = figures.animations
    assert sorted(anim.ANIMATIONS) == ["conv-sliding.gif", "conv-transpose.gif", "pool-ceil.gif"]
    for name in anim.ANIMATIONS:
        assert 2_000 <= (written / name).stat().st_size <= 300_000, name
    conv = T.conv2d(torch.from_numpy(anim.IMAGE), torch.from_numpy(anim.POWERS), **anim.SLIDING)
    assert _gif_frames(written / "conv-sliding.gif") == conv.numel()  # one frame per output
    # one per input entry, then padding's crop, then output_padding's row and column
    assert _gif_frames(written / "conv-transpose.gif") == anim.ENTRIES.size + 2
    frames = 0
    for setting in anim.POOLINGS:  # one per window, and one more if the rule drops a window
        pooled = T.max_pool1d(torch.from_numpy(anim.ROW), **setting).shape[-1]
        k, s, pad = setting["kernel_size"], setting["stride"], setting["padding"]
        frames += pooled + int(_ceil_windows(anim.ROW.shape[-1], k, s, pad) > pooled)
    assert _gif_frames(written / "pool-ceil.gif") == frames


def test_the_sliding_window_shows_the_taps_of_the_index_equation_and_torchs_values(figures):
    anim = figures.animations
    frames = anim.sliding_frames()
    s, d, pad = anim.SLIDING["stride"], anim.SLIDING["dilation"], anim.SLIDING["padding"]
    image = torch.from_numpy(anim.IMAGE)
    conv = T.conv2d(image, torch.from_numpy(anim.POWERS), **anim.SLIDING)[0, 0].numpy()
    padded = T.pad(image, (pad,) * 4)[0, 0].numpy()
    assert np.array_equal(anim.sliding_padded(), padded)
    assert [f["value"] for f in frames] == conv.ravel().tolist()
    for f in frames:  # padded coordinates i·s + p·d, taps in row-major order
        i = f["output"]
        expected = [(i[0] * s + p * d, i[1] * s + q * d) for p in range(2) for q in range(2)]
        assert f["taps"] == expected
        assert f["reads"] == [padded[t] for t in expected]  # the sum line's terms, then its total:
        assert float(np.dot(f["reads"], anim.POWERS.ravel())) == f["value"]


def test_the_transposed_convolution_accumulates_as_torch_does(figures):
    anim = figures.animations
    frames, flat, s = anim.transpose_frames(), anim.ENTRIES.ravel(), anim.TRANSPOSED["stride"]
    k = anim.KERNEL.shape[-1]
    for n, f in enumerate(frames):
        partial = torch.from_numpy(np.where(np.arange(flat.size) <= n, flat, 0.0).reshape(anim.ENTRIES.shape))
        expected = T.conv_transpose2d(partial, torch.from_numpy(anim.KERNEL), stride=s)
        assert np.array_equal(f["canvas"], expected[0, 0].numpy())
        r, c = f["entry"]  # entry (r, c) writes outputs r·s + p, c·s + q
        footprint = np.zeros_like(f["footprint"])
        footprint[r * s:r * s + k, c * s:c * s + k] = True
        assert np.array_equal(f["footprint"], footprint) and f["value"] == anim.ENTRIES[0, 0, r, c]
    full = T.conv_transpose2d(torch.from_numpy(anim.ENTRIES), torch.from_numpy(anim.KERNEL), **anim.TRANSPOSED)
    assert np.array_equal(anim.transpose_result(), full[0, 0].numpy())
    canvas = frames[-1]["canvas"]
    crops = anim.transpose_crops()
    assert [c["output_padding"] for c in crops] == [0, anim.TRANSPOSED["output_padding"]]
    for crop in crops:  # each the op's output, and what it outlines on the uncropped sum
        kwargs = {**anim.TRANSPOSED, "output_padding": crop["output_padding"]}
        out = T.conv_transpose2d(torch.from_numpy(anim.ENTRIES), torch.from_numpy(anim.KERNEL), **kwargs)[0, 0]
        m, o = out.shape[-1], crop["offset"]
        assert np.array_equal(crop["values"], out.numpy()) and np.array_equal(canvas[o:o + m, o:o + m], out.numpy())
    # what output_padding gives back is the sum's last row and column, not zeros
    given_back = crops[1]["values"]
    assert given_back[-1].tolist() == [30, 403, 40, 4] and given_back[:, -1].tolist() == [20, 402, 40, 4]


def test_the_pooling_animation_keeps_the_overhang_and_drops_the_window_that_starts_in_the_padding(figures):
    anim = figures.animations
    panels, L = anim.pool_frames(), anim.ROW.shape[-1]
    assert len(panels) == len(anim.POOLINGS)
    for panel, setting in zip(panels, anim.POOLINGS):
        x = torch.from_numpy(anim.ROW)
        out, index = T.max_pool1d(x, **setting, return_indices=True)
        assert [w["value"] for w in panel["windows"]] == out.ravel().tolist()
        assert [w["index"] for w in panel["windows"]] == index.ravel().tolist()
        k, s, pad = setting["kernel_size"], setting["stride"], setting["padding"]
        for i, w in enumerate(panel["windows"]):  # window i reads i·s − p + q, q = 0 … k−1
            assert w["start"] == i * s - pad and w["taps"] == [i * s - pad + q for q in range(k)]
        assert panel["floor"] == T.max_pool1d(x, **{**setting, "ceil_mode": False}).shape[-1]
        naive = _ceil_windows(L, k, s, pad)
        if naive > out.shape[-1]:  # the rule dropped the window ceil would add: it starts in the right padding
            start = (naive - 1) * s - pad
            assert panel["dropped"] == dict(start=start, taps=list(range(start, start + k))) and start >= L
        else:
            assert panel["dropped"] is None
    # the figure shows both halves of the rule: a kept window past the end, and a dropped one
    plain, padded = panels
    assert plain["windows"][-1]["taps"][-1] >= L and len(plain["windows"]) == plain["floor"] + 1
    assert padded["dropped"] is not None and len(padded["windows"]) == padded["floor"]
