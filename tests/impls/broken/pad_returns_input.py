"""Bug: pad with nothing to pad (all amounts 0, or an empty pad) returns the input itself.

A shortcut ``if not any(pad): return input``. Values, shape and dtype are right, but the
output aliases the input, so a caller writing into the output corrupts its input; the
contract requires a new array (torch returns a new tensor).

Revealed by: the output's memory check on ``pad-constant-x2x3x4x5-pad0x0-no-padding``,
``pad-reflect-x2x3x4x5-pad0x0x0x0-no-padding``, ``pad-constant-x2x3x4-pad()-empty-pad`` and
``pad-constant-x()-pad()-scalar``.
"""
from reference import functional as _ref
from reference import padding as _padding
from reference.functional import *  # noqa: F401,F403  (conv is unaffected)

GATE = dict(ops=("pad",), dtypes=("float64", "float32"), quantity="output", reason="shares memory")


def pad(input, pad, mode="constant", value=None):
    _padding.plan("pad", input, pad, mode, value)  # validate as the reference does
    if not any(pad):
        return input  # the bug: no copy
    return _ref.pad(input, pad, mode, value)
