"""Where the reference deliberately refuses a call torch 2.13 accepts (README: "Where the
reference deliberately differs from torch"). Each test pins torch's behaviour too, so it
fails, and the deviation gets revisited, if torch changes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.functional as F


def test_zero_input_channels_torch_drops_the_output_channels():
    x, w, b = np.ones((2, 0, 5)), np.ones((4, 0, 3)), np.ones(4)
    out = T.conv1d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b))
    assert tuple(out.shape) == (2, 0, 3)  # not (2, 4, 3), and the bias is ignored
    with pytest.raises(ValueError, match=r"weight.shape=\(4, 0, 3\)"):
        F.conv1d(x, w, b)


def test_circular_crop_then_overwrap_torch_reads_uninitialised_memory():
    x = np.arange(4.0).reshape(1, 1, 4)
    out = T.pad(torch.from_numpy(x), (4, -4), mode="circular")  # accepted, values undefined
    assert tuple(out.shape) == (1, 1, 4)
    with pytest.raises(ValueError, match="circular"):
        F.pad(x, (4, -4), mode="circular")


def test_circular_crop_then_wrap_is_matched_where_torch_is_defined():
    x = np.arange(6.0).reshape(1, 1, 6)
    expected = T.pad(torch.from_numpy(x), (-1, 2), mode="circular").numpy()
    np.testing.assert_array_equal(expected, [[[1, 2, 3, 4, 5, 1, 2]]])  # crop first, then wrap
    np.testing.assert_array_equal(F.pad(x, (-1, 2), mode="circular"), expected)


@pytest.mark.parametrize("dtype", [np.int64, np.float16])
def test_non_contract_dtypes_torch_accepts(dtype):
    x, w = np.ones((1, 2, 5), dtype), np.ones((3, 2, 2), dtype)
    assert T.conv1d(torch.from_numpy(x), torch.from_numpy(w)).dtype == torch.from_numpy(x).dtype
    with pytest.raises(TypeError, match=f"input.dtype={np.dtype(dtype)}"):
        F.conv1d(x, w)


def test_max_pool_window_of_padding_alone_torch_indexes_outside_the_plane():
    # L = 3, k = 2, d = 4, p = 1: the first window reads positions -1 and 3, both padding.
    # Only torch's forward is called: its backward writes into the next plane or past the
    # buffer (heap corruption was seen).
    x = np.arange(3.0).reshape(1, 1, 3)
    out, index = T.max_pool1d(torch.from_numpy(x), 2, stride=1, padding=1, dilation=4, return_indices=True)
    assert out[0, 0, 0] == -np.inf and index[0, 0, 0] >= 3  # an index outside the 3-long plane
    with pytest.raises(ValueError, match="dilation"):
        F.max_pool1d(x, 2, stride=1, padding=1, dilation=4)


def test_conv_transpose_empty_output_torch_answers_by_dtype():
    # (8 − 1)·1 − 2·5 + (3 − 1) + 1 = 0: float32 (oneDNN) returns an empty output, float64 refuses
    x, w = np.ones((2, 4, 8, 8)), np.ones((4, 3, 3, 3))
    empty = T.conv_transpose2d(torch.from_numpy(x).float(), torch.from_numpy(w).float(), padding=5)
    assert tuple(empty.shape) == (2, 3, 0, 0)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        T.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), padding=5)
    for dtype in (np.float32, np.float64):  # the reference answers one way for both
        with pytest.raises(ValueError, match="output would be empty"):
            F.conv_transpose2d(x.astype(dtype), w.astype(dtype), padding=5)


@pytest.mark.parametrize("kwargs, dtypes, blame", [
    (dict(dilation=0), ("float64", "float64"), "dilation"),
    (dict(), ("float64", "float32"), "dtype"),
])
def test_empty_batch_torch_skips_argument_checks(kwargs, dtypes, blame):
    # Found by the fuzzing: with N = 0 torch returns an empty output without checking the
    # dilation or the dtypes, which it refuses for N = 1. The reference checks whatever N is.
    w = np.ones((1, 1, 2), dtype=dtypes[1])
    for n in (0, 1):
        x = np.ones((n, 1, 3), dtype=dtypes[0])
        if n == 0:
            assert tuple(T.conv1d(torch.from_numpy(x), torch.from_numpy(w), **kwargs).shape)[:2] == (0, 1)
        else:
            with pytest.raises(RuntimeError):
                T.conv1d(torch.from_numpy(x), torch.from_numpy(w), **kwargs)
        with pytest.raises((ValueError, TypeError), match=blame):
            F.conv1d(x, w, **kwargs)


def test_empty_batch_torch_skips_the_output_padding_check():
    x, w = np.ones((0, 1, 3)), np.ones((1, 1, 2))
    out = T.conv_transpose1d(torch.from_numpy(x), torch.from_numpy(w), stride=2, output_padding=2)
    assert tuple(out.shape) == (0, 1, 8)
    with pytest.raises(RuntimeError, match="output padding"):
        T.conv_transpose1d(torch.from_numpy(np.ones((1, 1, 3))), torch.from_numpy(w), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose1d(x, w, stride=2, output_padding=2)


def test_elementwise_mean_torch_takes_a_deprecated_spelling():
    # Found by the fuzzing: torch maps the undocumented 'elementwise_mean' to 'mean' (with a
    # deprecation warning); the reference takes the three documented reductions only.
    x, t = np.arange(4.0), np.zeros(4)
    with pytest.warns(UserWarning):
        out = T.mse_loss(torch.from_numpy(x), torch.from_numpy(t), reduction="elementwise_mean")
    assert float(out) == 3.5
    with pytest.raises(ValueError, match="reduction='elementwise_mean'"):
        F.mse_loss(x, t, reduction="elementwise_mean")


@pytest.mark.parametrize("length, taps, stride", [(1, 1, 1), (3, 1, 2), (1, 2, 2), (1, 3, 3)])
def test_transposed_convolution_torch_takes_dilation_zero_in_float32_only(length, taps, stride):
    # Found by the soak's random fuzzing: torch's float32 path does not check the dilation
    # where every tap lands on its own output position (a 1-tap kernel, or one input position
    # with a stride of at least the kernel); float64 refuses it. The reference refuses both.
    w = np.ones((1, 1, taps))
    out = T.conv_transpose1d(torch.ones(2, 1, length), torch.from_numpy(w).float(), stride=stride, dilation=0)
    assert tuple(out.shape) == (2, 1, (length - 1) * stride + 1)
    with pytest.raises(RuntimeError, match="dilation"):
        T.conv_transpose1d(torch.ones(2, 1, length, dtype=torch.float64), torch.from_numpy(w), stride=stride,
                           dilation=0)
    for dtype in (np.float32, np.float64):
        with pytest.raises(ValueError, match="dilation"):
            F.conv_transpose1d(np.ones((2, 1, length), dtype), w.astype(dtype), stride=stride, dilation=0)


def test_transposed_convolution_with_two_taps_meeting_torch_refuses_dilation_zero_in_float32_too():
    # the other side of the gap: two taps that would meet (one input, stride 1) are refused,
    # by oneDNN ("could not create a primitive descriptor"), not by a check that names dilation
    with pytest.raises(RuntimeError):
        T.conv_transpose1d(torch.ones(2, 1, 1), torch.ones(1, 1, 2), stride=1, dilation=0)


@pytest.mark.parametrize("op", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pool_to_size_zero_torch_forward_takes_and_backward_refuses(op):
    x = torch.ones(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    out = getattr(T, op)(x, (0, 3))
    assert tuple(out.shape) == (2, 3, 0, 3)
    with pytest.raises(RuntimeError, match="non-zero size"):
        out.backward(torch.ones_like(out))
    with pytest.raises(ValueError, match=r"output_size=\(0, 3\)"):
        getattr(F, op)(x.detach().numpy(), (0, 3))


def test_adaptive_avg_pool_without_channels_torch_forward_takes_and_backward_refuses():
    x = torch.ones(2, 0, 5, dtype=torch.float64, requires_grad=True)
    out = T.adaptive_avg_pool1d(x, 3)
    assert tuple(out.shape) == (2, 0, 3)
    with pytest.raises(RuntimeError, match="non-zero size"):
        out.backward(torch.ones_like(out))
    with pytest.raises(RuntimeError, match="non-zero size"):
        T.adaptive_max_pool1d(x, 3)  # max pooling refuses it in the forward already
    with pytest.raises(ValueError, match=r"input.shape=\(2, 0, 5\)"):
        F.adaptive_avg_pool1d(x.detach().numpy(), 3)


def test_adaptive_avg_pool_of_an_empty_axis_to_size_one_torch_returns_nan():
    # a global average (output size 1) is computed by mean(), which takes an empty axis; any
    # other output size is refused, and so is max pooling
    x = torch.ones(1, 2, 0, dtype=torch.float64)
    assert torch.isnan(T.adaptive_avg_pool1d(x, 1)).all()
    with pytest.raises(RuntimeError, match="non-zero size"):
        T.adaptive_avg_pool1d(x, 2)
    with pytest.raises(ValueError, match=r"input.shape=\(1, 2, 0\)"):
        F.adaptive_avg_pool1d(x.numpy(), 1)
