"""Bug: a chunked strided conv1d starts its second chunk at the wrong input position.

The forward computes the output in chunks of 8 positions. Chunk ``c`` should read the
padded input from ``8·c·s`` on; this one starts at ``8·c``, forgetting the stride. With
stride 1, or an output of at most 8 positions, nothing is wrong, and the case table and
grid hold no strided conv1d long enough to show it: only a drawn call with stride ≥ 2 and
more than 8 output positions does.
"""
import numpy as np

from reference import functional as _ref
from reference.functional import *  # noqa: F401,F403

CHUNK = 8


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    y = _ref.conv1d(input, weight, bias, stride, padding, dilation, groups)
    s = stride if isinstance(stride, int) else stride[0]
    p = padding if isinstance(padding, int) else (0 if isinstance(padding, str) else padding[0])
    if s == 1 or y.shape[-1] <= CHUNK:
        return y
    x_pad = np.pad(input, [(0, 0)] * (input.ndim - 1) + [(p, p)])
    late = _ref.conv1d(np.ascontiguousarray(x_pad[..., CHUNK:]), weight, bias, s, 0, dilation, groups)  # the bug
    y[..., CHUNK:] = late[..., : y.shape[-1] - CHUNK]
    return y
