"""Bug: padding='same' puts the odd extra pad on the left (torch puts it at the end).

For a total pad t = d·(k−1) per axis, torch pads ⌊t/2⌋ on the left and t − ⌊t/2⌋ on the
right; this mutant swaps the two (the TF/Keras-ported habit "ceil on the left"). Everything
else, the backward included, is the exact reference, consistent with its own padding.

Revealed by: the output of a 'same' case with an odd total pad on some axis: an even kernel
with odd dilation (``same-even-kernel``, k=2×4) or an odd dilation·(k−1) (``same-dilated``,
k=2 with d=3), and the 'same' cases of the grid. 'same' with odd kernels hides it.
"""
from reference import conv as _conv
from reference import functional as _ref
from reference import padding as _padding
from reference.functional import *  # noqa: F401,F403  (pad is unaffected)

GATE = dict(ops=("conv1d", "conv2d"), dtypes=("float64",), quantity="output")


def _left_heavy(op, dims, input, weight, bias, stride, padding, dilation, groups):
    """The (axis, left, right) pads of the mutant's 'same', or None when not 'same'."""
    if not (isinstance(padding, str) and padding == "same"):
        return None
    geo = _conv.geometry(op, dims, input, weight, bias, stride, padding, dilation, groups)  # rejects as torch does
    first = input.ndim - dims
    return [(first + a, right, left) for a, (left, right) in enumerate(geo.pads)]  # the bug: swapped


def _mutant(dims):
    op = f"conv{dims}d"
    forward, backward = getattr(_ref, op), getattr(_ref, op + "_backward")

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        pairs = _left_heavy(op, dims, input, weight, bias, stride, padding, dilation, groups)
        if pairs is None:
            return forward(input, weight, bias, stride, padding, dilation, groups)
        x = _padding.constant(input, pairs, 0)
        return forward(x, weight, bias, stride, 0, dilation, groups)

    def conv_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        pairs = _left_heavy(op, dims, input, weight, bias, stride, padding, dilation, groups)
        if pairs is None:
            return backward(grad_output, input, weight, bias, stride, padding, dilation, groups)
        x = _padding.constant(input, pairs, 0)
        gx, gw, gb = backward(grad_output, x, weight, bias, stride, 0, dilation, groups)
        return _padding.constant_adjoint(gx, pairs, input.shape), gw, gb

    return conv, conv_backward


conv1d, conv1d_backward = _mutant(1)
conv2d, conv2d_backward = _mutant(2)
conv3d, conv3d_backward = _mutant(3)
