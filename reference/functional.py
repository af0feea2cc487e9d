"""The public ops, NumPy in and NumPy out, named and called like ``torch.nn.functional``.

Every forward op ``NAME`` has ``NAME_backward(grad_output, *forward_args)`` returning one
gradient per array argument, in signature order (None for an argument that was None). The
math of each op (its index equation, output size and the derivation of its backward) is in
the docstring of the module that implements it.
"""
from .activations import (
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
    softmax,
    softmax_backward,
    log_softmax,
    log_softmax_backward,
)
from .dense import (
    linear,
    linear_backward,
)
from .losses import (
    mse_loss,
    mse_loss_backward,
    cross_entropy,
    cross_entropy_backward,
)
from .conv import (
    conv1d,
    conv1d_backward,
    conv2d,
    conv2d_backward,
    conv3d,
    conv3d_backward,
)
from .conv_transpose import (
    conv_transpose1d,
    conv_transpose1d_backward,
    conv_transpose2d,
    conv_transpose2d_backward,
    conv_transpose3d,
    conv_transpose3d_backward,
)
from .padding import pad, pad_backward
from .unfold import (
    unfold,
    unfold_backward,
    fold,
    fold_backward,
)
from .adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool1d_backward,
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool3d,
    adaptive_avg_pool3d_backward,
    adaptive_max_pool1d,
    adaptive_max_pool1d_backward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    adaptive_max_pool3d,
    adaptive_max_pool3d_backward,
)
from .pooling import (
    max_pool1d,
    max_pool1d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_pool3d,
    max_pool3d_backward,
    avg_pool1d,
    avg_pool1d_backward,
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool3d,
    avg_pool3d_backward,
)

__all__ = sorted(n for n in dir() if n.isidentifier() and not n.startswith("_"))  # every op imported above


from . import second_order as _second_order  # noqa: E402  (after the ops it composes)

__all__ += _second_order.define(globals())  # NAME_double_backward for every op above
