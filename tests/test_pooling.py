"""Max and average pooling, 1-d to 3-d, against torch directly and against the definitional tier.

Max pooling selects: its output and indices are entries and offsets of the input, compared
exactly, ties, NaN and ±inf included; its input gradient copies an upstream entry where one
window selected the position, exactly too, and sums several where overlapping windows did
(see :func:`assert_max_grad`). Average pooling sums: see :func:`assert_within_bound`.
Inputs are integer-valued where ties matter, so that ties really occur.
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
from crosscheck.checking.tolerance import excess, tolerance

DTYPES = ["float64", "float32"]

MAX = [
    ("max_pool1d", (2, 3, 11), dict(kernel_size=3), "int"),
    ("max_pool1d", (2, 3, 10), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True), "int"),
    ("max_pool1d", (2, 2, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), "int"),  # 3 windows, not 4
    ("max_pool1d", (1, 2, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), "int"),
    ("max_pool1d", (2, 2, 3), dict(kernel_size=4, stride=4, ceil_mode=True), "int"),  # kernel longer than input
    ("max_pool1d", (2, 2, 6), dict(kernel_size=3, stride=3, padding=1, ceil_mode=True), "int"),  # overhang past padding
    ("max_pool1d", (2, 2, 9), dict(kernel_size=4, stride=1, padding=2), "int"),  # overlapping, shared maxima
    ("max_pool1d", (2, 2, 9), dict(kernel_size=[3], stride=(), padding=(1,)), "int"),  # () means kernel_size
    ("max_pool1d", (3, 7), dict(kernel_size=2, stride=1), "int"),  # unbatched
    ("max_pool1d", (0, 2, 9), dict(kernel_size=3, stride=2), "normal"),  # empty batch
    ("max_pool1d", (2, 3, 12), dict(kernel_size=3, stride=1, padding=1), "special"),
    ("max_pool1d", (2, 3, 12), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), "neg_inf"),
    ("max_pool2d", (2, 3, 7, 6),
     dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 1), ceil_mode=True), "int"),
    ("max_pool2d", (2, 2, 8, 5), dict(kernel_size=(2, 3)), "int"),
    ("max_pool2d", (1, 2, 9, 7),
     dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 1), dilation=(1, 2), ceil_mode=True), "int"),
    ("max_pool2d", (2, 2, 5, 6), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), "int"),
    ("max_pool2d", (2, 2, 5, 7), dict(kernel_size=(5, 2), stride=(1, 3), padding=(2, 1), dilation=(1, 2)), "normal"),
    ("max_pool2d", (3, 5, 4), dict(kernel_size=(2, 3), stride=1, padding=(1, 0)), "int"),
    ("max_pool2d", (0, 3, 5, 6), dict(kernel_size=(2, 3), stride=(1, 2)), "normal"),
    ("max_pool2d", (2, 2, 6, 7), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1)), "special"),
    ("max_pool2d", (2, 2, 6, 7), dict(kernel_size=(2, 3), stride=1, padding=1, dilation=(2, 1)), "neg_inf"),
    # the outer axis (L = 2, k = 2, pad = 1): every tap misses a window, none serves them all
    ("max_pool2d", (2, 2, 2, 5), dict(kernel_size=(2, 3), stride=1, padding=1), "int"),
    ("max_pool3d", (2, 2, 5, 6, 7),
     dict(kernel_size=(2, 3, 2), stride=(2, 1, 3), padding=(1, 1, 0), dilation=(1, 1, 2), ceil_mode=True), "int"),
    ("max_pool3d", (2, 3, 4, 5, 6), dict(kernel_size=2), "int"),
    ("max_pool3d", (3, 4, 6, 5), dict(kernel_size=(3, 2, 2), stride=(1, 2, 2), padding=(1, 0, 1)), "int"),
    ("max_pool3d", (0, 2, 4, 4, 5), dict(kernel_size=(2, 2, 3)), "normal"),
    ("max_pool3d", (1, 2, 2, 5, 4), dict(kernel_size=3, stride=(1, 2, 1), padding=1), "int"),  # input shorter than k
    ("max_pool3d", (1, 2, 4, 5, 6), dict(kernel_size=(2, 3, 2), stride=1, padding=1), "special"),
]

AVG = [
    ("avg_pool1d", (2, 3, 11), dict(kernel_size=3), "normal"),
    ("avg_pool1d", (2, 2, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), "normal"),
    ("avg_pool1d", (2, 2, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), "normal"),
    # the last window overhangs the right padding
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True), "normal"),
    ("avg_pool1d", (2, 2, 3), dict(kernel_size=4, stride=4, ceil_mode=True), "normal"),
    # window [5, 8) overhangs the padding [−1, 7): divides by 2, not 3
    ("avg_pool1d", (2, 3, 6), dict(kernel_size=3, stride=3, padding=1, ceil_mode=True), "normal"),
    ("avg_pool1d", (2, 3, 6), dict(kernel_size=3, stride=3, padding=1, ceil_mode=True, count_include_pad=False), "normal"),
    ("avg_pool1d", (2, 2, 9), dict(kernel_size=[4], stride=1, padding=2, count_include_pad=False), "normal"),
    ("avg_pool1d", (2, 2, 2), dict(kernel_size=3, stride=1, padding=1), "normal"),  # input shorter than the kernel
    ("avg_pool1d", (3, 9), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True), "normal"),
    ("avg_pool1d", (0, 2, 7), dict(kernel_size=3, stride=()), "normal"),
    ("avg_pool1d", (2, 3, 12), dict(kernel_size=3, stride=1, padding=1), "special"),
    ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True), "normal"),
    ("avg_pool2d", (2, 3, 7, 6),
     dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True, count_include_pad=False), "normal"),
    ("avg_pool2d", (2, 2, 8, 7),
     dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 1), ceil_mode=True, divisor_override=5), "normal"),
    ("avg_pool2d", (2, 2, 8, 7), dict(kernel_size=(2, 3), stride=1, padding=(1, 0), divisor_override=-3), "normal"),
    ("avg_pool2d", (3, 5, 4), dict(kernel_size=(2, 3), stride=1, padding=(1, 1), count_include_pad=False), "normal"),
    ("avg_pool2d", (0, 3, 5, 6), dict(kernel_size=(2, 3), stride=(1, 2)), "normal"),
    ("avg_pool2d", (1, 2, 2, 5), dict(kernel_size=3, stride=1, padding=1), "normal"),  # only avg_pool3d refuses this
    ("avg_pool2d", (2, 2, 6, 7), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1)), "special"),
    ("avg_pool2d", (2, 2, 2, 5), dict(kernel_size=(2, 3), stride=1, padding=1), "normal"),  # no tap serves all
    ("avg_pool3d", (2, 2, 5, 6, 7),
     dict(kernel_size=(2, 3, 2), stride=(2, 1, 3), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False), "normal"),
    ("avg_pool3d", (2, 2, 5, 6, 7),
     dict(kernel_size=(3, 2, 3), stride=(2, 2, 1), padding=(1, 0, 1), divisor_override=7), "normal"),
    ("avg_pool3d", (3, 6, 7, 5), dict(kernel_size=(3, 3, 2), stride=(3, 3, 2), padding=1, ceil_mode=True), "normal"),
    ("avg_pool3d", (0, 2, 4, 4, 5), dict(kernel_size=(2, 2, 3)), "normal"),
    ("avg_pool3d", (1, 2, 4, 5, 6), dict(kernel_size=(2, 3, 2), stride=1, padding=1), "special"),
]

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


def with_dtypes(cases):
    return [pytest.param(*c, dtype, id=f"{case_id(*c)}-{dtype}") for c in cases for dtype in DTYPES]


def make_input(shape, values, dtype, seed=0):
    """``int``: small integers (ties everywhere); ``normal``; ``special``: integers with NaN,
    +inf and −inf sprinkled in; ``neg_inf``: mostly −inf (all −inf windows)."""
    rng = np.random.default_rng(seed)
    if values == "normal":
        return rng.standard_normal(shape).astype(dtype)
    x = rng.integers(-3, 4, shape).astype(dtype)
    if values == "special":
        u = rng.random(shape)
        x[u < 0.08] = np.nan
        x[(u >= 0.08) & (u < 0.16)] = np.inf
        x[(u >= 0.16) & (u < 0.24)] = -np.inf
    elif values == "neg_inf":
        x[rng.random(shape) < 0.8] = -np.inf
    return x


def torch_forward_backward(op, x, kwargs, grad, **extra):
    """torch's output (and indices) with autograd on, and its input gradient for ``grad``."""
    xt = torch.from_numpy(x.copy()).requires_grad_()
    result = getattr(T, op)(xt, **kwargs, **extra)
    out = result[0] if isinstance(result, tuple) else result
    out.backward(torch.from_numpy(grad))
    rest = tuple(r.detach().numpy() for r in result[1:]) if isinstance(result, tuple) else ()
    return (out.detach().numpy(),) + rest + (xt.grad.numpy(),)


def assert_exact(got, want, what):
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_array_equal(got, want, err_msg=what)  # NaN matches NaN, ±inf must match


def assert_within_bound(got, want, count, magnitude, what):
    """Why a tolerance: the reference sums one axis at a time, forward and backward, torch
    window by window in row-major order, so an output (or an input position covered by
    several windows) gets the same terms summed in another order. Each entry is a sum of at most ``count`` (the kernel volume) terms ``x/D``
    or ``gy/D``; crosscheck.checking.tolerance proves ``(n + 1)·eps·Σ|terms|`` for a sum of ``n`` terms
    in any order, and the division by ``D`` is one more rounding, so ``n = count + 1``."""
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, got.dtype, want.shape, want.dtype)
    tol = tolerance(count + 1, magnitude, got.dtype)
    error, bad = excess(got, want.astype(np.float64), tol)
    worst = np.unravel_index(error.argmax(), error.shape) if error.size else ()
    assert not bad.any(), f"{what}: largest error {error[worst]} at {worst}, tolerance there {tol[worst]}"


def assert_max_grad(got, want, index, grad, dims, what):
    """Exact where an input received at most one upstream entry (a selection copies it);
    where overlapping windows picked the same input, the reference adds the shares axis by
    axis, torch window by window, in another order, so those sums of ``n`` terms get the proven
    ``(n + 1)·eps·Σ|terms|`` (crosscheck.checking.tolerance)."""
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, got.dtype, want.shape, want.dtype)
    planes, plane = int(np.prod(got.shape[:-dims])), int(np.prod(got.shape[-dims:]))
    target = (index.reshape(planes, -1) + np.arange(planes)[:, None] * plane).ravel() if planes else index.ravel()
    count = np.bincount(target, minlength=planes * plane).reshape(got.shape)
    magnitude = np.bincount(target, weights=np.abs(grad.astype(np.float64)).ravel(),
                            minlength=planes * plane).reshape(got.shape)
    tol = np.where(count > 1, tolerance(count, magnitude, got.dtype), 0.0)
    error, bad = excess(got, want.astype(np.float64), tol)
    assert not bad.any(), f"{what}: largest error {error.max()}"


def avg_bounds(op, x, kwargs, grad):
    """Σ|terms| of every output entry and every input-gradient entry, and the number of terms
    (at most the kernel volume for both), from torch in float64 on |x| and |grad|."""
    wide = np.abs(x).astype(np.float64), np.abs(grad).astype(np.float64)
    magnitude, grad_magnitude = torch_forward_backward(op, wide[0], kwargs, wide[1])
    dims = int(op[-2])
    k = kwargs["kernel_size"]
    volume = int(np.prod(k)) if isinstance(k, (tuple, list)) and len(k) == dims else int(np.prod(k)) ** dims
    return volume, np.abs(magnitude), np.abs(grad_magnitude)


@pytest.mark.parametrize("op, shape, kwargs, values, dtype", with_dtypes(MAX))
def test_max_pool_matches_torch(op, shape, kwargs, values, dtype):
    x = make_input(shape, values, dtype)
    before = x.copy()
    y, index = getattr(P, op)(x, **kwargs, return_indices=True)
    grad = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    (grad_x,) = getattr(P, op + "_backward")(grad, x, **kwargs, return_indices=True)
    want_y, want_index, want_grad = torch_forward_backward(op, x, kwargs, grad, return_indices=True)
    assert_exact(y, want_y, "output")
    assert_exact(index, want_index, "indices")
    assert_max_grad(grad_x, want_grad, want_index, grad, int(op[-2]), "grad_input")
    # without indices and without autograd, torch takes another kernel (1-d: max_pool1d_impl)
    assert_exact(getattr(P, op)(x, **kwargs), getattr(T, op)(torch.from_numpy(x), **kwargs).numpy(), "plain output")
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(y, x) and not np.shares_memory(grad_x, grad)


@pytest.mark.parametrize("op, shape, kwargs, values, dtype", with_dtypes(AVG))
def test_avg_pool_matches_torch(op, shape, kwargs, values, dtype):
    x = make_input(shape, values, dtype)
    before = x.copy()
    y = getattr(P, op)(x, **kwargs)
    grad = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    (grad_x,) = getattr(P, op + "_backward")(grad, x, **kwargs)
    want_y, want_grad = torch_forward_backward(op, x, kwargs, grad)
    count, magnitude, grad_magnitude = avg_bounds(op, x, kwargs, grad)
    assert_within_bound(y, want_y, count, magnitude, "output")
    assert_within_bound(grad_x, want_grad, count, grad_magnitude, "grad_input")
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(y, x) and not np.shares_memory(grad_x, grad)


TINY = [c for c in MAX + AVG if np.prod(c[1]) <= 500]


@pytest.mark.parametrize("op, shape, kwargs, values, dtype", with_dtypes(TINY))
def test_vectorised_equals_definitional(op, shape, kwargs, values, dtype):
    x = make_input(shape, values, dtype, seed=2)
    extra = {"return_indices": True} if op.startswith("max") else {}
    got, want = getattr(P, op)(x, **kwargs, **extra), getattr(D, op)(x, **kwargs, **extra)
    out = got[0] if extra else got
    grad = np.random.default_rng(3).standard_normal(out.shape).astype(dtype)
    (grad_x,) = getattr(P, op + "_backward")(grad, x, **kwargs, **extra)
    (want_grad,) = getattr(D, op + "_backward")(grad, x, **kwargs, **extra)
    if extra:  # the selection itself is exact; overlapping sums are added in another order
        for a, b, what in zip(got, want, ("output", "indices")):
            assert_exact(a, b, what)
        assert_max_grad(grad_x, want_grad, want[1], grad, int(op[-2]), "grad_input")
    else:
        count, magnitude, grad_magnitude = avg_bounds(op, x, kwargs, grad)
        assert_within_bound(got, want, count, magnitude, "output")
        assert_within_bound(grad_x, want_grad, count, grad_magnitude, "grad_input")


def test_tiny_cases_cover_every_op():
    assert {c[0] for c in TINY} == {f"{kind}_pool{d}d" for kind in ("max", "avg") for d in (1, 2, 3)}


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
    want = torch_forward_backward("max_pool1d", x, named, np.ones_like(y), return_indices=True)
    for a, b in zip((y, index, grad), want):
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


@pytest.mark.parametrize("op, shape, kwargs, values, dtype", with_dtypes([c for c in MAX + AVG if c[1][0]]))
@pytest.mark.parametrize("planes_per_block", [1, 2])
def test_blocks_of_planes_change_nothing(op, shape, kwargs, values, dtype, planes_per_block, monkeypatch):
    """Pooling a block of planes at a time gives the same bits as pooling them all at once
    (planes are independent and each gets the same arithmetic); blocks of 2 leave a remainder
    block where the number of planes is odd."""
    x = make_input(shape, values, dtype)
    extra = {"return_indices": True} if op.startswith("max") else {}
    whole = getattr(P, op)(x, **kwargs, **extra)
    out = whole[0] if extra else whole
    grad = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (whole_grad,) = getattr(P, op + "_backward")(grad, x, **kwargs)
    spatial = shape[-int(op[-2]):]
    monkeypatch.setattr(P, "BLOCK_BYTES", planes_per_block * int(np.prod(spatial)) * np.dtype(dtype).itemsize)
    seen, blocks = [], P._blocks

    def counted(*args):
        for plan, block in blocks(*args):
            seen.append(block.stop - block.start)
            yield plan, block

    monkeypatch.setattr(P, "_blocks", counted)
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
    want_grad = torch_forward_backward(op, x, kwargs, grad)[-1]
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


LONG_AXIS = [  # few windows over a long last axis: most slots of the row-phase layout are no window
    ("max_pool1d", (2, 3, 300), dict(kernel_size=299, stride=1, padding=1), "int"),
    ("max_pool2d", (1, 2, 5, 200), dict(kernel_size=(2, 199), stride=1, padding=(1, 50)), "neg_inf"),
    ("max_pool2d", (1, 2, 5, 200), dict(kernel_size=(3, 199), stride=1, padding=(1, 50)), "special"),
    ("avg_pool1d", (2, 3, 300), dict(kernel_size=299, stride=1, padding=1), "normal"),
    ("avg_pool2d", (1, 2, 5, 200), dict(kernel_size=(2, 199), stride=1, padding=(1, 50), count_include_pad=False),
     "normal"),
]


@pytest.mark.parametrize("op, shape, kwargs, values, dtype", with_dtypes(LONG_AXIS))
def test_few_windows_over_a_long_last_axis(op, shape, kwargs, values, dtype):
    """Where at least half the row-phase slots would be no window, the last axis is read in
    place, clipped like the others (a layout of ``M`` slots for ``out ≪ M`` windows would cost
    ``k·M`` per row instead of ``k·out``): the same values, indices and gradients as torch."""
    assert P._plan(P.geometry(op, int(op[-2]), make_input(shape, values, dtype), kwargs["kernel_size"],
                              kwargs["stride"], kwargs["padding"], 1, False), 1).phased is False
    if op.startswith("max"):
        test_max_pool_matches_torch(op, shape, kwargs, values, dtype)
    else:
        test_avg_pool_matches_torch(op, shape, kwargs, values, dtype)


def test_a_stride_far_past_the_input_costs_what_the_input_does():
    """With one window, a stride of 10⁹ reads what a stride of the window's extent reads; the
    row-phase layout must not hold one phase per unit of stride (10⁹ of them)."""
    x = make_input((2, 3, 7), "int", "float64")
    for op in ("max_pool1d", "avg_pool1d"):
        got = getattr(P, op)(x, 3, 10**9, 1)
        np.testing.assert_array_equal(got, getattr(T, op)(torch.from_numpy(x), 3, 10**9, 1).numpy())
        (grad,) = getattr(P, op + "_backward")(np.ones_like(got), x, 3, 10**9, 1)
        want = torch_forward_backward(op, x, dict(kernel_size=3, stride=10**9, padding=1), np.ones_like(got))[-1]
        np.testing.assert_array_equal(grad, want)


def test_a_non_contiguous_input_gives_the_same_bits():
    x = make_input((3, 4, 9, 8), "special", "float64")
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
        np.testing.assert_array_equal(got, torch_forward_backward("max_pool1d", x, dict(kernel_size=2, stride=1), grad)[-1])


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


# Rejection parity: torch refuses ⇒ the reference raises ValueError or TypeError naming the argument.

def _spec(dims):
    return (2, 3) + (7, 6, 5)[:dims]


REJECT = [
    ("max_pool1d", (5,), dict(kernel_size=2), "input"),
    ("max_pool1d", (1, 1, 1, 5), dict(kernel_size=2), "input"),
    ("max_pool2d", (5, 5), dict(kernel_size=2), "input"),
    ("avg_pool2d", (1, 1, 1, 5, 5), dict(kernel_size=2), "input"),
    ("avg_pool3d", (1, 5, 5), dict(kernel_size=2), "input"),
    ("max_pool1d", (1, 1, 0), dict(kernel_size=1), "input"),
    ("avg_pool1d", (2, 0, 4), dict(kernel_size=2), "input"),
    ("max_pool2d", (0, 4, 4), dict(kernel_size=2), "input"),  # unbatched, no channels
    ("max_pool3d", (2, 0, 4, 4, 4), dict(kernel_size=2), "input"),
    ("avg_pool2d", (0, 2, 0, 4), dict(kernel_size=2), "input"),  # only the batch may be empty
    ("max_pool1d", _spec(1), dict(kernel_size=(2, 2)), "kernel_size"),
    ("max_pool2d", _spec(2), dict(kernel_size=(2, 2, 2)), "kernel_size"),
    ("avg_pool3d", _spec(3), dict(kernel_size=()), "kernel_size"),
    ("avg_pool1d", _spec(1), dict(kernel_size=0), "kernel_size"),
    ("max_pool3d", _spec(3), dict(kernel_size=-1), "kernel_size"),
    ("avg_pool2d", _spec(2), dict(kernel_size=2.0), "kernel_size"),
    ("max_pool2d", _spec(2), dict(kernel_size=True), "kernel_size"),
    ("max_pool1d", _spec(1), dict(kernel_size=2, stride=0), "stride"),
    ("avg_pool2d", _spec(2), dict(kernel_size=2, stride=-1), "stride"),
    ("avg_pool1d", _spec(1), dict(kernel_size=2, stride=(1, 2)), "stride"),
    ("max_pool3d", _spec(3), dict(kernel_size=2, stride=(1, 2)), "stride"),
    ("max_pool2d", _spec(2), dict(kernel_size=2, stride=1.0), "stride"),
    ("max_pool1d", _spec(1), dict(kernel_size=2, padding=-1), "padding"),
    ("avg_pool1d", _spec(1), dict(kernel_size=2, padding=2), "padding"),
    ("max_pool2d", _spec(2), dict(kernel_size=(4, 2), padding=(1, 2)), "padding"),
    ("max_pool2d", _spec(2), dict(kernel_size=3, padding=2, dilation=2), "padding"),  # dilation does not count
    ("avg_pool3d", _spec(3), dict(kernel_size=3, padding=(1, 2, 1)), "padding"),
    ("max_pool1d", _spec(1), dict(kernel_size=2, padding=(0, 1)), "padding"),
    ("avg_pool2d", _spec(2), dict(kernel_size=2, padding=()), "padding"),
    ("max_pool3d", _spec(3), dict(kernel_size=2, padding=1.0), "padding"),
    ("max_pool1d", _spec(1), dict(kernel_size=2, dilation=0), "dilation"),
    ("max_pool2d", _spec(2), dict(kernel_size=2, dilation=-1), "dilation"),
    ("max_pool3d", _spec(3), dict(kernel_size=2, dilation=(1, 2)), "dilation"),
    ("max_pool1d", _spec(1), dict(kernel_size=2, dilation=()), "dilation"),
    ("max_pool2d", _spec(2), dict(kernel_size=2, ceil_mode=1), "ceil_mode"),
    ("avg_pool1d", _spec(1), dict(kernel_size=2, ceil_mode=None), "ceil_mode"),
    ("max_pool3d", _spec(3), dict(kernel_size=2, ceil_mode=np.bool_(True)), "ceil_mode"),
    ("avg_pool2d", _spec(2), dict(kernel_size=2, count_include_pad=1), "count_include_pad"),
    ("avg_pool3d", _spec(3), dict(kernel_size=2, count_include_pad=None), "count_include_pad"),
    ("avg_pool2d", _spec(2), dict(kernel_size=2, divisor_override=0), "divisor_override"),
    ("avg_pool3d", _spec(3), dict(kernel_size=2, divisor_override=2.0), "divisor_override"),
    ("avg_pool2d", _spec(2), dict(kernel_size=2, divisor_override=True), "divisor_override"),
    ("avg_pool1d", _spec(1), dict(kernel_size=2, divisor_override=2), "divisor_override"),  # avg_pool1d has none
    ("avg_pool3d", (1, 1, 2, 5, 5), dict(kernel_size=3, stride=1, padding=1), "kernel_size"),  # padding fits it
    ("avg_pool3d", (0, 1, 5, 5, 2), dict(kernel_size=3, stride=1, padding=1), "kernel_size"),
    ("avg_pool3d", (1, 3, 5, 5), dict(kernel_size=(4, 1, 1), stride=4, ceil_mode=True), "kernel_size"),
    ("max_pool1d", (1, 1, 3), dict(kernel_size=4, stride=4), "kernel_size"),  # zero output size
    ("max_pool1d", (1, 1, 3), dict(kernel_size=4, stride=1, ceil_mode=True), "kernel_size"),
    ("avg_pool2d", (1, 1, 3, 8), dict(kernel_size=(4, 2)), "kernel_size"),
    ("max_pool3d", (1, 1, 4, 4, 4), dict(kernel_size=3, dilation=(1, 2, 1)), "kernel_size"),
]


def _reject_id(case):
    op, shape, kwargs, blame = case
    return f"{op}-{blame}-" + "-".join(f"{k}={v!r}" for k, v in kwargs.items()) + "-in" + "x".join(map(str, shape))


@pytest.mark.parametrize("op, shape, kwargs, blame", REJECT, ids=[_reject_id(c) for c in REJECT])
def test_rejects_what_torch_rejects_naming_the_argument(op, shape, kwargs, blame):
    x = np.ones(shape)
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        getattr(T, op)(torch.from_numpy(x), **kwargs)
    for fn, args in ((getattr(P, op), (x,)), (getattr(P, op + "_backward"), (np.ones(1), x))):
        with pytest.raises((ValueError, TypeError)) as info:
            fn(*args, **kwargs)
        message = str(info.value)
        assert blame in message, message
        if blame in kwargs and "unexpected keyword" not in message:  # Python's own message shows no value
            assert repr(kwargs[blame]) in message or str(kwargs[blame]) in message, message


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
