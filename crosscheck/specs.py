"""What the harness knows about each op of the contract: data, not code.

An op is checked by calling ``impl.NAME(*arrays, **kwargs)`` and
``impl.NAME_backward(grad_output, *arrays, **kwargs)`` and the torch function of the same
name. ``arrays`` names the array arguments in signature order: they are the ones the
backward returns a gradient for, and the ones the harness fills with data. How far a result
may be from torch's is not written here: that is the checking's (:mod:`crosscheck.checking.bounds`).
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

    def outputs(self, kwargs) -> tuple[str, ...]:
        """What the forward returns: the output, and max pooling's indices when asked for."""
        return ("output", "indices") if kwargs.get("return_indices") else ("output",)

    def quantities(self, kwargs=None) -> tuple[str, ...]:
        """What is compared, in the order failures are reported."""
        return self.outputs(kwargs or {}) + tuple(f"grad_{a}" for a in self.arrays)


CONV_ARRAYS = ("input", "weight", "bias")

OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        *(OpSpec(f"conv{d}d", CONV_ARRAYS) for d in (1, 2, 3)),
        *(OpSpec(f"conv_transpose{d}d", CONV_ARRAYS) for d in (1, 2, 3)),
        OpSpec("pad", ("input",)),
        OpSpec("unfold", ("input",)),
        OpSpec("fold", ("input",)),
        *(OpSpec(f"max_pool{d}d", ("input",)) for d in (1, 2, 3)),
        *(OpSpec(f"avg_pool{d}d", ("input",)) for d in (1, 2, 3)),
        *(OpSpec(f"adaptive_{kind}_pool{d}d", ("input",)) for kind in ("max", "avg") for d in (1, 2, 3)),
        OpSpec("linear", CONV_ARRAYS),
        *(OpSpec(name, ("input",)) for name in ("relu", "sigmoid", "tanh", "softmax", "log_softmax")),
        OpSpec("mse_loss", ("input", "target")),
        OpSpec("cross_entropy", ("input", "target")),
    )
}
