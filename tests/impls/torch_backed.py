"""A correct implementation of the contract (docs/contract.md) on top of PyTorch.

It exists to test the harness, not to be fast: if the harness is right, this module passes
every case of every profile, and each mutant in :mod:`tests.impls.broken` (most of them
wrap this module or :mod:`reference.functional`) fails for its one bug.

* forward: NumPy → ``torch.from_numpy`` (no copy; torch never writes to its inputs here)
  → ``torch.nn.functional`` → NumPy, in the input's dtype, never sharing memory with an input;
  max pooling with ``return_indices=True`` returns ``(output, indices)``, the indices int64;
* backward: ``torch.autograd.grad`` of the same call (of its first output, for max pooling's
  indices), one entry per array argument, ``None`` where the argument was ``None`` or is not
  differentiable (cross_entropy's integer target);
* arguments: arrays must be float32/float64 ``numpy.ndarray`` of one dtype (TypeError otherwise,
  as the contract says: torch would happily take float16 or ints, and mse_loss would promote a
  float32/float64 pair), except cross_entropy's target, which must be an integer array (torch
  decides which integer dtypes it takes); everything else is left to torch, and its rejection
  (RuntimeError, NotImplementedError, ...) is re-raised as ValueError (or TypeError for
  torch's TypeError) naming the call's arguments and quoting torch's message.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv3d",
    "conv3d_backward",
    "conv_transpose1d",
    "conv_transpose1d_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "conv_transpose3d",
    "conv_transpose3d_backward",
    "pad",
    "pad_backward",
    "unfold",
    "unfold_backward",
    "fold",
    "fold_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool3d",
    "max_pool3d_backward",
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool3d",
    "avg_pool3d_backward",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_backward",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool3d",
    "adaptive_avg_pool3d_backward",
    "linear",
    "linear_backward",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "mse_loss",
    "mse_loss_backward",
    "cross_entropy",
    "cross_entropy_backward",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# What torch raises when it refuses a call, other than TypeError (kept as TypeError).
_TORCH_REJECTIONS = (RuntimeError, ValueError, NotImplementedError, IndexError)


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)


def _signature(op: str, arrays: dict, kwargs: dict) -> str:
    parts = [f"{name}={_describe(a)}" for name, a in arrays.items()]
    parts += [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"{op}({', '.join(parts)})"


def _check_arrays(op: str, arrays: dict, optional=("bias",), integer=()) -> None:
    """Arrays of float32 or float64, all of one dtype; those named in ``integer`` of an integer dtype."""
    floats = {}
    for name, value in arrays.items():
        if value is None and name in optional:
            continue
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{op}: {name} must be a numpy.ndarray, got {name}={_describe(value)}")
        if name in integer:
            if value.dtype.kind not in "iu":
                raise TypeError(f"{op}: {name} must have an integer dtype (class indices), "
                                f"got {name}.dtype={value.dtype}")
            continue
        if value.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{op}: {name} must have dtype float32 or float64, got {name}.dtype={value.dtype}")
        floats[name] = value.dtype
    if len(set(floats.values())) > 1:
        mixed = ", ".join(f"{name}.dtype={dtype}" for name, dtype in floats.items())
        raise TypeError(f"{op}: arrays must share one float dtype, got {mixed}")


def _tensor(array, requires_grad=False):
    if array is None:
        return None
    # from_numpy shares memory; it refuses negative strides and warns on read-only arrays,
    # so those (never the harness's) are copied first.
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = array.copy()
    tensor = torch.from_numpy(array)
    # only floating point tensors can require a gradient (cross_entropy's target has none)
    return tensor.requires_grad_(requires_grad and tensor.is_floating_point())


def _torch(op: str, arrays: dict, kwargs: dict, call):
    """Run ``call()``, turning torch's refusal into the contract's ValueError/TypeError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. 'same' with an even kernel: a note, not a rejection
            return call()
    except TypeError as exc:
        raise TypeError(f"{_signature(op, arrays, kwargs)} rejected by torch: {exc}") from exc
    except _TORCH_REJECTIONS as exc:
        raise ValueError(f"{_signature(op, arrays, kwargs)} rejected by torch: {type(exc).__name__}: {exc}") from exc


def _fresh(result: np.ndarray, dtype, *arrays) -> np.ndarray:
    """``result`` in ``dtype``, as a new array (never a view of an argument)."""
    result = result.astype(dtype, copy=False)
    if any(a is not None and np.shares_memory(result, a) for a in arrays):
        result = result.copy()
    return result


def _forward(op: str, fn, arrays: dict, kwargs: dict, integer=()):
    _check_arrays(op, arrays, integer=integer)
    tensors = [_tensor(a) for a in arrays.values()]

    def call():
        with torch.no_grad():
            return fn(*tensors, **kwargs)

    out = _torch(op, arrays, kwargs, call)
    dtype, given = arrays["input"].dtype, arrays.values()
    if isinstance(out, tuple):  # max pooling's (output, indices): the indices stay int64
        first, *extras = (t.numpy() for t in out)
        return (_fresh(first, dtype, *given), *(_fresh(e, e.dtype, *given) for e in extras))
    return _fresh(out.numpy(), dtype, *given)


def _backward(op: str, fn, grad_output, arrays: dict, kwargs: dict, integer=()):
    name = op + "_backward"
    _check_arrays(name, dict(grad_output=grad_output, **arrays), integer=integer)  # grad_output: the input's dtype
    dtype = arrays["input"].dtype
    tensors = [_tensor(a, requires_grad=True) for a in arrays.values()]
    upstream = _tensor(grad_output)

    def call():
        out = fn(*tensors, **kwargs)
        if isinstance(out, tuple):  # max pooling's (output, indices): the gradient is the output's
            out = out[0]
        if tuple(out.shape) != grad_output.shape:
            raise ValueError(f"grad_output must have the output's shape {tuple(out.shape)}, got {grad_output.shape}")
        wanted = [t for t in tensors if t is not None and t.requires_grad]
        return iter(torch.autograd.grad(out, wanted, upstream, allow_unused=True))

    grads = _torch(name, dict(grad_output=grad_output, **arrays), kwargs, call)
    result = []
    for a, t in zip(arrays.values(), tensors):
        if a is None or not t.requires_grad:  # no argument, or not differentiable (integer target)
            result.append(None)
            continue
        g = next(grads)
        g = np.zeros_like(a) if g is None else g.numpy()  # None: the output does not depend on it
        result.append(_fresh(g, dtype, grad_output, *arrays.values()))
    return tuple(result)


def _name(forward, backward, op, what):
    forward.__name__ = forward.__qualname__ = op
    backward.__name__ = backward.__qualname__ = op + "_backward"
    forward.__doc__ = f"``torch.nn.functional.{op}`` on NumPy arrays."
    backward.__doc__ = f"``({what})`` of :func:`{op}` by ``torch.autograd.grad``."
    return forward, backward


def _conv_family(dims: int):
    op = f"conv{dims}d"
    fn = getattr(F, op)

    def forward(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return _forward(op, fn, dict(input=input, weight=weight, bias=bias), kwargs)

    def backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return _backward(op, fn, grad_output, dict(input=input, weight=weight, bias=bias), kwargs)

    return _name(forward, backward, op, "grad_input, grad_weight, grad_bias")


conv1d, conv1d_backward = _conv_family(1)
conv2d, conv2d_backward = _conv_family(2)
conv3d, conv3d_backward = _conv_family(3)


def _conv_transpose_family(dims: int):
    op = f"conv_transpose{dims}d"
    fn = getattr(F, op)

    def forward(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
        return _forward(op, fn, dict(input=input, weight=weight, bias=bias), kwargs)

    def backward(grad_output, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
        return _backward(op, fn, grad_output, dict(input=input, weight=weight, bias=bias), kwargs)

    return _name(forward, backward, op, "grad_input, grad_weight, grad_bias")


conv_transpose1d, conv_transpose1d_backward = _conv_transpose_family(1)
conv_transpose2d, conv_transpose2d_backward = _conv_transpose_family(2)
conv_transpose3d, conv_transpose3d_backward = _conv_transpose_family(3)


def pad(input, pad, mode="constant", value=None):
    """``torch.nn.functional.pad`` on a NumPy array."""
    return _forward("pad", F.pad, dict(input=input), dict(pad=pad, mode=mode, value=value))


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    """``(grad_input,)`` of :func:`pad` by ``torch.autograd.grad``."""
    return _backward("pad", F.pad, grad_output, dict(input=input), dict(pad=pad, mode=mode, value=value))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.unfold`` on a NumPy array."""
    kwargs = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    return _forward("unfold", F.unfold, dict(input=input), kwargs)


def unfold_backward(grad_output, input, kernel_size, dilation=1, padding=0, stride=1):
    """``(grad_input,)`` of :func:`unfold` by ``torch.autograd.grad``."""
    kwargs = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    return _backward("unfold", F.unfold, grad_output, dict(input=input), kwargs)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.fold`` on a NumPy array."""
    kwargs = dict(output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    return _forward("fold", F.fold, dict(input=input), kwargs)


def fold_backward(grad_output, input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``(grad_input,)`` of :func:`fold` by ``torch.autograd.grad``."""
    kwargs = dict(output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    return _backward("fold", F.fold, grad_output, dict(input=input), kwargs)


def _max_pool_family(dims: int):
    op = f"max_pool{dims}d"
    fn = getattr(F, op)

    def forward(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                      ceil_mode=ceil_mode, return_indices=return_indices)
        return _forward(op, fn, dict(input=input), kwargs)

    def backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                      ceil_mode=ceil_mode, return_indices=return_indices)
        return _backward(op, fn, grad_output, dict(input=input), kwargs)

    return _name(forward, backward, op, "grad_input,")


max_pool1d, max_pool1d_backward = _max_pool_family(1)
max_pool2d, max_pool2d_backward = _max_pool_family(2)
max_pool3d, max_pool3d_backward = _max_pool_family(3)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """``torch.nn.functional.avg_pool1d`` on a NumPy array (it has no ``divisor_override``)."""
    kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                  count_include_pad=count_include_pad)
    return _forward("avg_pool1d", F.avg_pool1d, dict(input=input), kwargs)


def avg_pool1d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True):
    """``(grad_input,)`` of :func:`avg_pool1d` by ``torch.autograd.grad``."""
    kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                  count_include_pad=count_include_pad)
    return _backward("avg_pool1d", F.avg_pool1d, grad_output, dict(input=input), kwargs)


def _avg_pool_family(dims: int):
    op = f"avg_pool{dims}d"
    fn = getattr(F, op)

    def forward(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                      count_include_pad=count_include_pad, divisor_override=divisor_override)
        return _forward(op, fn, dict(input=input), kwargs)

    def backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                      count_include_pad=count_include_pad, divisor_override=divisor_override)
        return _backward(op, fn, grad_output, dict(input=input), kwargs)

    return _name(forward, backward, op, "grad_input,")


avg_pool2d, avg_pool2d_backward = _avg_pool_family(2)
avg_pool3d, avg_pool3d_backward = _avg_pool_family(3)


def _adaptive_family(kind: str, dims: int):
    op = f"adaptive_{kind}_pool{dims}d"
    fn = getattr(F, op)

    if kind == "max":
        def forward(input, output_size, return_indices=False):
            return _forward(op, fn, dict(input=input), dict(output_size=output_size, return_indices=return_indices))

        def backward(grad_output, input, output_size, return_indices=False):
            kwargs = dict(output_size=output_size, return_indices=return_indices)
            return _backward(op, fn, grad_output, dict(input=input), kwargs)
    else:
        def forward(input, output_size):
            return _forward(op, fn, dict(input=input), dict(output_size=output_size))

        def backward(grad_output, input, output_size):
            return _backward(op, fn, grad_output, dict(input=input), dict(output_size=output_size))

    return _name(forward, backward, op, "grad_input,")


adaptive_max_pool1d, adaptive_max_pool1d_backward = _adaptive_family("max", 1)
adaptive_max_pool2d, adaptive_max_pool2d_backward = _adaptive_family("max", 2)
adaptive_max_pool3d, adaptive_max_pool3d_backward = _adaptive_family("max", 3)
adaptive_avg_pool1d, adaptive_avg_pool1d_backward = _adaptive_family("avg", 1)
adaptive_avg_pool2d, adaptive_avg_pool2d_backward = _adaptive_family("avg", 2)
adaptive_avg_pool3d, adaptive_avg_pool3d_backward = _adaptive_family("avg", 3)


def linear(input, weight, bias=None):
    """``torch.nn.functional.linear`` on NumPy arrays: ``input @ weight.T + bias``."""
    return _forward("linear", F.linear, dict(input=input, weight=weight, bias=bias), {})


def linear_backward(grad_output, input, weight, bias=None):
    """``(grad_input, grad_weight, grad_bias)`` of :func:`linear` by ``torch.autograd.grad``."""
    return _backward("linear", F.linear, grad_output, dict(input=input, weight=weight, bias=bias), {})


def _elementwise(op: str):
    fn = getattr(F, op)

    def forward(input):
        return _forward(op, fn, dict(input=input), {})

    def backward(grad_output, input):
        return _backward(op, fn, grad_output, dict(input=input), {})

    return _name(forward, backward, op, "grad_input,")


relu, relu_backward = _elementwise("relu")
sigmoid, sigmoid_backward = _elementwise("sigmoid")
tanh, tanh_backward = _elementwise("tanh")


def _softmax_family(op: str):
    fn = getattr(F, op)

    def forward(input, dim):
        return _forward(op, fn, dict(input=input), dict(dim=dim))

    def backward(grad_output, input, dim):
        return _backward(op, fn, grad_output, dict(input=input), dict(dim=dim))

    return _name(forward, backward, op, "grad_input,")


softmax, softmax_backward = _softmax_family("softmax")
log_softmax, log_softmax_backward = _softmax_family("log_softmax")


def mse_loss(input, target, reduction="mean"):
    """``torch.nn.functional.mse_loss`` on NumPy arrays (a 0-d array unless ``reduction='none'``)."""
    return _forward("mse_loss", F.mse_loss, dict(input=input, target=target), dict(reduction=reduction))


def mse_loss_backward(grad_output, input, target, reduction="mean"):
    """``(grad_input, grad_target)`` of :func:`mse_loss` by ``torch.autograd.grad``."""
    return _backward("mse_loss", F.mse_loss, grad_output, dict(input=input, target=target), dict(reduction=reduction))


def cross_entropy(input, target, reduction="mean"):
    """``torch.nn.functional.cross_entropy`` on NumPy arrays, with integer class targets."""
    arrays = dict(input=input, target=target)
    return _forward("cross_entropy", F.cross_entropy, arrays, dict(reduction=reduction), integer=("target",))


def cross_entropy_backward(grad_output, input, target, reduction="mean"):
    """``(grad_input, None)`` of :func:`cross_entropy` by ``torch.autograd.grad`` (the target's is None)."""
    arrays = dict(input=input, target=target)
    return _backward("cross_entropy", F.cross_entropy, grad_output, arrays, dict(reduction=reduction),
                     integer=("target",))


def _double_backward(op: str, grad_grads, grad_output, arrays: dict, kwargs: dict):
    """``(grad_grad_output, grad2_<array>, ...)``: torch's ``autograd.grad`` of the backward's gradients
    (taken with ``create_graph=True``) against the cotangents ``grad_grads``; zeros where the
    gradients do not depend on an argument, None where it is None or not differentiable."""
    name = op + "_double_backward"
    integer = ("target",) if op == "cross_entropy" else ()
    _check_arrays(name, dict(grad_output=grad_output, **arrays), integer=integer)
    if not isinstance(grad_grads, tuple) or len(grad_grads) != len(arrays):
        raise TypeError(f"{name}: grad_grads must be a tuple of {len(arrays)} cotangents, got {grad_grads!r:.80}")
    dtype = arrays["input"].dtype
    tensors = [_tensor(a, requires_grad=True) for a in arrays.values()]
    upstream = _tensor(grad_output, requires_grad=True)
    differentiable = [t is not None and t.requires_grad for t in tensors]

    def call():
        out = getattr(F, op)(*tensors, **kwargs)
        out = out[0] if isinstance(out, tuple) else out  # max pooling's indices have no gradient
        wanted = [t for t, d in zip(tensors, differentiable) if d]
        grads = torch.autograd.grad(out, wanted, upstream, create_graph=True, allow_unused=True)
        cotangents = [_tensor(v) for v, d in zip(grad_grads, differentiable) if d]
        pairs = [(g, v) for g, v in zip(grads, cotangents) if g is not None and g.requires_grad]
        if not pairs:
            return [None] * (1 + len(wanted))
        return torch.autograd.grad([g for g, _ in pairs], [upstream, *wanted], [v for _, v in pairs], allow_unused=True)

    second = iter(_torch(name, dict(grad_output=grad_output, **arrays), kwargs, call))
    result = []
    for a, d in zip((grad_output, *arrays.values()), (True, *differentiable)):
        if not d:
            result.append(None)
            continue
        g = next(second)
        g = np.zeros_like(a) if g is None else g.detach().numpy()
        result.append(_fresh(g, dtype, grad_output, *arrays.values(), *[v for v in grad_grads if v is not None]))
    return tuple(result)


def _double_backward_of(op: str, arrays: tuple):
    def double_backward(grad_grads, grad_output, *args, **kwargs):
        given = dict(zip(arrays, args))
        return _double_backward(op, grad_grads, grad_output, given, kwargs)

    double_backward.__name__ = double_backward.__qualname__ = op + "_double_backward"
    double_backward.__doc__ = f"The vector-Jacobian product of :func:`{op}_backward` by ``torch.autograd.grad`` twice."
    return double_backward


for _op in [n for n in __all__ if not n.endswith("_backward")]:
    _arrays = ("input", "weight", "bias") if _op.startswith(("conv", "linear")) else (
        ("input", "target") if _op in ("mse_loss", "cross_entropy") else ("input",))
    globals()[_op + "_double_backward"] = _double_backward_of(_op, _arrays)
    __all__.append(_op + "_double_backward")
del _op, _arrays
