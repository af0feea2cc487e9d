"""Hypothesis strategies for the calls torch rejects: one rule broken at a time, each with the
argument its error must name (:func:`rejected_calls`, and :data:`REJECTIONS` by family).

Each draws a valid call from :mod:`crosscheck.cases.strategies` and breaks one rule of it, so
a rejection is shrunk like any other draw, towards the smallest call that breaks the rule.
"""
from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from .strategies import (adaptive_poolings, avg_poolings, convolutions, folds, linears, losses, max_poolings, paddings,
                         transposed_convolutions, unfolds)


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
