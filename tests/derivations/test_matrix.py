"""Convolution is a sparse matrix with tied weights, and its backward is the transpose.

For one sample ``x`` of shape ``(C, *L)``, :func:`reference.unroll.conv_matrix` builds ``M`` with
``M[(o, i), (c, j)] = w[o, c − g·C/G, p]`` where ``j = i·s + p·d − left``. The claims, each held
against the reference ops and against torch on 1-d, 2-d and 3-d configurations (strides,
dilations, groups, int/tuple/'same'/'valid' padding, every axis a different size):

1. ``conv(x).ravel() = M·x.ravel()``;
2. with ``padding_mode`` reflect/replicate/circular, ``conv(x) = M_valid·P·x``, ``P`` the padding
   matrix (and ``P·x`` is ``pad(x)``, ``Pᵀ·g`` is ``pad_backward``);
3. ``∂E/∂x = Mᵀ·g``: the input gradient, which is the transposed convolution of ``g`` with the
   same kernel;
4. ``∂E/∂M = g·xᵀ`` and ``∂E/∂w[o, c, p]`` is its sum over the entries tied to ``w[o, c, p]``.

**Exact comparisons.** Every array holds integers in [−3, 3] (stored as floats). Each product
is an integer of size ≤ 9 (≤ 9·|k| for an entry of ``M_valid·P``, which adds up to |k| weights)
and each sum has at most a few hundred terms, so every partial sum, in any order, is an integer
of magnitude below 10⁵ < 2²⁴: exactly representable in float32 and float64. No
rounding happens anywhere, so the sides must agree bit for bit and no tolerance is needed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

import reference.functional as F
from reference import nn, unroll

# torch's note that 'same' with an even kernel pads a copy of the input: about speed, not values
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass(frozen=True)
class Config:
    """One convolution: one unbatched input of ``input_shape`` and a weight of ``weight_shape``."""

    input_shape: tuple
    weight_shape: tuple
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1

    @property
    def dims(self) -> int:
        return len(self.input_shape) - 1

    @property
    def id(self) -> str:
        def spell(v):
            return v if isinstance(v, str) else "x".join(map(str, v if isinstance(v, tuple) else (v,)))

        return (f"conv{self.dims}d-k{spell(self.weight_shape[2:])}-s{spell(self.stride)}-p{spell(self.padding)}"
                f"-d{spell(self.dilation)}-g{self.groups}-x{spell(self.input_shape)}-o{self.weight_shape[0]}")

    def kwargs(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)

    def per_axis(self, value) -> tuple:
        return value if isinstance(value, tuple) else (value,) * self.dims

    def pads(self) -> tuple:
        """``(left, right)`` per axis, by torch's rule: an int or tuple pads both sides, 'valid'
        pads nothing, 'same' splits ``d·(k − 1)`` with the odd extra on the right."""
        if self.padding == "valid":
            return ((0, 0),) * self.dims
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.weight_shape[2:], self.per_axis(self.dilation))]
            return tuple((t // 2, t - t // 2) for t in totals)
        return tuple((p, p) for p in self.per_axis(self.padding))

    def arrays(self, dtype, seed=0):
        """Integer-valued ``x`` ``(C, *L)`` and ``w``, exact in either dtype (module docstring)."""
        rng = np.random.default_rng(seed)
        x = rng.integers(-3, 4, self.input_shape).astype(dtype)
        w = rng.integers(-3, 4, self.weight_shape).astype(dtype)
        return x, w


CONFIGS = [
    Config((1, 3, 3), (1, 1, 2, 2)),  # the seed's example
    Config((2, 7), (3, 2, 3), stride=2, padding=1),
    Config((4, 9), (6, 2, 2), padding="same", dilation=3, groups=2),  # pads (1, 2): asymmetric
    Config((3, 5), (3, 1, 5), padding="valid", groups=3),  # depthwise, kernel as long as the input
    Config((2, 5, 6), (3, 2, 3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    Config((4, 6, 5), (2, 2, 2, 3), padding="same", dilation=(1, 2), groups=2),  # pads (0, 1), (2, 2)
    Config((3, 4, 5), (6, 1, 2, 2), stride=(1, 2), padding="valid", groups=3),  # channel multiplier 2
    Config((2, 8, 5), (2, 2, 2, 2), stride=(3, 2), padding=(0, 1)),  # inputs 2 and 5 of axis 0 unread
    Config((2, 3, 4, 5), (2, 1, 2, 1, 3), stride=(1, 2, 1), padding=(0, 1, 1), dilation=(1, 1, 2), groups=2),
    Config((1, 3, 3, 4), (2, 1, 2, 2, 3), padding="same"),  # pads (0, 1), (0, 1), (1, 1)
]
CASES = [pytest.param(c, dtype, id=f"{c.id}-{name}") for c in CONFIGS for name, dtype in DTYPES.items()]


def _torch(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _torch_conv(config, x, w):
    """torch's output for the batch of one ``x``, and its gradients for upstream ``g``."""
    xt, wt = _torch(x[None]).requires_grad_(), _torch(w).requires_grad_()
    yt = getattr(torch.nn.functional, f"conv{config.dims}d")(xt, wt, None, **config.kwargs())
    return xt, wt, yt


def _upstream(config, dtype, out_shape, seed=1):
    return np.random.default_rng(seed).integers(-3, 4, out_shape).astype(dtype)


@pytest.mark.parametrize("config, dtype", CASES)
def test_convolution_is_the_matrix_times_the_input(config, dtype):
    x, w = config.arrays(dtype)
    matrix = unroll.conv_matrix(config.input_shape, w, **config.kwargs())
    y = getattr(F, f"conv{config.dims}d")(x[None], w, **config.kwargs())[0]
    assert matrix.dtype == dtype and matrix.shape == (y.size, x.size)
    np.testing.assert_array_equal(matrix @ x.ravel(), y.ravel())
    _, _, yt = _torch_conv(config, x, w)
    np.testing.assert_array_equal(matrix @ x.ravel(), yt.detach().numpy().ravel())


@pytest.mark.parametrize("config, dtype", CASES)
def test_each_weight_sits_exactly_on_its_tied_entries(config, dtype):
    """With distinct weights 1, 2, ..., every non-zero entry of ``M`` names the weight it holds:
    ``w[o, c, p]`` appears at its tied positions and nowhere else, and each row holds at most
    the ``(C/G)·|k|`` weights of one output channel."""
    _, w = config.arrays(dtype)
    distinct = np.arange(1, w.size + 1, dtype=dtype).reshape(w.shape)
    matrix = unroll.conv_matrix(config.input_shape, distinct, **config.kwargs())
    for tap in np.ndindex(w.shape):
        found = sorted(zip(*np.nonzero(matrix == distinct[tap])))
        assert found == unroll.tied_positions(config.input_shape, distinct, tap, **config.kwargs()), tap
    assert (np.count_nonzero(matrix, axis=1) <= w[0].size).all()


@pytest.mark.parametrize("config, dtype", CASES)
def test_the_input_gradient_is_the_transposed_matrix(config, dtype):
    """``E = gᵀ·M·x`` has ``∂E/∂x = Mᵀ·g``: compared with the reference backward, with torch
    autograd and with the transposed convolution of ``g`` by the same weight (no flip, no
    transpose of ``w`` needed: ``conv_transpose`` reads ``w`` as ``(C_in, C_out/G, *k)``, the
    convolution's ``(O, C/G, *k)``)."""
    x, w = config.arrays(dtype)
    matrix = unroll.conv_matrix(config.input_shape, w, **config.kwargs())
    xt, wt, yt = _torch_conv(config, x, w)
    g = _upstream(config, dtype, yt.shape[1:])
    through_matrix = matrix.T @ g.ravel()

    grad_x, _, _ = getattr(F, f"conv{config.dims}d_backward")(g[None], x[None], w, **config.kwargs())
    np.testing.assert_array_equal(through_matrix, grad_x[0].ravel())
    yt.backward(_torch(g[None]))
    np.testing.assert_array_equal(through_matrix, xt.grad.numpy()[0].ravel())
    np.testing.assert_array_equal(through_matrix, _transposed(config, g, w).ravel())


def _transposed(config, g, w):
    """``conv_transpose(g, w)`` with no padding, ``output_padding`` giving back the padded
    length, then the padding cropped off: the input gradient of a convolution padded by
    ``(left, right)``, symmetric or not. When the padding is symmetric it is also exactly
    ``conv_transpose(g, w, padding=left)``, which the function checks on the way."""
    strides, dilations = config.per_axis(config.stride), config.per_axis(config.dilation)
    kernel, spatial, pads = config.weight_shape[2:], config.input_shape[1:], config.pads()
    # the padded length left over after the last window (< stride): what output_padding restores
    extra = tuple((n + left + right - d * (k - 1) - 1) % s
                  for n, (left, right), k, s, d in zip(spatial, pads, kernel, strides, dilations))
    transpose = getattr(F, f"conv_transpose{config.dims}d")
    full = transpose(g[None], w, None, strides, 0, extra, config.groups, dilations)[0]
    crop = (slice(None),) + tuple(slice(left, left + n) for (left, _), n in zip(pads, spatial))
    if all(left == right for left, right in pads):
        lefts = tuple(left for left, _ in pads)
        direct = transpose(g[None], w, None, strides, lefts, extra, config.groups, dilations)[0]
        np.testing.assert_array_equal(direct, full[crop])
    return full[crop]


@pytest.mark.parametrize("config, dtype", CASES)
def test_the_weight_gradient_sums_the_gradient_of_the_tied_entries(config, dtype):
    """``E = gᵀ·M·x`` has ``∂E/∂M[r, q] = g[r]·x[q]``; each weight collects that over its tied
    entries. Checked for every weight at once (:func:`reference.unroll.tied_sum`) and, written
    out, for one weight: the sum over the list of its positions."""
    x, w = config.arrays(dtype)
    xt, wt, yt = _torch_conv(config, x, w)
    g = _upstream(config, dtype, yt.shape[1:])
    grad_matrix = np.outer(g.ravel(), x.ravel())
    tied = unroll.tied_sum(grad_matrix, config.input_shape, w, **config.kwargs())

    _, grad_w, _ = getattr(F, f"conv{config.dims}d_backward")(g[None], x[None], w, **config.kwargs())
    np.testing.assert_array_equal(tied, grad_w)
    yt.backward(_torch(g[None]))
    np.testing.assert_array_equal(tied, wt.grad.numpy())

    tap = (w.shape[0] - 1, 0) + tuple(k // 2 for k in w.shape[2:])
    positions = unroll.tied_positions(config.input_shape, w, tap, **config.kwargs())
    assert sum(grad_matrix[r, q] for r, q in positions) == grad_w[tap]


def _mode_fits(mode, pad, size) -> bool:
    """torch's limits: reflect needs each pad smaller than its axis, circular at most its axis,
    replicate has none."""
    return {"reflect": pad < size, "circular": pad <= size}.get(mode, True)


def _mode_cases():
    """Configurations with padding, for each mode torch allows there."""
    for config in CONFIGS:
        pads = config.pads()
        if not any(left or right for left, right in pads):
            continue
        for mode in ("reflect", "replicate", "circular"):
            if all(_mode_fits(mode, max(pair), n) for pair, n in zip(pads, config.input_shape[1:])):
                for name, dtype in DTYPES.items():
                    yield pytest.param(config, mode, dtype, id=f"{config.id}-{mode}-{name}")


MODE_CASES = list(_mode_cases())


@pytest.mark.parametrize("config, mode, dtype", MODE_CASES)
def test_a_padding_mode_is_the_valid_matrix_times_the_padding_matrix(config, mode, dtype):
    """``ConvNd(padding_mode=m)`` pads first, then convolves with no padding, so its matrix is
    ``M_valid·P``; ``P·x`` is ``pad(x)`` and ``Pᵀ·g`` is ``pad_backward(g)``, and the module's
    input gradient is ``(M_valid·P)ᵀ·g``."""
    x, w = config.arrays(dtype)
    pads = config.pads()
    torch_pads = tuple(a for pair in reversed(pads) for a in pair)  # F.pad's order: last axis first
    padded_shape = (config.input_shape[0],) + tuple(n + l + r for n, (l, r) in zip(config.input_shape[1:], pads))
    kwargs = dict(stride=config.stride, dilation=config.dilation, groups=config.groups)
    valid = unroll.conv_matrix(padded_shape, w, padding=0, **kwargs)
    pad = unroll.pad_matrix(config.input_shape, torch_pads, mode, dtype=dtype)
    np.testing.assert_array_equal(pad @ x.ravel(), F.pad(x, torch_pads, mode).ravel())
    matrix = valid @ pad
    np.testing.assert_array_equal(matrix, unroll.padded_conv_matrix(config.input_shape, w, padding_mode=mode, **config.kwargs()))

    layer = getattr(nn, f"Conv{config.dims}d")(config.input_shape[0], w.shape[0], w.shape[2:], bias=False,
                                               padding_mode=mode, dtype=dtype, **config.kwargs())
    layer.load_state_dict({"weight": w})
    twin = getattr(torch.nn, f"Conv{config.dims}d")(config.input_shape[0], w.shape[0], w.shape[2:], bias=False,
                                                    padding_mode=mode, dtype=torch.from_numpy(w).dtype, **config.kwargs())
    twin.load_state_dict({"weight": _torch(w)})
    xt = _torch(x[None]).requires_grad_()
    yt = twin(xt)
    np.testing.assert_array_equal(matrix @ x.ravel(), layer(x[None]).ravel())
    np.testing.assert_array_equal(matrix @ x.ravel(), yt.detach().numpy().ravel())

    g = _upstream(config, dtype, yt.shape[1:])
    conv_input_grad = valid.T @ g.ravel()
    (pad_grad,) = F.pad_backward(conv_input_grad.reshape(padded_shape), x, torch_pads, mode)
    np.testing.assert_array_equal(pad.T @ conv_input_grad, pad_grad.ravel())
    np.testing.assert_array_equal(matrix.T @ g.ravel(), layer.backward(g[None]).ravel())
    yt.backward(_torch(g[None]))
    np.testing.assert_array_equal(matrix.T @ g.ravel(), xt.grad.numpy().ravel())


def test_zero_padding_is_the_valid_matrix_times_the_constant_padding_matrix():
    """Zero padding is a padding mode too: ``M_padded = M_valid·P_constant``."""
    config = CONFIGS[4]
    x, w = config.arrays(np.float64)
    pads = config.pads()
    padded_shape = (config.input_shape[0],) + tuple(n + l + r for n, (l, r) in zip(config.input_shape[1:], pads))
    valid = unroll.conv_matrix(padded_shape, w, config.stride, 0, config.dilation, config.groups)
    pad = unroll.pad_matrix(config.input_shape, tuple(a for pair in reversed(pads) for a in pair))
    np.testing.assert_array_equal(valid @ pad, unroll.conv_matrix(config.input_shape, w, **config.kwargs()))


def test_the_padding_matrix_of_the_semantics_example():
    """reflect of [1, 2, 3, 4] by 2 on each side is [3, 2, 1, 2, 3, 4, 3, 2] (numpy's 'reflect',
    not 'symmetric'); replicate repeats the edges, circular wraps; a negative amount crops."""
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    expected = {
        "reflect": [3, 2, 1, 2, 3, 4, 3, 2],
        "replicate": [1, 1, 1, 2, 3, 4, 4, 4],
        "circular": [3, 4, 1, 2, 3, 4, 1, 2],
        "constant": [0, 0, 1, 2, 3, 4, 0, 0],
    }
    for mode, values in expected.items():
        np.testing.assert_array_equal(unroll.pad_matrix((1, 4), (2, 2), mode) @ x.ravel(), values, err_msg=mode)
    np.testing.assert_array_equal(unroll.pad_matrix((1, 4), (-1, 2)) @ x.ravel(), [2, 3, 4, 0, 0])


REJECTED = [
    (lambda w: unroll.conv_matrix((1, 3), w), ValueError, "input_shape=(1, 3)"),
    (lambda w: unroll.conv_matrix((1, 3.0, 3), w), TypeError, "input_shape=(1, 3.0, 3)"),
    (lambda w: unroll.conv_matrix((1, -3, 3), w), ValueError, "input_shape=(1, -3, 3)"),
    (lambda w: unroll.conv_matrix((1, 3, 3), w.tolist()), TypeError, "weight="),
    (lambda w: unroll.conv_matrix((1, 3, 3), w[0, 0]), ValueError, "weight.shape=(2, 2)"),
    (lambda w: unroll.conv_matrix((1, 3, 3), w, stride=0), ValueError, "stride=0"),
    (lambda w: unroll.conv_matrix((1, 3, 3), w, dilation=(1, 0)), ValueError, "dilation=(1, 0)"),
    (lambda w: unroll.conv_matrix((1, 3, 3), w, padding=-1), ValueError, "padding=-1"),
    (lambda w: unroll.conv_matrix((1, 3, 3), w, padding="full"), ValueError, "padding='full'"),
    (lambda w: unroll.conv_matrix((1, 5, 5), w, stride=2, padding="same"), ValueError, "stride=(2, 2)"),
    (lambda w: unroll.conv_matrix((2, 3, 3), w), ValueError, "weight.shape=(1, 1, 2, 2)"),
    (lambda w: unroll.conv_matrix((1, 1, 3), w), ValueError, "input.shape=(1, 1, 3)"),
    (lambda w: unroll.conv_matrix((1, 3, 3), w, groups=0), ValueError, "groups=0"),
    (lambda w: unroll.tied_positions((1, 3, 3), w, (0, 0, 2, 0)), ValueError, "tap=(0, 0, 2, 0)"),
    (lambda w: unroll.tied_sum(np.zeros((4, 8)), (1, 3, 3), w), ValueError, "grad_matrix.shape=(4, 8)"),
    (lambda w: unroll.pad_matrix((1, 3), (3, 3), "reflect"), ValueError, "pad=(3, 3)"),
    (lambda w: unroll.pad_matrix((1, 3), (1,)), ValueError, "pad=(1,)"),
    (lambda w: unroll.pad_matrix((1, 3), (1, 1), "zeros"), ValueError, "mode='zeros'"),
    (lambda w: unroll.padded_conv_matrix((1, 3, 3), w, padding=1, padding_mode="wrap"), ValueError, "padding_mode='wrap'"),
]


@pytest.mark.parametrize("call, error, names", REJECTED, ids=[r[2] for r in REJECTED])
def test_bad_arguments_are_refused_naming_the_argument_and_its_value(call, error, names):
    w = np.ones((1, 1, 2, 2))
    with pytest.raises(error) as refused:
        call(w)
    assert names in str(refused.value)
