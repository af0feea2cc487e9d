"""Bug: with ``ceil_mode=True``, max pooling keeps a last window that starts in the right
padding, where torch drops it.

The mutant gets ceil mode by padding each axis on the right with stride − 1 entries of −inf and
pooling in floor mode: the naive count ⌈(L + 2p − d(k−1) − 1)/s⌉ + 1 windows, without torch's
rule that a last window starting at or past L + p is dropped. The call is validated by
``F.max_pool2d`` itself first.

Revealed by: the output shape of the ceil-mode cases whose last naive window starts in the
padding (``last-window-dropped``, L = 5, k = 2, s = 2, p = 1); the others agree in values
(their indices, counted in the widened plane, differ where asked for).
"""
import torch.nn.functional as F

CROSSCHECK_FRAMEWORK = "torch"
GATE = dict(ops=("max_pool1d", "max_pool2d"), dtypes=("float64",), quantity="output", reason="shape",
            also=("indices",))


def _mutant(dims):
    pool = getattr(F, f"max_pool{dims}d")

    def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        correct = pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)  # torch's validation
        if not ceil_mode:
            return correct
        stride = stride or kernel_size  # torch: stride None or () means the kernel size
        strides = (stride,) * dims if isinstance(stride, int) else tuple(stride) * (dims if len(stride) == 1 else 1)
        widened = F.pad(input, [p for s in reversed(strides) for p in (0, s - 1)], value=float("-inf"))
        return pool(widened, kernel_size, stride, padding, dilation, False, return_indices)  # the bug

    return max_pool


max_pool1d, max_pool2d = _mutant(1), _mutant(2)
