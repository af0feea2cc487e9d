"""Implementations of the contract used to test the harness itself.

``torch_backed`` is a correct implementation on PyTorch: the harness must pass all of it.
``broken.*`` are mutants, each with exactly one realistic bug: the harness must fail each,
on the quantity its ``GATE`` names. Every module here is importable by name, so the CLI can
load it: ``python -m crosscheck --impl tests.impls.broken.flipped_kernel``.
"""
