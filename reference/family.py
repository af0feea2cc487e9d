"""What every convolution and pooling op does around its engine, written once.

``conv_family``, ``conv_transpose_family``, ``max_pool_family`` and ``avg_pool_family`` each
build ``NAME{dims}d`` and ``NAME{dims}d_backward`` for one ``dims`` on a computing *engine*: the
vectorised tier of the op's module, or the loops of :mod:`reference.definitional`. The op's
module writes the two signatures (torch's) and its ``geometry``, the validation that names the
op and every argument it refuses; the engine computes on validated, batched arrays. What lies
in between is the same for every op, and is here:

* an unbatched input ``(C, *L)`` gets a batch axis of 1 for the engine, and the results lose it
  again (:func:`batched`, :func:`unbatched`);
* ``grad_output`` must be a float array of the input's dtype and of the output's shape
  (:func:`grad_output`);
* the results come back in the input's dtype (:func:`output`, :func:`gradients`);
* the two functions carry the op's names and their docstrings (:func:`named`).

So every tier shares one definition of what a valid call is and of what it returns.
"""
from __future__ import annotations

from . import checks

SPATIAL_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}
"""The spatial axes of an input, by ``dims``, as the docstrings name them."""


def batched(geo, a):
    """``a`` with the batch axis the engine expects: ``a[None]`` when the call was unbatched
    (``geo.batch_added``)."""
    return a[None] if geo.batch_added else a


def unbatched(geo, a):
    """An engine's batched result as the caller's: ``a[0]`` when the call was unbatched."""
    return a[0] if geo.batch_added else a


def grad_output(geo, grad_output, input, channels: int, spatial: tuple):
    """The backward's check of its upstream gradient (:func:`reference.checks.grad_output`): the
    output has ``channels`` and ``spatial`` after ``input``'s batch axis, if it has one. Returned
    batched. ``geo`` is the backward's own geometry, so ``geo.op`` names the backward."""
    shape = input.shape[: input.ndim - geo.dims - 1] + (channels,) + spatial
    return batched(geo, checks.grad_output(geo.op, grad_output, input, shape))


def output(geo, y, dtype):
    """The forward's result: in the input's ``dtype``, unbatched."""
    return unbatched(geo, y.astype(dtype, copy=False))


def gradients(geo, grads, dtype) -> tuple:
    """The backward's results, one per array argument in signature order, the input's first:
    each in the input's ``dtype`` (None stays None), the input's gradient unbatched."""
    grad_input, *others = (None if g is None else g.astype(dtype, copy=False) for g in grads)
    return (unbatched(geo, grad_input), *others)


def named(op: str, forward, backward, forward_doc: str, backward_doc: str):
    """``forward`` and ``backward`` named ``op`` and ``op + "_backward"`` (tracebacks, ``help()``
    and the harness's reports show these names), with their docstrings."""
    forward.__name__ = forward.__qualname__ = op
    backward.__name__ = backward.__qualname__ = op + "_backward"
    forward.__doc__, backward.__doc__ = forward_doc, backward_doc
    return forward, backward
