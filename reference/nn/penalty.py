"""A gradient penalty on the input gradient: the backward differentiated, as in double backpropagation.

For a network ``f`` with parameters ``θ``, a loss ``L = criterion(f(x), t)`` and its input
gradient ``u = ∂L/∂x``, the penalised objective is

    E = L + (λ/2)·‖u‖²

(Drucker and LeCun's double backpropagation; WGAN-GP penalises ``(‖u‖ − 1)²`` the same way). Its
gradient needs ``∂‖u‖²/∂θ``, a derivative *through* the backward that computed ``u``: with
``v = λ·u`` the cotangent of ``u`` and ``Φ = ⟨v, u⟩``,

    ∂E/∂θ = ∂L/∂θ + ∂Φ/∂θ

and ``∂Φ/∂θ`` collects three paths (:meth:`reference.nn.Sequential.double_backward`): through each
layer's backward (its op's double backward), through the activations the backwards read (carried
back by the first-order chain rule), and through the loss's gradient ``∂L/∂y``, which depends on the
output ``y`` (the criterion's double backward, carried back in the same chain-rule pass). torch
computes the same with ``autograd.grad(L, x, create_graph=True)`` and a second ``backward``.
"""
from __future__ import annotations

import numpy as np

from .container import Sequential


def input_gradient_penalty(net: Sequential, criterion, x: np.ndarray, target: np.ndarray, weight: float):
    """One step's gradients of ``E = L + (weight/2)·‖∂L/∂x‖²``, added to the parameters' ``.grad``
    (zero them first, as for ``loss.backward()``). Returns ``(L, penalty)`` as 0-d arrays.

    ``net`` is a :class:`~reference.nn.Sequential` (of layers that have a ``double_backward``),
    ``criterion`` a loss module; ``weight`` is ``λ ≥ 0``. The torch twin of one step::

        loss = criterion(net(x), target)
        (u,) = torch.autograd.grad(loss, x, create_graph=True)
        (loss + weight / 2 * u.pow(2).sum()).backward()
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"input_gradient_penalty: net must be a reference.nn.Sequential, got {type(net).__name__}")
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.floating, np.integer)) or not weight >= 0:
        raise ValueError(f"input_gradient_penalty: weight must be a non-negative number, got weight={weight!r}")
    loss = criterion(net(x), target)
    u = net.backward(criterion.backward())  # ∂L/∂x; adds ∂L/∂θ
    penalty = np.asarray(0.5 * weight * np.sum(u * u), dtype=u.dtype)
    # ∂Φ/∂θ through the backwards, the activations they read, and ∂L/∂y, which depends on y
    net.double_backward(weight * u, through_output=criterion.double_backward)
    return loss, penalty
