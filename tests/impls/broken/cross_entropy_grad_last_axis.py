"""Bug: cross_entropy's input gradient takes the softmax over the *last* axis, not the class
axis.

``∂loss/∂x = g'·(softmax(x) − onehot(t))`` along the class axis (1, or 0 unbatched). Written
for (N, C) logits, where the class axis is also the last one, the mutant's backward uses
``axis=-1``; for K-dimensional inputs (N, C, d1, ...) that normalises over d_K instead.
The forward is torch's, and the one-hot, the reduction's scaling and the (N, C) case are
right.

Revealed by: grad_input of ``cross_entropy-none-x2x4x3x2-t2x3x2-...-k-dim`` and the grid's
K-dimensional cases; (N, C) and unbatched (C,) inputs hide it, and so do K-dimensional cases
where both softmaxes happen to agree (C = 1 with a last axis of size 1: both are all ones;
large logits whose maxima line up along both axes: both are the same one-hot).
"""
import numpy as np

from tests.impls import torch_backed as _tb
from tests.impls.torch_backed import *  # noqa: F401,F403  (only cross_entropy's backward differs)

GATE = dict(ops=("cross_entropy",), dtypes=("float64",), quantity="grad_input")


def cross_entropy_backward(grad_output, input, target, reduction="mean"):
    _tb.cross_entropy_backward(grad_output, input, target, reduction)  # validation only
    axis = 1 if input.ndim > 1 else 0
    e = np.exp(input - np.max(input, axis=-1, keepdims=True))
    p = e / np.sum(e, axis=-1, keepdims=True)  # the bug: axis=-1, not the class axis
    kept = target != -100  # torch's ignore_index: no loss, no gradient, not counted by the mean
    onehot = np.moveaxis(np.eye(input.shape[axis], dtype=input.dtype)[np.where(kept, target, 0)], -1, axis)
    if reduction == "none":
        scale = np.expand_dims(grad_output * kept, axis)
    else:
        scale = grad_output / (kept.sum() if reduction == "mean" else 1) * np.expand_dims(kept, axis)
    return ((p - onehot) * scale).astype(input.dtype), None
