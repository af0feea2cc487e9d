"""Tests of reference, one file per module of reference/."""
