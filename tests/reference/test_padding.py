"""Tests of reference/padding.py: pad's refusals and its results at the edges of its rules.
"""
import numpy as np
import pytest

import reference.functional as F
from crosscheck import Case
from tests.helpers.calls import refusal, agrees_with_torch


def test_pad_names_a_pad_that_is_not_ints_and_a_value_that_is_not_a_number():
    """Guards pad's refusals of a pad tuple that is not ints and of a fill value that is not a number.

    Kills ``not isinstance(pad, ...) or not all(is_int ...)`` → ``and`` (a tuple of floats then
    passes, truncated by ``int``), the two TypeErrors' messages → ``None``, and
    ``_check_constant(op, input, pad, value)`` → ``value=None`` (the fill value unchecked)."""
    x = np.ones((2, 3))
    assert refusal(F.pad, x, (1.0, 2)) == "pad: pad must be a tuple of ints, got pad=(1.0, 2)"
    assert refusal(F.pad, x, (1, 2), value="a") == "pad: value must be a real number, got value='a'"


def test_pad_backward_checks_the_fill_value_as_the_forward_does():
    """Guards that pad_backward refuses the fill values its forward refuses.

    Kills ``plan("pad_backward", ..., value)`` → ``value=None`` in ``pad_backward``: its
    backward must refuse the calls its forward refuses (a fill value for a gather mode, a fill
    value that is not a number)."""
    x = np.ones((2, 3))
    grad = np.ones((2, 6))
    assert refusal(F.pad_backward, grad, x, (1, 2), mode="reflect", value=1.0) == (
        "pad_backward: mode='reflect' takes no fill value, got value=1.0")
    assert refusal(F.pad_backward, grad, x, (1, 2), value="a") == "pad_backward: value must be a real number, got value='a'"


def test_a_gather_pad_refuses_a_fill_value_of_one():
    """Guards that reflect, replicate and circular padding refuse any fill value but the default, 1 included.

    Kills ``value != 0`` → ``value != 1`` in ``_check_gather``: torch refuses any fill value
    but the default for reflect, replicate and circular."""
    assert refusal(F.pad, np.ones((1, 2, 3)), (1, 1), mode="replicate", value=1) == (
        "pad: mode='replicate' takes no fill value, got value=1")


_PADS = [  # mode, pad, input shape: calls at the edges of padding's rules, each held against torch
    ("circular", (1, -2), (1, 2, 5)),    # a crop on the right: what is left wraps
    ("circular", (2, -4), (1, 2, 3)),    # one position out, more pad than is left: refused by both
    ("replicate", (-1, -1), (1, 2, 3)),  # one position left on a 1-d axis: accepted
    ("replicate", (-1, -2), (1, 2, 3)),  # none left on a 1-d axis: refused by both
    ("reflect", (1, 1), (0, 5)),         # an unbatched input with no channels: refused by both
    ("constant", (1, -4), (2, 3)),       # a crop of more than the axis, with a pad on the other side
    ("constant", (1, -2), (2, 2)),       # the whole axis cropped, one fill position added
]


@pytest.mark.parametrize("mode, pad, shape", _PADS, ids=[f"{m}-{p}-{s}" for m, p, s in _PADS])
def test_pad_at_the_edges_of_its_rules(mode, pad, shape):
    """Guards pad's acceptances, refusals and results at the edges of its rules (circular crops, gather pads leaving 0 or 1 position, no channels, constant over-crops), against torch.

    Kills ``min(right, 0)`` → ``- min(right, 0)`` in ``source_index``'s circular crop,
    ``out > 0`` → ``out > 1`` and ``out < 1`` → ``out < 2`` / ``< 0`` (the positions a gather pad
    must leave), ``input.ndim == spatial + 2`` → ``or True`` (which axes must be non-empty),
    ``min(left, 0)`` → ``min(left, 1)`` in ``_check_constant`` and ``max(-left, 0)`` →
    ``max(-left, 1)`` in ``_overlap``: each changes whether torch's call is accepted or what it
    returns."""
    agrees_with_torch(Case("pad", f"pad-{mode}-{pad}", (shape,), {"pad": pad, "mode": mode}))


@pytest.mark.parametrize("pad", [(-2, 3), (3, -2)])
def test_circular_pad_refuses_more_pad_than_the_crop_leaves(pad):
    """Guards the documented refusal of a circular pad larger than what a crop on the other side leaves.

    Kills ``kept = size + min(left, 0) + min(right, 0)`` → ``size - min(left, 0) + ...``,
    ``min(left, 1)`` or ``min(right, 1)`` in ``_check_gather``: with a crop on one side, a pad on
    the other larger than what is left is refused (README, "Where the reference deliberately
    differs from torch": torch returns uninitialised memory there, so the harness cannot
    hold this call against torch)."""
    message = refusal(F.pad, np.ones((1, 2, 4)), pad, mode="circular")
    assert message == (f"pad: mode='circular' with a crop needs each pad at most the 2 positions left after "
                       f"cropping, got pad={pad} for axis 2 of size 4")


def test_pad_defaults_are_torchs():
    """Guards pad's default mode, torch's 'constant'.

    Kills ``mode="constant"`` → ``"XXconstantXX"`` or ``"CONSTANT"`` in ``pad``'s signature:
    every table case names its mode, so only a call that leaves it out sees the default."""
    agrees_with_torch(Case("pad", "pad-default-mode", ((2, 3, 5),), {"pad": (1, 2)}))
