"""reference.nn.loss against torch.nn: MSELoss and CrossEntropyLoss, every reduction."""
import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module
from reference import nn
from tests.helpers.twins import DTYPES, assert_twin, random_input


REDUCTIONS = ("mean", "sum", "none")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 5), (3, 2, 6), (7,)])
def test_mse_loss_twin(shape, reduction, dtype):
    ref, twin = nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction)
    result = compare_module(ref, twin, random_input(shape, dtype), seed=5, target=random_input(shape, dtype, seed=1))
    assert_twin(result, {"loss", "grad_input"})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, target", [
    ((4, 5), np.array([0, 4, 2, 2])),
    ((5,), np.array(3)),  # unbatched
    ((3, 4, 2, 3), np.arange(18).reshape(3, 2, 3) % 4),  # classes on axis 1, spatial targets
    ((4, 3), np.array([1, -100, 0, 2])),  # torch's ignore_index
], ids=["batch", "unbatched", "spatial", "ignore-index"])
def test_cross_entropy_loss_twin(shape, target, reduction, dtype):
    ref, twin = nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction)
    result = compare_module(ref, twin, random_input(shape, dtype, scale=3.0), seed=6, target=target)
    assert_twin(result, {"loss", "grad_input"})


def test_loss_refuses_a_bad_target_like_torch():
    result = compare_module(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), random_input((4, 3), "float32"),
                            target=np.array([0, 1, 3, 1]))
    assert result.status == "passed" and result.rejected, str(result)


def test_loss_backward_default_is_loss_backward():
    """backward() with no argument is torch's loss.backward(): an upstream gradient of 1 (exact
    agreement is not expected: tolerance 1e-12 relative for a float64 gradient of a few terms)."""
    x, target = random_input((3, 4), "float64"), np.array([0, 3, 1])
    for ref, twin, t in ((nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), target),
                         (nn.MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum"), random_input((3, 4), "float64", 1))):
        ref(x, t)
        xt = torch.from_numpy(x).requires_grad_()
        twin(xt, torch.from_numpy(t)).backward()
        # float64, a softmax or a difference per entry then one scaling: a few ulps, far inside 1e-12
        np.testing.assert_allclose(ref.backward(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ref.backward(2.0), 2 * xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_loss_backward_needs_an_array_without_reduction():
    loss = nn.MSELoss(reduction="none")
    loss(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="grad_output"):
        loss.backward()
    np.testing.assert_array_equal(loss.backward(np.ones(3)), -2 * np.ones(3))
    mean = nn.MSELoss()
    mean(np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="grad_output"):
        mean.backward("1")


def test_loss_reduction_is_checked_at_construction():
    with pytest.raises(ValueError):
        torch.nn.MSELoss(reduction="avg")(torch.zeros(2), torch.zeros(2))
    for cls in (nn.MSELoss, nn.CrossEntropyLoss):
        with pytest.raises(ValueError, match="reduction"):
            cls(reduction="avg")
    # positional order is torch's: (size_average, reduce, reduction) and (weight, size_average, ...)
    assert nn.MSELoss(None, None, "sum").reduction == "sum"
    assert nn.CrossEntropyLoss(None, None, -100, None, "none").reduction == "none"


@pytest.mark.parametrize("kwargs, name", [
    (dict(weight=np.ones(3)), "weight"), (dict(ignore_index=0), "ignore_index"),
    (dict(label_smoothing=0.1), "label_smoothing"), (dict(size_average=True), "size_average"),
    (dict(reduce=False), "reduce"),
])
def test_cross_entropy_options_not_implemented_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        nn.CrossEntropyLoss(**kwargs)
