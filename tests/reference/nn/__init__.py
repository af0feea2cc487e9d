"""Tests of reference.nn, one file per module of reference/nn/."""
