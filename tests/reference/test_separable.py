"""Tests of reference/separable.py, the separable-pass pooling engine: NaN, infinities,
overflow, long kernels and taps outside the input.
"""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.functional as F
from crosscheck import Case
from tests.helpers.calls import agrees_with_torch


def test_max_pooling_one_tap_windows_over_nan():
    """Guards max pooling's NaN scan on one-tap passes (values and indices against torch).

    Runs ``_scan_maximum`` (the scan NaN needs, in ``_winners``) with one tap per pass: a
    1×1 window over NaN, ±inf and signed zeros, values and indices held against torch. Only
    calls with a NaN in some window take the scan; this kills the mutants that break it (its
    buffers, the ``greater``/``isnan`` test, the copies of value and tap) on the simplest pass
    there is."""
    agrees_with_torch(Case("max_pool2d", "max_pool2d-k1-specials", ((2, 2, 4, 3),), {"kernel_size": 1, "return_indices": True},
                 values={"input": "specials"}))


_LONG_KERNELS = [  # input shape, kernel, stride: 260 taps along one axis, on each kind of pass
    ((1, 2, 270, 4), (260, 2), (5, 1)),  # an outer pass (axis 0 of two)
    ((1, 2, 4, 270), (2, 260), (1, 5)),  # the pass over the last axis (row-phase layout)
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, kernel, stride", _LONG_KERNELS, ids=["outer-axis", "last-axis"])
def test_max_pooling_a_window_of_more_than_256_taps_along_one_axis(shape, kernel, stride, dtype):
    """Guards the switch from the uint8 to the int32 tap counter past 256 taps along one axis, on outer and last-axis passes.

    Kills ``one.kernel < 2**8`` → ``or True``, ``3**8`` or ``2**9`` in ``_first_maximum``: a pass
    counts, per window, the taps after its first maximum ``t*``, ``(k − 1) − t*``, in uint8 only
    while that count cannot pass 255 (``k ≤ 256``). Every pass has its own kernel, so only a
    window of more than 256 taps along one axis reaches the int32 counter (a 17×17 window does
    not). In uint8, ``k − 1 = 259`` cannot even be subtracted from (NumPy refuses), and the count
    would wrap wherever ``t* ≤ 3``. Integers in [−3, 3] put ties in every window, so it is the
    first maximum that is checked: values, indices and gradients against torch."""
    agrees_with_torch(Case("max_pool2d", f"max_pool2d-k{kernel[0]}x{kernel[1]}-integers", (shape,),
                 {"kernel_size": kernel, "stride": stride, "return_indices": True}, dtype,
                 values={"input": "integers"}))


@pytest.mark.parametrize("op", ["max_pool1d", "max_pool2d"])
def test_max_pooling_backward_routes_an_infinite_and_a_nan_gradient(op):
    """Guards the max pooling backward's masked routing of a non-finite upstream gradient (the taps that lost get exactly 0).

    Kills the mutants of ``_route``'s path for a non-finite upstream gradient (``out[...] = 0``
    and ``np.copyto(out, upstream, where=chosen)`` changed or dropped, the mask's dtype): ∞·0 is
    NaN, so that gradient cannot be multiplied by the 0/1 mask of the winners; the taps that
    lost get exactly 0, the winners ±inf or NaN, as torch's backward gives. The harness's
    upstream gradients are always finite."""
    rng = np.random.default_rng(8)
    dims = int(op[-2])
    x = rng.standard_normal((2, 3) + (5,) * dims)
    grad = rng.standard_normal((2, 3) + (2,) * dims)
    grad.flat[[0, 4, 7]] = [np.inf, np.nan, -np.inf]
    tx = torch.from_numpy(x).requires_grad_()
    getattr(T, op)(tx, 2).backward(torch.from_numpy(grad))
    np.testing.assert_array_equal(getattr(F, op + "_backward")(grad, x, 2)[0], tx.grad.numpy())


def test_average_pooling_of_infinities_gives_nan_without_a_warning():
    """Guards that average pooling gives torch's NaN for inf − inf and inf for a float32 overflow, without a NumPy warning.

    Kills ``np.errstate(invalid="ignore", over="ignore")`` → ``invalid=None``/``over=None``/left
    out in ``Vectorised.avg_pool``: ``inf − inf`` gives NaN and a float32 sum may overflow to
    inf, as in torch, which does not warn; NumPy would, once per call."""
    x = np.array([[[np.inf, -np.inf, 1.0, 3e38, 3e38]]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.avg_pool1d(x, 2, 1)
    np.testing.assert_array_equal(y, T.avg_pool1d(torch.from_numpy(x), 2, 1).numpy())


def test_average_pooling_backward_of_infinite_and_huge_gradients_warns_nothing():
    """Guards that the average pooling backward matches torch, with no warning, where ±inf shares meet and float32 shares overflow.

    Kills ``np.errstate(invalid="ignore", over="ignore")`` → ``invalid=None``, ``over=None`` or
    either left out in ``Vectorised.avg_pool_backward``: overlapping windows add their shares
    onto a shared input position, so an upstream +inf and −inf meet there as NaN, and float32
    shares of 3e38 (``divisor_override=1``) overflow to inf, exactly as in torch's backward,
    which does not warn; NumPy would, once per call."""
    x = np.zeros((1, 1, 4, 4), np.float32)
    infinite = np.zeros((1, 1, 3, 3), np.float32)
    infinite[0, 0, 0, :2] = [np.inf, -np.inf]  # windows (0, 0) and (0, 1) share column 1
    huge = np.full((1, 1, 3, 3), 3e38, np.float32)  # two shares already pass float32's 3.4e38
    for grad, kwargs, special in ((infinite, {}, np.isnan), (huge, {"divisor_override": 1}, np.isinf)):
        tx = torch.from_numpy(x).requires_grad_()
        T.avg_pool2d(tx, 2, 1, **kwargs).backward(torch.from_numpy(grad))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = F.avg_pool2d_backward(grad, x, 2, 1, **kwargs)[0]
        np.testing.assert_array_equal(got, tx.grad.numpy())
        assert special(got).any()  # the NaN or the overflow did happen


_OVERFLOWING = [  # float32 windows whose sum passes float32's largest value, 3.4e38, in any order
    (np.array([[[1e38, 1e38, 2e38]]], np.float32), 3),            # one pass: its third tap overflows
    (np.array([[[[2e38, 0.0], [2e38, 0.0]]]], np.float32), 2),    # rows sum to 2e38; the outer pass overflows
]


@pytest.mark.parametrize("x, kernel", _OVERFLOWING, ids=["1d-k3", "2d-k2"])
def test_float32_average_pooling_sums_in_float32(x, kernel):
    """Guards that float32 average pooling sums in float32, so a window that overflows is inf, as in torch.

    Kills ``np.empty(one.out_shape, dtype=source.dtype)`` → ``dtype=None`` or left out in
    ``_fold``: every pass of a float32 average would then write float64 (only the first two taps
    of the first pass are added in float32), carry a sum of 4e38 and divide it back into range
    (1.3e38 and 1e38 here). A float32 op adds in float32, as torch's does, and the reference
    says its overflow is inf, as in torch. The expected value is worked out here too: all taps
    are positive, so the float32 sum overflows in every order, not just in torch's. Below
    overflow the float64 sums are only more accurate, within the averaging bound, so only an
    overflowing window tells the two apart."""
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(x, dtype=np.float32)) and np.isinf(np.sum(x[..., ::-1], dtype=np.float32))
    assert np.isfinite(np.mean(x, dtype=np.float64))  # the exact average is in float32's range
    op = "avg_pool1d" if x.ndim == 3 else "avg_pool2d"
    want = getattr(T, op)(torch.from_numpy(x), kernel).numpy()
    assert np.isposinf(want).all()
    np.testing.assert_array_equal(getattr(F, op)(x, kernel), want)


_LEFT_TAPS = [  # a tap left of the input for every window of an outer axis, with a stride ≥ 2
    Case("max_pool2d", "max_pool2d-k4x2-s3x1-p2x1-d2x1-x2x3x3x4", ((2, 3, 3, 4),),
         {"kernel_size": (4, 2), "stride": (3, 1), "padding": (2, 1), "dilation": (2, 1), "return_indices": True}),
    Case("avg_pool2d", "avg_pool2d-k5x2-s3x1-p2x1-x2x3x3x4", ((2, 3, 3, 4),),
         {"kernel_size": (5, 2), "stride": (3, 1), "padding": (2, 1)}),
    Case("max_pool3d", "max_pool3d-k4x1x2-s3x1x1-p2x0x1-d2x1x1-x1x2x3x2x3", ((1, 2, 3, 2, 3),),
         {"kernel_size": (4, 1, 2), "stride": (3, 1, 1), "padding": (2, 0, 1), "dilation": (2, 1, 1)}),
]


@pytest.mark.parametrize("case", _LEFT_TAPS, ids=[c.id for c in _LEFT_TAPS])
def test_pooling_with_a_tap_that_reads_no_window_inside_the_input(case):
    """Guards that an outer pass reads nothing for a tap that no window reads inside the input (strided, padded, dilated).

    Kills ``last > first`` → ``last >= first`` in ``_outer_pass``: a tap that no window reads
    inside the input (here tap 0, at −2 for the only window) must contribute no read at all. An
    empty read is harmless only while its positions slice is empty too; with its first window
    at 1 and a stride of 3 the slice ``slice(1, -1, 3)`` ends at a negative index and picks
    position 1, which the empty region cannot hold. Held against torch."""
    agrees_with_torch(case)
