"""Tests of crosscheck.gate: the command line."""
