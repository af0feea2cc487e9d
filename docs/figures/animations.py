"""The tutorial's animated figures: step-by-step GIFs drawn from the reference's own numbers.

conv-sliding.gif     a 2×2 kernel [[1, 10], [100, 1000]] with dilation 2 sliding over a 6×6
                     image zero-padded by 1, stride 2: one frame per output, its four taps
                     highlighted (padding in grey) and the value it writes
conv-transpose.gif   a transposed convolution, stride 2: each input entry adds the kernel, scaled
                     by itself, onto the output at twice its position; padding 1 crops the border
                     and output_padding 1 keeps one more row and column
pool-ceil.gif        ceil-mode max pooling of 5 inputs, kernel 2, stride 2, padding 1: three windows,
                     the last one overhanging, and the fourth, which would start in the right
                     padding, dropped

Every number comes from :mod:`reference.functional`: which inputs a window reads is ``unfold`` of
an image of position numbers, what it writes is the op's output, what a transposed convolution
has added after each input entry is ``conv_transpose2d`` of the entries so far, and which
pooling windows exist is the op's own output size. The ``*_frames`` functions return that data
frame by frame; ``tests/test_figures.py`` holds it against torch, and the GIFs are drawn from it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import reference.functional as R

CELL = 44  # pixels per grid cell
FRAME_MS = 900  # time each frame is shown
COLOURS = dict(background=(255, 255, 255), grid=(90, 90, 90), padding=(225, 225, 225), tap=(255, 196, 87),
               output=(120, 200, 120), text=(20, 20, 20), muted=(150, 150, 150), crop=(200, 60, 60))

# conv-sliding.gif
IMAGE = np.arange(1.0, 37.0).reshape(1, 1, 6, 6)
POWERS = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(1, 1, 2, 2)
SLIDING = dict(stride=2, padding=1, dilation=2)
# conv-transpose.gif
ENTRIES = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
KERNEL = np.array([1.0, 10.0, 100.0, 10.0, 1.0, 10.0, 100.0, 10.0, 1.0]).reshape(1, 1, 3, 3)
TRANSPOSED = dict(stride=2, padding=1, output_padding=1)
# pool-ceil.gif
ROW = np.array([3.0, 1.0, 4.0, 1.0, 5.0]).reshape(1, 1, 5)
POOLING = dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)


def sliding_frames() -> list[dict]:
    """Per output position of ``conv2d(IMAGE, POWERS, **SLIDING)``: its taps as positions of the
    padded image (from ``unfold`` of an image of position numbers padded with −1) and the value."""
    pad = SLIDING["padding"]
    padded_shape = tuple(n + 2 * pad for n in IMAGE.shape[2:])
    positions = np.arange(float(np.prod(padded_shape))).reshape((1, 1) + padded_shape)
    taps = R.unfold(positions, 2, dilation=SLIDING["dilation"], stride=SLIDING["stride"])[0].astype(int)  # (4, B)
    out = R.conv2d(IMAGE, POWERS, **SLIDING)[0, 0]
    frames = []
    for i, value in enumerate(out.ravel()):
        frames.append(dict(output=np.unravel_index(i, out.shape), value=float(value),
                           taps=[np.unravel_index(t, padded_shape) for t in taps[:, i]]))
    return frames


def transpose_frames() -> list[dict]:
    """After each input entry of ``ENTRIES`` (row-major): the uncropped output so far (the
    transposed convolution of the entries up to it, no padding) and the entry's position."""
    flat = ENTRIES.ravel()
    frames = []
    for k in range(flat.size):
        partial = np.where(np.arange(flat.size) <= k, flat, 0.0).reshape(ENTRIES.shape)
        canvas = R.conv_transpose2d(partial, KERNEL, stride=TRANSPOSED["stride"])[0, 0]
        frames.append(dict(entry=np.unravel_index(k, ENTRIES.shape[2:]), canvas=canvas))
    return frames


def transpose_result() -> np.ndarray:
    """The transposed convolution with padding and output_padding: the crop of the last canvas."""
    return R.conv_transpose2d(ENTRIES, KERNEL, **TRANSPOSED)[0, 0]


def pool_frames() -> dict:
    """The windows of ``max_pool1d(ROW, **POOLING)`` (starts in input coordinates, the index
    chosen, the value) and the window that the ceil rule drops."""
    out, index = R.max_pool1d(ROW, **POOLING, return_indices=True)
    k, s, pad = POOLING["kernel_size"], POOLING["stride"], POOLING["padding"]
    windows = [dict(start=i * s - pad, index=int(index[0, 0, i]), value=float(out[0, 0, i])) for i in range(out.shape[-1])]
    return dict(windows=windows, dropped_start=out.shape[-1] * s - pad, kernel=k, padding=pad)


# --- drawing ------------------------------------------------------------------------------------

def _font(size):
    return ImageFont.load_default(size=size)


def _cell(draw, x, y, text, fill, font, colour=None, outline=None, width=1):
    draw.rectangle([x, y, x + CELL, y + CELL], fill=fill, outline=outline or COLOURS["grid"], width=width)
    draw.text((x + CELL / 2, y + CELL / 2), text, fill=colour or COLOURS["text"], font=font, anchor="mm")


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _canvas(width, height, *texts):
    """A white frame at least ``width`` wide, and wide enough for each of ``texts`` (title
    and notes, 15 px) written 20 px from the left edge."""
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max([width] + [int(measure.textlength(t, font=_font(15))) + 40 for t in texts])
    image = Image.new("RGB", (width, height), COLOURS["background"])
    return image, ImageDraw.Draw(image)


def draw_sliding(path: Path) -> None:
    frames, pad = sliding_frames(), SLIDING["padding"]
    n = IMAGE.shape[-1] + 2 * pad
    out_n = int(np.sqrt(len(frames)))
    small, title = _font(13), _font(15)
    images = []
    for index, frame in enumerate(frames):
        heading = "conv2d: kernel [[1, 10], [100, 1000]], stride 2, padding 1, dilation 2"
        image, draw = _canvas(20 + n * CELL + 60 + out_n * CELL + 20, 70 + n * CELL + 20, heading)
        draw.text((20, 12), heading, fill=COLOURS["text"], font=title)
        draw.text((20, 40), "padded input (grey: padding)", fill=COLOURS["muted"], font=small)
        draw.text((20 + n * CELL + 60, 40), "output", fill=COLOURS["muted"], font=small)
        taps = {tuple(int(v) for v in t): p for p, t in enumerate(frame["taps"])}
        for r in range(n):
            for c in range(n):
                inside = pad <= r < n - pad and pad <= c < n - pad
                text = _number(IMAGE[0, 0, r - pad, c - pad]) if inside else "0"
                fill = COLOURS["tap"] if (r, c) in taps else COLOURS["background"] if inside else COLOURS["padding"]
                _cell(draw, 20 + c * CELL, 70 + r * CELL, text, fill, small)
        for (r, c), p in taps.items():  # the tap's weight, small in the corner
            draw.text((20 + c * CELL + 3, 70 + r * CELL + 2), f"x{_number(POWERS.ravel()[p])}", fill=COLOURS["crop"],
                      font=_font(10))
        for r in range(out_n):
            for c in range(out_n):
                position = r * out_n + c  # outputs are written in row-major order, one a frame
                text = _number(frames[position]["value"]) if position <= index else ""
                _cell(draw, 20 + n * CELL + 60 + c * CELL, 70 + r * CELL, text,
                      COLOURS["output"] if position == index else COLOURS["background"], _font(10))
        images.append(image)
    _save(images, path)


def draw_transpose(path: Path) -> None:
    frames, result = transpose_frames(), transpose_result()
    n_in = ENTRIES.shape[-1]
    n = frames[0]["canvas"].shape[-1]
    pad, extra = TRANSPOSED["padding"], TRANSPOSED["output_padding"]
    small, title = _font(13), _font(15)
    images = []
    for k, frame in enumerate(frames + [None]):
        heading = "conv_transpose2d: stride 2, padding 1, output_padding 1; kernel [[1,10,100],[10,1,10],[100,10,1]]"
        label = "each input adds input * kernel at 2 * its position" if frame else \
            "padding 1 crops a border; output_padding 1 keeps one more row and column"
        image, draw = _canvas(20 + n_in * CELL + 60 + (n + extra) * CELL + 40, 100 + (n + extra) * CELL + 30, heading,
                              label)
        draw.text((20, 12), heading, fill=COLOURS["text"], font=title)
        draw.text((20, 40), label, fill=COLOURS["muted"], font=small)
        current = tuple(int(v) for v in frame["entry"]) if frame else None
        for r in range(n_in):
            for c in range(n_in):
                _cell(draw, 20 + c * CELL, 100 + r * CELL, _number(ENTRIES[0, 0, r, c]),
                      COLOURS["tap"] if (r, c) == current else COLOURS["background"], small)
        left = 20 + n_in * CELL + 60
        canvas = frame["canvas"] if frame else frames[-1]["canvas"]
        for r in range(n + extra):
            for c in range(n + extra):
                inside = r < n and c < n
                text = _number(canvas[r, c]) if inside else "0"
                if frame and current is not None:
                    s = TRANSPOSED["stride"]
                    hit = current[0] * s <= r < current[0] * s + 3 and current[1] * s <= c < current[1] * s + 3
                else:
                    hit = False
                fill = COLOURS["tap"] if hit else COLOURS["background"] if inside else COLOURS["padding"]
                _cell(draw, left + c * CELL, 100 + r * CELL, text, fill, _font(11))
        if frame is None:  # the kept region: rows and columns pad ... pad + len(result) - 1
            m = result.shape[-1]
            draw.rectangle([left + pad * CELL, 100 + pad * CELL, left + (pad + m) * CELL, 100 + (pad + m) * CELL],
                           outline=COLOURS["crop"], width=4)
            draw.text((left, 100 + (n + extra) * CELL + 6), f"output {m}x{m}: (2 - 1)*2 - 2*1 + 3 + 1 = {m}",
                      fill=COLOURS["crop"], font=small)
        images.append(image)
    _save(images, path)


def draw_pool(path: Path) -> None:
    data = pool_frames()
    k, pad, L = data["kernel"], data["padding"], ROW.shape[-1]
    positions = list(range(-pad, data["dropped_start"] + k))  # input coordinates drawn
    small, title = _font(13), _font(15)
    images = []
    steps = data["windows"] + [None]
    for step in steps:
        heading = "max_pool1d: kernel 2, stride 2, padding 1, ceil_mode=True"
        start = step["start"] if step else data["dropped_start"]
        note = (f"window [{start}, {start + k}) takes {_number(step['value'])} (index {step['index']})" if step else
                f"a window starting at {start} would start in the right padding: dropped, "
                f"{len(data['windows'])} windows, not {len(data['windows']) + 1}")
        image, draw = _canvas(40 + len(positions) * CELL + 40, 190, heading, note)
        draw.text((20, 12), heading, fill=COLOURS["text"], font=title)
        draw.text((20, 40), note, fill=COLOURS["crop"] if step is None else COLOURS["muted"], font=small)
        for x, j in enumerate(positions):
            inside = 0 <= j < L
            text = _number(ROW[0, 0, j]) if inside else "-inf" if j < L + pad else ""
            in_window = start <= j < start + k
            fill = (COLOURS["crop"] if step is None else COLOURS["tap"]) if in_window else \
                COLOURS["background"] if inside else COLOURS["padding"]
            _cell(draw, 40 + x * CELL, 80, text, fill, small)
            draw.text((40 + x * CELL + CELL / 2, 80 + CELL + 12), str(j), fill=COLOURS["muted"], font=_font(11),
                      anchor="mm")
        done = [w for w in data["windows"] if step is None or w["start"] <= step["start"]]
        draw.text((40, 160), "output: " + "  ".join(_number(w["value"]) for w in done), fill=COLOURS["text"],
                  font=small)
        images.append(image)
    _save(images, path)


def _save(images, path: Path) -> None:
    """An endlessly looping GIF, every frame shown FRAME_MS (the last one twice as long). A GIF's
    frames share one size: each is placed on a white frame as large as the largest."""
    width, height = max(i.width for i in images), max(i.height for i in images)
    framed = []
    for picture in images:
        frame = Image.new("RGB", (width, height), COLOURS["background"])
        frame.paste(picture, (0, 0))
        framed.append(frame)
    images = framed
    durations = [FRAME_MS] * (len(images) - 1) + [2 * FRAME_MS]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=True)


ANIMATIONS = {"conv-sliding.gif": draw_sliding, "conv-transpose.gif": draw_transpose, "pool-ceil.gif": draw_pool}
