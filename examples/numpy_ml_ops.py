"""torch's ops gated against numpy-ml (https://github.com/ddbourgin/numpy-ml), NumPy code with
its own backward: each op builds numpy-ml's layer, loads it with the case's weights, and calls
its ``forward`` and ``backward``, so this module is the NumPy contract itself (framework
``numpy``, explicit ``NAME_backward``).

    python -m crosscheck --impl examples.numpy_ml_ops

numpy-ml's conventions differ from torch's, and the wrappers translate them as a user of
both must: channels last (N, H, W, C), weights (kh, kw, in, out), one stride and one
dilation for every axis, and dilation counted from 0 (numpy-ml's 0 is torch's 1). What its
layers do not have is declared unsupported: groups, 3-d and transposed convolutions, padding
as an op, pooling in 1-d and 3-d, pooling's dilation and ceil mode, unbatched input, and
the losses (numpy-ml's take probabilities, not logits, and sum where torch averages: a
different function, not a different convention). A stride or dilation that differs per axis
raises NotImplementedError, which the gate counts as unsupported too.

numpy-ml 0.1.2 imports ``collections.Hashable``, which Python 3.10 removed; the alias is
restored before it is imported.
"""
from __future__ import annotations

import collections
import collections.abc
import warnings

import numpy as np

if not hasattr(collections, "Hashable"):
    collections.Hashable = collections.abc.Hashable  # numpy-ml 0.1.2 predates Python 3.10
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # it warns that gym, for its reinforcement learning, is missing
    from numpy_ml.neural_nets.activations import ReLU, Sigmoid, Tanh
    from numpy_ml.neural_nets.layers import Conv1D, Conv2D, FullyConnected, Pool2D, Softmax

CROSSCHECK_SUPPORT = {
    "conv1d": {"groups": [1], "unbatched": False},
    "conv2d": {"groups": [1], "unbatched": False},
    "max_pool2d": {"dilation": [1], "ceil_mode": [False], "return_indices": [False], "unbatched": False},
    "avg_pool2d": {"ceil_mode": [False], "count_include_pad": [True], "divisor_override": [None], "unbatched": False},
}


def _load(layer, **parameters):
    """Give ``layer`` these parameters, and zero gradients of their shapes and dtypes (numpy-ml
    keeps them in float64 buffers made with its own initial weights)."""
    layer.parameters = parameters
    layer.gradients = {name: np.zeros_like(value) for name, value in parameters.items()}
    return layer


def _one(value, what, dims):
    """numpy-ml's single int for every axis, from torch's int or tuple."""
    values = set(value) if isinstance(value, (tuple, list)) else {value}
    if len(values) != 1:
        raise NotImplementedError(f"numpy-ml takes one {what} for every axis, got {value!r}")
    return values.pop()


def _padding(padding, dims):
    if padding in ("same", "valid"):
        return 0 if padding == "valid" else "same"
    return _one(padding, "padding", dims) if dims == 1 else \
        (tuple(padding) * (2 if len(padding) == 1 else 1) if isinstance(padding, (tuple, list)) else padding)


def _conv_layer(input, weight, bias, stride, padding, dilation, dims):
    """numpy-ml's layer, loaded with torch's weight and bias, and the input channels-last."""
    out_ch, in_ch, *kernel = weight.shape
    common = dict(pad=_padding(padding, dims), stride=_one(stride, "stride", dims),
                  dilation=_one(dilation, "dilation", dims) - 1)
    layer = Conv1D(out_ch, kernel[0], **common) if dims == 1 else Conv2D(out_ch, tuple(kernel), **common)
    layer.in_ch = in_ch
    layer._init_params()
    b = np.zeros(out_ch, weight.dtype) if bias is None else bias
    _load(layer, W=np.moveaxis(weight, (0, 1), (-1, -2)),  # (O, I, *k) -> (*k, I, O)
          b=b.reshape((1,) * (dims + 1) + (out_ch,)))
    return layer, np.moveaxis(input, 1, -1)


def _conv(dims):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        layer, x = _conv_layer(input, weight, bias, stride, padding, dilation, dims)
        return np.moveaxis(layer.forward(x, retain_derived=False), -1, 1)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        layer, x = _conv_layer(input, weight, bias, stride, padding, dilation, dims)
        layer.forward(x)
        grad_input = np.moveaxis(layer.backward(np.moveaxis(grad_output, 1, -1)), -1, 1)
        grad_weight = np.moveaxis(layer.gradients["W"], (-1, -2), (0, 1))
        return grad_input, grad_weight, None if bias is None else layer.gradients["b"].reshape(-1)

    return conv, conv_backward


conv1d, conv1d_backward = _conv(1)
conv2d, conv2d_backward = _conv(2)


def _pool(mode):
    def layer_of(kernel_size, stride, padding):
        kernel = tuple(kernel_size) * (2 if len(kernel_size) == 1 else 1) \
            if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        stride = kernel if stride is None or stride == () else stride
        return Pool2D(kernel, stride=_one(stride, "stride", 2), pad=_padding(padding, 2), mode=mode)

    if mode == "max":
        def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
            return np.moveaxis(layer_of(kernel_size, stride, padding).forward(np.moveaxis(input, 1, -1), False), -1, 1)

        def pool_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                          return_indices=False):
            layer = layer_of(kernel_size, stride, padding)
            layer.forward(np.moveaxis(input, 1, -1))
            return (np.moveaxis(layer.backward(np.moveaxis(grad_output, 1, -1)), -1, 1),)
    else:
        def pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
            return np.moveaxis(layer_of(kernel_size, stride, padding).forward(np.moveaxis(input, 1, -1), False), -1, 1)

        def pool_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                          count_include_pad=True, divisor_override=None):
            layer = layer_of(kernel_size, stride, padding)
            layer.forward(np.moveaxis(input, 1, -1))
            return (np.moveaxis(layer.backward(np.moveaxis(grad_output, 1, -1)), -1, 1),)

    return pool, pool_backward


max_pool2d, max_pool2d_backward = _pool("max")
avg_pool2d, avg_pool2d_backward = _pool("average")


def _dense(input, weight, bias):
    if input.ndim != 2 or weight.ndim != 2 or (bias is not None and bias.ndim != 1):
        raise NotImplementedError("numpy-ml's FullyConnected takes a matrix of examples, a matrix of weights "
                                  f"and a vector of biases, got input {input.shape}, weight {weight.shape}"
                                  + ("" if bias is None else f", bias {bias.shape}"))
    layer = FullyConnected(weight.shape[0])
    layer.n_in = weight.shape[1]
    layer._init_params()
    return _load(layer, W=weight.T, b=(np.zeros(weight.shape[0], weight.dtype) if bias is None else bias)[None])


def linear(input, weight, bias=None):
    return _dense(input, weight, bias).forward(input, retain_derived=False)


def linear_backward(grad_output, input, weight, bias=None):
    layer = _dense(input, weight, bias)
    layer.forward(input)
    grad_input = layer.backward(grad_output)
    return grad_input, layer.gradients["W"].T, None if bias is None else layer.gradients["b"][0]


def _activation(cls):
    def forward(input):
        return np.asarray(cls().fn(input))  # a 0-d input gives a NumPy scalar

    def backward(grad_output, input):
        return (np.asarray(grad_output * cls().grad(input)),)

    return forward, backward


relu, relu_backward = _activation(ReLU)
sigmoid, sigmoid_backward = _activation(Sigmoid)
tanh, tanh_backward = _activation(Tanh)


def _softmax(input, dim):
    if input.ndim != 2:
        raise NotImplementedError(f"numpy-ml's Softmax takes a matrix (n_ex, n_in), got input {input.shape}")
    return Softmax(dim=dim)


def softmax(input, dim=None):
    return _softmax(input, dim).forward(input, retain_derived=False)


def softmax_backward(grad_output, input, dim=None):
    layer = _softmax(input, dim)
    layer.forward(input)
    return (layer.backward(grad_output),)
