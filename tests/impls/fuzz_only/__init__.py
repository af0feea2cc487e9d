"""Mutants that the default grid misses and the fuzzing finds (tests/crosscheck/suite/test_fuzzing.py)."""
