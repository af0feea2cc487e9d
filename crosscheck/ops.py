"""What the harness knows about each op: data, not code.

An op is checked by calling ``impl.NAME(*arrays, **kwargs)`` and
``impl.NAME_backward(grad_output, *arrays, **kwargs)`` and the torch function of the same
name. ``arrays`` names the array arguments in signature order: they are the ones the
backward returns a gradient for, and the ones the harness fills with data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F

from . import bounds


@dataclass(frozen=True)
class OpSpec:
    name: str
    arrays: tuple[str, ...]
    bound: Callable = bounds.multilinear  # the tolerance of each result, see crosscheck.bounds

    @property
    def torch_fn(self):
        return getattr(F, self.name)

    def outputs(self, kwargs) -> tuple[str, ...]:
        """What the forward returns: the output, and max pooling's indices when asked for."""
        return ("output", "indices") if kwargs.get("return_indices") else ("output",)

    def quantities(self, kwargs=None) -> tuple[str, ...]:
        """What is compared, in the order failures are reported."""
        return self.outputs(kwargs or {}) + tuple(f"grad_{a}" for a in self.arrays)


_CONV = ("input", "weight", "bias")

OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec("conv1d", _CONV),
        OpSpec("conv2d", _CONV),
        OpSpec("conv3d", _CONV),
        OpSpec("conv_transpose1d", _CONV),
        OpSpec("conv_transpose2d", _CONV),
        OpSpec("conv_transpose3d", _CONV),
        OpSpec("pad", ("input",)),
        *(OpSpec(f"max_pool{d}d", ("input",), bounds.selection) for d in (1, 2, 3)),
        *(OpSpec(f"avg_pool{d}d", ("input",), bounds.averaging) for d in (1, 2, 3)),
        OpSpec("linear", _CONV),
        OpSpec("relu", ("input",), bounds.selection),
        OpSpec("sigmoid", ("input",), bounds.smooth_elementwise),
        OpSpec("tanh", ("input",), bounds.smooth_elementwise),
        OpSpec("softmax", ("input",), bounds.softmax),
        OpSpec("log_softmax", ("input",), bounds.log_softmax),
        OpSpec("mse_loss", ("input", "target"), bounds.mse_loss),
        OpSpec("cross_entropy", ("input", "target"), bounds.cross_entropy),
    )
}
