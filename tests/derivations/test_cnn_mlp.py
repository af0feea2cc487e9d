"""A CNN is an MLP whose weight matrices are sparse and tied.

The network conv → relu → conv → flatten → linear, with ``E = ½‖t − y‖²``, is run three ways:

* as a CNN of :mod:`reference.nn` layers (``Conv``, ``ReLU``, ``Flatten``, ``Linear``, ``MSELoss``);
* as its torch twin, with autograd;
* as a fully connected network: each convolution replaced by its matrix ``M`` of
  :func:`reference.unroll.conv_matrix` and its bias repeated over the output positions, the
  backward written out by hand as for any MLP (``δ`` of a matrix layer's input is ``Mᵀ·δ``).
  ``∂E/∂M = δ·aᵀ`` there, and the convolution's weight gradient is that summed over each
  weight's tied entries (:func:`reference.unroll.tied_sum`); its bias gradient sums ``δ`` over the
  output positions of the channel (the bias is tied to every one of them).

All three must give the same loss, input gradient and parameter gradients, sample by sample
summed over a batch of 2.

**Exact comparisons.** Inputs, weights and targets are small integers and the biases are odd
multiples of ½, so the pre-activation that meets relu (integer + odd multiple of ½) is never 0:
relu's kink is never met and its derivative is 0 or 1 without a convention. Every value is a
multiple of ¼ (at most a product of two multiples of ½), and every partial sum, in any order, is
of magnitude below 2¹⁶: the largest sum of absolute terms of any of them, measured for these
networks, is the 2-d batch's loss, 3.7·10⁴. Such numbers need at most 18 significant bits, so
float32 and float64 hold them exactly, no rounding happens, and the three must agree bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from reference import nn, unroll

DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass(frozen=True)
class Network:
    """Input ``(C, *L)``, two convolutions ``(out, kernel, stride, padding, dilation, groups)``,
    and the linear layer's output size."""

    name: str
    input_shape: tuple
    conv1: tuple
    conv2: tuple
    outputs: int

    @property
    def dims(self) -> int:
        return len(self.input_shape) - 1


NETWORKS = [
    Network("2d", (1, 5, 6), (2, (2, 3), 1, 0, 1, 1), (4, (2, 2), (2, 1), (1, 0), 1, 2), 3),
    Network("1d", (2, 9), (4, 3, 1, "same", 2, 2), (3, 2, 2, 1, 1, 1), 2),
    Network("3d", (1, 3, 4, 4), (2, (2, 1, 2), 1, (0, 1, 0), 1, 1), (2, (1, 2, 2), (1, 2, 1), 0, (1, 1, 2), 2), 3),
]
CASES = [pytest.param(net, dtype, id=f"{net.name}-{name}") for net in NETWORKS for name, dtype in DTYPES.items()]


def _conv_kwargs(spec) -> dict:
    _, _, stride, padding, dilation, groups = spec
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def _reference_cnn(net: Network, dtype, seed=0):
    """The CNN in reference.nn, with integer weights and half-odd biases."""
    rng = np.random.default_rng(seed)
    Conv = getattr(nn, f"Conv{net.dims}d")
    c1 = Conv(net.input_shape[0], net.conv1[0], net.conv1[1], dtype=dtype, **_conv_kwargs(net.conv1))
    c2 = Conv(net.conv1[0], net.conv2[0], net.conv2[1], dtype=dtype, **_conv_kwargs(net.conv2))
    hidden = c2(nn.ReLU()(c1(np.zeros((1,) + net.input_shape, dtype=dtype)))).size
    model = nn.Sequential(c1, nn.ReLU(), c2, nn.Flatten(), nn.Linear(hidden, net.outputs, dtype=dtype))
    state = {}
    for name, value in model.state_dict().items():
        draw = rng.integers(-2, 3, value.shape) if name.endswith("weight") else rng.integers(-2, 2, value.shape) + 0.5
        state[name] = draw.astype(dtype)
    model.load_state_dict(state)
    return model


def _data(net: Network, dtype, seed=1):
    rng = np.random.default_rng(seed)
    xs = rng.integers(-3, 4, (2,) + net.input_shape).astype(dtype)
    ts = rng.integers(-3, 4, (2, net.outputs)).astype(dtype)
    return xs, ts


def _unrolled(net: Network, state):
    """The MLP: ``[(M, bias repeated over positions, the conv's weight, input shape, kwargs), ...]``
    for the two convolutions, and the linear layer's ``(W, b)``."""
    layers, shape = [], net.input_shape
    for key, spec in (("0", net.conv1), ("2", net.conv2)):
        w, b, kwargs = state[f"{key}.weight"], state[f"{key}.bias"], _conv_kwargs(spec)
        M = unroll.conv_matrix(shape, w, **kwargs)
        layers.append((M, np.repeat(b, M.shape[0] // w.shape[0]), w, shape, kwargs))
        shape = unroll.output_shape(shape, w, **kwargs)
    return layers, (state["4.weight"], state["4.bias"])


def _mlp_gradients(layers, linear, x, t):
    """Forward and backward of the unrolled network for one sample, written out.

    forward:  h₁ = M₁x + b₁,  a₁ = relu(h₁),  h₂ = M₂a₁ + b₂,  y = W h₂ + b,  E = ½‖t − y‖²
    backward: δ_y = y − t;  ∂E/∂W = δ_y h₂ᵀ;  δ₂ = Wᵀδ_y;  ∂E/∂M₂ = δ₂ a₁ᵀ;
              δ₁ = M₂ᵀδ₂ ⊙ [h₁ > 0];  ∂E/∂M₁ = δ₁ xᵀ;  ∂E/∂x = M₁ᵀδ₁
    and each convolution's ``∂E/∂w`` is ``tied_sum(∂E/∂M)``, its ``∂E/∂b`` the sum of ``δ`` over
    each channel's positions.
    """
    (M1, b1, w1, s1, k1), (M2, b2, w2, s2, k2) = layers
    W, b = linear
    h1 = M1 @ x.ravel() + b1
    a1 = np.maximum(h1, 0)
    h2 = M2 @ a1 + b2
    y = W @ h2 + b
    E = 0.5 * np.sum((t - y) ** 2)
    d_y = y - t
    d2 = W.T @ d_y
    d1 = (M2.T @ d2) * (h1 > 0)
    grads = {
        "0.weight": unroll.tied_sum(np.outer(d1, x.ravel()), s1, w1, **k1),
        "0.bias": d1.reshape(w1.shape[0], -1).sum(axis=1),
        "2.weight": unroll.tied_sum(np.outer(d2, a1), s2, w2, **k2),
        "2.bias": d2.reshape(w2.shape[0], -1).sum(axis=1),
        "4.weight": np.outer(d_y, h2),
        "4.bias": d_y,
    }
    return E, (M1.T @ d1).reshape(x.shape), grads


@pytest.mark.parametrize("net, dtype", CASES)
def test_the_cnn_and_its_unrolled_mlp_agree_on_loss_and_every_gradient(net, dtype):
    model = _reference_cnn(net, dtype)
    state = model.state_dict()
    xs, ts = _data(net, dtype)
    layers, linear = _unrolled(net, state)

    total_E, grad_xs, total = 0.0, [], {name: 0 for name in state}
    for x, t in zip(xs, ts):
        E, grad_x, grads = _mlp_gradients(layers, linear, x, t)
        total_E += E
        grad_xs.append(grad_x)
        total = {name: total[name] + grads[name] for name in state}

    criterion = nn.MSELoss(reduction="sum")
    loss = criterion(model(xs), ts)
    model.zero_grad()
    grad_x = model.backward(criterion.backward(0.5))  # E = ½·loss
    assert 0.5 * loss == total_E
    np.testing.assert_array_equal(grad_x, np.stack(grad_xs))
    for name, param in model.named_parameters():
        np.testing.assert_array_equal(param.grad, total[name], err_msg=name)

    twin = _torch_twin(net, model)
    xt = torch.from_numpy(xs).requires_grad_()
    E_t = 0.5 * torch.nn.MSELoss(reduction="sum")(twin(xt), torch.from_numpy(ts))
    E_t.backward()
    assert E_t.item() == total_E
    np.testing.assert_array_equal(xt.grad.numpy(), np.stack(grad_xs))
    for name, param in twin.named_parameters():
        np.testing.assert_array_equal(param.grad.numpy(), total[name], err_msg=f"torch {name}")


def _torch_twin(net: Network, model):
    Conv = getattr(torch.nn, f"Conv{net.dims}d")
    state = model.state_dict()
    dtype = torch.from_numpy(state["0.weight"]).dtype
    twin = torch.nn.Sequential(
        Conv(net.input_shape[0], net.conv1[0], net.conv1[1], dtype=dtype, **_conv_kwargs(net.conv1)),
        torch.nn.ReLU(),
        Conv(net.conv1[0], net.conv2[0], net.conv2[1], dtype=dtype, **_conv_kwargs(net.conv2)),
        torch.nn.Flatten(),
        torch.nn.Linear(state["4.weight"].shape[1], net.outputs, dtype=dtype),
    )
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return twin


@pytest.mark.parametrize("net", NETWORKS, ids=[n.name for n in NETWORKS])
def test_the_unrolled_layers_are_sparse(net):
    """Weight sharing is what makes the MLP's matrices cheap: each row of ``M`` holds at most
    ``(C/G)·|k|`` of the weights, far fewer than the row's length."""
    model = _reference_cnn(net, np.float64)
    layers, _ = _unrolled(net, model.state_dict())
    for M, _, w, _, _ in layers:
        assert (np.count_nonzero(M, axis=1) <= w[0].size).all()
        assert w[0].size < M.shape[1]
