"""torch's ops that MyGrad has, under torch's signatures, written on ``mygrad`` as its user
would. What MyGrad lacks is declared, so those cases count as unsupported: groups, the
padding strings (``conv_nd`` pads symmetrically by an integer), max pooling's padding,
dilation and ceil mode, and the ops it has no counterpart for.

    python -m crosscheck --framework examples.mygrad_framework --impl examples.mygrad_ops
"""
from __future__ import annotations

import mygrad as mg
from mygrad.nnet import conv_nd, logsoftmax, max_pool, relu, sigmoid, softmax as _softmax, tanh  # noqa: F401

CROSSCHECK_SUPPORT = {
    **{f"conv{d}d": {"groups": [1], "padding": list(range(16)), "unbatched": False} for d in (1, 2, 3)},
    **{f"max_pool{d}d": {"padding": [0], "dilation": [1], "ceil_mode": [False], "return_indices": [False],
                         "unbatched": False} for d in (1, 2, 3)},
}


def _conv(dims):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        out = conv_nd(input, weight, stride=stride, padding=padding, dilation=dilation)
        return out if bias is None else out + bias.reshape((1, -1) + (1,) * dims)

    return conv


def _pool(dims):
    def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        window = (kernel_size,) * dims if isinstance(kernel_size, int) else tuple(kernel_size)
        return max_pool(input, window, stride if stride else window)

    return pool


conv1d, conv2d, conv3d = _conv(1), _conv(2), _conv(3)
max_pool1d, max_pool2d, max_pool3d = _pool(1), _pool(2), _pool(3)


def linear(input, weight, bias=None):
    out = mg.matmul(input, weight.T)
    return out if bias is None else out + bias


def softmax(input, dim=None):
    return _softmax(input, axis=dim)


def log_softmax(input, dim=None):
    return logsoftmax(input, axis=dim)


def mse_loss(input, target, reduction="mean"):
    square = (input - target) ** 2
    return {"mean": mg.mean, "sum": mg.sum, "none": lambda v: v}[reduction](square)
