"""What a check returns: an :class:`Outcome` per case, holding the first :class:`Failure`."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..cases import Case

# passed and failed; skipped (op not implemented, or a check switched off); unsupported (outside
# the declared support, or NotImplementedError); crashed and timed_out (the process running the
# case died or ran past its time limit, see crosscheck.gate.isolation)
STATUSES = ("passed", "failed", "skipped", "unsupported", "crashed", "timed_out")


@dataclass
class Failure:
    quantity: str
    reason: str
    max_error: float = float("nan")
    index: tuple | None = None
    tolerance: float = float("nan")
    actual: float = float("nan")
    expected: float = float("nan")


@dataclass
class Outcome:
    case: Case
    status: str  # one of STATUSES
    errors: dict = field(default_factory=dict)  # quantity -> largest absolute error
    ratios: dict = field(default_factory=dict)  # quantity -> largest error / tolerance
    failure: Failure | None = None
    note: str = ""  # why skipped or unsupported; what torch said when it rejected

    @property
    def rejected(self) -> bool:
        return self.note.startswith("torch rejects")


class Violation(Exception):
    """Raised by a framework adapter that finds the contract broken in its own terms (an output
    that is not a tensor, a gradient torch.autograd cannot take, an input changed on a device):
    the case fails on ``quantity`` with ``reason``."""

    def __init__(self, quantity: str, reason: str):
        super().__init__(f"{quantity}: {reason}")
        self.quantity, self.reason = quantity, reason

    def failure(self) -> Failure:
        return Failure(self.quantity, self.reason)


class Unsupported(Exception):
    """The implementation raised NotImplementedError for the call: the case is unsupported."""
