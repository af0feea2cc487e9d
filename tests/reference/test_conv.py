"""Tests of reference/conv.py: the convolution's own refusals and internals.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.functional as F
from crosscheck import Case
from tests.helpers.calls import valid_call, refusal, agrees_with_torch


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv3d"])
def test_a_weight_of_the_wrong_rank_is_told_its_rank(op):
    """Guards conv's refusal of a weight of the wrong rank, naming the rank it needs.

    Kills ``checks.rank(op, "weight", ...)`` → ``"XXweightXX"`` in conv's checks."""
    arrays, kwargs = valid_call(op)
    arrays[1] = arrays[1][0]
    assert refusal(getattr(F, op), *arrays, **kwargs) == (
        f"{op}: weight must have {int(op[-2]) + 2} dimensions, got weight.shape={arrays[1].shape}")


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_an_empty_spatial_axis_needs_an_empty_batch(op):
    """Guards the rule that only an empty batch may have empty spatial axes (conv, conv_transpose), and the valid empty-batch transposed call.

    Kills ``shape[0] > 0`` → ``shape[0] > 1`` (conv and conv_transpose), ``shape[1] > 0`` and
    ``>= 0`` (conv_transpose) and the message → ``None``: one sample, batched or not, with an
    empty spatial axis is refused for that reason (torch refuses it too); an empty batch with
    an empty spatial axis is a valid transposed convolution, as in torch."""
    arrays, kwargs = valid_call(op)
    for x in (np.zeros((1, 3, 0, 5)), np.zeros((3, 0, 5))):
        message = refusal(getattr(F, op), x, *arrays[1:], **kwargs)
        assert message == f"{op}: only an empty batch may have empty spatial axes, got input.shape={x.shape}"
    if op == "conv_transpose2d":  # its empty-batch call is valid: the output is (k − 1)·d + 1 long
        empty = np.zeros((0, 3, 0, 5))
        want = T.conv_transpose2d(torch.from_numpy(empty), torch.from_numpy(arrays[1])).shape
        assert F.conv_transpose2d(empty, arrays[1]).shape == tuple(want)


def test_conv_reports_the_channels_the_weight_expects_with_groups():
    """Guards the channel count that conv's (with groups) and conv_transpose's channel-mismatch messages expect.

    Kills ``weight.shape[1] * groups`` → ``/ groups`` or ``weight.shape[2]`` in conv's message
    and ``weight.shape[0]`` → ``[1]`` in conv_transpose's."""
    x = np.ones((1, 5, 6, 6))
    message = refusal(F.conv2d, x, np.ones((4, 3, 2, 2)), groups=2)
    assert message == ("conv2d: input has 5 channels but weight.shape=(4, 3, 2, 2) with groups=2 expects 6 "
                       "(input.shape=(1, 5, 6, 6))")
    message = refusal(F.conv_transpose2d, x, np.ones((4, 3, 2, 2)))
    assert message == "conv_transpose2d: input has 5 channels but weight.shape=(4, 3, 2, 2) expects 4 (input.shape=(1, 5, 6, 6))"


def test_a_strided_depthwise_convolution_with_one_tap_and_two_filters_per_channel():
    """Guards the col2im input gradient's shortcut for one output channel per group, which must count output channels, not `(C/G)·/k/`.

    Kills ``w_mat_t.shape[-1] == 1`` → ``shape[+1]`` or ``shape[-2]`` in ``_input_grad_col2im``:
    the shortcut for one output channel per group must look at the output channels, not at
    ``(C/G)·|k|``, which is 1 too for a 1-tap depthwise kernel with a channel multiplier."""
    agrees_with_torch(Case("conv2d", "conv2d-k1-s2-g3-x2x3x5x5-o6", ((2, 3, 5, 5), (6, 1, 1, 1), (6,)),
                 {"stride": 2, "groups": 3}))
