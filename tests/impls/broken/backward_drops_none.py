"""Bug: without a bias, the conv backward returns (grad_input, grad_weight): it drops the
None entry instead of returning (grad_input, grad_weight, None).

The contract: one entry per array argument, None where that argument was None, so callers
can always unpack three values.

Revealed by: the ``gradients`` check of every accepted conv case with no bias
(``seed-example`` and the ``nobias`` cases of the grid); cases with a bias pass.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv1d",), dtypes=("float64",), quantity="gradients", reason="2 entries")


def _mutant(dims):
    backward = getattr(_ref, f"conv{dims}d_backward")

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        grads = backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        return grads if bias is not None else grads[:2]  # the bug

    return getattr(_ref, f"conv{dims}d"), conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
