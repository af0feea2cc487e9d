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


SWITCHES = dict(validate_with=_tb, pool_switches={"tie": "last"})  # the bug
max_pool1d, max_pool1d_backward = _windows.max_pool_family(1, **SWITCHES)
max_pool2d, max_pool2d_backward = _windows.max_pool_family(2, **SWITCHES)
max_pool3d, max_pool3d_backward = _windows.max_pool_family(3, **SWITCHES)
