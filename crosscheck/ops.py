"""What the harness knows about each op: data, not code.

An op is checked by calling ``impl.NAME(*arrays, **kwargs)`` and
``impl.NAME_backward(grad_output, *arrays, **kwargs)`` and the torch function of the same
name. ``arrays`` names the array arguments in signature order: they are the ones the
backward returns a gradient for, and the ones the harness fills with data.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F


@dataclass(frozen=True)
class OpSpec:
    name: str
    arrays: tuple[str, ...]

    @property
    def torch_fn(self):
        return getattr(F, self.name)

    @property
    def quantities(self) -> tuple[str, ...]:
        """What is compared, in the order failures are reported."""
        return ("output",) + tuple(f"grad_{a}" for a in self.arrays)


_CONV = ("input", "weight", "bias")

OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec("conv1d", _CONV),
        OpSpec("conv2d", _CONV),
        OpSpec("conv3d", _CONV),
        OpSpec("pad", ("input",)),
    )
}
