"""Bug: grad_weight is reduced over the first sample of the batch only.

The weight gradient must sum ``gy · x`` over every sample and output position; this mutant's
batch loop keeps only sample 0 (an early ``return`` / ``[0]`` where a ``.sum(0)`` belongs).
The output, grad_input and grad_bias are the reference's.

Revealed by: grad_weight of any batched case with N ≥ 2 (``resnet-block``, ``stem`` and most of
the grid). N = 1, N = 0 and unbatched cases hide it.
"""
from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="grad_weight")


def _mutant(dims):
    backward = getattr(_ref, f"conv{dims}d_backward")

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        gx, gw, gb = backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        if input.ndim == dims + 2 and input.shape[0] > 1:
            gw = backward(grad_output[:1], input[:1], weight, bias, stride, padding, dilation, groups)[1]
        return gx, gw, gb

    return getattr(_ref, f"conv{dims}d"), conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
