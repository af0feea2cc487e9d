"""Bug: a conv2d ``torch.autograd.Function`` whose backward hands each group the weight
gradient of the next group (the blocks of output channels rotated by one group), the mix-up of
a hand-written grouped kernel that indexes its groups from the wrong base.

Forward and input gradient are torch's; so is the weight gradient with ``groups=1``.

Revealed by: grad_weight of every grouped case (groups > 1) whose groups' gradients differ.
"""
import torch
import torch.nn.functional as F

CROSSCHECK_FRAMEWORK = "torch"
GATE = dict(ops=("conv2d",), dtypes=("float64",), quantity="grad_weight")


class _Conv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, dilation, groups):
        ctx.save_for_backward(input, weight, bias)
        ctx.arguments = (stride, padding, dilation, groups)
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        leaves = [t.detach().requires_grad_() for t in (input, weight)]
        leaves += [] if bias is None else [bias.detach().requires_grad_()]
        with torch.enable_grad():
            out = F.conv2d(*leaves[:2], leaves[2] if bias is not None else None, *ctx.arguments)
            grads = list(torch.autograd.grad(out, leaves, grad_output))
        groups = ctx.arguments[3]
        grads[1] = grads[1].roll(weight.shape[0] // groups, dims=0)  # the bug: group g gets group g-1's gradient
        return grads[0], grads[1], grads[2] if bias is not None else None, None, None, None, None


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _Conv2d.apply(input, weight, bias, stride, padding, dilation, groups)
