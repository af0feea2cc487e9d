"""Tests of crosscheck.networks: the training run beside its torch twin."""
