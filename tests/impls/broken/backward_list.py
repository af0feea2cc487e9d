"""Bug: the backward returns a list, not a tuple.

The values are right, but the contract says "a tuple with one entry per array argument":
callers unpack it, hash it or compare it with ``==`` to a tuple.

Revealed by: the ``gradients`` check of every accepted case of every op.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv1d", "pad"), dtypes=("float64",), quantity="gradients", reason="tuple")


def _as_list(backward):
    def op_backward(*args, **kwargs):
        return list(backward(*args, **kwargs))  # the bug

    op_backward.__name__ = backward.__name__
    return op_backward


conv1d_backward = _as_list(_ref.conv1d_backward)
conv2d_backward = _as_list(_ref.conv2d_backward)
conv3d_backward = _as_list(_ref.conv3d_backward)
pad_backward = _as_list(_ref.pad_backward)
