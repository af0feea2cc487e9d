"""Tests of reference/dense.py (linear): its own refusals.
"""
import numpy as np

import reference.functional as F
from tests.helpers.calls import valid_call, refusal


def test_linear_names_its_weight_and_its_feature_count():
    """Guards linear's weight-rank and feature-count messages (a 1-d weight must not turn the refusal into an IndexError).

    Kills ``checks.rank(op, "weight", ...)`` → ``"XXweightXX"`` (and the ranks' listing) and
    ``weight.shape[-1]`` → ``weight.shape[+1]`` or ``[-2]`` in the message of ``dense.plan``: with
    a 1-d weight, ``weight.shape[1]`` does not exist, and the refusal became an IndexError."""
    x, w, b = valid_call("linear")[0]
    assert refusal(F.linear, x, w[None], b) == f"linear: weight must have 2 or 1 dimensions, got weight.shape={(1,) + w.shape}"
    for wide in (np.ones((3, 7)), np.ones(7)):
        message = refusal(F.linear, x, wide)
        assert message.startswith("linear: input's last axis must have weight.shape[-1]=7 features, "), message
