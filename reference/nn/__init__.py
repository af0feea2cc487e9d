"""Modules named and built like ``torch.nn``: parameters, state dicts and a hand-written backward.

A :class:`Module` computes ``forward(x)`` and, from the upstream gradient ``∂E/∂y``,
``backward(grad_output)``: it returns ``∂E/∂x`` and *adds* ``∂E/∂θ`` to each parameter's
``.grad``, as ``loss.backward()`` does in torch. ``forward`` keeps what ``backward`` needs
(the last input and the arrays it read), so a backward always refers to the latest forward.

Parameters and child modules are registered by assigning them as attributes, as in torch, so
``state_dict()`` names them the way torch does: ``weight`` and ``bias`` for a layer, and
``0.weight``, ``1.bias``, ... for a layer registered under the name ``0``, ``1``, ... of a
container such as :class:`Sequential`. Each layer's math lives in the functional op it calls
(see :mod:`reference.functional`); a module only composes those ops and their backward.

The layers: :class:`Conv1d`/``2d``/``3d``, :class:`ConvTranspose1d`/``2d``/``3d``,
:class:`MaxPool1d`/``2d``/``3d``, :class:`AvgPool1d`/``2d``/``3d``, :class:`Linear`, :class:`ReLU`,
:class:`Sigmoid`, :class:`Tanh`, :class:`Flatten`; the container :class:`Sequential`; the losses
:class:`MSELoss` and :class:`CrossEntropyLoss`, whose ``forward(input, target)`` returns the loss
and whose ``backward(grad_output=1.0)`` starts the chain rule, as ``loss.backward()`` does.
Every layer also differentiates its last backward (``double_backward``, composing its op's
``NAME_double_backward``), which :func:`input_gradient_penalty` uses to train with a penalty on
the input gradient.
A training step reads as in torch::

    net = Sequential(Conv2d(1, 4, 3, rng=0), ReLU(), Flatten(), Linear(4 * 6 * 6, 10, rng=1))
    criterion = CrossEntropyLoss()
    loss = criterion(net(x), labels)
    net.zero_grad()
    net.backward(criterion.backward())      # torch: loss.backward()
    for p in net.parameters():
        p.data -= 0.1 * p.grad
"""
from .container import Sequential
from .conv import PADDING_MODES, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dense import Flatten, Linear, ReLU, Sigmoid, Tanh
from .loss import REDUCTIONS, CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from .penalty import input_gradient_penalty
from .pooling import AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "CrossEntropyLoss",
    "Flatten",
    "Linear",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "Module",
    "PADDING_MODES",
    "Parameter",
    "REDUCTIONS",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "input_gradient_penalty",
]
