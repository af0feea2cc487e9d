"""Hypothesis strategies: calls of every op family, as :class:`~crosscheck.cases.case.Case` data.

The case table and the grid check points we chose; these strategies search the space between
them. Each family is one strategy, named as a noun for what it draws (``convolutions()``,
``max_poolings()``, ...), built from shared pieces (:func:`axes`, :func:`batches`,
:func:`kinds_of_data`, :func:`dtypes`). Every draw is valid by construction: lengths are
drawn *after* the kernel, stride, dilation and padding, from the range that gives at least
one window, so nothing is filtered out and shrinking moves towards the smallest valid call
(length 1, kernel 1, stride 1, no padding, batch of one). :func:`rejected_calls` draws the
calls torch refuses, one rule at a time, each with the argument its error must name.

A drawn case runs through the same :func:`~crosscheck.checking.compare.run_case` as the table's, so a
failure prints the case id, the whole configuration and a reproduction snippet.
"""
from __future__ import annotations

from dataclasses import replace

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


# ---------------------------------------------------------------- calls torch rejects

def _broken(case, blame, shapes=None, **kwargs):
    """``case`` with one rule broken: new ``kwargs`` entries or array ``shapes``, and the
    argument the rejection must name."""
    return replace(case, id=f"{case.id}-bad-{blame}", shapes=case.shapes if shapes is None else shapes,
                   kwargs={**case.kwargs, **kwargs}, invalid=True, blame=blame)


def _spatial_dims(case) -> int:
    """The axes after batch and channels: unfold's image has 2, fold's columns 1."""
    return {"unfold": 2, "fold": 1}.get(case.op) or int(case.op[-2])


def _nonempty(case):
    """``case`` with an empty batch made a batch of one: on an empty batch torch skips some of
    its argument checks (README, deviations), so a broken rule is drawn on a real batch."""
    x, d = case.shapes[0], _spatial_dims(case)
    if len(x) == d + 2 and x[0] == 0:
        return replace(case, shapes=((1,) + tuple(x[1:]),) + tuple(case.shapes[1:]))
    return case


@st.composite
def _bad_convolution(draw):
    case = _nonempty(draw(st.one_of(convolutions(), transposed_convolutions())))
    d, (x, w, b) = _spatial_dims(case), case.shapes
    rules = ["stride", "dilation", "padding", "groups", "more-groups", "channels", "rank", "weight-rank", "bias",
             "dtype"]
    rules += ["output_padding"] if "transpose" in case.op else ["same-with-stride", "kernel"]
    rule = draw(st.sampled_from(rules))
    if rule in ("stride", "dilation"):
        one = d > 1 and draw(st.booleans())  # a 1-tuple, which torch broadcasts (as in its OpInfo error_inputs)
        if "transpose" not in case.op:
            bad = draw(st.sampled_from([0, -1]))
            return _broken(case, rule, **{rule: (bad,) if one else tuple(bad if a == 0 else 1 for a in range(d))})
        # Two float32 gaps in torch's checks (README, deviations) would accept the call by
        # chance of the shapes: an output length of exactly 0 is returned empty unchecked, and
        # dilation 0 is taken where every tap lands on its own output (a 1-tap kernel, or one
        # input position with a stride of at least the kernel). So the value is 0 with no
        # padding (every length (L − 1)·s + d·(k − 1) + 1 is at least 1), and a dilation is
        # broken in float64, where torch always checks it.
        bad = {rule: (0,) if one else tuple(0 if a == 0 else 1 for a in range(d))}
        broken = _broken(case, rule, padding=0, output_padding=0, **bad)
        return broken.with_dtype("float64") if rule == "dilation" else broken
    if rule == "padding":
        return _broken(case, "padding", padding=-draw(st.integers(1, 2)))
    if rule == "groups":
        return _broken(case, "groups", groups=draw(st.sampled_from([0, -1])))
    if rule == "more-groups":  # more groups than the weight's first axis has entries
        return _broken(case, "groups", groups=w[0] + 1)
    if rule == "weight-rank":  # one kernel axis too few for the op
        return _broken(case, "weight", shapes=(x, w[:-1], b))
    if rule == "channels":  # weight's channel axis disagrees with the input's channels
        axis = 0 if "transpose" in case.op else 1
        w = w[:axis] + (w[axis] + 1,) + w[axis + 1:]
        return _broken(case, "weight", shapes=(x, w, b))
    if rule == "rank":  # one axis too many
        return _broken(case, "input", shapes=((1,) * (d + 3 - len(x) + 1) + x, w, b))
    if rule == "bias":
        return _broken(case, "bias", shapes=(x, w, (draw(st.integers(1, 3)) + (b[0] if b else 0),) if b else (7, 1)))
    if rule == "dtype":
        return replace(_broken(case, "dtype"), array_dtypes={"weight": "other"})
    if rule == "output_padding":
        stride, dilation = case.kwargs["stride"], case.kwargs["dilation"]
        stride = (stride,) * d if isinstance(stride, int) else stride
        dilation = (dilation,) * d if isinstance(dilation, int) else dilation
        return _broken(case, "output_padding", output_padding=tuple(max(s, dd) for s, dd in zip(stride, dilation)))
    if rule == "same-with-stride":
        return _broken(case, "padding", padding="same", stride=2)
    # kernel larger than the padded input on the first spatial axis
    spatial = x[-d:]
    w = w[:2] + (spatial[0] + 2 * 2 + 1,) + w[3:]
    return _broken(case, "weight", shapes=(x, w, b), padding=0, dilation=1)


@st.composite
def _bad_padding(draw):
    case = draw(paddings())
    x, pad = case.shapes[0], list(case.kwargs["pad"])
    rule = draw(st.sampled_from(["odd", "reflect-too-wide", "mode"]))
    if rule == "odd":
        return _broken(case, "pad", pad=tuple(pad) + (1,))
    if rule == "mode":
        return _broken(case, "mode", mode=draw(st.sampled_from(["symmetric", "wrap", "zeros"])))
    pad[0] = x[-1]  # reflect needs pad < size on the last axis
    return _broken(case, "pad", pad=tuple(pad), mode="reflect", **({"value": None} if "value" in case.kwargs else {}))


@st.composite
def _bad_pooling(draw):
    case = _nonempty(draw(st.one_of(max_poolings(), avg_poolings())))
    kernel = case.kwargs["kernel_size"]
    k = kernel if isinstance(kernel, int) else kernel[0]
    rules = ["padding", "negative-padding", "stride", "kernel_size", "empty-channels"]
    rules += ["divisor_override"] if "divisor_override" in case.kwargs else []
    rule = draw(st.sampled_from(rules))
    if rule == "padding":
        return _broken(case, "padding", padding=k // 2 + 1)
    if rule == "negative-padding":
        return _broken(case, "padding", padding=-1)
    if rule == "empty-channels":  # a zero-size axis other than the batch (torch's OpInfo error_inputs)
        x, d = case.shapes[0], _spatial_dims(case)
        return _broken(case, "input", shapes=(x[: len(x) - d - 1] + (0,) + x[len(x) - d:],))
    if rule == "stride":
        return _broken(case, "stride", stride=0)
    if rule == "kernel_size":
        return _broken(case, "kernel_size", kernel_size=0)
    return _broken(case, "divisor_override", divisor_override=0)


@st.composite
def _bad_dense_or_loss(draw):
    case = draw(st.one_of(linears(), losses()))
    if case.op == "linear":
        x, w, b = case.shapes
        return _broken(case, "weight", shapes=(x, (w[0], w[1] + 1), b))
    if case.op == "cross_entropy" and len(case.shapes[0]) > 1 and draw(st.booleans()):
        # torch wants the target (N, d1, ...) of an input (N, C, d1, ...): one more sample is
        # wrong whatever the labels (a shape from the drawn target could fit another reading)
        x = case.shapes[0]
        return _broken(case, "target", shapes=(x, (x[0] + 1,) + tuple(x[2:])))
    return _broken(case, "reduction", reduction=draw(st.sampled_from(["average", "total", "Mean"])))


@st.composite
def _bad_unfold_or_fold(draw):
    case = _nonempty(draw(st.one_of(unfolds(), folds())))
    rule = draw(st.sampled_from(["kernel_size", "stride", "dilation", "padding", "length", "float"]))
    if rule == "padding":
        return _broken(case, "padding", padding=-draw(st.integers(1, 2)))
    if rule == "length":  # torch's _pair: a 1-tuple is not broadcast
        name = draw(st.sampled_from(["kernel_size", "dilation", "stride"]))
        return _broken(case, name, **{name: (2,)})
    if rule == "float":
        return _broken(case, "kernel_size", kernel_size=2.0)
    return _broken(case, rule, **{rule: 0})


@st.composite
def _bad_adaptive_pooling(draw):
    case = _nonempty(draw(adaptive_poolings()))
    x, d = case.shapes[0], _spatial_dims(case)
    rule = draw(st.sampled_from(["negative", "length", "float", "empty-spatial", "rank"]))
    if rule == "negative":
        return _broken(case, "output_size", output_size=(-draw(st.integers(1, 3)),) * d)
    if rule == "length":
        return _broken(case, "output_size", output_size=(2,) * (d + 1))
    if rule == "float":
        return _broken(case, "output_size", output_size=2.0)
    if rule == "empty-spatial":  # a zero-size spatial axis (torch's OpInfo error_inputs)
        # output size 2: torch 2.13 averages to a global size of 1 by a mean() that takes an
        # empty axis (and returns NaN), a call the reference refuses (docs/semantics.md)
        return _broken(case, "input", shapes=(x[:-1] + (0,),), output_size=(2,) * d)
    return _broken(case, "input", shapes=((1,) * (d + 3 - len(x)) + x,))


REJECTIONS = {"convolution": _bad_convolution, "padding": _bad_padding, "pooling": _bad_pooling,
              "unfold and fold": _bad_unfold_or_fold, "adaptive pooling": _bad_adaptive_pooling,
              "dense and loss": _bad_dense_or_loss}


def rejected_calls():
    """Calls torch rejects, one broken rule each, with the argument the error must name (the
    rules of the project's semantics notes and of torch's own OpInfo ``error_inputs`` for
    convolution): non-positive stride or dilation (also as a 1-tuple), negative padding,
    ``'same'`` with a stride, groups that are not positive or exceed the weight's first axis,
    channel, input-rank, weight-rank and bias-size mismatches, mixed dtypes, a kernel larger
    than the padded input, ``output_padding`` not smaller than stride or dilation, an odd
    or too wide ``pad``, an unknown mode or reduction, pooling padding negative or over half
    the kernel, a zero kernel, stride or ``divisor_override``, a pooling input with no
    channels, an adaptive pooling's output size negative, of the wrong length or a float, or its
    input empty or of the wrong rank, unfold's and fold's window arguments zero, negative, a
    1-tuple or a float, feature and target mismatches."""
    return st.one_of(_bad_convolution(), _bad_padding(), _bad_pooling(), _bad_unfold_or_fold(),
                     _bad_adaptive_pooling(), _bad_dense_or_loss())
