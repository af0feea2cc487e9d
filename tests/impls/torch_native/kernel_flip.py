"""Bug: conv2d convolves with the kernel rotated 180° instead of correlating with it (the
textbook definition of convolution, where torch's is a cross-correlation).

Revealed by: the output of every conv2d case whose kernel is not symmetric under the rotation,
that is any kernel larger than 1×1 drawn at random.
"""
import torch.nn.functional as F

CROSSCHECK_FRAMEWORK = "torch"
GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="output")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(input, weight.flip(-2, -1), bias, stride, padding, dilation, groups)  # the bug: the flip
