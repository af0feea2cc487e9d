"""The container :class:`Sequential`, as ``torch.nn.Sequential``."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import checks
from .module import Module


class Sequential(Module):
    """``torch.nn.Sequential``: children named ``'0'``, ``'1'``, ... (or by the keys of one
    ``OrderedDict``), so ``state_dict()`` keys read ``'0.weight'``, ``'3.bias'`` and
    ``torch.nn.Sequential`` of the same layers loads them with ``strict=True``.

    ``forward`` chains the children: ``y = f_n(… f_1(x))``. ``backward`` is the chain rule read
    backwards: with ``x_0 = x`` and ``x_i = f_i(x_{i−1})``,

        ∂E/∂x_{i−1} = f_i.backward(∂E/∂x_i),   i = n, …, 1

    each child adding its own parameter gradients on the way, and it returns ``∂E/∂x_0``. A
    backward therefore refers to the last forward of every child.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            items = list(args[0].items())
        else:
            items = [(str(i), module) for i, module in enumerate(args)]
        for name, module in items:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: child {name!r} must be a reference.nn Module, got {type(module).__name__}")
            self.add_module(str(name), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if not checks.is_int(index) or not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index!r} out of range for {len(items)} children")
        return items[index][1]

    def append(self, module: Module) -> "Sequential":
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: module must be a reference.nn Module, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for module in self:
            x = module(x)
        return x.copy() if not len(self) else x

    def backward(self, grad_output):
        grad = grad_output
        for module in reversed(list(self)):
            grad = module.backward(grad)
        return grad.copy() if not len(self) else grad

    def double_backward(self, grad_grad_input, through_output=None):
        """Differentiate the last backward (see :meth:`Module.double_backward`) through the chain.
        The backward computed ``g_{i−1} = B_i(g_i, x_{i−1})``, so ``Φ = ⟨v, g_0⟩`` reaches

        * each ``g_i`` in forward order: ``v_i = ∂Φ/∂g_i`` is child ``i``'s double backward of
          ``v_{i−1}`` (``v_0 = v``), which also returns ``a_{i−1} = ∂Φ/∂x_{i−1}`` through ``B_i`` and
          adds ``∂Φ/∂θ_i`` through ``B_i``;
        * each activation ``x_i``, which also feeds the next forward: the ``a_i`` are carried back
          by the first-order chain rule, ``c_{i−1} = f_i.backward(c_i) + a_{i−1}``, each child adding
          ``∂Φ/∂θ_i`` through ``f_i``.

        ``c_n`` is 0, or ``through_output(v_n)`` where the output feeds something whose gradient
        ``g_n`` depends on the output (a loss: ``criterion.double_backward``, its curvature); the
        chain rule is linear, so that one backward pass carries both. Returns ``(v_n, c_0)``:
        ``∂Φ/∂g`` for this container's ``grad_output``, and ``∂Φ/∂x`` for its input (see
        :func:`reference.nn.input_gradient_penalty`).
        """
        children = list(self)
        v, injected = grad_grad_input, []
        for module in children:
            v, a = module.double_backward(v)
            injected.append(a)
        c = np.zeros_like(v) if through_output is None else through_output(v)
        for module, a in zip(reversed(children), reversed(injected)):
            c = module.backward(c) + a
        return (v.copy(), c) if not children else (v, c)

    def __repr__(self):
        lines = [f"  ({name}): " + repr(module).replace("\n", "\n  ") for name, module in self._modules.items()]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"
