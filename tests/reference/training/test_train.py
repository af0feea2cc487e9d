"""The training loop (reference.training.fit), the network and its weights file
(reference.training.lenet) and the command ``python -m reference.train``: early stopping, the squared-error loss, save and load,
the schedule, the command's output and its refusals.

These runs are short (one to three epochs, or a few hundred images): the 97 % run on the digits
is measured (README), not asserted in a timed test.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from reference.training import data as datasets
from reference.training import fit, lenet
from reference.training import train as cli
from reference.training.optim import SGD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


# --- early stopping -----------------------------------------------------------------------------

class Scripted:
    """A learner whose validation losses are given: its 'weights' are the number of epochs trained."""

    def __init__(self, val_losses):
        self.val_losses, self.trained, self.epoch_steps = list(val_losses), 0, 0

    def train_step(self, x, labels):
        self.epoch_steps += 1
        return 1.0

    def evaluate(self, x, labels):
        self.trained += 1
        return self.val_losses[self.trained - 1], 0.5

    def state_dict(self):
        return {"epochs": np.array(self.trained)}

    def load_state_dict(self, state):
        self.trained = int(state["epochs"])


def _fit(learner, epochs, **kwargs):
    train = datasets.Split(np.zeros((10, 1, 2, 2)), np.zeros(10, np.int64))
    return fit.fit(learner, train, train, epochs=epochs, batch_size=4, rng=np.random.default_rng(0), **kwargs)


def test_early_stopping_stops_after_patience_epochs_and_restores_the_best():
    """Best at epoch 2 (0.8); epochs 3, 4, 5 do not beat it, so with patience 3 training stops
    after epoch 5 and the learner holds epoch 2's state; epoch 6's better loss is never seen."""
    learner = Scripted([1.0, 0.8, 0.9, 0.85, 0.95, 0.1])
    history = _fit(learner, epochs=10, patience=3)
    assert [e.epoch for e in history.epochs] == [1, 2, 3, 4, 5]
    assert history.best_epoch == 2 and history.stopped_early
    assert learner.trained == 2
    assert [e.improved for e in history.epochs] == [True, True, False, False, False]
    assert all(e.steps == 3 for e in history.epochs)  # 10 samples in batches of 4: 4, 4, 2


def test_patience_counts_epochs_in_a_row():
    """An improvement resets the count: 1, 2 (wait 1), 0.5 (reset), then three more without."""
    learner = Scripted([1.0, 2.0, 0.5, 0.6, 0.7, 0.8, 0.0])
    history = _fit(learner, epochs=7, patience=3)
    assert len(history.epochs) == 6 and history.best_epoch == 3 and learner.trained == 3


def test_min_delta_requires_a_real_improvement():
    learner = Scripted([1.0, 0.95, 0.9, 0.5])
    history = _fit(learner, epochs=4, patience=2, min_delta=0.1)
    assert history.best_epoch == 1 and len(history.epochs) == 3


def test_without_patience_every_epoch_runs_and_the_best_is_still_restored():
    learner = Scripted([1.0, 0.5, 0.7, 0.9])
    history = _fit(learner, epochs=4, patience=None)
    assert len(history.epochs) == 4 and not history.stopped_early and learner.trained == 2


def test_nan_never_improves():
    learner = Scripted([math.nan, 1.0, math.nan, math.nan])
    history = _fit(learner, epochs=4, patience=2)
    assert history.best_epoch == 2 and len(history.epochs) == 4 and learner.trained == 2


def test_stopping_on_the_last_epoch_is_not_early():
    history = _fit(Scripted([1.0, 2.0, 3.0]), epochs=3, patience=2)
    assert len(history.epochs) == 3 and not history.stopped_early


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(batch_size=0), ValueError, "batch_size=0"),
    (dict(patience=0), ValueError, "patience=0"),
    (dict(min_delta=-1.0), ValueError, "min_delta=-1.0"),
    (dict(rng=0), TypeError, "rng=0"),
])
def test_fit_refuses_bad_arguments(kwargs, error, text):
    train = datasets.Split(np.zeros((4, 1, 2, 2)), np.zeros(4, np.int64))
    arguments = dict(epochs=1, batch_size=2, rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(error, match=text):
        fit.fit(Scripted([1.0]), train, train, **arguments)


def test_epoch_batches_are_one_permutation_cut_in_order():
    batches = fit.epoch_batches(10, 4, np.random.default_rng(3))
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), np.random.default_rng(3).permutation(10))


# --- the network, the losses and the learner ----------------------------------------------------

@pytest.mark.parametrize("shape, flat", [((1, 8, 8), 32 * 2 * 2), ((1, 28, 28), 32 * 7 * 7), ((3, 9, 13), 32 * 2 * 3)])
def test_lenet_shapes(shape, flat):
    net = lenet.lenet(shape, rng=0)
    assert net[7].in_features == flat
    assert net(np.zeros((2,) + shape, np.float32)).shape == (2, 10)
    assert [type(m).__name__ for m in net] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d",
                                               "Flatten", "Linear", "ReLU", "Linear"]


@pytest.mark.parametrize("kwargs, text", [
    (dict(image_shape=(1, 3, 8)), "too small"),
    (dict(image_shape=(8, 8)), r"image_shape must be \(C, H, W\)"),
    (dict(channels=(8,)), "channels=\\(8,\\)"),
    (dict(hidden=0), "hidden=0"),
    (dict(channels=(0, 4)), "channel counts must be positive"),
])
def test_lenet_refuses_sizes_it_cannot_build(kwargs, text):
    with pytest.raises(ValueError, match=text):
        lenet.lenet(**kwargs)


def test_lenet_is_drawn_from_one_generator_in_order():
    a, b = lenet.lenet(rng=np.random.default_rng(4)), lenet.lenet(rng=np.random.default_rng(4))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va, vb)
    assert not np.array_equal(a.state_dict()["0.weight"], lenet.lenet(rng=5).state_dict()["0.weight"])


def test_half_squared_error_is_the_seed_posts_loss_averaged_over_the_batch():
    """E = (1/B)·Σ_n ½·Σ_k (t_nk − y_nk)², written out with loops; ∂E/∂y = (y − t)/B."""
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 4))
    labels = np.array([2, 0, 3])
    loss = fit.HalfSquaredError(4)
    expected = 0.0
    grad = np.zeros_like(y)
    for n in range(3):
        for k in range(4):
            t = 1.0 if labels[n] == k else 0.0
            expected += 0.5 * (t - y[n, k]) ** 2 / 3
            grad[n, k] = (y[n, k] - t) / 3
    np.testing.assert_allclose(loss(y, labels), expected, rtol=1e-15)  # a dozen float64 roundings
    np.testing.assert_allclose(loss.backward(), grad, rtol=1e-15, atol=1e-17)
    assert loss(y.astype(np.float32), labels).dtype == np.float32


@pytest.mark.parametrize("labels, error, text", [
    (np.array([0, 4]), ValueError, r"labels must be class indices in \[0, 4\), got labels\[1\]=4"),
    (np.array([-1, 0]), ValueError, r"got labels\[0\]=-1"),
    (np.array([0.0, 1.0]), TypeError, "labels must be a 1-d integer array"),
])
def test_squared_error_refuses_labels_that_are_not_classes(labels, error, text):
    with pytest.raises(error, match=text):
        fit.HalfSquaredError(4)(np.zeros((2, 4)), labels)


def test_criterion_refuses_unknown_losses():
    with pytest.raises(ValueError, match="loss='hinge'"):
        fit.criterion("hinge", 10)


@pytest.mark.parametrize("loss", fit.LOSSES)
def test_evaluate_is_the_mean_per_sample_loss_and_the_hit_rate(loss):
    """In chunks of 3 or all at once, the same figures as the batch criterion on the whole set."""
    net = lenet.lenet((1, 8, 8), rng=1, dtype=np.float64)
    x = np.random.default_rng(2).random((7, 1, 8, 8))
    labels = np.array([0, 1, 2, 3, 4, 5, 6])
    learner = fit.Learner(net, SGD(net.parameters(), lr=0.1), loss, eval_batch=3)
    value, accuracy = learner.evaluate(x, labels)
    np.testing.assert_allclose(value, float(fit.criterion(loss, 10)(net(x), labels)), rtol=1e-14)
    assert accuracy == np.mean(net(x).argmax(axis=1) == labels)


def test_a_short_run_learns():
    """Three epochs of the default run: the validation loss falls from the start."""
    config = cli.Config(epochs=3, patience=None)
    data = cli.load_dataset(config)
    learner = cli.build(config, data)
    history = cli.run(config, learner, data)
    assert history.epochs[-1].val_loss < 0.75 * history.epochs[0].val_loss


# --- the weights file ---------------------------------------------------------------------------

def test_save_and_load_round_trip(tmp_path):
    config = dict(image_shape=(1, 8, 8), classes=10, channels=(4, 6), hidden=12, kernel_size=3)
    net = lenet.lenet(**config, rng=3, dtype=np.float64)
    written = lenet.save(tmp_path / "w", net, config)
    assert written == str(tmp_path / "w.npz")
    back, saved = lenet.load(written)
    assert saved == dict(config, image_shape=[1, 8, 8], channels=[4, 6], dtype="float64")
    for (k, v), (kb, vb) in zip(net.state_dict().items(), back.state_dict().items()):
        assert k == kb and vb.dtype == np.float64
        np.testing.assert_array_equal(v, vb)
    x = np.random.default_rng(0).random((2, 1, 8, 8))
    np.testing.assert_array_equal(net(x), back(x))
    with np.load(written, allow_pickle=False) as archive:  # a plain archive: no pickle needed
        assert set(archive.files) == set(net.state_dict()) | {lenet.CONFIG_KEY}


def test_load_refuses_a_file_without_the_config(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="no '__config__' entry"):
        lenet.load(tmp_path / "plain.npz")


# --- the command ---------------------------------------------------------------------------------

def test_command_trains_evaluates_and_saves(tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert cli.main(["--epochs", "2", "--limit", "300", "--out", str(out), "--seed", "1"]) == 0
    text = capsys.readouterr()
    lines = text.out.splitlines()
    assert lines[0].startswith("digits: 300 train, 300 val, 300 test images of 8×8")
    assert lines[1].startswith("epoch   1/2  train loss") and lines[2].startswith("epoch   2/2")
    assert any(line.startswith("test accuracy ") and "(" in line for line in lines)
    assert lines[-1] == f"weights saved to {out}"
    assert text.err == ""  # no progress bar off a terminal
    net, config = lenet.load(out)
    assert config["dtype"] == "float32" and config["image_shape"] == [1, 8, 8]


def test_command_progress_bar_on_request(tmp_path, capsys):
    assert cli.main(["--epochs", "1", "--limit", "64", "--out", str(tmp_path / "w"), "--progress"]) == 0
    assert "\repoch 1/1 [" in capsys.readouterr().err


def test_command_mse_float64(tmp_path, capsys):
    assert cli.main(["--epochs", "1", "--limit", "100", "--loss", "mse", "--dtype", "float64",
                     "--out", str(tmp_path / "w")]) == 0
    assert "loss mse, float64" in capsys.readouterr().out
    assert lenet.load(tmp_path / "w.npz")[0].state_dict()["0.weight"].dtype == np.float64


def test_command_on_mnist_files(tmp_path, capsys):
    from tests.reference.training.test_data import fake_mnist
    folder = tmp_path / "mnist"
    folder.mkdir()
    fake_mnist(folder)
    assert cli.main(["--mnist", str(folder), "--epochs", "1", "--out", str(tmp_path / "w")]) == 0
    assert capsys.readouterr().out.startswith("mnist: 50 train, 10 val, 20 test images of 28×28")


@pytest.mark.parametrize("argv, text", [
    (["--epochs", "0"], "argument --epochs: must be positive, got '0'"),
    (["--batch-size", "x"], "argument --batch-size: expected an integer, got 'x'"),
    (["--lr", "-0.1"], "argument --lr: must be a finite non-negative number, got '-0.1'"),
    (["--momentum", "nan"], "argument --momentum: must be a finite non-negative number, got 'nan'"),
    (["--dampening", "inf"], "argument --dampening: must be finite, got 'inf'"),
    (["--nesterov", "--momentum", "0"], "argument --nesterov: needs --momentum > 0 and --dampening 0"),
    (["--channels", "8"], "argument --channels: expected two positive ints 'c1,c2', got '8'"),
    (["--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
    (["--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
    (["--patience", "-1"], "argument --patience: must be non-negative, got -1"),
    (["--seed", "-3"], "argument --seed: must be non-negative, got -3"),
    (["--val-fraction", "0.5", "--test-fraction", "0.5"], "must sum below 1"),
    (["--test-fraction", "1"], "argument --test-fraction: must be in [0, 1), got '1'"),
])
def test_command_refuses_bad_arguments(argv, text, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert text in capsys.readouterr().err


def test_command_reports_missing_and_broken_data(tmp_path, capsys):
    from tests.reference.training.test_data import fake_mnist
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]))
    assert cli.main(["--mnist", str(tmp_path), "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reference.train: ") and "no train-labels-idx1-ubyte" in err
    fake_mnist(tmp_path, gz=())
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes((tmp_path / "t10k-images-idx3-ubyte").read_bytes()[:-5])
    assert cli.main(["--mnist", str(tmp_path), "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte: truncated" in err and not (tmp_path / "w.npz").exists()


def test_the_reference_package_never_imports_torch():
    code = ("import sys; import reference.train, reference.training.fit, reference.training.data, "
            "reference.training.optim, reference.training.lenet; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_seed_streams_are_independent():
    """The split is the seed's; the weights and the order come from [seed, 1] and [seed, 2]."""
    config = cli.Config(seed=4)
    data = cli.load_dataset(config)
    net = cli.build(config, data).net
    expected = lenet.lenet(**config.network(data.image_shape, 10), rng=np.random.default_rng([4, cli.INIT_STREAM]))
    np.testing.assert_array_equal(net.state_dict()["0.weight"], expected.state_dict()["0.weight"])
    np.testing.assert_array_equal(cli.shuffle_rng(config).permutation(5),
                                  np.random.default_rng([4, cli.SHUFFLE_STREAM]).permutation(5))


def _help(capsys) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    return " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps lines, also at '-'


def test_help_names_the_defaults_and_the_epoch_mark(capsys):
    text = _help(capsys)
    assert "Defaults: --dataset digits in float32" in text
    assert "a * at its end marks an epoch whose validation loss is the best so far" in text
    assert "--dataset {digits,mnist-5k}" in text and "Real MNIST: --dataset mnist-5k" in text


def test_help_gives_each_data_sets_own_defaults(capsys):
    """Every option whose default differs per data set names both values, read off the configs."""
    text = _help(capsys)
    digits, mnist = cli.config_for("digits"), cli.config_for("mnist-5k")
    assert "learning rate (default 0.02 for digits, 0.01 for mnist-5k)" in text
    for name in cli.PER_DATASET:
        flag = "--" + name.replace("_", "-")
        shown = [cli._shown(name, getattr(c, name)) for c in (digits, mnist)]
        assert shown[0] != shown[1], name  # listed as per data set only when they differ
        entry = text[text.index(f"{flag} {name.upper()} "):]
        assert f"default {shown[0]} for digits, {shown[1]} for mnist-5k)" in entry[:400], flag


def test_the_digits_defaults_are_unchanged_and_mnist_has_its_own():
    """No option given: the digits' run is Config()'s, exactly (its trajectory against torch is
    checked with Config()); mnist-5k's is its DATASET_DEFAULTS; a given option wins over both."""
    assert cli.config_from(cli.parser().parse_args([])) == cli.Config()
    mnist = cli.config_from(cli.parser().parse_args(["--dataset", "mnist-5k"]))
    assert mnist == cli.config_for("mnist-5k") != cli.Config(dataset="mnist-5k")
    for name, value in cli.DATASET_DEFAULTS["mnist-5k"].items():
        assert getattr(mnist, name) == value
    given = cli.config_from(cli.parser().parse_args(["--dataset", "mnist-5k", "--lr", "0.05", "--patience", "0",
                                                     "--lr-patience", "0", "--shift", "0"]))
    assert (given.lr, given.patience, given.lr_patience, given.shift) == (0.05, None, None, 0)
    assert given.channels == cli.DATASET_DEFAULTS["mnist-5k"]["channels"]
    with pytest.raises(ValueError, match="dataset='cifar'"):
        cli.config_for("cifar")


@pytest.mark.parametrize("argv, text", [
    (["--lr-patience", "-1"], "argument --lr-patience: must be non-negative, got -1"),
    (["--shift", "-2"], "argument --shift: must be non-negative, got -2"),
    (["--lr-factor", "1"], "argument --lr-factor: must be in [0, 1), got '1'"),
])
def test_command_refuses_bad_schedules(argv, text, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert text in capsys.readouterr().err


def test_fit_hands_every_validation_loss_to_the_scheduler():
    class Recording:
        def __init__(self):
            self.seen = []

        def step(self, value):
            self.seen.append(value)

    recording = Recording()
    _fit(Scripted([1.0, 0.8, 0.9, 0.85]), epochs=4, patience=None, scheduler=recording)
    assert recording.seen == [1.0, 0.8, 0.9, 0.85]


def test_the_schedule_is_on_the_learners_optimiser_and_only_with_lr_patience():
    part = datasets.Split(np.zeros((4, 1, 8, 8), np.float32), np.arange(4))
    learner = cli.build(cli.Config(), datasets.Dataset("toy", part, part, part))
    assert cli.scheduler(cli.Config(), learner) is None
    schedule = cli.scheduler(cli.Config(lr_patience=3, lr_factor=0.5), learner)
    assert schedule.optimiser is learner.optimiser and (schedule.patience, schedule.factor) == (3, 0.5)
    with pytest.raises(ValueError, match="lr_patience=3 cuts the rate of learner.optimiser"):
        cli.scheduler(cli.Config(lr_patience=3), Scripted([1.0]))


def test_command_on_mnist_5k_with_its_defaults(tmp_path, capsys, monkeypatch):
    """Two short epochs of ``--dataset mnist-5k`` alone (its own defaults: wider layers, weight
    decay, shifts, the schedule), on every 50th image of each part: 60 training, 20 validation
    and 20 test digits, of every digit (the file is sorted by digit, so --limit would keep the
    zeros only)."""
    loaded = cli.load_dataset

    def every_50th(config):
        data = loaded(config)
        parts = {part: datasets.Split(getattr(data, part).x[::50], getattr(data, part).y[::50])
                 for part in ("train", "val", "test")}
        return datasets.Dataset(data.name, **parts)

    monkeypatch.setattr(cli, "load_dataset", every_50th)
    out = tmp_path / "w.npz"
    assert cli.main(["--dataset", "mnist-5k", "--epochs", "2", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    mnist = cli.config_for("mnist-5k")
    assert lines[0].startswith("mnist-5k: 60 train, 20 val, 20 test images of 28×28; lenet channels (32, 64)")
    assert f"weight decay {mnist.weight_decay}" in lines[0] and f"shifts up to {mnist.shift} px" in lines[0]
    assert f"lr ×{mnist.lr_factor} once {mnist.lr_patience + 1} epochs in a row" in lines[0]
    assert lines[1].startswith("epoch   1/2") and f"lr {mnist.lr:.0e}" in lines[1]
    first, second = (float(line.split("train loss ")[1].split()[0]) for line in lines[1:3])
    assert second < first  # it learns: 8 steps from the initial weights lower the training loss
    network = lenet.load(out)[1]
    assert network["image_shape"] == [1, 28, 28] and network["channels"] == list(mnist.channels)


def test_shifted_batches_change_the_run_and_only_with_a_shift():
    """``augmentation`` is None without --shift (the digits' runs, and their trajectory against
    torch, are unchanged), and with it every batch is moved from the seed's own stream."""
    assert cli.augmentation(cli.Config()) is None
    shift = cli.augmentation(cli.Config(shift=1, seed=4))
    x = np.arange(2 * 16, dtype=np.float32).reshape(2, 1, 4, 4)
    again = cli.augmentation(cli.Config(shift=1, seed=4))
    assert np.array_equal(shift(x), again(x)) and not np.array_equal(shift(x), x)
