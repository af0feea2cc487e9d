"""The protocol a framework adapter follows, and the one routine that applies it.

An implementation written in torch, JAX or an autograd library takes and returns that
framework's arrays, and often has no hand-written backward. :func:`adapt` turns it into a
:class:`~crosscheck.checking.Subject`, whose ``NAME`` and ``NAME_backward`` speak NumPy as the
contract does, so :func:`~crosscheck.checking.run_case` checks it unchanged. What differs
between frameworks is these, and a :class:`Framework` is exactly them:

* ``to_native(array)``: a NumPy array as the framework's array (zero-copy where it can be, so
  that an implementation writing into its input is seen by the mutation check);
* ``to_numpy(value, quantity)``: a result back as a NumPy array; a value of the wrong type
  raises :class:`~crosscheck.checking.Violation` naming ``quantity``;
* ``vjp(fn, natives, kwargs, grad_output)``: the gradient of every array argument of
  ``fn(*natives, **kwargs)`` against ``grad_output``, ``None`` where the argument is ``None``
  or not differentiable (an integer target); ``fn`` returns one array (of an op with several
  outputs, as ``max_pool`` with its indices, the first);
* ``synchronise(arrays, natives)``: after a call, make what the implementation did to its
  native inputs visible in the NumPy ``arrays`` (needed only where ``to_native`` copies, as on
  a GPU);
* ``vjp2(fn, backward, natives, kwargs, grad_output, grad_grads)`` (optional, for ``--order 2``):
  ``[∂Φ/∂grad_output, ∂Φ/∂a₁, …]`` for ``Φ = Σᵢ ⟨grad_grads[i], grads[i]⟩``, ``grads`` the module's
  ``backward`` (its ``NAME_backward``, or None: the framework's own gradients of ``fn``),
  differentiated by the framework; a framework without it checks the first order only;
* ``rejections``: the exception types that mean "this call is refused";
* ``call(fn, natives, kwargs)``: how a call is made (where an adapter compiles it first).

An adapter for another autograd library is a subclass of a few dozen lines; see
``examples/frameworks/`` and docs/contract.md, section 12.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..checking import REJECTIONS, Subject, Support
from ..specs import OPS


class Framework:
    """Override ``to_native``, ``to_numpy`` and ``vjp``; the rest has defaults."""

    name = "framework"
    rejections: tuple = REJECTIONS

    def to_native(self, array: np.ndarray):
        raise NotImplementedError(f"{type(self).__name__}.to_native")

    def to_numpy(self, value, quantity: str) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.to_numpy")

    def vjp(self, fn, natives: list, kwargs: dict, grad_output) -> list:
        raise NotImplementedError(f"{type(self).__name__}.vjp")

    def vjp2(self, fn, backward, natives: list, kwargs: dict, grad_output, grad_grads: list) -> list:
        raise NotImplementedError(f"{type(self).__name__}.vjp2")

    @property
    def second_order(self) -> bool:
        """Whether the framework differentiates a backward (it overrides :meth:`vjp2`)."""
        return type(self).vjp2 is not Framework.vjp2

    def call(self, fn, natives: list, kwargs: dict):
        """``fn(*natives, **kwargs)``; an adapter may compile it first (``jax.jit``, say)."""
        return fn(*natives, **kwargs)

    def synchronise(self, arrays: list, natives: list) -> None:
        """Nothing to do where ``to_native`` shares memory with the NumPy array."""

    def describe(self) -> str:
        """How the report names the framework (with its version and device, say)."""
        return self.name


def adapt(module, framework: Framework, name: str = "", named: str = "") -> Subject:
    """``module``'s ops, written in ``framework``, as a Subject of the NumPy contract.

    ``NAME_backward``, where the module has one, is called with native arrays and must return
    native gradients; where it has none, the gradients come from ``framework.vjp``. Likewise
    ``NAME_double_backward``: the module's own, else ``framework.vjp2`` where the framework has
    one. ``named`` is how the framework was named (``--framework``), for the reproduction snippets."""
    ops = SimpleNamespace()
    for op in OPS:
        fn = getattr(module, op, None)
        if fn is None:
            continue
        setattr(ops, op, _forward(framework, fn, op))
        explicit = getattr(module, op + "_backward", None)
        setattr(ops, op + "_backward", _backward(framework, fn, explicit, op))
        double = getattr(module, op + "_double_backward", None)
        if double is not None or framework.second_order:
            setattr(ops, op + "_double_backward", _double_backward(framework, fn, explicit, double, op))
    support = Support.parse(getattr(module, "CROSSCHECK_SUPPORT", None))
    return Subject(ops, name or getattr(module, "__name__", ""), framework.rejections, support,
                   named or framework.name, framework.describe())


def natives_of(framework: Framework, arrays) -> list:
    return [None if a is None else framework.to_native(a) for a in arrays]


def _forward(framework: Framework, fn, op: str):
    outputs = OPS[op].outputs

    def forward(*arrays, **kwargs):
        natives = natives_of(framework, arrays)
        try:
            result = framework.call(fn, natives, kwargs)
        finally:
            framework.synchronise(arrays, natives)
        if len(outputs(kwargs)) > 1 and isinstance(result, (tuple, list)):
            return tuple(framework.to_numpy(r, q) for r, q in zip(result, outputs(kwargs)))
        return framework.to_numpy(result, "output")

    return forward


def _first_output(fn):
    """``fn`` returning only its first output: the one a gradient flows back from."""
    def first(*args, **kwargs):
        out = fn(*args, **kwargs)
        return out[0] if isinstance(out, (tuple, list)) else out

    return first


def _backward(framework: Framework, fn, explicit, op: str):
    names = OPS[op].arrays

    def backward(grad_output, *arrays, **kwargs):
        natives = natives_of(framework, arrays)
        upstream = framework.to_native(grad_output)
        try:
            if explicit is not None:
                grads = framework.call(explicit, [upstream, *natives], kwargs)
            else:
                grads = tuple(framework.vjp(_first_output(fn), natives, kwargs, upstream))
        finally:
            framework.synchronise([grad_output, *arrays], [upstream, *natives])
        if not isinstance(grads, tuple):
            return grads  # the checking reports what came back instead of a tuple
        return tuple(None if g is None else framework.to_numpy(g, "grad_" + n) for g, n in zip(grads, names))

    return backward


def _double_backward(framework: Framework, fn, backward, explicit_double, op: str):
    """``NAME_double_backward`` in NumPy terms: the module's own (``explicit_double``, native arrays in
    and out), else ``framework.vjp2`` of its ``backward`` (the module's ``NAME_backward`` or None)."""
    names = ("grad_grad_output",) + tuple("grad2_" + a for a in OPS[op].arrays)

    def double_backward(grad_grads, grad_output, *arrays, **kwargs):
        natives = natives_of(framework, arrays)
        upstream = framework.to_native(grad_output)
        cotangents = natives_of(framework, grad_grads)
        try:
            if explicit_double is not None:
                results = framework.call(explicit_double, [tuple(cotangents), upstream, *natives], kwargs)
            else:
                results = tuple(framework.vjp2(_first_output(fn), backward, natives, kwargs, upstream, cotangents))
        finally:
            framework.synchronise([grad_output, *arrays], [upstream, *natives])
        if not isinstance(results, tuple):
            return results  # the checking reports what came back instead of a tuple
        return tuple(None if r is None else framework.to_numpy(r, n) for r, n in zip(results, names))

    return double_backward
