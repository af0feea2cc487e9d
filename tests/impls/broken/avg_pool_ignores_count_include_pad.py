"""Bug: average pooling ignores ``count_include_pad=False``: padding is always counted.

The divisor is the window's size within the padded input whatever the flag, as if the
argument were never passed on (a wrapper whose signature has it and whose call drops it).
With ``count_include_pad=False`` torch divides a window that overlaps the padding by the
number of *input* entries it covers, so border outputs come out too small here. Forward and
backward are torch's with ``count_include_pad=True`` (consistent with each other).

Revealed by: the output of every ``count_include_pad=False`` case with padding whose windows
reach into it (the two named ``nocip`` avg_pool2d cases and grid cases, ``nocip`` in the
id); without padding, or with a ``divisor_override``, the flag changes nothing. Where every
input entry of a border window is ±0, ±inf or NaN the output hides it and only grad_input shows
it (``avg_pool1d-k3-s(3)-p1-ceil-nocip-x1x2x1-input=specials``), so the gate runs avg_pool2d.
Dropping the argument also drops its check: a ``count_include_pad`` torch refuses (an int,
``avg_pool2d-k2-x2x3x7x6-int-count-include-pad``) is accepted.
"""
from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only average pooling differs)

GATE = dict(ops=("avg_pool2d",), dtypes=("float64",), quantity="output", also=("rejection",))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _tb.avg_pool1d(input, kernel_size, stride, padding, ceil_mode, True)  # the bug


def avg_pool1d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True):
    return _tb.avg_pool1d_backward(grad_output, input, kernel_size, stride, padding, ceil_mode, True)


def _mutant(dims):
    forward, backward = getattr(_tb, f"avg_pool{dims}d"), getattr(_tb, f"avg_pool{dims}d_backward")

    def pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
        return forward(input, kernel_size, stride, padding, ceil_mode, True, divisor_override)  # the bug

    def pool_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None):
        return backward(grad_output, input, kernel_size, stride, padding, ceil_mode, True, divisor_override)

    return pool, pool_backward


avg_pool2d, avg_pool2d_backward = _mutant(2)
avg_pool3d, avg_pool3d_backward = _mutant(3)
