"""A training run of the reference held against its torch twin, step by step.

:class:`TorchLearner` is the torch side of :mod:`reference.training.fit`'s learner protocol
(``torch.optim.SGD`` on the twin, the same losses). :class:`Lockstep` drives the reference learner
and the torch learner as one learner, so ``reference.training.fit.fit`` runs both through the very same
schedule (each batch is the same index slice of the same permutation). After every step it
compares the two losses and every parameter, entry by entry, against the bound below; before
every step it checks the reference's gradients on its own current parameters against torch in
float64 (:func:`crosscheck.networks.compare.compare_network`), which also gives the bound its per-step input.

The deviation bound
-------------------
Both sides start from the same parameters and see the same batches, so their parameters differ
only by what rounding did along the way. :class:`crosscheck.networks.sgd_bound.SGDDeviationBound` carries
a bound ``E`` on ``|p_ref − p_torch|`` through every step of SGD, entrywise, given a bound ``G`` on
the difference of each step's two gradients (derivation in :mod:`crosscheck.networks.sgd_bound`). Here
``G`` is the network's proven bound :mod:`crosscheck.networks.bounds` at the reference's current
parameters, ``2γ(D)·A`` per gradient entry (``compare_network``'s tolerance for ``grad_<key>``),
which covers each side's rounding of the forward and backward pass.

What the bound assumes: the *exact* step does not amplify a deviation already there, i.e. the
gradients at ``p_ref`` and at ``p_torch`` differ only by rounding, not by ``H·(p_ref − p_torch)``
(``H`` the Hessian of the batch loss). That is the case while ``E`` is far below the scale on
which the loss bends, and it fails for a chaotic run: gradient descent on a ReLU network has
directions of negative curvature, and a ReLU or max-pool decision within rounding of its
boundary (counted per step by ``compare_network``) can go one way on one side and the other way
on the other, after which the two trajectories separate like any two nearby trajectories of a
chaotic map. The bound therefore grows linearly with the number of steps (each step adds at
most ``lr·Δu + 2γ(2)·(|p| + lr|u|)``), and a deviation beyond it is either an error in the
reference or the trajectory's own amplification of rounding; the report gives the step, the
parameter and the number of decisions within rounding of their boundary, so the two can be told
apart (that count includes exact ties, which both sides break alike: on the digits' blank
background a conv layer outputs its bias exactly, so the first max pool sees hundreds of equal
windows in every batch). In float64 ``G`` is ~1e-9 of the gradient and the margin is orders of magnitude; in
float32 ``G`` is of the order of the gradient itself for the first layer (the worst-case
bound's ``D`` is in the thousands there), so the float32 check is a weak one and the float64 run
is the proof.

The loss of each step is compared within ``compare_network``'s loss tolerance at the reference's
parameters plus the first-order change ``Σ |∂E/∂p|·E`` that the parameter deviation can cause.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from reference.nn import CrossEntropyLoss, MSELoss
from reference.training.fit import one_hot

from .compare import compare_network
from .sgd_bound import SGDDeviationBound, gamma
from .twin import torch_twin


class TorchLearner:
    """The torch twin of a :class:`reference.training.fit.Learner`: the same network (``torch_twin``), the
    same loss and ``torch.optim.SGD`` with the reference optimiser's settings."""

    def __init__(self, ref_learner):
        opt = ref_learner.optimiser
        self.net = torch_twin(ref_learner.net)
        self.loss, self.classes, self.eval_batch = ref_learner.loss, ref_learner.classes, ref_learner.eval_batch
        self.optimiser = torch.optim.SGD(self.net.parameters(), lr=opt.lr, momentum=opt.momentum,
                                         dampening=opt.dampening, weight_decay=opt.weight_decay,
                                         nesterov=opt.nesterov, maximize=opt.maximize)

    def _summed(self, output, labels):
        if self.loss == "cross_entropy":
            return torch.nn.functional.cross_entropy(output, labels, reduction="sum")
        target = torch.nn.functional.one_hot(labels, self.classes).to(output.dtype)
        return torch.nn.functional.mse_loss(output, target, reduction="sum") / 2

    def criterion(self, output, labels):
        """The batch loss E of :mod:`reference.training.fit`: the mean cross-entropy, or Σ‖t − y‖² / (2B)."""
        if self.loss == "cross_entropy":
            return torch.nn.functional.cross_entropy(output, labels)
        target = torch.nn.functional.one_hot(labels, self.classes).to(output.dtype)
        return torch.nn.functional.mse_loss(output, target, reduction="sum") / (2 * len(labels))

    def train_step(self, x, labels) -> float:
        self.optimiser.zero_grad()
        loss = self.criterion(self.net(torch.from_numpy(x)), torch.from_numpy(labels))
        loss.backward()
        self.optimiser.step()
        return loss.item()

    def evaluate(self, x, labels):
        if not len(x):
            return math.nan, math.nan
        total, hits = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(x), self.eval_batch):
                out = self.net(torch.from_numpy(x[i:i + self.eval_batch]))
                y = torch.from_numpy(labels[i:i + self.eval_batch])
                total += self._summed(out, y).item()
                hits += int((out.argmax(dim=1) == y).sum())
        return total / len(x), hits / len(x)

    def state_dict(self):
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def load_state_dict(self, state):
        self.net.load_state_dict(state)

    def parameters(self) -> dict:
        return {k: v.detach().numpy() for k, v in self.net.named_parameters()}


def _local_losses(learner, labels, dtype):
    """The loss pair, target and scale with which ``compare_network`` checks one step's gradients.

    Cross-entropy: the training loss itself. Squared error: ``E = S/(2B)`` with
    ``S = Σ‖t − y‖²`` (``MSELoss(reduction='sum')`` on one-hot targets), which the network check
    bounds as the polynomial it is; both sides compute ``E``'s gradients as ``S``'s with the
    upstream ``c = fl(1/(2B))`` in place of 1, the same constant on both sides, so every bound of
    ``S`` times ``c`` bounds ``E`` (the loss itself takes one more rounding, the division)."""
    if learner.loss == "cross_entropy":
        return CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), labels, 1.0
    target = one_hot(labels, learner.classes, dtype)
    return MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum"), target, float(dtype.type(1 / (2 * len(labels))))


@dataclass
class StepRecord:
    """One step: both losses and the loss's bound, the largest parameter deviation (absolute, and
    over its bound, with the parameters they occur in), the decisions within rounding of their
    boundary and the verdict of the gradient check on the reference's own parameters."""

    step: int
    epoch: int
    ref_loss: float
    torch_loss: float
    loss_tolerance: float
    deviation: float
    deviation_parameter: str
    ratio: float
    ratio_parameter: str
    ambiguous: int
    local: str


@dataclass
class Lockstep:
    """The reference learner and its torch twin as one learner for :func:`reference.training.fit.fit`
    (the reference's figures drive early stopping; torch's are recorded beside them in
    ``torch_epochs`` as ``(train_loss, val_loss, val_accuracy)``)."""

    ref: object
    steps: list = field(default_factory=list)
    torch_epochs: list = field(default_factory=list)

    def __post_init__(self):
        opt = self.ref.optimiser
        self.twin = TorchLearner(self.ref)
        self.names = [name for name, _ in self.ref.net.named_parameters()]
        self.dtype = next(iter(self.ref.net.parameters())).data.dtype
        self.bound = SGDDeviationBound(self.names, self.dtype, lr=opt.lr, momentum=opt.momentum,
                                       dampening=opt.dampening, weight_decay=opt.weight_decay, nesterov=opt.nesterov)
        self.scratch = torch_twin(self.ref.net)  # compare_network loads the reference's parameters into it
        self._epoch, self._torch_total, self._samples = 1, 0.0, 0

    def train_step(self, x, labels) -> float:
        ref_loss_module, torch_loss_module, target, scale = _local_losses(self.ref, labels, self.dtype)
        outcome = compare_network(self.ref.net, self.scratch, ref_loss_module, torch_loss_module, x, target)
        ref_loss = self.ref.gradients(x, labels)
        params = dict(self.ref.net.named_parameters())
        buffers = dict(zip(self.names, self.ref.optimiser.momentum_buffers))
        before = {name: (p.data.copy(), p.grad.copy(), buffers[name]) for name, p in params.items()}
        self.ref.optimiser.step()
        torch_loss = self.twin.train_step(x, labels)
        theirs = self.twin.parameters()

        drift = 0.0  # first order: the loss at p_torch is off the loss at p_ref by at most Σ|∂E/∂p|·E
        deviation, ratio = (0.0, ""), (0.0, "")
        for name, param in params.items():
            p, g, b = before[name]
            drift += float(np.sum(np.abs(g) * self.bound.E[name]))
            E = self.bound.step(name, p, g, b, scale * outcome.bounds["grad_" + name][1])
            dev = np.abs(param.data.astype(np.float64) - theirs[name].astype(np.float64))
            over = np.divide(dev, E, out=np.where(dev > 0, np.inf, 0.0), where=E > 0)
            if dev.size and float(dev.max()) >= deviation[0]:
                deviation = (float(dev.max()), name)
            if dev.size and float(over.max()) >= ratio[0]:
                ratio = (float(over.max()), name)
        loss_tol = scale * float(np.max(outcome.bounds["loss"][1])) + drift
        if scale != 1.0:
            loss_tol += 2 * gamma(1, self.dtype) * abs(ref_loss)
        local = "passed" if outcome.status == "passed" else str(outcome)
        self.steps.append(StepRecord(len(self.steps) + 1, self._epoch, ref_loss, torch_loss, loss_tol,
                                     *deviation, *ratio, sum(outcome.ambiguous.values()), local))
        self._torch_total += torch_loss * len(labels)
        self._samples += len(labels)
        return ref_loss

    def evaluate(self, x, labels):
        result = self.ref.evaluate(x, labels)
        self.torch_epochs.append((self._torch_total / max(self._samples, 1),) + tuple(self.twin.evaluate(x, labels)))
        self._epoch, self._torch_total, self._samples = self._epoch + 1, 0.0, 0
        return result

    def state_dict(self):
        return self.ref.state_dict(), self.twin.state_dict()

    def load_state_dict(self, state):
        self.ref.load_state_dict(state[0])
        self.twin.load_state_dict(state[1])

    def failures(self) -> list[str]:
        """Every step whose parameters or loss left the bound, or whose gradient check failed."""
        found = []
        for s in self.steps:
            where = f"step {s.step} (epoch {s.epoch})"
            if s.ratio > 1:
                found.append(f"{where}: {s.ratio_parameter} deviates from torch's by {s.ratio:.3g} times its bound "
                             f"({s.ambiguous} decisions within rounding of their boundary)")
            if not abs(s.ref_loss - s.torch_loss) <= s.loss_tolerance:
                found.append(f"{where}: loss {s.ref_loss!r}, torch {s.torch_loss!r}, tolerance {s.loss_tolerance:.3e}")
            if s.local != "passed":
                found.append(f"{where}: gradient check on the reference's parameters: {s.local}")
        return found
