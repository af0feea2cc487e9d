"""Bug: max pooling skips NaN (``np.fmax`` / ``np.nanmax`` semantics) instead of propagating it.

torch's scan updates its maximum when ``value > max or isnan(value)``: a NaN anywhere in a
window makes the output NaN (and the index the last NaN's). This mutant compares with ``>``
alone (NaN never wins), so a window holding a NaN and a number returns the number; only a
window of NaN alone gives NaN. Ties and everything else follow torch; calls are validated by
torch (the torch-backed module).

Revealed by: the output of the ``nan-inf`` case and of the grid cases drawn with
``input=specials`` (a fifth of the entries NaN, ±inf or ±0); finite data hides it.
"""
from tests.impls import torch_backed as _tb
from tests.impls.broken import _windows
from tests.impls.torch_backed import *  # noqa: F401,F403  (only max pooling differs)

GATE = dict(ops=("max_pool2d",), dtypes=("float64",), quantity="output")


def _mutant(dims):
    op = f"max_pool{dims}d"
    torch_forward = getattr(_tb, op)

    def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        torch_forward(input, kernel_size, stride, padding, dilation, ceil_mode)  # validation only
        k, s, p, d, out = _windows.geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
        return _windows.max_pool(input, dims, k, s, p, d, out, nan="ignore")  # the bug

    def forward(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        output, indices = pool(input, kernel_size, stride, padding, dilation, ceil_mode)
        return (output, indices) if return_indices else output

    def backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False):
        _, indices = pool(input, kernel_size, stride, padding, dilation, ceil_mode)
        return (_windows.scatter(grad_output, indices, input.shape, dims, input.dtype),)

    return forward, backward


max_pool1d, max_pool1d_backward = _mutant(1)
max_pool2d, max_pool2d_backward = _mutant(2)
max_pool3d, max_pool3d_backward = _mutant(3)
