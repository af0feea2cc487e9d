"""The training run against its torch twin, step by step (crosscheck.networks.trajectory, crosscheck.networks.train).

The trajectory test runs 20 float64 steps of the default network on the digits, with both
losses: after every step every parameter must lie within the deviation bound derived in
:mod:`crosscheck.networks.trajectory`, the loss within its bound, and the reference's gradients must pass
the network check on its own parameters. The bound is not loose enough to let a real error
through: the tests below perturb one gradient by a relative 1e-6, or drop the ½ of the squared
error, and the check fails.
"""
import sys

import numpy as np
import pytest
import torch

from crosscheck import train as check_cli
from crosscheck.networks.trajectory import Lockstep
from crosscheck.networks.twin import torch_twin
from reference import nn
from reference.training import lenet
from reference.training import train as cli


def _run(loss="cross_entropy", steps=20, mutate=None, **overrides):
    """``steps`` steps of one epoch (a training set cut to ``steps`` batches) in lockstep."""
    config = cli.Config(dtype="float64", loss=loss, epochs=1, patience=None, **overrides)
    config.limit = steps * config.batch_size
    data = cli.load_dataset(config)
    lock = Lockstep(cli.build(config, data))
    if mutate is not None:
        mutate(lock.ref)
    history = cli.run(config, lock, data)
    return lock, history


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_twenty_float64_steps_stay_within_the_bound(loss):
    lock, history = _run(loss)
    assert len(lock.steps) == 20 and history.steps == 20
    assert lock.failures() == []
    assert max(s.ratio for s in lock.steps) <= 1
    assert all(s.local == "passed" for s in lock.steps)
    _, torch_val, torch_acc = lock.torch_epochs[0]
    # the validation loss after 20 steps: a mean of 320 losses, each within the network's float64
    # bound (~1e-13 relative) of torch's on parameters that differ by < 1e-15: 1e-12 is generous
    np.testing.assert_allclose(history.epochs[0].val_loss, torch_val, rtol=1e-12)
    assert history.epochs[0].val_accuracy == torch_acc


@pytest.mark.parametrize("options", [dict(nesterov=True, weight_decay=1e-3), dict(dampening=0.3, weight_decay=1e-3),
                                     dict(momentum=0.0)], ids=["nesterov-wd", "dampening-wd", "no-momentum"])
def test_every_sgd_option_stays_within_the_bound(options):
    lock, _ = _run(steps=5, **options)
    assert len(lock.steps) == 5 and lock.failures() == []


def _perturb_one_gradient(ref):
    """A gradient wrong by a relative 1e-6 in one layer's bias, as a subtle backward bug would be."""
    gradients = ref.gradients

    def wrong(x, labels):
        loss = gradients(x, labels)
        ref.net[3].bias.grad *= 1 + 1e-6
        return loss

    ref.gradients = wrong


def test_a_relative_gradient_error_of_1e_6_is_caught():
    lock, _ = _run(steps=3, mutate=_perturb_one_gradient)
    assert lock.failures()[0].startswith("step 1 (epoch 1): 3.bias deviates from torch's by")


def test_a_squared_error_without_its_half_is_caught():
    def double(ref):
        criterion = ref.criterion
        forward, backward = criterion.forward, criterion.backward
        criterion.forward = lambda y, labels: 2 * forward(y, labels)
        criterion.backward = lambda g=1.0: backward(2 * g)

    lock, _ = _run("mse", steps=2, mutate=double)
    assert any("loss" in line for line in lock.failures()) and any("deviates" in line for line in lock.failures())


def test_the_twin_holds_the_reference_layers_and_values():
    net = lenet.lenet((1, 8, 8), rng=0, dtype=np.float64)
    twin = torch_twin(net)
    assert [type(m).__name__ for m in twin] == [type(m).__name__ for m in net]
    assert twin[2].kernel_size == (2, 2) and twin[0].padding == (1, 1)
    for (k, v), (kt, vt) in zip(net.state_dict().items(), twin.state_dict().items()):
        assert k == kt and vt.dtype == torch.float64
        np.testing.assert_array_equal(v, vt.numpy())
    x = np.random.default_rng(1).random((2, 1, 8, 8))
    with torch.no_grad():  # the same arithmetic up to summation order: float64 rounding, 1e-13
        np.testing.assert_allclose(net(x), twin(torch.from_numpy(x)).numpy(), rtol=1e-13, atol=1e-15)


def test_the_twin_refuses_unknown_layers():
    class Doubling(nn.Module):
        def forward(self, x):
            return 2 * x

    with pytest.raises(TypeError, match="no torch counterpart known"):
        torch_twin(nn.Sequential(nn.Linear(2, 2, rng=0), Doubling()))


def test_the_command_passes_draws_and_reports(tmp_path, capsys):
    figure = tmp_path / "training.png"
    assert check_cli.main(["--epochs", "2", "--limit", "32", "--plot", str(figure)]) == 0
    out = capsys.readouterr().out
    assert ", float64, seed 0" in out.splitlines()[0]
    assert out.count("largest |Δp|") == 2 and "every step within the bound" in out
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_command_exits_1_on_a_deviation(monkeypatch, capsys):
    built = cli.build

    def broken(config, data):
        learner = built(config, data)
        _perturb_one_gradient(learner)
        return learner

    monkeypatch.setattr(cli, "build", broken)
    assert check_cli.main(["--epochs", "1", "--limit", "64"]) == 1
    out = capsys.readouterr().out
    assert "FAILED step 1 (epoch 1): 3.bias deviates" in out


def test_the_plot_needs_matplotlib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert check_cli.main(["--epochs", "1", "--limit", "32", "--plot", str(tmp_path / "f.png")]) == 2
    assert "pip install .[figures]" in capsys.readouterr().err


def test_the_figure_puts_the_bound_only_beside_the_share_it_bounds():
    """The bound is a share of 1: the deviation itself (in parameter units) has an axis of its
    own, without the bound's line, and the share's axis has the line at exactly 1."""
    import matplotlib.pyplot as plt

    from crosscheck.networks.train import figure

    lock, history = _run(steps=3)
    fig = figure(lock, history, "three steps")
    deviation, share = fig.axes[2], fig.axes[3]
    assert [list(line.get_ydata()) for line in deviation.get_lines()] == [[s.deviation for s in lock.steps]]
    curves = {line.get_label(): list(line.get_ydata()) for line in share.get_lines()}
    assert curves == {"largest entry's share": [s.ratio for s in lock.steps], "the bound (share 1)": [1.0, 1.0]}
    plt.close(fig)
