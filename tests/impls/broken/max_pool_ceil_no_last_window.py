"""Bug: with ``ceil_mode=True``, max pooling keeps a last window that starts in the right
padding.

The output size is the naive ``⌈(L + 2p − d(k−1) − 1)/s⌉ + 1``, without torch's rule that
drops a last window starting at or past ``L + p``. For L = 5, k = 2, s = 2, p = 1 that is 4
windows where torch has 3. Calls are validated by torch (the torch-backed module); values,
ties and NaN follow torch's rules on the mutant's windows.

Revealed by: the output shape of ``last-window-dropped`` (max_pool1d) and of the ceil-mode grid
cases whose last naive window would start in the padding; floor mode and ceil-mode cases
whose last window starts inside the input agree.
"""
from tests.impls import torch_backed as _tb
from tests.impls.broken import _windows
from tests.impls.torch_backed import *  # noqa: F401,F403  (only max pooling differs)

GATE = dict(ops=("max_pool1d",), dtypes=("float64",), quantity="output", reason="shape")


SWITCHES = dict(validate_with=_tb, geometry_switches={"last_window_rule": False})  # the bug
max_pool1d, max_pool1d_backward = _windows.max_pool_family(1, **SWITCHES)
max_pool2d, max_pool2d_backward = _windows.max_pool_family(2, **SWITCHES)
max_pool3d, max_pool3d_backward = _windows.max_pool_family(3, **SWITCHES)
