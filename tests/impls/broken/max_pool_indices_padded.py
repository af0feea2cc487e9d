"""Bug: max pooling's indices are offsets into the *padded* plane, not the input's.

An implementation that pads the input with −inf and scans the padded buffer reports where
the maximum sits in that buffer: with padding p, entry (h, w) of an H×W plane is returned as
``(h + p_h)·(W + 2p_w) + (w + p_w)`` instead of ``h·W + w``. The contract (like torch) wants
offsets into each unpadded input plane, the form ``max_unpool`` reads. Outputs and the
gradient are torch's.

Revealed by: the indices of every ``return_indices=True`` case with padding on some axis
(the dilated max_pool1d case with p = 1, the ceil-mode max_pool3d case with p = (1, 1, 0),
and grid cases); without padding the two offsets coincide.
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.broken import _windows
from tests.impls.torch_backed import *  # noqa: F401,F403  (only max pooling's indices differ)

GATE = dict(ops=("max_pool1d", "max_pool3d"), dtypes=("float64",), quantity="indices")


def _mutant(dims):
    op = f"max_pool{dims}d"
    torch_forward = getattr(_tb, op)

    def forward(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        result = torch_forward(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
        if not return_indices:
            return result
        output, indices = result
        _, _, p, _, _ = _windows.geometry(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)
        spatial = input.shape[-dims:]
        position = np.unravel_index(indices, spatial)
        padded = np.ravel_multi_index(tuple(i + pi for i, pi in zip(position, p)),
                                      tuple(n + 2 * pi for n, pi in zip(spatial, p)))  # the bug
        return output, padded.astype(np.int64)

    return forward, getattr(_tb, op + "_backward")


max_pool1d, max_pool1d_backward = _mutant(1)
max_pool2d, max_pool2d_backward = _mutant(2)
max_pool3d, max_pool3d_backward = _mutant(3)
