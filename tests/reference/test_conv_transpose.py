"""Tests of reference/conv_transpose.py: the transposed convolution's own refusals.
"""
import numpy as np
import pytest

import reference.functional as F
from tests.helpers.calls import refusal


@pytest.mark.parametrize("weight", [(0, 2, 3), (3, 0, 3), (3, 2, 0)])
def test_conv_transpose_refuses_a_weight_with_an_empty_axis(weight):
    """Guards conv_transpose's refusal of a weight with any one empty axis.

    Kills the ``or`` → ``and`` and ``shape[0]`` → ``shape[1]``/``shape[1]`` → ``shape[2]``
    mutants of conv_transpose's empty-weight check, and its message → ``None``: each of the
    three axes alone makes the weight empty."""
    message = refusal(F.conv_transpose1d, np.ones((1, weight[0] or 3, 5)), np.ones(weight))
    assert message == f"conv_transpose1d: weight must have non-empty axes, got weight.shape={weight}"
