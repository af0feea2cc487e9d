"""Bug: pad_backward with nothing to pad returns the upstream gradient itself.

The shortcut ``if not any(pad): return (grad_output,)``. Values, shape and dtype are right,
but the gradient aliases ``grad_output``: an optimiser that updates the gradient in place
then silently changes the caller's upstream gradient (torch returns a new tensor).

Revealed by: the gradients' memory check on ``pad-constant-x2x3x4x5-pad0x0-no-padding``,
``pad-reflect-x2x3x4x5-pad0x0x0x0-no-padding`` and ``pad-constant-x2x3x4-pad()-empty-pad``.
"""
from reference import functional as _ref
from reference import padding as _padding
from reference.functional import *  # noqa: F401,F403  (only pad_backward differs)

GATE = dict(ops=("pad",), dtypes=("float64", "float32"), quantity="grad_input", reason="shares memory")


def pad_backward(grad_output, input, pad, mode="constant", value=None):
    _padding.plan("pad_backward", input, pad, mode, value)  # validate as the reference does
    if not any(pad):
        return (grad_output,)  # the bug: no copy
    return _ref.pad_backward(grad_output, input, pad, mode, value)
