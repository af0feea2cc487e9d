"""``python -m crosscheck.train``: the reference's training run held against torch, step by step.

The run is ``python -m reference.train``'s, with the same options: the same data, split, initial
weights and batch order. The torch twin (``torch.nn`` layers of the same kinds, loaded with the
reference's initial state dict) trains beside it with ``torch.optim.SGD``, on the same batches
in the same order (:class:`crosscheck.networks.trajectory.Lockstep`). After every step the two losses and
every parameter are compared against the deviation bound of :mod:`crosscheck.networks.trajectory`, which
grows with the number of steps; before every step the reference's gradients are checked against
torch in float64 on the reference's own parameters. Per epoch it prints the largest parameter
deviation, the largest share of the bound any entry used, and both sides' validation figures.

float64 is the default, and the proof: its bound is ~1e-9 of the gradients per step, so any
error of the reference larger than rounding shows. In float32 the worst-case network bound is of
the order of the gradient itself for the first layer (see :mod:`crosscheck.networks.trajectory`), so a
float32 run checks far less; and once a ReLU or max-pool decision within rounding of its
boundary goes one way on one side and the other way on the other, two float32 trajectories
separate far faster than rounding accumulates, and the margin shrinks (the README gives measured
runs).

Exit status: 0 every step within the bound; 1 a deviation, a loss or a gradient check outside it;
2 a usage error, data that cannot be read, or ``--plot`` without matplotlib.
"""
from __future__ import annotations

import importlib
import sys
import time

import torch

from reference.training import train as reference_train
from reference.training.fit import EarlyStopping

from ..oracle import use_one_torch_thread
from .trajectory import Lockstep

PROG = "python -m crosscheck.train"


def parser():
    p = reference_train.parser(PROG, __doc__.split("\n\n")[0])
    p.set_defaults(dtype="float64")
    p.add_argument("--plot", metavar="PNG", help="draw both loss curves, both validation curves and the "
                                                 "deviation against its bound (needs matplotlib)")
    p.add_argument("--max-failures", type=int, default=10, help="failures printed (all are counted)")
    return p


def _epoch_line(lock: Lockstep, record, first_step: int) -> str:
    steps = lock.steps[first_step:]
    deviation = max(steps, key=lambda s: s.deviation)
    share = max(steps, key=lambda s: s.ratio)
    loss = max(abs(s.ref_loss - s.torch_loss) for s in steps)
    loss_share = max(abs(s.ref_loss - s.torch_loss) / s.loss_tolerance for s in steps)
    torch_train, torch_val, torch_acc = lock.torch_epochs[record.epoch - 1]
    return (f"epoch {record.epoch:3d}  steps {steps[0].step}-{steps[-1].step}  largest |Δp| {deviation.deviation:.2e} "
            f"({deviation.deviation_parameter})  of bound {share.ratio:.1e} ({share.ratio_parameter})  "
            f"|Δloss| {loss:.1e} (of bound {loss_share:.1e})  val loss {record.val_loss:.6f} / {torch_val:.6f}  "
            f"val acc {100 * record.val_accuracy:.2f}% / {100 * torch_acc:.2f}%")


def torch_best_epoch(lock: Lockstep, config) -> int | None:
    """The epoch torch's own validation losses would have kept (the same early-stopping rule)."""
    stopper = EarlyStopping(config.patience, config.min_delta)
    for epoch, (_, val_loss, _) in enumerate(lock.torch_epochs, start=1):
        stopper.update(epoch, val_loss)
    return stopper.best_epoch


def plot(path: str, lock: Lockstep, history, title: str) -> None:
    """Draw :func:`figure` into ``path``."""
    import matplotlib.pyplot as plt

    fig = figure(lock, history, title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure(lock: Lockstep, history, title: str):
    """One figure: the training and validation losses of both sides per epoch, both validation
    accuracies, every step's largest deviation, and that deviation as a share of its bound (on
    an axis of its own: the bound is a share of 1, not a deviation)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [e.epoch for e in history.epochs]
    ref_train = [e.train_loss for e in history.epochs]
    ref_val = [e.val_loss for e in history.epochs]
    ref_acc = [100 * e.val_accuracy for e in history.epochs]
    torch_train, torch_val, torch_acc = (list(v) for v in zip(*lock.torch_epochs))
    fig, (ax_loss, ax_acc, ax_dev, ax_share) = plt.subplots(1, 4, figsize=(19, 4.3))
    ax_loss.plot(epochs, ref_train, "-", color="C0", label="training, reference")
    ax_loss.plot(epochs, torch_train, "o", color="C0", mfc="none", ms=5, label="training, torch")
    ax_loss.plot(epochs, ref_val, "-", color="C1", label="validation, reference")
    ax_loss.plot(epochs, torch_val, "s", color="C1", mfc="none", ms=5, label="validation, torch")
    if history.best_epoch:
        for ax in (ax_loss, ax_acc):
            ax.axvline(history.best_epoch, color="grey", lw=0.8, ls=":")
    ax_loss.set(yscale="log", xlabel="epoch", ylabel="loss (mean per sample)", title="losses")
    ax_loss.legend(fontsize=8)
    ax_acc.plot(epochs, ref_acc, "-", color="C2", label="reference")
    ax_acc.plot(epochs, [100 * a for a in torch_acc], "o", color="C2", mfc="none", ms=5, label="torch")
    ax_acc.set(xlabel="epoch", ylabel="%", title="validation accuracy (dotted: best epoch, restored)")
    ax_acc.legend(fontsize=8)
    steps = [s.step for s in lock.steps]
    ax_dev.plot(steps, [s.deviation for s in lock.steps], lw=0.8, color="C3")
    ax_dev.set(yscale="log", xlabel="step", ylabel="largest |p_ref − p_torch|",
               title="parameter deviation after every step")
    ax_share.plot(steps, [s.ratio for s in lock.steps], lw=0.8, color="C4", label="largest entry's share")
    ax_share.axhline(1.0, color="black", lw=0.8, ls="--", label="the bound (share 1)")
    ax_share.set(yscale="log", xlabel="step", ylabel="|p_ref − p_torch| / its bound",
                 title="the deviation as a share of its bound")
    ax_share.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    config = reference_train.config_from(args)
    reference_train.check(config, p)
    if args.plot:
        try:
            importlib.import_module("matplotlib")
        except ImportError:
            print(f"{PROG}: --plot needs matplotlib: pip install .[figures]", file=sys.stderr)
            return 2
    use_one_torch_thread()
    try:
        data = reference_train.load_dataset(config)
    except (ImportError, OSError, ValueError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    lock = Lockstep(reference_train.build(config, data))
    print(reference_train.describe(config, data))
    print(f"against torch {torch.__version__}: the same initial weights and batches; after every step, "
          f"the loss and every parameter within the deviation bound")
    show = sys.stderr.isatty() if args.progress is None else args.progress
    bar = reference_train.ProgressBar(config.epochs, sys.stderr) if show else None
    first = 0
    start = time.perf_counter()

    def on_epoch(record):
        nonlocal first
        if bar is not None:
            bar.clear()
        print(_epoch_line(lock, record, first), flush=True)
        first = len(lock.steps)

    history = reference_train.run(config, lock, data, on_step=bar, on_epoch=on_epoch)
    seconds = time.perf_counter() - start
    ref_acc = lock.ref.evaluate(data.test.x, data.test.y)[1]
    torch_acc = lock.twin.evaluate(data.test.x, data.test.y)[1]
    theirs = torch_best_epoch(lock, config)
    agree = "the same" if theirs == history.best_epoch else f"epoch {theirs}: a different one"
    print(f"{history.steps} steps, {len(history.epochs)} epochs in {seconds:.1f} s; kept epoch {history.best_epoch} "
          f"(torch's own validation losses pick {agree}); test accuracy {100 * ref_acc:.2f}% reference, "
          f"{100 * torch_acc:.2f}% torch")
    worst = max(lock.steps, key=lambda s: s.ratio)
    print(f"largest deviation {max(s.deviation for s in lock.steps):.3e}; largest share of the bound "
          f"{worst.ratio:.3e} ({worst.ratio_parameter}, step {worst.step})")
    if args.plot:
        title = (f"LeNet on {data.name}, {config.dtype}, seed {config.seed}: reference (NumPy) and torch from the same "
                 f"initial weights on the same batches")
        plot(args.plot, lock, history, title)
        print(f"figure written to {args.plot}")
    failures = lock.failures()
    for line in failures[:args.max_failures]:
        print("FAILED " + line)
    if failures:
        print(f"{len(failures)} failures in {history.steps} steps")
        return 1
    print("every step within the bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
