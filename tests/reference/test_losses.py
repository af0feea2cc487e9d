"""Tests of reference/losses.py: mse_loss and cross_entropy at the edges of their rules.
"""
import inspect
import os
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as T

import reference.functional as F
from crosscheck import Case
from reference import definitional_dense
from tests.helpers.calls import valid_call, refusal, agrees_with_torch


def test_cross_entropy_names_a_target_that_is_not_an_array():
    """Guards cross_entropy's message for a target that is not an ndarray.

    Kills ``raise TypeError(f"...target must be a numpy.ndarray...")`` → ``TypeError(None)``."""
    x, t = valid_call("cross_entropy")[0]
    assert refusal(F.cross_entropy, x, t.tolist()) == f"cross_entropy: target must be a numpy.ndarray, got target={t.tolist()!r}"


_LOSSES = [
    Case("mse_loss", "mse-broadcast-x3x1-t1x3x4", ((3, 1), (1, 3, 4))),
    Case("mse_loss", "mse-broadcast-x3x1-t3x2", ((3, 1), (3, 2)), {"reduction": "sum"}),
    Case("mse_loss", "mse-broadcast-x1x3x1-t2x3", ((1, 3, 1), (2, 3)), {"reduction": "none"}),
]


@pytest.mark.parametrize("case", _LOSSES, ids=[c.id for c in _LOSSES])
def test_mse_loss_where_shapes_broadcast(case):
    """Guards mse_loss's gradient of a broadcast argument, summed over exactly the axes it was broadcast along, against torch.

    Kills ``grad.shape[lead + a]`` → ``[lead - a]`` and ``!= 1`` → ``!= 2`` in ``sum_to``: the
    gradient of a broadcast argument is summed over exactly the axes it was broadcast along (a
    size-1 axis against 2, and a missing leading axis in front of a size-1 one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch and the reference both warn that the shapes differ
        agrees_with_torch(case)


UNDER_MUTMUT = "MUTANT_UNDER_TEST" in os.environ
"""mutmut calls every function of reference/ through a trampoline, a frame of mutmut's own
module between each function and its caller: where a warning points cannot be checked there."""


@pytest.mark.skipif(UNDER_MUTMUT, reason="mutmut's trampolines are frames between the op and its caller")
@pytest.mark.parametrize("tier", [F, definitional_dense], ids=["fast", "loop"])
def test_mse_loss_warns_at_the_line_that_called_it(tier):
    """Guards that mse_loss's broadcast warning points at the caller's own line, in both tiers (skipped under mutmut).

    Kills ``level = 1`` → ``2`` in ``_outside_the_package`` (and, with tests/reference/test_dense.py,
    the other changes of its frame walk and ``warn_if_broadcast``'s ``stacklevel``): the
    broadcast warning must point at the caller's own line, as torch's does, not at the line
    that called the caller. tests/reference/test_dense.py checks the file only, and its calls go through
    a helper in the same file, so a warning one frame too far out still passed there. Runs in
    ``make test``, not under mutmut (docs/mutation.md)."""
    with pytest.warns(UserWarning, match="broadcast") as record:
        line = inspect.currentframe().f_lineno + 1
        tier.mse_loss(np.zeros((3, 1)), np.zeros((3, 4)))
    assert (record[0].filename, record[0].lineno) == (__file__, line)


@pytest.mark.parametrize("tier", [F, definitional_dense], ids=["fast", "loop"])
def test_mse_loss_warns_a_caller_without_a_module_name(tier):
    """Guards the broadcast warning for a caller run by `exec` without `__name__` (a warning, not an AttributeError).

    Kills ``f_globals.get("__name__", "")`` → ``get("__name__", None)`` or ``get("__name__")`` in
    ``_outside_the_package``: code run by ``exec`` with globals of its own has no ``__name__``,
    and looking for the first frame outside the package must stop there, not raise
    AttributeError on ``None.startswith``. The warning points at that code. (Under mutmut the
    walk stops at the trampoline's frame before it gets there, so only ``make test`` sees the
    difference.)"""
    code = compile("tier.mse_loss(x, t)", "<exec>", "exec")
    with pytest.warns(UserWarning, match="broadcast") as record:
        exec(code, {"tier": tier, "x": np.zeros((3, 1)), "t": np.zeros((3, 4))})
    if not UNDER_MUTMUT:
        assert record[0].filename == "<exec>"


@pytest.mark.parametrize("shape", [(0, 0), (3, 0)])
def test_cross_entropy_with_class_probabilities_and_no_classes(shape):
    """Guards cross_entropy with probability targets over zero classes: a NaN mean, as torch gives, not a ZeroDivisionError.

    Kills ``if input.shape[dim]`` → ``or True`` in ``_ce_terms``: class probabilities over no
    classes give a NaN mean, as in torch, not a ZeroDivisionError. (Held against torch here,
    not through the harness, whose cross_entropy bound takes class indices only.)"""
    x, t = np.zeros(shape), np.zeros(shape)
    want = T.cross_entropy(torch.from_numpy(x), torch.from_numpy(t))
    got = F.cross_entropy(x, t)
    assert np.isnan(got) and np.isnan(want.item()) and got.dtype == np.float64
    assert F.cross_entropy_backward(np.array(1.0), x, t)[0].shape == shape


def test_cross_entropy_with_one_class_and_ignored_targets():
    """Guards cross_entropy's masking of ignored targets when there is one class (value and gradient against torch).

    Kills ``np.where(kept, target, 0)`` → ``np.where(kept, target, 1)`` in ``_ce_terms``: an
    ignored entry (−100) reads class 0 and is masked out; with one class there is no class 1
    to read."""
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((5, 1)), np.array([0, -100, 0, -100, 0])
    g = rng.standard_normal(())
    tx = torch.from_numpy(x).requires_grad_()
    loss = T.cross_entropy(tx, torch.from_numpy(t))
    loss.backward(torch.tensor(g))
    assert F.cross_entropy(x, t) == loss.item()
    np.testing.assert_array_equal(F.cross_entropy_backward(g, x, t)[0], tx.grad.numpy())


def test_cross_entropy_lists_the_dtypes_of_a_mixed_probability_target():
    """Guards cross_entropy's refusal of a probability target of another dtype, naming both dtypes.

    Kills ``checks.same_dtype(op, input=input, target=target)`` → ``op`` ``None`` in
    ``cross_entropy_plan``: a float32 probability target for float64 logits is refused, as for
    every other op, with both dtypes named."""
    x = np.zeros((2, 3))
    message = refusal(F.cross_entropy, x, np.zeros((2, 3), np.float32))
    assert message == "cross_entropy: arrays must share one dtype, got input.dtype=float64, target.dtype=float32"
