"""The training loop: mini-batch SGD over shuffled batches, validation after every epoch, early
stopping on the validation loss with the best weights restored.

**The losses**, for a batch of ``B`` network outputs ``y_n`` (``K`` scores each) and class labels ``c_n``:

* ``'cross_entropy'``: ``E = (1/B)·Σ_n −log softmax(y_n)[c_n]`` (``reference.nn.CrossEntropyLoss()``,
  torch's default mean);
* ``'mse'``: the seed post's squared error on one-hot targets ``t_n = e_{c_n}``, averaged over the
  batch: ``E = (1/B)·Σ_n ½‖t_n − y_n‖²``. ``reference.nn.MSELoss(reduction='sum')`` gives
  ``Σ_n ‖t_n − y_n‖²``, so ``E`` is that over ``2B`` (:class:`HalfSquaredError`), and
  ``∂E/∂y_n = (y_n − t_n)/B``: the seed's ``δ = y − t`` per sample, averaged over the batch.

The validation loss is the same ``E`` with ``B`` the whole validation set (a mean per sample, so it
is comparable across batch sizes); the training loss of an epoch is the mean of its batches' ``E``
weighted by their sizes, each taken before its step (the usual running figure, not a second pass).

**The loop** is written against a *learner*, anything with

    train_step(x, labels) -> float          one optimiser step on a batch; the batch's E before it
    evaluate(x, labels) -> (loss, accuracy) the mean E and the share of argmax hits, no step
    state_dict() / load_state_dict(state)   the weights, for keeping and restoring the best

so that :mod:`crosscheck.train` drives the reference and its torch twin through the very same
schedule. Each epoch's batches are one permutation of the training indices, drawn from the loop's
generator, cut into consecutive slices of ``batch_size`` (the last one shorter if it does not
divide, as torch's ``DataLoader(shuffle=True)`` with ``drop_last=False``).

**Early stopping**: after each epoch, the validation loss *improves* if it is below the best so
far by more than ``min_delta`` (NaN never improves); after ``patience`` epochs in a row without an
improvement, training stops. At the end, stopped or not, the weights of the best epoch are loaded
back (the first epoch counts as an improvement over nothing, so there is always one unless every
validation loss was NaN).

**A learning-rate schedule** (optional, off by default): a scheduler whose ``step`` is handed each
epoch's validation loss, such as :class:`reference.training.optim.ReduceLROnPlateau`. It changes
the optimiser's rate for the epochs that follow; early stopping is unaffected by it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import checks
from .. import functional as F
from .. import nn

LOSSES = ("cross_entropy", "mse")


def one_hot(labels: np.ndarray, classes: int, dtype) -> np.ndarray:
    """``t[n, c] = 1`` if ``labels[n] == c`` else 0, shape ``(N, classes)``; labels must be
    integers in ``[0, classes)`` (a ``ValueError`` naming the first one that is not)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be a 1-d integer array, got labels.dtype={labels.dtype}, "
                        f"labels.shape={labels.shape}")
    outside = (labels < 0) | (labels >= classes)
    if outside.any():
        raise ValueError(f"one_hot: labels must be class indices in [0, {classes}), got "
                         f"labels[{int(np.argmax(outside))}]={int(labels[np.argmax(outside)])}")
    t = np.zeros((len(labels), classes), dtype=dtype)
    t[np.arange(len(labels)), labels] = 1
    return t


class HalfSquaredError(nn.Module):
    """``E = (1/B)·Σ_n ½‖t_n − y_n‖²`` over a batch of outputs ``(B, K)`` and int64 labels, with
    ``t_n`` the one-hot of label ``n``: ``MSELoss(reduction='sum')`` over ``2B``. ``backward(g=1.0)``
    hands ``MSELoss.backward`` the upstream ``g/(2B)``, so ``∂E/∂y = g·(y − t)/B``."""

    def __init__(self, classes: int):
        super().__init__()
        self.classes = classes
        self.sum_of_squares = nn.MSELoss(reduction="sum")

    def forward(self, input: np.ndarray, labels: np.ndarray) -> np.ndarray:
        target = one_hot(labels, self.classes, input.dtype)
        self._saved_for_backward = (input.dtype, 2 * len(input))
        return np.asarray(self.sum_of_squares(input, target) / (2 * len(input)), dtype=input.dtype)

    def backward(self, grad_output=1.0) -> np.ndarray:
        dtype, divisor = self._saved()
        return self.sum_of_squares.backward(np.asarray(grad_output / divisor, dtype=dtype))


def criterion(loss: str, classes: int) -> nn.Module:
    """The batch loss ``E`` named ``loss`` (see the module docstring)."""
    if loss not in LOSSES:
        raise ValueError(f"criterion: loss must be one of {LOSSES}, got loss={loss!r}")
    return nn.CrossEntropyLoss() if loss == "cross_entropy" else HalfSquaredError(classes)


def summed_loss(loss: str, output: np.ndarray, labels: np.ndarray) -> float:
    """``Σ_n`` of the per-sample loss (``−log softmax(y_n)[c_n]`` or ``½‖t_n − y_n‖²``)."""
    if loss == "cross_entropy":
        return float(F.cross_entropy(output, labels, reduction="sum"))
    target = one_hot(labels, output.shape[-1], output.dtype)
    return float(F.mse_loss(output, target, reduction="sum")) / 2


class Learner:
    """The reference learner: ``net`` (a ``reference.nn`` module giving ``(N, K)`` scores), its
    optimiser (``reference.training.optim.SGD``) and the loss named ``loss``. ``eval_batch`` bounds how many
    samples :meth:`evaluate` feeds through the network at once (memory, not results)."""

    def __init__(self, net: nn.Module, optimiser, loss: str = "cross_entropy", classes: int = 10,
                 eval_batch: int = 1000):
        self.net, self.optimiser, self.loss, self.classes = net, optimiser, loss, classes
        self.criterion = criterion(loss, classes)
        self.eval_batch = eval_batch

    def gradients(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward, ``E``, ``zero_grad``, backward: every parameter's ``.grad`` is ``∂E/∂θ``; returns ``E``."""
        loss = self.criterion(self.net(x), labels)
        self.optimiser.zero_grad()
        self.net.backward(self.criterion.backward())
        return float(loss)

    def train_step(self, x: np.ndarray, labels: np.ndarray) -> float:
        """:meth:`gradients`, then one optimiser step; returns ``E`` (before the step)."""
        loss = self.gradients(x, labels)
        self.optimiser.step()
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's outputs on ``x``, ``eval_batch`` samples at a time."""
        parts = [self.net(x[i:i + self.eval_batch]) for i in range(0, len(x), self.eval_batch)]
        return np.concatenate(parts) if parts else np.zeros((0, self.classes), x.dtype)

    def evaluate(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        """``(mean per-sample loss, accuracy)`` on ``(x, labels)``; NaN for an empty set."""
        if not len(x):
            return math.nan, math.nan
        output = self.predict(x)
        return summed_loss(self.loss, output, labels) / len(x), float(np.mean(output.argmax(axis=1) == labels))

    def state_dict(self) -> dict:
        return self.net.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state)


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's schedule: ``rng.permutation(n)`` cut into slices of ``batch_size`` (the last
    one shorter when ``batch_size`` does not divide ``n``)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


class EarlyStopping:
    """Stops after ``patience`` epochs in a row whose validation loss is not below the best by
    more than ``min_delta`` (``patience=None``: never stops; the best epoch is still tracked)."""

    def __init__(self, patience: int | None = 5, min_delta: float = 0.0):
        if patience is not None and checks.int_arg("EarlyStopping", "patience", patience) < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive int or None, got patience={patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be a non-negative number, got min_delta={min_delta!r}")
        self.patience, self.min_delta = patience, float(min_delta)
        self.best, self.best_epoch, self.waited = math.inf, None, 0

    def update(self, epoch: int, val_loss: float) -> bool:
        """Record epoch ``epoch``'s validation loss; True if it is the new best."""
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.waited = float(val_loss), epoch, 0
            return True
        self.waited += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.waited >= self.patience


@dataclass
class Epoch:
    """One epoch's figures."""

    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    steps: int
    improved: bool


@dataclass
class History:
    """What :func:`fit` did: the epochs in order, the best epoch (whose weights the learner now
    holds; None if no validation loss was a number), and whether early stopping ended it."""

    epochs: list[Epoch] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def steps(self) -> int:
        return sum(e.steps for e in self.epochs)


def fit(learner, train, val, *, epochs: int, batch_size: int, rng: np.random.Generator,
        patience: int | None = 5, min_delta: float = 0.0,
        on_step: Callable[[int, int, int, float], None] | None = None,
        on_epoch: Callable[[Epoch], None] | None = None,
        augment: Callable[[np.ndarray], np.ndarray] | None = None,
        scheduler=None) -> History:
    """Train ``learner`` on ``train`` (``.x``, ``.y``), validating on ``val`` after every epoch;
    see the module docstring. ``rng`` draws the batch order (it is advanced). ``on_step(epoch,
    step, steps, loss)`` is called after every step and ``on_epoch(Epoch)`` after every epoch,
    both 1-based. ``augment``, when given, maps each training batch's images to the ones the
    step trains on (validation never sees it). ``scheduler``, when given, has its
    ``step(val_loss)`` called after every epoch's validation, before ``on_epoch``, as torch's
    ``ReduceLROnPlateau`` is (:class:`reference.training.optim.ReduceLROnPlateau`). Returns the
    :class:`History`; the learner ends with the best epoch's weights."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if checks.int_arg("fit", name, value) < 1:
            raise ValueError(f"fit: {name} must be a positive int, got {name}={value!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"fit: rng must be a numpy.random.Generator, got rng={rng!r}")
    if not len(train):
        raise ValueError("fit: the training set is empty")
    stopper = EarlyStopping(patience, min_delta)
    history, best_state = History(), None
    for epoch in range(1, epochs + 1):
        batches = epoch_batches(len(train), batch_size, rng)
        total = 0.0
        for step, index in enumerate(batches, start=1):
            images = train.x[index] if augment is None else augment(train.x[index])
            loss = learner.train_step(images, train.y[index])
            total += loss * len(index)
            if on_step is not None:
                on_step(epoch, step, len(batches), loss)
        val_loss, val_accuracy = learner.evaluate(val.x, val.y)
        improved = stopper.update(epoch, val_loss)
        if improved:
            best_state = learner.state_dict()
        if scheduler is not None:
            scheduler.step(val_loss)
        record = Epoch(epoch, total / len(train), val_loss, val_accuracy, len(batches), improved)
        history.epochs.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if stopper.should_stop:
            history.stopped_early = epoch < epochs
            break
    if best_state is not None:
        learner.load_state_dict(best_state)
    history.best_epoch = stopper.best_epoch
    return history
