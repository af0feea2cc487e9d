"""Mutants: implementations of the contract with exactly one realistic bug each.

Each module wraps :mod:`reference.functional` or :mod:`tests.impls.torch_backed` (both
correct) and changes one thing. Its docstring says what the bug is and which cases reveal
it; its ``GATE`` dict says what ``tests/crosscheck/test_gate.py`` expects of the harness:

* ``ops``: the ops whose default-profile cases the gate runs: enough to reveal the bug, kept
  few so the gate stays fast (the docstring says where else the bug shows);
* ``dtypes``: the dtypes to run (when the bug shows in one dtype only);
* ``quantity``: the :class:`crosscheck.Failure` quantity the bug must be caught on
  (``output``, ``grad_input``, ``grad_weight``, ``grad_bias``, ``gradients``, ``rejection``,
  ``input``, ...); every failing case must report it, or one listed in
* ``also`` (optional): other quantities the same bug shows as on some cases (a refusal that
  becomes an acceptance, say);
* ``reason``: a fragment of the failure's reason, where the quantity alone is ambiguous.

The gate test finds the modules itself (every public module of this package), so a new
mutant is gated as soon as it exists.
"""
