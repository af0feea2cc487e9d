"""Mutants that the default grid misses and the fuzzing finds (tests/test_fuzz.py)."""
