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


SWITCHES = dict(validate_with=_tb, pool_switches={"nan": "ignore"})  # the bug
max_pool1d, max_pool1d_backward = _windows.max_pool_family(1, **SWITCHES)
max_pool2d, max_pool2d_backward = _windows.max_pool_family(2, **SWITCHES)
max_pool3d, max_pool3d_backward = _windows.max_pool_family(3, **SWITCHES)
