"""Bug: padding='same' puts the odd extra pad on the left of each axis (torch puts it at the
end): the total pad t = d·(k−1) is split as ⌈t/2⌉ before and ⌊t/2⌋ after.

The call is validated by ``F.conv2d`` itself first, so the mutant refuses what torch refuses.

Revealed by: the output of a 'same' case with an odd total pad on some axis (an even kernel
with odd dilation, ``same-even-kernel``); 'same' with odd kernels hides it.
"""
import torch.nn.functional as F

CROSSCHECK_FRAMEWORK = "torch"
GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="output")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    correct = F.conv2d(input, weight, bias, stride, padding, dilation, groups)  # torch's validation
    if not (isinstance(padding, str) and padding == "same"):
        return correct
    dilation = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    pads = []
    for k, d in reversed(list(zip(weight.shape[-2:], dilation))):  # F.pad lists the last axis first
        total = d * (k - 1)
        pads += [total - total // 2, total // 2]  # the bug: the larger half first
    return F.conv2d(F.pad(input, pads), weight, bias, stride, 0, dilation, groups)
