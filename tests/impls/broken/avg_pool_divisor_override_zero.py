"""Bug: ``divisor_override=0`` is accepted and treated as no override.

``divisor = divisor_override or window_size``: the truthiness test that reads 0 as "not
given". torch refuses 0 ("divisor must be not zero"); the contract requires a
ValueError/TypeError. Every other call is torch's, exactly.

Revealed by: the rejection check of the invalid case ``avg_pool2d-k2-div0-x1x2x5x5``.
"""
from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only average pooling differs)

GATE = dict(ops=("avg_pool2d",), dtypes=("float64",), quantity="rejection", reason="accepted a call torch rejects")


def _mutant(dims):
    forward, backward = getattr(_tb, f"avg_pool{dims}d"), getattr(_tb, f"avg_pool{dims}d_backward")

    def pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None):
        divisor_override = divisor_override or None  # the bug: 0 reads as "not given"
        return forward(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)

    def pool_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None):
        divisor_override = divisor_override or None
        return backward(grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override)

    return pool, pool_backward


avg_pool2d, avg_pool2d_backward = _mutant(2)
avg_pool3d, avg_pool3d_backward = _mutant(3)
