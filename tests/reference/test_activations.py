"""Tests of reference/activations.py: the activations' own refusals.
"""
import pytest

import reference.functional as F
from tests.helpers.calls import valid_call, refusal


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_names_dim_and_the_range_it_may_take(op):
    """Guards softmax's and log_softmax's `dim` refusals: its type, and the range `[-ndim, ndim - 1]`.

    Kills ``int_arg(op, "dim", dim)`` → ``"XXdimXX"`` and the bounds printed by
    ``normalise_dim`` (``-ndim`` → ``+ndim``, ``ndim - 1`` → ``ndim + 1`` or ``ndim - 2``): the
    message is how a caller learns which axes exist."""
    x = valid_call(op)[0][0]
    assert refusal(getattr(F, op), x, dim=1.0) == f"{op}: dim must be an int, got dim=1.0"
    assert refusal(getattr(F, op), x, dim=2) == f"{op}: dim must be in [-2, 1] for input.shape=(2, 5), got dim=2"


@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh", "softmax", "log_softmax"])
def test_an_activation_backward_names_its_input(op):
    """Guards the activation backwards' refusals of a bad `input` and a bad `grad_output`, each naming op and argument.

    Kills ``checks.float_array(op, "input", input)`` → ``"XXinputXX"`` in
    ``activations._elementwise_backward`` and the ``op`` → ``None`` of its grad_output check."""
    arrays, kwargs = valid_call(op)
    message = refusal(getattr(F, op + "_backward"), arrays[0], arrays[0].tolist(), **kwargs)
    assert message.startswith(f"{op}_backward: input must be a numpy.ndarray, got input="), message
    message = refusal(getattr(F, op + "_backward"), arrays[0][:1], arrays[0], **kwargs)
    assert message.startswith(f"{op}_backward: grad_output must have "), message
