"""Planted bugs written in JAX, gated through ``--framework jax``: each is
:mod:`examples.jax_ops` with one bug, and says which cases reveal it (its ``GATE``)."""
