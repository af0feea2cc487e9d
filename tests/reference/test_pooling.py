"""Max and average pooling, 1-d to 3-d: what the harness cannot see.

Their calls against torch (outputs, indices, gradients, rejections) are cases of the table
(:mod:`crosscheck.cases.pool_table`), run by the CLI, the suite and fuzzing, and both tiers
are held to each other over it (tests/reference/test_definitional.py). Here: the signatures; the semantics worth
spelling out, on hand-made examples against torch; a max-pool gradient copies its upstream
entry exactly where one window selected the position; the separable passes' internals (blocks
of planes, the layout of a long last axis, non-contiguous inputs); signed zeros, which equality
cannot see; and the calls the reference refuses on purpose.
"""
import ast
import inspect
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.definitional_pooling as D
import reference.pooling as P
from crosscheck.cases.case import draw
from crosscheck.cases.pool_table import named_pool_cases
from crosscheck.oracle import torch_forward_backward
from reference import passes
import reference.functional as F
from tests.helpers.calls import refusal

DTYPES = ["float64", "float32"]
NAMED = [case.with_dtype(dtype) for case in named_pool_cases() for dtype in DTYPES]

_SHORT = {"kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d", "divisor_override": "div"}


def case_id(op, shape, kwargs, values):
    """``max_pool2d-k3x2-s2x1-p1x1-d2x1-ceil-in2x3x7x6-int``."""
    parts = [op]
    for key, short in _SHORT.items():
        if key in kwargs:
            v = kwargs[key]
            parts.append(short + ("x".join(map(str, v)) if isinstance(v, (tuple, list)) and v else str(v)))
    parts += ["ceil"] * kwargs.get("ceil_mode", False) + ["nopad"] * (not kwargs.get("count_include_pad", True))
    return "-".join(parts + ["in" + "x".join(map(str, shape)), values])


def torch_in_dtype(op, x, kwargs, grad):
    """torch's output, extra outputs and input gradient in ``x``'s own dtype (for bit-level comparisons)."""
    return torch_forward_backward(op, [x], kwargs, grad, dtype=None)


def assert_exact(got, want, what):
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_array_equal(got, want, err_msg=what)  # NaN matches NaN, ±inf must match


MAX_NAMED = [c for c in NAMED if c.op.startswith("max") and c.shapes[0][0] != 0]


@pytest.mark.parametrize("case", MAX_NAMED, ids=[c.key for c in MAX_NAMED])
def test_a_max_gradient_copies_its_upstream_entry_where_one_window_selected(case):
    """The table's bound lets a gradient entry that sums ``n`` shares be ``(n + 1)·eps·Σ|terms|``
    off; where a single window selected an input position its entry is a copy of one upstream
    entry, and must be that entry exactly."""
    (x,) = case.arrays(seed=0)
    kwargs = {k: v for k, v in case.kwargs.items() if k != "return_indices"}
    y, index = getattr(P, case.op)(x, **kwargs, return_indices=True)
    grad = case.grad_output(y.shape, seed=0)
    (got,) = getattr(P, case.op + "_backward")(grad, x, **kwargs)
    truth = torch_in_dtype(case.op, x, dict(kwargs, return_indices=True), grad)
    dims = int(case.op[-2])
    planes, plane = int(np.prod(x.shape[:-dims])), int(np.prod(x.shape[-dims:]))
    target = (index.reshape(planes, -1) + np.arange(planes)[:, None] * plane).ravel()
    once = np.bincount(target, minlength=planes * plane).reshape(x.shape) == 1
    np.testing.assert_array_equal(index, truth.extras[0])
    np.testing.assert_array_equal(got[once], truth.grads[0][once])


def _torch_signature(op):
    """torch's own signature: max pooling dispatches to ``*_with_indices`` (a Python function),
    average pooling is a builtin whose docstring opens with its signature."""
    if op.startswith("max"):
        parameters = inspect.signature(getattr(T, op + "_with_indices")).parameters.values()
        return [(p.name, p.default) for p in parameters]
    text = getattr(T, op).__doc__.strip().splitlines()[0]
    fields = [f.strip().split("=") for f in text[text.index("(") + 1: text.index(")")].split(",")]
    return [(f[0], ast.literal_eval(f[1]) if len(f) > 1 else inspect.Parameter.empty) for f in fields]


@pytest.mark.parametrize("op", [f"{kind}_pool{d}d" for kind in ("max", "avg") for d in (1, 2, 3)])
def test_signatures_are_torchs_and_backward_prepends_grad_output(op):
    forward = [(p.name, p.default) for p in inspect.signature(getattr(P, op)).parameters.values()]
    backward = [(p.name, p.default) for p in inspect.signature(getattr(P, op + "_backward")).parameters.values()]
    assert forward == _torch_signature(op)
    assert backward == [("grad_output", inspect.Parameter.empty)] + forward
    assert inspect.signature(getattr(D, op)) == inspect.signature(getattr(P, op))


# The semantics worth spelling out, checked against torch on hand-made examples.

def _max1d(x, *args, **kwargs):
    """reference and torch: output, indices and gradient for an upstream gradient of ones."""
    x = np.asarray(x, dtype=np.float64).reshape(1, 1, -1)
    y, index = P.max_pool1d(x, *args, **kwargs, return_indices=True)
    (grad,) = P.max_pool1d_backward(np.ones_like(y), x, *args, **kwargs)
    named = dict(zip(("kernel_size", "stride", "padding", "dilation"), args), **kwargs)
    truth = torch_in_dtype("max_pool1d", x, dict(named, return_indices=True), np.ones_like(y))
    for a, b in zip((y, index, grad), (truth.output, *truth.extras, *truth.grads)):
        assert_exact(a, b, "hand-made")
    return y[0, 0].tolist(), index[0, 0].tolist(), grad[0, 0].tolist()


def test_ties_go_to_the_first_maximum_and_overlaps_accumulate():
    y, index, grad = _max1d([2, 2, 1, 2, 2, 2], 3, 1)
    assert index == [0, 1, 3, 3] and grad == [1, 1, 0, 2, 0, 0]


def test_nan_wins_and_the_last_nan_is_the_index():
    y, index, _ = _max1d([1, np.nan, 3, np.nan, 2, 0], 6)
    assert np.isnan(y[0]) and index == [3]
    _, index, _ = _max1d([np.inf, 2, np.inf, np.nan, np.inf], 2, 1)
    assert index == [0, 2, 3, 3]  # once NaN is held, only a later NaN replaces it


def test_padding_is_never_selected_not_even_against_minus_inf():
    y, index, _ = _max1d([-np.inf, -np.inf, -np.inf], 2, 2, 1)
    assert y == [-np.inf, -np.inf] and index == [0, 1]


@pytest.mark.parametrize("plane, want", [
    ([[1, 5], [5, 1]], 1),  # ties across rows: the first in row-major order, (0, 1)
    ([[1, 1, 1], [1, 1, 5], [5, 1, 1]], 5),  # column-major order would pick (2, 0)
    ([[np.nan, 1], [1, np.nan]], 3),  # the last NaN in row-major order
    ([[1, np.nan], [np.nan, 1]], 2),  # column-major order would pick (0, 1)
    ([[-np.inf, -np.inf], [-np.inf, -np.inf]], 0),
])
def test_the_passes_pick_torchs_tap_in_a_box(plane, want):
    """The separable passes pick the row-major first maximum (or last NaN) of the whole box."""
    x = np.asarray(plane, dtype=np.float64)[None, None]
    k = x.shape[-1]
    _, index = P.max_pool2d(x, k, return_indices=True)
    (grad,) = P.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, k)
    assert index.item() == want == T.max_pool2d(torch.from_numpy(x), k, return_indices=True)[1].item()
    assert grad.ravel().tolist() == [float(j == want) for j in range(x.size)]


BATCHED = [c for c in NAMED if c.shapes[0][0] != 0 and not c.kwargs.get("return_indices")]


@pytest.mark.parametrize("case", BATCHED, ids=[c.key for c in BATCHED])
@pytest.mark.parametrize("planes_per_block", [1, 2])
def test_blocks_of_planes_change_nothing(case, planes_per_block, monkeypatch):
    """Pooling a block of planes at a time gives the same bits as pooling them all at once
    (planes are independent and each gets the same arithmetic); blocks of 2 leave a remainder
    block where the number of planes is odd."""
    op, kwargs, dtype = case.op, case.kwargs, case.dtype
    (x,) = case.arrays(seed=0)
    shape = x.shape
    extra = {"return_indices": True} if op.startswith("max") else {}
    whole = getattr(P, op)(x, **kwargs, **extra)
    out = whole[0] if extra else whole
    grad = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (whole_grad,) = getattr(P, op + "_backward")(grad, x, **kwargs)
    spatial = shape[-int(op[-2]):]
    monkeypatch.setattr(passes, "BLOCK_BYTES", planes_per_block * int(np.prod(spatial)) * np.dtype(dtype).itemsize)
    seen, blocks = [], passes.blocks

    def counted(*args):
        for plan, block in blocks(*args):
            seen.append(block.stop - block.start)
            yield plan, block

    monkeypatch.setattr(passes, "blocks", counted)
    blocked = getattr(P, op)(x, **kwargs, **extra)
    (blocked_grad,) = getattr(P, op + "_backward")(grad, x, **kwargs)
    planes = int(np.prod(shape[:-len(spatial)]))
    assert seen == 2 * ([planes_per_block] * (planes // planes_per_block) + [planes % planes_per_block] * (
        planes % planes_per_block > 0))
    for a, b in zip((blocked, blocked_grad) if not extra else (*blocked, blocked_grad),
                    (whole, whole_grad) if not extra else (*whole, whole_grad)):
        np.testing.assert_array_equal(a, b)


SIGNED = [
    ("max_pool1d", (2, 3, 12), dict(kernel_size=2)),
    ("max_pool1d", (2, 3, 12), dict(kernel_size=3, stride=1, padding=1)),
    ("max_pool2d", (2, 3, 6, 6), dict(kernel_size=2)),
    ("max_pool3d", (1, 2, 4, 4, 4), dict(kernel_size=(2, 3, 2), stride=1, padding=1)),
    ("avg_pool1d", (2, 3, 12), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", (2, 3, 6, 6), dict(kernel_size=2)),
    ("avg_pool2d", (2, 3, 6, 6), dict(kernel_size=2, divisor_override=-3)),
]


@pytest.mark.parametrize("op, shape, kwargs", SIGNED, ids=[case_id(op, s, k, "zeros") for op, s, k in SIGNED])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", [(-0.0, 0.0, -1.0), (-0.0, 0.0, 1.0)], ids=["negative", "non-negative"])
def test_signed_zeros_are_torchs(op, shape, kwargs, dtype, values):
    """Zeros of both signs in the input and the upstream gradient: every output and gradient
    entry has torch's sign too (a max output is the entry its index names; torch accumulates
    averages and gradients onto +0.0). Plain equality cannot see this: −0.0 == +0.0. The
    second set has no negative number but −0.0."""
    rng = np.random.default_rng(5)
    x = rng.choice(np.array(values), size=shape).astype(dtype)
    variants = [{}, {"return_indices": True}] if op.startswith("max") else [{}]
    for extra in variants:
        got = getattr(P, op)(x, **kwargs, **extra)
        want = getattr(T, op)(torch.from_numpy(x), **kwargs, **extra)
        got, want = (got[0], want[0].numpy()) if extra else (got, want.numpy())
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=f"output {extra}")
        np.testing.assert_array_equal(got, want)
    grad = rng.choice(np.array([-1.0, -0.0, 0.0, 2.0]), size=got.shape).astype(dtype)
    (got_grad,) = getattr(P, op + "_backward")(grad, x, **kwargs)
    want_grad = torch_in_dtype(op, x, kwargs, grad).grads[0]
    np.testing.assert_array_equal(np.signbit(got_grad), np.signbit(want_grad), err_msg="grad_input")
    np.testing.assert_array_equal(got_grad, want_grad)


def test_a_nan_output_is_the_entry_its_index_names():
    """Of several NaN in a window, torch's output is the last one (its index's), sign bit and
    all; a maximum computed by comparisons would keep another. Plain equality cannot see it."""
    x = np.array([[[-np.nan, 1.0, np.nan, 2.0, np.nan, -np.nan]]])
    for op, shape in (("max_pool1d", (1, 1, 6)), ("max_pool2d", (1, 1, 2, 3))):
        got = getattr(P, op)(x.reshape(shape), 3 if op == "max_pool1d" else (2, 3))
        want = getattr(T, op)(torch.from_numpy(x.reshape(shape)), 3 if op == "max_pool1d" else (2, 3)).numpy()
        assert np.isnan(got).all()
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


LONG_AXIS = [c for c in NAMED if c.id.endswith("few-windows-long-axis") and not c.kwargs.get("return_indices")]


@pytest.mark.parametrize("case", LONG_AXIS, ids=[c.key for c in LONG_AXIS])
def test_few_windows_over_a_long_last_axis_read_it_in_place(case):
    """Where at least half the row-phase slots would be no window, the last axis is read in
    place, clipped like the others (a layout of ``M`` slots for ``out ≪ M`` windows would cost
    ``k·M`` per row instead of ``k·out``); the table holds these cases to torch."""
    (x,) = case.arrays(seed=0)
    kwargs = case.kwargs
    assert passes.plan_passes(P.geometry(case.op, int(case.op[-2]), x, kwargs["kernel_size"], kwargs["stride"],
                              kwargs["padding"], 1, False), 1).phased is False


def test_a_non_contiguous_input_gives_the_same_bits():
    x = draw(np.random.default_rng(0), "integer-specials", (3, 4, 9, 8), np.dtype("float64"))
    strided = np.asfortranarray(x)
    for op in ("max_pool2d", "avg_pool2d"):
        y = getattr(P, op)(x, 3, 2, 1)
        np.testing.assert_array_equal(getattr(P, op)(strided, 3, 2, 1), y)
        grad = np.asfortranarray(np.random.default_rng(2).standard_normal(y.shape))
        np.testing.assert_array_equal(getattr(P, op + "_backward")(grad, strided, 3, 2, 1)[0],
                                      getattr(P, op + "_backward")(np.ascontiguousarray(grad), x, 3, 2, 1)[0])


def test_max_backward_overflows_silently_as_torch_does():
    """Overlapping windows whose shares overflow (inf) or meet as inf − inf (NaN) give torch's
    values without a NumPy warning (torch warns about neither)."""
    x = np.array([[[0.0, 1.0, 0.0]]], dtype=np.float32)
    for upstream, want in (([3e38, 3e38], [0.0, np.inf, 0.0]), ([np.inf, -np.inf], [0.0, np.nan, 0.0])):
        grad = np.array([[upstream]], dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (got,) = P.max_pool1d_backward(grad, x, 2, 1)
        np.testing.assert_array_equal(got[0, 0], np.array(want, dtype=np.float32))
        np.testing.assert_array_equal(got, torch_in_dtype("max_pool1d", x, dict(kernel_size=2, stride=1), grad).grads[0])


def test_ceil_mode_drops_a_last_window_that_starts_in_the_right_padding():
    x = np.arange(5.0).reshape(1, 1, 5)
    assert P.max_pool1d(x, 2, 2, 1, ceil_mode=True).shape[-1] == 3  # ⌈(5 + 2 − 2)/2⌉ + 1 = 4 naively
    assert P.output_length(5, 2, 2, 1, 1, True) == 3 and P.output_length(6, 3, 2, 1, 1, True) == 4


def test_avg_divisor_never_counts_the_overhang_past_the_padding():
    cases = [  # (length, args, expected), args = (kernel_size, stride, padding, ceil_mode, count_include_pad)
        (5, (3, 2, 1, True, True), [2 / 3, 1, 2 / 3]),  # windows [−1, 2), [1, 4), [3, 6): padding counts
        (5, (3, 2, 1, True, False), [1, 1, 1]),  # clipped to [0, 5)
        (5, (4, 3, 0, True, True), [1, 1]),  # [3, 7) overhangs [0, 5): divides by 2
        (6, (3, 3, 1, True, True), [2 / 3, 1, 1 / 2]),  # [5, 8) reads x[5] and one padding zero, divides by 2
    ]
    for length, args, expected in cases:
        x = np.ones((1, 1, length))
        y = P.avg_pool1d(x, *args)
        np.testing.assert_array_equal(y, T.avg_pool1d(torch.from_numpy(x), *args).numpy())
        np.testing.assert_allclose(y[0, 0], expected, rtol=1e-15)


# Rejection parity is the table's (invalid_pool_cases, tests/reference/test_rejections.py); here, what it cannot hold.

@pytest.mark.parametrize("dtype", [np.int64, np.float16])
def test_non_contract_dtypes_are_refused_by_type(dtype):
    """torch pools int64 (average) and float16; the contract takes float32 and float64 only."""
    x = np.ones((1, 2, 6), dtype)
    assert T.avg_pool1d(torch.from_numpy(x), 2).dtype == torch.from_numpy(x).dtype
    for op in ("max_pool1d", "avg_pool1d"):
        with pytest.raises(TypeError, match=f"input.dtype={np.dtype(dtype)}"):
            getattr(P, op)(x, 2)


def test_lists_are_refused_by_type():
    with pytest.raises(TypeError, match="input"):
        P.max_pool1d([[[1.0, 2.0]]], 2)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_backward_checks_grad_output(op):
    x = np.ones((2, 3, 6, 4))
    with pytest.raises(ValueError, match=r"grad_output.*\(2, 3, 3, 2\)"):
        getattr(P, op + "_backward")(np.ones((2, 3, 3, 3)), x, 2)
    with pytest.raises(TypeError, match="grad_output.dtype=float32"):
        getattr(P, op + "_backward")(np.ones((2, 3, 3, 2), np.float32), x, 2)


def test_window_of_only_padding_is_refused_where_torch_indexes_outside_the_plane():
    """Deliberate deviation: with dilation, the first window can skip over the whole input
    (L = 3, k = 2, d = 4, pad = 1 reads positions −1 and 3). torch 2.13 accepts it, gives −inf
    and the index 3, outside the plane, and its backward writes through that index: into the
    next plane's gradient, or past the end of the buffer (the process often aborts with
    "double free or corruption"), so torch's backward is never called here."""
    x = np.arange(3.0).reshape(1, 1, 3)
    y, index = T.max_pool1d(torch.from_numpy(x), 2, 1, 1, 4, return_indices=True)
    assert y.item() == -np.inf and index.item() == 3
    with pytest.raises(ValueError, match="dilation=4"):
        P.max_pool1d(x, 2, 1, 1, 4)
    # in 2-d the index lands in the next plane: plane 0's gradient would go to plane 1
    x = np.arange(8.0).reshape(1, 2, 1, 4)
    _, index = T.max_pool2d(torch.from_numpy(x), (2, 1), (3, 1), (1, 0), (2, 1), return_indices=True)
    assert index.flatten().tolist() == [4, 5, 6, 7] * 2  # each plane holds offsets 0 … 3
    with pytest.raises(ValueError, match="dilation"):
        P.max_pool2d(x, (2, 1), (3, 1), (1, 0), (2, 1))


@pytest.mark.parametrize("op, suffix", [("max_pool2d", " (dilation does not count)"), ("avg_pool2d", "")])
def test_pooling_padding_over_half_the_kernel_says_whether_dilation_counts(op, suffix):
    """Guards the suffix of pooling's padding message: max pooling says that dilation does not count, average pooling adds nothing.

    Kills the mutants of the conditional suffix in pooling's padding message (``if
    op.startswith("max")`` → ``and False``/``or True``, ``"max"`` → ``"XXmaxXX"``/``"MAX"``, the
    suffix or the empty alternative replaced): only max pooling has a dilation, and its rule is
    on the raw kernel, which the message must say (torch's own message does not)."""
    message = refusal(getattr(F, op), np.ones((1, 1, 6, 6)), 2, padding=2)
    assert message == f"{op}: padding must be at most half of kernel_size on every axis, got padding=2, kernel_size=2{suffix}"
