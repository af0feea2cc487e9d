"""What a check returns: an :class:`Outcome` per case, holding the first :class:`Failure`."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..cases import Case


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
    status: str  # passed, failed or skipped
    errors: dict = field(default_factory=dict)  # quantity -> largest absolute error
    ratios: dict = field(default_factory=dict)  # quantity -> largest error / tolerance
    failure: Failure | None = None
    note: str = ""  # why skipped; what torch said when it rejected

    @property
    def rejected(self) -> bool:
        return self.note.startswith("torch rejects")
