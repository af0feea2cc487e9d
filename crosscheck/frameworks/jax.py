"""``--framework jax``: an implementation that takes and returns JAX arrays.

* float64 is enabled (``jax_enable_x64``) when the adapter is made, so float64 cases are
  computed in float64 and not silently in float32.
* Inputs: ``jax.numpy.asarray`` of the NumPy array. JAX arrays are immutable, so the mutation
  and aliasing checks cannot fail; results come back as NumPy copies.
* Backward: the module's ``NAME_backward`` where it has one, else ``jax.vjp`` of the forward
  with respect to its float arguments.
* Second order (``--order 2``): the module's ``NAME_double_backward`` where it has one, else
  ``jax.vjp`` of the gradients (the module's ``NAME_backward``, or ``jax.vjp`` of the forward) with
  respect to the upstream gradient and the float arguments.
* Compilation: the forward runs as the module wrote it (eagerly, each primitive compiled once
  per shape and dtype and cached by JAX); a module that wants ``jax.jit`` applies it itself.
  ``jit=True`` (``--framework jax-jit``) wraps each call in ``jax.jit`` with the keyword arguments static (a list
  argument passed as a tuple, since jit hashes them), which compiles once per distinct case
  (benchmarks/README.md has both timings).
* Rejections: ``ValueError``, ``TypeError``, ``IndexError`` and ``RuntimeError`` (XLA's
  ``XlaRuntimeError`` is one).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..checking import Violation
from .base import Framework


class Jax(Framework):
    name = "jax"
    rejections = (ValueError, TypeError, IndexError, RuntimeError)

    def __init__(self, device: str = "cpu", jit: bool = False):
        if device != "cpu":
            raise ValueError(f"--device {device!r}: the jax framework runs on JAX's default device; use --device cpu")
        jax.config.update("jax_enable_x64", True)
        self.jit = jit

    def describe(self) -> str:
        return f"jax {jax.__version__} on {jax.default_backend()}" + (", jit per case" if self.jit else "")

    def to_native(self, array):
        return jnp.asarray(array)

    def to_numpy(self, value, quantity):
        if not isinstance(value, jax.Array):
            raise Violation(quantity, f"must be a jax.Array, got {type(value).__name__}")
        return np.array(value, copy=True)

    def call(self, fn, natives, kwargs):
        if not self.jit:
            return fn(*natives, **kwargs)
        static = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}  # jit hashes them
        return _jitted(fn, tuple(sorted(static)))(*natives, **static)

    def vjp(self, fn, natives, kwargs, grad_output):
        wrt = [i for i, x in enumerate(natives) if x is not None and jnp.issubdtype(x.dtype, jnp.floating)]

        def forward(*differentiable):
            args = list(natives)
            for i, x in zip(wrt, differentiable):
                args[i] = x
            return self.call(fn, args, kwargs)

        out, pullback = jax.vjp(forward, *(natives[i] for i in wrt))
        if not isinstance(out, jax.Array):
            raise Violation("output", f"must be a jax.Array, got {type(out).__name__}")
        grads = dict(zip(wrt, pullback(grad_output)))
        return [grads.get(i) for i in range(len(natives))]

    def vjp2(self, fn, backward, natives, kwargs, grad_output, grad_grads):
        wrt = [i for i, x in enumerate(natives) if x is not None and jnp.issubdtype(x.dtype, jnp.floating)]

        def gradients(upstream, *differentiable):
            args = list(natives)
            for i, x in zip(wrt, differentiable):
                args[i] = x
            if backward is None:
                return tuple(g for g in self.vjp(fn, args, kwargs, upstream) if g is not None)
            found = self.call(backward, [upstream, *args], kwargs)
            return tuple(found[i] for i in wrt)

        _, pullback = jax.vjp(gradients, grad_output, *(natives[i] for i in wrt))
        second = pullback(tuple(grad_grads[i] for i in wrt))
        found = dict(zip(wrt, second[1:]))
        return [second[0]] + [found.get(i) for i in range(len(natives))]


@functools.lru_cache(maxsize=4096)
def _jitted(fn, static):
    return jax.jit(fn, static_argnames=static)


def adapter(device: str = "cpu", jit: bool = False) -> Jax:
    return Jax(device, jit)
