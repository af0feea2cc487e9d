"""torch's ops written on tinygrad as its user would: tinygrad's ``Tensor`` methods follow
torch's own names and arguments, so most ops are one line; its convolutions and pooling take
any number of spatial dimensions. No backward (the gate takes it from ``Tensor.gradient``),
and no validation beyond tinygrad's.

    CC=clang-14 python -m crosscheck --framework examples.tinygrad_framework --impl examples.tinygrad_ops

Declared unsupported: the 'symmetric' padding mode and ``divisor_override`` (tinygrad has
neither), and ``cross_entropy``'s class weights (its cross entropy takes none).
"""
from __future__ import annotations

from tinygrad import Tensor

CROSSCHECK_SUPPORT = {
    **{f"avg_pool{d}d": {"divisor_override": [None]} for d in (1, 2, 3)},
    "cross_entropy": {"weight": [None]},
}


def _tuple(value, dims):
    return tuple(value) * (dims if len(value) == 1 else 1) if isinstance(value, (tuple, list)) else (value,) * dims


def _padding(padding, weight, dilation, dims):
    """torch's padding as tinygrad's: an int per dimension, or (left, right) pairs, last dimension first."""
    if padding == "valid":
        return 0
    if padding == "same":  # the odd extra at the end, as torch
        totals = [d * (k - 1) for d, k in zip(_tuple(dilation, dims), weight.shape[2:])]
        return [p for t in reversed(totals) for p in (t // 2, t - t // 2)]
    return list(_tuple(padding, dims))


def _batched(fn, dims):
    """torch takes an unbatched input (no N); tinygrad's ops want one."""
    def call(input, *args, **kwargs):
        if input.ndim == dims + 1:
            out = fn(input.unsqueeze(0), *args, **kwargs)
            return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
        return fn(input, *args, **kwargs)
    return call


def _conv(dims):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return input.conv2d(weight, bias, groups=groups, stride=_tuple(stride, dims), dilation=_tuple(dilation, dims),
                            padding=_padding(padding, weight, dilation, dims))
    return _batched(conv, dims)


def _conv_transpose(dims):
    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        return input.conv_transpose2d(weight, bias, groups=groups, stride=_tuple(stride, dims),
                                      dilation=_tuple(dilation, dims), padding=list(_tuple(padding, dims)),
                                      output_padding=_tuple(output_padding, dims))
    return _batched(conv_transpose, dims)


def _max_pool(dims):
    def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        return input.max_pool2d(_tuple(kernel_size, dims), _tuple(stride, dims) if stride else None,
                                _tuple(dilation, dims), list(_tuple(padding, dims)), ceil_mode, return_indices)
    return _batched(pool, dims)


def _avg_pool(dims):
    def pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
        return input.avg_pool2d(_tuple(kernel_size, dims), _tuple(stride, dims) if stride else None, 1,
                                list(_tuple(padding, dims)), ceil_mode, count_include_pad)
    return _batched(pool, dims)


conv1d, conv2d, conv3d = _conv(1), _conv(2), _conv(3)
conv_transpose1d, conv_transpose2d, conv_transpose3d = _conv_transpose(1), _conv_transpose(2), _conv_transpose(3)
max_pool1d, max_pool2d, max_pool3d = _max_pool(1), _max_pool(2), _max_pool(3)
avg_pool1d, avg_pool2d, avg_pool3d = _avg_pool(1), _avg_pool(2), _avg_pool(3)


def pad(input, pad, mode="constant", value=None):
    return input.pad(tuple(pad), mode=mode, value=0.0 if value is None else value)


def linear(input, weight, bias=None):
    return input.linear(weight.T if weight.ndim == 2 else weight, bias)  # tinygrad's .T wants two dimensions


def relu(input):
    return input.relu()


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def softmax(input, dim=None):
    return input.softmax(dim)


def log_softmax(input, dim=None):
    return input.log_softmax(dim)


def mse_loss(input, target, reduction="mean"):
    return ((input - target) ** 2)._do_reduction(reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    return input.cross_entropy(target, reduction=reduction, label_smoothing=label_smoothing)
