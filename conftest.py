"""Shared fixtures of the repository's own tests.

The harness options (--impl, --profile, --ops, --crosscheck-seed) come from the
crosscheck pytest plugin, which the package registers as an entry point.
"""
import pytest

pytest.register_assert_rewrite("tests.helpers")

import numpy as np  # noqa: E402


@pytest.fixture
def rng():
    """A fresh, seeded generator per test, so each test is reproducible on its own."""
    return np.random.default_rng(20190719)
