"""Bug: max pooling's padding limit is checked against the *dilated* kernel.

torch refuses ``padding > kernel_size // 2`` for max pooling, with the raw kernel: dilation
plays no part (unlike average pooling and convolution, where the reasoning "the padding
must be smaller than what the window spans" would use the dilated span). This mutant's
validator allows ``padding ≤ (d(k − 1) + 1) // 2``, so k = 3, d = 3, p = 2 passes its check
(span 7) where torch refuses it. Everything else is validated as torch does, and accepted
calls are computed by torch's rules (NumPy).

Revealed by: the rejection check of ``padding-over-half-raw-kernel`` (max_pool1d, k = 3,
p = 2, d = 3), which the mutant accepts.
"""
from tests.impls.broken import _windows
from tests.impls.torch_backed import *  # noqa: F401,F403  (only max pooling differs)

GATE = dict(ops=("max_pool1d",), dtypes=("float64",), quantity="rejection", reason="accepted a call torch rejects")


SWITCHES = dict(geometry_switches={"dilated_padding_limit": True})  # the bug
max_pool1d, max_pool1d_backward = _windows.max_pool_family(1, **SWITCHES)
max_pool2d, max_pool2d_backward = _windows.max_pool_family(2, **SWITCHES)
max_pool3d, max_pool3d_backward = _windows.max_pool_family(3, **SWITCHES)
