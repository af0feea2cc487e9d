"""Draw the tutorial's figures as PNG heat maps.

    python docs/figures/make_figures.py [OUT_DIR]      (default: this file's folder)

conv-matrix-seed.png     the 4×9 matrix M with conv(x).ravel() == M @ x.ravel() for the seed
                         example (3×3 image ⊛ 2×2 kernel [[1, 2], [3, 4]]): weight sharing, one
                         weight value per non-zero cell
conv-matrix-strided.png  the 9×25 matrix of a 3×3 kernel (1 … 9) on a 5×5 input, stride 2,
                         padding 1
receptive-field.png      the input pixels that one output of a two-layer convolution stack
                         reads, from the gradient of that output alone (a single 1 in
                         grad_output carried back through both layers)

conv-sliding.gif, conv-transpose.gif, pool-ceil.gif
                         the animations of ``animations.py`` beside this file (its docstring
                         says what each shows)

The data comes from :mod:`reference.unroll` and :mod:`reference.functional`; the functions that
compute it (:func:`seed_matrix`, :func:`strided_matrix`, :func:`receptive_fields`) are what
``tests/test_figures.py`` checks, so the pictures cannot drift from the numbers.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)
import numpy as np  # noqa: E402

import reference.functional as R  # noqa: E402
from reference.unroll import conv_matrix  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # animations.py, beside this script
import animations  # noqa: E402

DPI = 100
SEED_KERNEL = np.array([[1.0, 2.0], [3.0, 4.0]])


def seed_matrix() -> np.ndarray:
    """The 4×9 matrix of the seed example: 3×3 input, 2×2 kernel [[1, 2], [3, 4]], no padding."""
    return conv_matrix((1, 3, 3), SEED_KERNEL.reshape(1, 1, 2, 2))


def strided_matrix() -> np.ndarray:
    """The 9×25 matrix of a 3×3 kernel holding 1 … 9 on a 5×5 input, stride 2, padding 1."""
    kernel = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    return conv_matrix((1, 5, 5), kernel, stride=2, padding=1)


def _receptive_field(size: int, first_stride: int) -> np.ndarray:
    """∂(centre output)/∂(input) of conv(conv(x, ones 3×3, stride=first_stride), ones 3×3) on a
    ``size``×``size`` input: each entry counts the paths from that pixel to the output."""
    kernel = np.ones((1, 1, 3, 3))
    image = np.zeros((1, 1, size, size))
    hidden = R.conv2d(image, kernel, stride=first_stride)
    out = R.conv2d(hidden, kernel)
    grad_out = np.zeros_like(out)
    grad_out[0, 0, out.shape[2] // 2, out.shape[3] // 2] = 1.0
    grad_hidden = R.conv2d_backward(grad_out, hidden, kernel)[0]
    return R.conv2d_backward(grad_hidden, image, kernel, stride=first_stride)[0][0, 0]


def receptive_fields() -> dict[str, np.ndarray]:
    """The two stacks drawn in receptive-field.png, by panel title."""
    return {
        "3×3 then 3×3": _receptive_field(7, 1),
        "3×3 stride 2, then 3×3": _receptive_field(11, 2),
    }


def _annotated_heat_map(ax, values: np.ndarray, fontsize: float) -> None:
    """Zero cells blank, every other cell coloured and labelled with its (integer) value."""
    shown = np.ma.masked_equal(values, 0.0)
    ax.imshow(shown, cmap="viridis", vmin=0.0, vmax=float(values.max()), interpolation="nearest")
    for (r, c), v in np.ndenumerate(values):
        if v:
            ax.text(c, r, f"{v:g}", ha="center", va="center", color="white" if v < 0.6 * values.max() else "black",
                    fontsize=fontsize)
    ax.set_xticks(np.arange(values.shape[1] + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(values.shape[0] + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.85", linewidth=0.5)
    ax.tick_params(which="minor", length=0)


def draw_seed(path: Path) -> None:
    matrix = seed_matrix()
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    _annotated_heat_map(ax, matrix, fontsize=11)
    ax.set_xticks(range(9), [f"x{r}{c}" for r in range(3) for c in range(3)])
    ax.set_yticks(range(4), [f"y{r}{c}" for r in range(2) for c in range(2)])
    ax.set_xlabel("input pixel (row-major)")
    ax.set_ylabel("output")
    ax.set_title("y = M x: 3×3 image, kernel [[1, 2], [3, 4]]\neach row holds the same four weights, shifted")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def draw_strided(path: Path) -> None:
    matrix = strided_matrix()
    fig, ax = plt.subplots(figsize=(9.0, 4.0))
    _annotated_heat_map(ax, matrix, fontsize=7)
    ax.set_xticks(range(25), [f"{r}{c}" for r in range(5) for c in range(5)], fontsize=7)
    ax.set_yticks(range(9), [f"y{r}{c}" for r in range(3) for c in range(3)])
    ax.set_xlabel("input pixel (row, column), row-major")
    ax.set_ylabel("output")
    ax.set_title("5×5 input, 3×3 kernel (1 … 9), stride 2, padding 1: taps on the padding are missing")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def draw_receptive_field(path: Path) -> None:
    fields = receptive_fields()
    fig, axes = plt.subplots(1, len(fields), figsize=(8.0, 4.2))
    for ax, (title, field) in zip(axes, fields.items()):
        _annotated_heat_map(ax, field, fontsize=8)
        ax.set_xticks(range(field.shape[1]))
        ax.set_yticks(range(field.shape[0]))
        ax.set_title(f"{title}\n{field.shape[0]}×{field.shape[1]} input, centre output")
    fig.suptitle("Input pixels one output reads: ∂y/∂x, counting paths")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


FIGURES = {
    "conv-matrix-seed.png": draw_seed,
    "conv-matrix-strided.png": draw_strided,
    "receptive-field.png": draw_receptive_field,
    **animations.ANIMATIONS,
}


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(out_dir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
