"""The tutorial's animated figures: step-by-step GIFs drawn from the reference's own numbers.

conv-sliding.gif     a 2×2 kernel [[1, 10], [100, 1000]] with dilation 2 sliding over a 6×6
                     image zero-padded by 1, stride 2: one frame per output, its four taps
                     highlighted (padding in grey), the sum they make and the value it writes
conv-transpose.gif   a transposed convolution, stride 2: each input entry adds the kernel, scaled
                     by itself, onto the output at twice its position (one frame per entry); then
                     padding 1 crops a border off the sum, and output_padding 1 gives back its
                     last row and column (which hold sums, not zeros)
pool-ceil.gif        ceil-mode max pooling of 1 … 5, kernel 2, stride 2, one frame per window:
                     without padding the last window overhangs the end and is kept; with padding
                     1 a fourth window would start in the right padding and is dropped

Every number comes from the reference: the padded input is ``R.pad``, which positions a window
reads is ``R.unfold`` of an image of position numbers and what it reads is ``R.unfold`` of the
image, what it writes is ``R.conv2d``; what a transposed convolution has added after each input
entry is ``R.conv_transpose2d`` of the entries so far, and where one entry lands is that op on
a one-hot input; the pooling windows are the op's output and indices at the starts of
:func:`reference.pooling.geometry`. The ``*_frames`` functions return that data frame by frame;
``tests/test_figures.py`` holds it against torch and the index equations, and the GIFs are
drawn from it and nothing else.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import reference.functional as R
from reference import pooling, windows

CELL = 44  # pixels per grid cell
FRAME_MS = 900  # time each frame is shown
COLOURS = dict(background=(255, 255, 255), grid=(90, 90, 90), padding=(225, 225, 225), tap=(255, 196, 87),
               output=(120, 200, 120), text=(20, 20, 20), muted=(150, 150, 150), crop=(200, 60, 60),
               faint=(200, 200, 200))

# conv-sliding.gif
IMAGE = np.arange(1.0, 37.0).reshape(1, 1, 6, 6)
POWERS = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(1, 1, 2, 2)
SLIDING = dict(stride=2, padding=1, dilation=2)
# conv-transpose.gif
ENTRIES = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
KERNEL = np.array([1.0, 10.0, 100.0, 10.0, 1.0, 10.0, 100.0, 10.0, 1.0]).reshape(1, 1, 3, 3)
TRANSPOSED = dict(stride=2, padding=1, output_padding=1)
# pool-ceil.gif: chapter 7's x, the two settings its text walks through
ROW = np.arange(1.0, 6.0).reshape(1, 1, 5)
POOLINGS = (dict(kernel_size=2, stride=2, padding=0, ceil_mode=True),
            dict(kernel_size=2, stride=2, padding=1, ceil_mode=True))


def sliding_padded() -> np.ndarray:
    """The zero-padded image the window slides over, as ``R.pad`` makes it."""
    return R.pad(IMAGE, (SLIDING["padding"],) * 4)[0, 0]


def sliding_frames() -> list[dict]:
    """Per output position of ``conv2d(IMAGE, POWERS, **SLIDING)``, row-major: its taps as
    positions of the padded image (``unfold`` of an image of position numbers), the values they
    read (``unfold`` of the image, padding included) and the value the convolution writes."""
    kernel, pad = POWERS.shape[2:], SLIDING["padding"]
    stride, dilation = SLIDING["stride"], SLIDING["dilation"]
    padded_shape = sliding_padded().shape
    positions = np.arange(float(np.prod(padded_shape))).reshape((1, 1) + padded_shape)
    taps = R.unfold(positions, kernel, dilation=dilation, stride=stride)[0].astype(int)  # (4, outputs)
    reads = R.unfold(IMAGE, kernel, dilation=dilation, padding=pad, stride=stride)[0]  # (4, outputs)
    out = R.conv2d(IMAGE, POWERS, **SLIDING)[0, 0]
    frames = []
    for i, value in enumerate(out.ravel()):
        frames.append(dict(output=tuple(int(v) for v in np.unravel_index(i, out.shape)), value=float(value),
                           taps=[tuple(int(v) for v in np.unravel_index(t, padded_shape)) for t in taps[:, i]],
                           reads=reads[:, i].tolist()))
    return frames


def transpose_frames() -> list[dict]:
    """After each input entry of ``ENTRIES`` (row-major): the entry's position, the uncropped
    output so far (the transposed convolution of the entries up to it, no padding) and the
    cells that entry wrote (the op on a one-hot input with a kernel of ones)."""
    flat, stride = ENTRIES.ravel(), TRANSPOSED["stride"]
    frames = []
    for k in range(flat.size):
        partial = np.where(np.arange(flat.size) <= k, flat, 0.0).reshape(ENTRIES.shape)
        one_hot = (np.arange(flat.size) == k).astype(float).reshape(ENTRIES.shape)
        footprint = R.conv_transpose2d(one_hot, np.ones_like(KERNEL), stride=stride)[0, 0] != 0
        frames.append(dict(entry=tuple(int(v) for v in np.unravel_index(k, ENTRIES.shape[2:])), value=float(flat[k]),
                           canvas=R.conv_transpose2d(partial, KERNEL, stride=stride)[0, 0], footprint=footprint))
    return frames


def transpose_crops() -> list[dict]:
    """The two steps from the uncropped sum to the result, each the op's own output: padding
    alone, then padding with output_padding. ``offset`` is where the result's [0, 0] sits on
    the uncropped sum (the padding cropped off the top and the left)."""
    stride, pad, extra = TRANSPOSED["stride"], TRANSPOSED["padding"], TRANSPOSED["output_padding"]
    return [dict(output_padding=op, offset=pad,
                 values=R.conv_transpose2d(ENTRIES, KERNEL, stride=stride, padding=pad, output_padding=op)[0, 0])
            for op in (0, extra)]


def transpose_result() -> np.ndarray:
    """The transposed convolution with padding and output_padding: the last crop's values."""
    return R.conv_transpose2d(ENTRIES, KERNEL, **TRANSPOSED)[0, 0]


def pool_frames() -> list[dict]:
    """One panel per setting of ``POOLINGS``: the windows of ``max_pool1d(ROW, **setting)`` (start
    and taps in input coordinates from :func:`reference.pooling.geometry`, the index the op
    picks, the value it writes) and the window the ceil rule drops, if any: the one the ceil
    count gives before that rule (``windows.output_length``, as ``pooling.output_length`` starts)
    and the op does not; and, for comparison, how many windows the floor (``ceil_mode=False``)
    gives."""
    length, panels = ROW.shape[-1], []
    for setting in POOLINGS:
        k, s, pad = setting["kernel_size"], setting["stride"], setting["padding"]
        out, index = R.max_pool1d(ROW, **setting, return_indices=True)
        geo = pooling.geometry("max_pool1d", 1, ROW, k, s, pad, 1, setting["ceil_mode"])
        kernel, dilation = geo.kernel[0], geo.dilation[0]
        starts = geo.starts(0)
        found = [dict(start=int(a), taps=[int(a) + p * dilation for p in range(kernel)], index=int(index[0, 0, i]),
                      value=float(out[0, 0, i])) for i, a in enumerate(starts)]
        candidates = windows.output_length(length + 2 * pad + s - 1, kernel, s, dilation)
        dropped = None
        if candidates > len(found):
            a = (candidates - 1) * s - pad
            dropped = dict(start=a, taps=[a + p * dilation for p in range(kernel)])
        floor = R.max_pool1d(ROW, **{**setting, "ceil_mode": False}).shape[-1]
        panels.append(dict(setting=setting, windows=found, dropped=dropped, padding=pad, kernel=kernel, floor=floor))
    return panels


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
    frames, padded = sliding_frames(), sliding_padded()
    n = padded.shape[-1]
    inside = R.pad(np.ones_like(IMAGE), (SLIDING["padding"],) * 4)[0, 0] == 1  # the image, not its padding
    out_n = int(np.sqrt(len(frames)))
    weights = POWERS.ravel()
    small, title = _font(13), _font(15)
    heading = "conv2d: kernel [[1, 10], [100, 1000]], stride 2, padding 1, dilation 2"
    images = []
    for index, frame in enumerate(frames):
        sum_line = "y[{}, {}] = ".format(*frame["output"]) + " + ".join(
            f"{_number(v)}*{_number(w)}" for v, w in zip(frame["reads"], weights)) + f" = {_number(frame['value'])}"
        image, draw = _canvas(20 + n * CELL + 60 + out_n * CELL + 20, 70 + n * CELL + 40, heading, sum_line)
        draw.text((20, 12), heading, fill=COLOURS["text"], font=title)
        draw.text((20, 40), "padded input (grey: padding)", fill=COLOURS["muted"], font=small)
        draw.text((20 + n * CELL + 60, 40), "output", fill=COLOURS["muted"], font=small)
        taps = {t: p for p, t in enumerate(frame["taps"])}
        for r in range(n):
            for c in range(n):
                fill = COLOURS["tap"] if (r, c) in taps else COLOURS["background"] if inside[r, c] else \
                    COLOURS["padding"]
                _cell(draw, 20 + c * CELL, 70 + r * CELL, _number(padded[r, c]), fill, small)
        for (r, c), p in taps.items():  # the tap's weight, small in the corner
            draw.text((20 + c * CELL + 3, 70 + r * CELL + 2), f"x{_number(weights[p])}", fill=COLOURS["crop"],
                      font=_font(10))
        for r in range(out_n):
            for c in range(out_n):
                position = r * out_n + c  # outputs are written in row-major order, one a frame
                text = _number(frames[position]["value"]) if position <= index else ""
                _cell(draw, 20 + n * CELL + 60 + c * CELL, 70 + r * CELL, text,
                      COLOURS["output"] if position == index else COLOURS["background"], _font(11))
        draw.text((20, 70 + n * CELL + 12), sum_line, fill=COLOURS["text"], font=small)
        images.append(image)
    _save(images, path)


def _spans(mask: np.ndarray) -> str:
    """'rows a-b, columns c-d' of the True cells of a 2-d mask (a rectangle)."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return f"rows {rows.min()}-{rows.max()}, columns {cols.min()}-{cols.max()}"


def _square(size: int, offset: int, side: int) -> np.ndarray:
    """A ``size``×``size`` mask, True on the ``side``×``side`` square whose corner is (offset, offset)."""
    mask = np.zeros((size, size), bool)
    mask[offset:offset + side, offset:offset + side] = True
    return mask


def draw_transpose(path: Path) -> None:
    frames, crops = transpose_frames(), transpose_crops()
    n_in = ENTRIES.shape[-1]
    n = frames[0]["canvas"].shape[-1]
    shown = max([n] + [c["offset"] + c["values"].shape[-1] for c in crops])  # output_padding may pass the sum
    small, title = _font(13), _font(15)
    heading = "conv_transpose2d: stride 2, padding 1, output_padding 1; kernel [[1,10,100],[10,1,10],[100,10,1]]"
    left, top = 20 + n_in * CELL + 60, 100
    images = []
    for step in frames + crops:
        crop = step if "offset" in step else None
        frame = frames[-1] if crop else step
        if crop is None:
            label = "x[{}, {}] = {} adds {} * kernel onto ".format(*step["entry"], _number(step["value"]),
                                                               _number(step["value"])) + _spans(step["footprint"])
        elif crop["output_padding"] == 0:
            label = "padding 1 crops one row and column off each side of the sum"
        else:
            label = "output_padding 1 gives back the last row and column: they hold sums, not zeros"
        image, draw = _canvas(left + shown * CELL + 40, top + shown * CELL + 36, heading, label)
        draw.text((20, 12), heading, fill=COLOURS["text"], font=title)
        draw.text((20, 40), label, fill=COLOURS["crop"] if crop else COLOURS["muted"], font=small)
        draw.text((20, 76), "input", fill=COLOURS["muted"], font=small)
        draw.text((left, 76), f"sum of the scattered copies ({n}x{n}, nothing cropped)" if crop is None else
                  "output", fill=COLOURS["muted"], font=small)
        for r in range(n_in):
            for c in range(n_in):
                current = crop is None and (r, c) == step["entry"]
                _cell(draw, 20 + c * CELL, top + r * CELL, _number(ENTRIES[0, 0, r, c]),
                      COLOURS["tap"] if current else COLOURS["background"], small)
        if crop is not None:  # the op's output at its place on the sum, and what output_padding adds to it
            m, o = crop["values"].shape[-1], crop["offset"]
            kept = _square(shown, o, m)
            given_back = kept & ~_square(shown, o, crops[0]["values"].shape[-1]) if crop["output_padding"] else \
                np.zeros_like(kept)
        for r in range(shown):
            for c in range(shown):
                on_sum = r < n and c < n
                if crop is None:
                    text = _number(frame["canvas"][r, c]) if on_sum else ""
                    fill, colour = COLOURS["tap"] if on_sum and step["footprint"][r, c] else COLOURS["background"], None
                elif kept[r, c]:
                    text = _number(crop["values"][r - o, c - o])
                    fill, colour = COLOURS["tap"] if given_back[r, c] else COLOURS["background"], None
                else:
                    text = _number(frame["canvas"][r, c]) if on_sum else ""
                    fill, colour = COLOURS["background"], COLOURS["faint"]
                _cell(draw, left + c * CELL, top + r * CELL, text, fill, _font(11), colour=colour)
        if crop is not None:
            draw.rectangle([left + o * CELL, top + o * CELL, left + (o + m) * CELL, top + (o + m) * CELL],
                           outline=COLOURS["crop"], width=4)
            draw.text((left, top + shown * CELL + 10),
                      f"output {m}x{m}: (2 - 1)*2 - 2*1 + 3 + {crop['output_padding']} = {m}",
                      fill=COLOURS["crop"], font=small)
        images.append(image)
    _save(images, path)


def draw_pool(path: Path) -> None:
    panels, length = pool_frames(), ROW.shape[-1]
    lowest = min(-p["padding"] for p in panels)
    highest = max(w["taps"][-1] for p in panels for w in p["windows"] + ([p["dropped"]] if p["dropped"] else []))
    positions = list(range(lowest, highest + 1))  # input coordinates drawn
    steps = [(i, w) for i, p in enumerate(panels) for w in p["windows"] + ([p["dropped"]] if p["dropped"] else [])]
    small, title = _font(13), _font(15)
    heading = "max_pool1d, ceil_mode=True: the last window may overhang the end,"
    rule = "but it must start inside the input or the left padding"
    legend = "x = [1, 2, 3, 4, 5]; grey: padding (-inf); blank: past the end; green outline: the index picked"
    panel_height = 150
    images = []
    for active, step in steps:
        notes = []
        for i, panel in enumerate(panels):
            n = len(panel["windows"])
            if i < active:
                notes.append(f"{n} windows: " + ", ".join(_number(w["value"]) for w in panel["windows"])
                             + f" (ceil_mode=False: {panel['floor']})")
            elif i > active:
                notes.append("")
            elif step is panel["dropped"]:
                a = step["start"]
                notes.append(f"a window [{a}, {a + panel['kernel']}) would start in the right padding: dropped, "
                             f"{n} windows, not {n + 1}")
            else:
                a = step["start"]
                note = f"window [{a}, {a + panel['kernel']}) takes {_number(step['value'])} (index {step['index']})"
                if step["taps"][-1] >= length + panel["padding"]:
                    note += ": it overhangs the end, and ceil_mode keeps it"
                notes.append(note)
        width = 40 + len(positions) * CELL + 40
        image, draw = _canvas(width, 100 + len(panels) * panel_height, heading, rule, legend, *notes)
        draw.text((20, 10), heading, fill=COLOURS["text"], font=title)
        draw.text((20, 30), rule, fill=COLOURS["text"], font=title)
        draw.text((20, 56), legend, fill=COLOURS["muted"], font=small)
        for i, panel in enumerate(panels):
            top, pad, k = 90 + i * panel_height, panel["padding"], panel["kernel"]
            draw.text((20, top), f"padding={pad}", fill=COLOURS["text"], font=title)
            draw.text((20, top + 22), notes[i], fill=COLOURS["crop"] if i == active and step is panel["dropped"]
                      else COLOURS["muted"], font=small)
            current = step if i == active else None
            for x, j in enumerate(positions):
                inside, padding = 0 <= j < length, -pad <= j < length + pad
                in_window = current is not None and j in current["taps"]
                if in_window:
                    fill = COLOURS["crop"] if current is panel["dropped"] else COLOURS["tap"]
                else:
                    fill = COLOURS["background"] if inside or not padding else COLOURS["padding"]
                text = _number(ROW[0, 0, j]) if inside else "-inf" if padding else ""
                outline = COLOURS["grid"] if padding or in_window else COLOURS["faint"]
                _cell(draw, 40 + x * CELL, top + 46, text, fill, small, outline=outline)
                if current is not None and current is not panel["dropped"] and j == current["index"]:
                    draw.rectangle([40 + x * CELL + 3, top + 49, 40 + (x + 1) * CELL - 3, top + 43 + CELL],
                                   outline=COLOURS["output"], width=3)
                draw.text((40 + x * CELL + CELL / 2, top + 46 + CELL + 10), str(j), fill=COLOURS["muted"],
                          font=_font(11), anchor="mm")
            done = panel["windows"] if i < active else [w for w in panel["windows"] if i == active and (
                step is panel["dropped"] or w["start"] <= step["start"])]
            draw.text((40, top + 46 + CELL + 24), "output: " + "  ".join(_number(w["value"]) for w in done),
                      fill=COLOURS["text"], font=small)
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
