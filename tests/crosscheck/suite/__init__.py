"""Tests of crosscheck.suite: the fuzzing and the suite as a downstream project installs it."""
