"""Tests of reference/pooling.py: the pooling ops' own checks.
"""
import numpy as np
import pytest

import reference.functional as F
from tests.helpers.calls import refusal


@pytest.mark.parametrize("op, suffix", [("max_pool2d", " (dilation does not count)"), ("avg_pool2d", "")])
def test_pooling_padding_over_half_the_kernel_says_whether_dilation_counts(op, suffix):
    """Guards the suffix of pooling's padding message: max pooling says that dilation does not count, average pooling adds nothing.

    Kills the mutants of the conditional suffix in pooling's padding message (``if
    op.startswith("max")`` → ``and False``/``or True``, ``"max"`` → ``"XXmaxXX"``/``"MAX"``, the
    suffix or the empty alternative replaced): only max pooling has a dilation, and its rule is
    on the raw kernel, which the message must say (torch's own message does not)."""
    message = refusal(getattr(F, op), np.ones((1, 1, 6, 6)), 2, padding=2)
    assert message == f"{op}: padding must be at most half of kernel_size on every axis, got padding=2, kernel_size=2{suffix}"
