"""Bug: conv2d reads ``stride=(sH, sW)`` as (sW, sH), the swap of a kernel that stores its
strides width first.

Revealed by: the output (its shape, or its values) of every conv2d case with unequal strides.
"""
import torch.nn.functional as F

CROSSCHECK_FRAMEWORK = "torch"
GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="output")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if isinstance(stride, (tuple, list)):
        stride = tuple(reversed(stride))  # the bug
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
