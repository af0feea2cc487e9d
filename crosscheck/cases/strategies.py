"""Hypothesis strategies: calls of every op family, as :class:`~crosscheck.cases.case.Case` data.

The case table and the grid check points we chose; these strategies search the space between
them. Each family is one strategy, named as a noun for what it draws (``convolutions()``,
``max_poolings()``, ...), built from shared pieces (:func:`axes`, :func:`batches`,
:func:`kinds_of_data`, :func:`dtypes`). Every draw is valid by construction: lengths are
drawn *after* the kernel, stride, dilation and padding, from the range that gives at least
one window, so nothing is filtered out and shrinking moves towards the smallest valid call
(length 1, kernel 1, stride 1, no padding, batch of one). The calls torch refuses are drawn by
:mod:`crosscheck.cases.rejections`, from these.

A drawn case runs through the same :func:`~crosscheck.checking.compare.run_case` as the table's, so a
failure prints the case id, the whole configuration and a reproduction snippet.
"""
from __future__ import annotations

from hypothesis import strategies as st

from .builders import (adaptive_case, conv_case, conv_transpose_case, linear_case, loss_case, pad_case, pool_case,
                       unary_case, unfold_case)
from .pool_table import every_window_reads_input
from .unfold_table import fold_of

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "log_softmax")


# ---------------------------------------------------------------- shared pieces

def dtypes():
    return st.sampled_from(["float64", "float32"])


def batches():
    """``None`` for an unbatched call, else the batch size (0 is an empty batch)."""
    return st.sampled_from([1, 2, None, 0, 3])


def kinds_of_data(special=False):
    """What fills the arrays (:func:`crosscheck.cases.case.draw`): ``integers`` makes ties,
    ``zeros`` signed zeros, ``specials`` NaN and ±inf (for the ops whose result on them is
    defined entry by entry)."""
    kinds = ["normal", "integers", "zeros"] + (["specials"] if special else [])
    return st.sampled_from(kinds)


def as_argument(draw, values):
    """An int where every axis agrees (sometimes), else the tuple: both spellings are tested."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


def axes(draw, dims, low, high):
    return tuple(draw(st.integers(low, high)) for _ in range(dims))


def _batched(batch, rest):
    return tuple(rest) if batch is None else (batch,) + tuple(rest)


SLACK = {1: 24, 2: 6, 3: 4}  # how far past the shortest valid length an axis may grow, by dims


def _length_for(draw, reach, padding_total, slack):
    """An input length with at least one window: ``L + padding ≥ reach``, short or long
    (drawn from two ranges, so that long ones are common rather than a rare tail), shrinking
    to the shortest. One-dimensional calls are cheap, so they draw long signals: many
    windows, across chunk and tile boundaries."""
    low = max(1, reach - padding_total)
    short = st.integers(low, low + min(slack, 4))
    return draw(short if slack <= 4 else st.one_of(short, st.sampled_from(range(low + 5, low + slack + 1))))


def _convolution_axes(draw, dims):
    """What a convolution and a transposed one share: the number of spatial axes, groups with
    one or two channels each on either side (depthwise and channel multipliers among them),
    and per axis a kernel of 1–4 taps, a stride of 1–3 and a dilation of 1–2."""
    d = draw(st.integers(1, 3)) if dims is None else dims
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    return d, groups, c_in, c_out, axes(draw, d, 1, 4), axes(draw, d, 1, 3), axes(draw, d, 1, 2)


# ---------------------------------------------------------------- families

@st.composite
def convolutions(draw, dims=None):
    d, groups, c_in, c_out, kernel, stride, dilation = _convolution_axes(draw, dims)
    choices = ["int", "valid"] + (["same"] if all(s == 1 for s in stride) else [])
    style = draw(st.sampled_from(choices))
    if style == "int":
        pads = axes(draw, d, 0, 2)
        padding, totals = as_argument(draw, pads), [2 * p for p in pads]
    else:
        padding = style
        totals = [dd * (k - 1) if style == "same" else 0 for k, dd in zip(kernel, dilation)]
    spatial = [_length_for(draw, dd * (k - 1) + 1, t, SLACK[d]) for k, dd, t in zip(kernel, dilation, totals)]
    x_shape = _batched(draw(batches()), [c_in] + spatial)
    w_shape = (c_out, c_in // groups) + kernel
    return conv_case(d, x_shape, w_shape, bias=draw(st.booleans()), stride=as_argument(draw, stride),
                     padding=padding, dilation=as_argument(draw, dilation), groups=groups,
                     values={"input": draw(kinds_of_data())}, dtype=draw(dtypes()))


@st.composite
def transposed_convolutions(draw, dims=None):
    d, groups, c_in, c_out, kernel, stride, dilation = _convolution_axes(draw, dims)
    output_padding = tuple(draw(st.integers(0, max(s, dd) - 1)) for s, dd in zip(stride, dilation))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(d))
    # The output (L − 1)·s − 2p + d·(k − 1) + output_padding + 1 must be at least 1.
    spatial = []
    for k, s, dd, p, q in zip(kernel, stride, dilation, padding, output_padding):
        short = 2 * p - dd * (k - 1) - q  # how much (L − 1)·s must make up
        spatial.append(draw(st.integers(max(1, -(-short // s) + 1), max(1, -(-short // s) + 1) + 3)))
    x_shape = _batched(draw(batches()), [c_in] + spatial)
    w_shape = (c_in, c_out // groups) + kernel
    return conv_transpose_case(d, x_shape, w_shape, bias=draw(st.booleans()), stride=as_argument(draw, stride),
                               padding=as_argument(draw, padding), output_padding=as_argument(draw, output_padding),
                               groups=groups, dilation=as_argument(draw, dilation),
                               values={"input": draw(kinds_of_data())}, dtype=draw(dtypes()))


@st.composite
def paddings(draw):
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    dims = draw(st.integers(1, 3))
    lead = draw(st.integers(1, 2)) if mode != "constant" else draw(st.integers(0, 2))
    spatial = axes(draw, dims, 1, 6)
    pad = []
    for n in reversed(spatial):  # torch orders pad from the last axis
        if mode == "reflect":
            high = n - 1
        elif mode == "circular":
            high = n
        else:
            high = 3
        low = -(n - 1) // 2 if mode == "constant" else 0  # constant pads may crop, never to nothing
        pad += [draw(st.integers(low, high)), draw(st.integers(low, high))] if high >= low else [0, 0]
        if mode == "constant" and pad[-1] + pad[-2] <= -n:
            pad[-1] = 0
    x_shape = axes(draw, lead, 1, 3) + spatial
    value = draw(st.sampled_from([None, 0.0, 1.5, -2.0])) if mode == "constant" else None
    return pad_case(x_shape, tuple(pad), mode, value=value, values={"input": draw(kinds_of_data(special=True))},
                    dtype=draw(dtypes()))


def _pool_axes(draw, dims, dilated, ceil_mode):
    """Per axis ``(kernel, stride, dilation, padding, length)`` of a pooling every window of
    which reads the input: padding at most half the kernel, and dropped on an axis where a
    window would read padding alone (a call torch mishandles and the reference refuses)."""
    default_stride = draw(st.booleans())  # stride=None: the kernel size
    columns = []
    for _ in range(dims):
        k, dd = draw(st.integers(1, 4)), (draw(st.integers(1, 2)) if dilated else 1)
        s = k if default_stride else draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2))
        n = draw(st.integers(dd * (k - 1) + 1, dd * (k - 1) + 5))
        if not every_window_reads_input(n, k, s, p, dd, ceil_mode):
            p = 0  # with no padding every window starts inside the input
        columns.append((k, s, dd, p, n))
    kernel, stride, dilation, padding, spatial = (list(c) for c in zip(*columns))
    return kernel, (None if default_stride else stride), dilation, padding, spatial


@st.composite
def max_poolings(draw, dims=None):
    d = draw(st.integers(1, 3)) if dims is None else dims
    ceil_mode = draw(st.booleans())
    kernel, stride, dilation, padding, spatial = _pool_axes(draw, d, True, ceil_mode)
    x_shape = _batched(draw(batches()), [draw(st.integers(1, 3))] + spatial)
    case = pool_case("max", d, x_shape, as_argument(draw, kernel),
                     stride=None if stride is None else as_argument(draw, stride),
                     padding=as_argument(draw, padding), dilation=as_argument(draw, dilation), ceil_mode=ceil_mode,
                     return_indices=draw(st.booleans()), values={"input": draw(kinds_of_data(special=True))})
    return case.with_dtype(draw(dtypes()))


@st.composite
def avg_poolings(draw, dims=None):
    d = draw(st.integers(1, 3)) if dims is None else dims
    ceil_mode = draw(st.booleans())
    kernel, stride, _, padding, spatial = _pool_axes(draw, d, False, ceil_mode)
    kwargs = dict(stride=None if stride is None else as_argument(draw, stride),
                  padding=as_argument(draw, padding), ceil_mode=ceil_mode, count_include_pad=draw(st.booleans()))
    if d > 1:
        kwargs["divisor_override"] = draw(st.sampled_from([None, None, 1, 3, 7]))
    x_shape = _batched(draw(batches()), [draw(st.integers(1, 3))] + spatial)
    case = pool_case("avg", d, x_shape, as_argument(draw, kernel),
                     values={"input": draw(kinds_of_data(special=True))}, **kwargs)
    return case.with_dtype(draw(dtypes()))


def _window_arguments(draw):
    """Per axis of a 2-d unfold or fold: kernel, dilation, padding, stride and an image length
    drawn after them, from the range that holds at least one window."""
    columns = []
    for _ in range(2):
        k, d, p, s = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 2)), draw(st.integers(1, 3))
        n = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 5))
        columns.append((k, d, p, s, n))
    kernel, dilation, padding, stride, size = (list(c) for c in zip(*columns))
    kwargs = dict(dilation=as_argument(draw, dilation), padding=as_argument(draw, padding),
                  stride=as_argument(draw, stride))
    return as_argument(draw, kernel), kwargs, tuple(size)


@st.composite
def unfolds(draw):
    kernel, kwargs, size = _window_arguments(draw)
    x_shape = _batched(draw(batches()), (draw(st.integers(1, 3)),) + size)
    case = unfold_case(x_shape, kernel, values={"input": draw(kinds_of_data(special=True))}, **kwargs)
    return case.with_dtype(draw(dtypes()))


@st.composite
def folds(draw):
    kernel, kwargs, size = _window_arguments(draw)
    case = fold_of(draw(batches()), draw(st.integers(1, 3)), size, kernel,
                   values={"input": draw(kinds_of_data(special=True))}, **kwargs)
    return case.with_dtype(draw(dtypes()))


@st.composite
def adaptive_poolings(draw, dims=None, kind=None):
    """Adaptive max or average poolings: lengths 1 … 8 and output sizes 1 … 10 per axis (so
    outputs longer than the input, windows that overlap and windows that divide), None for an
    axis in 2-d and 3-d."""
    d = draw(st.integers(1, 3)) if dims is None else dims
    kind = draw(st.sampled_from(["max", "avg"])) if kind is None else kind
    spatial = list(axes(draw, d, 1, 8))
    size = [draw(st.none() | st.integers(1, 10)) if d > 1 else draw(st.integers(1, 10)) for _ in range(d)]
    output_size = size[0] if d > 1 and size[0] is not None and len(set(size)) == 1 and draw(st.booleans()) \
        else as_argument(draw, size) if d == 1 else tuple(size)
    x_shape = _batched(draw(batches()), [draw(st.integers(1, 3))] + spatial)
    return_indices = draw(st.booleans()) if kind == "max" else None
    case = adaptive_case(kind, d, x_shape, output_size, return_indices=return_indices,
                         values={"input": draw(kinds_of_data(special=True))})
    return case.with_dtype(draw(dtypes()))


@st.composite
def linears(draw):
    lead = axes(draw, draw(st.integers(0, 2)), 0, 3)
    features, out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return linear_case(lead + (features,), (out, features), bias=draw(st.booleans()),
                       values={"input": draw(kinds_of_data())}, dtype=draw(dtypes()))


@st.composite
def activations(draw, op=None):
    op = draw(st.sampled_from(ACTIVATIONS)) if op is None else op
    shape = axes(draw, draw(st.integers(0 if op in ("relu", "sigmoid", "tanh") else 1, 3)), 0, 4)
    kwargs = {"dim": draw(st.integers(-len(shape), len(shape) - 1))} if op in ("softmax", "log_softmax") else {}
    kind = draw(st.sampled_from(["normal", "integers", "zeros", "specials", "large"]))
    return unary_case(op, shape, values={"input": kind}, **kwargs).with_dtype(draw(dtypes()))


@st.composite
def losses(draw, op=None):
    op = draw(st.sampled_from(["mse_loss", "cross_entropy"])) if op is None else op
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    if op == "mse_loss":
        shape = axes(draw, draw(st.integers(0, 3)), 1, 4)
        return loss_case(op, shape, shape, reduction, values={"input": draw(kinds_of_data())}).with_dtype(
            draw(dtypes()))
    classes = draw(st.integers(1, 5))
    batch = draw(batches())
    # torch reads an input of two or more axes as (N, C, d1, ...): only (C,) is unbatched
    extra = () if batch is None else axes(draw, draw(st.integers(0, 2)), 1, 3)
    x_shape = _batched(batch, (classes,) + extra)
    t_shape = _batched(batch, extra)
    kind = draw(st.sampled_from(["normal", "large", "integers"]))
    return loss_case(op, x_shape, t_shape, reduction, values={"input": kind, "target": f"classes:{classes}"}).with_dtype(
        draw(dtypes()))


FAMILIES = {
    "conv": convolutions, "conv_transpose": transposed_convolutions, "pad": paddings, "unfold": unfolds, "fold": folds,
    "max_pool": max_poolings, "avg_pool": avg_poolings, "adaptive_max_pool": adaptive_poolings,
    "adaptive_avg_pool": adaptive_poolings, "linear": linears,
    "activation": activations, "loss": losses,
}


def family_of(op: str) -> str:
    """The family whose strategy draws ``op`` (``conv2d`` → ``conv``, ``softmax`` → ``activation``)."""
    if op in ACTIVATIONS:
        return "activation"
    if op in ("mse_loss", "cross_entropy"):
        return "loss"
    for family in ("conv_transpose", "conv", "max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool"):
        if op.startswith(family):
            return family
    return op


def calls(op: str):
    """Valid calls of one op of the contract (``conv2d``, ``pad``, ``softmax``, ...)."""
    family = FAMILIES[family_of(op)]
    if family in (activations, losses):
        return family(op=op)
    if family in (paddings, linears, unfolds, folds):
        return family()
    if family is adaptive_poolings:
        return family(dims=int(op[-2]), kind=op.split("_")[1])
    return family(dims=int(op[-2]))
