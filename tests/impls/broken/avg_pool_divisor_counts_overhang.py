"""Bug: in ceil mode, average pooling's divisor counts the part of the last window that
hangs past the right padding.

torch divides by the size of ``[start, min(start + k, L + p))`` (with
``count_include_pad=True``): a ceil-mode window that runs past the padded input counts only
what it covers. This mutant divides every window by the full kernel volume ``k`` (padding
included), so the last window of such an axis comes out too small. Without
``count_include_pad`` (clipped to the input) or with a ``divisor_override`` both agree; the
sums are right. Calls are validated by torch (the torch-backed module); values are NumPy.

Revealed by: the output of ceil-mode grid cases with ``count_include_pad=True`` and no
override whose last window runs past ``L + p`` on some axis (``avg_pool1d-k3-s(2)-p1-ceil-x1x3x2``,
``avg_pool2d-k2-s2x1-p0-ceil-x1x2x3x2``, a few in each grid). The named ceil-mode cases hide it:
one counts no padding, one has an override, and the last window of ``last-window-dropped``
ends inside the padding.
"""
from tests.impls import torch_backed as _tb
from tests.impls.broken import _windows
from tests.impls.torch_backed import *  # noqa: F401,F403  (only average pooling differs)

GATE = dict(ops=("avg_pool1d", "avg_pool2d"), dtypes=("float64",), quantity="output")


def _plan(dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    op = f"avg_pool{dims}d"
    k, s, p, _, out = _windows.geometry(op, dims, input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        return k, s, p, out, divisor_override
    divisor = _windows.divisors(input.shape[-dims:], k, s, p, out, count_include_pad, overhang=True)  # the bug
    return k, s, p, out, divisor


def _mutant(dims):
    op = f"avg_pool{dims}d"
    torch_forward = getattr(_tb, op)

    def pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
        options = [] if dims == 1 else [divisor_override]
        torch_forward(input, kernel_size, stride, padding, ceil_mode, count_include_pad, *options)  # validation only
        k, s, p, out, divisor = _plan(dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                      divisor_override)
        return _windows.avg_pool(input, dims, k, s, p, out, divisor)

    def pool_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None):
        k, s, p, out, divisor = _plan(dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                      divisor_override)
        return (_windows.avg_pool_backward(grad_output, input.shape, dims, k, s, p, out, divisor, input.dtype),)

    if dims == 1:
        def pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
            return pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad)

        def pool1d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                            count_include_pad=True):
            return pool_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad)

        return pool1d, pool1d_backward
    return pool, pool_backward


avg_pool1d, avg_pool1d_backward = _mutant(1)
avg_pool2d, avg_pool2d_backward = _mutant(2)
avg_pool3d, avg_pool3d_backward = _mutant(3)
