"""Bug: among equal maxima, max pooling picks the *last* one, not the first.

The window scan keeps its running maximum with ``>=`` where torch uses ``>``: the output
values are the same, but the gradient (and the index) goes to the last tied entry of the
window instead of the first. Calls are validated by torch (the torch-backed module);
everything else, NaN handling included, is torch's rule.

Revealed by: grad_input of the ``ties`` case and of the integer-valued grid cases (values in
[−3, 3], so windows hold equal maxima), and the indices of the ``overlapping-ties`` case and
of the integer-valued grid cases with ``return_indices=True``. Normal draws never tie.
"""
from tests.impls import torch_backed as _tb
from tests.impls.broken import _windows
from tests.impls.torch_backed import *  # noqa: F401,F403  (only max pooling differs)

GATE = dict(ops=("max_pool2d",), dtypes=("float64",), quantity="grad_input", also=("indices",))


def _mutant(dims):
    op = f"max_pool{dims}d"
    torch_forward = getattr(_tb, op)

    def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        torch_forward(input, kernel_size, stride, padding, dilation, ceil_mode)  # validation only
        k, s, p, d, out = _windows.geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
        return _windows.max_pool(input, dims, k, s, p, d, out, tie="last")  # the bug

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
