"""Tests of crosscheck, the gate: one folder per subpackage, and the gate end to end (test_gate.py)."""
