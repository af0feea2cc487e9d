"""Layer 2, how agreement is decided, for any implementation under test: the tolerance
policy (:mod:`.tolerance`), each op's entrywise error bound (:mod:`.bounds`, ``BOUNDS``), what
is checked and how much of it (:mod:`.subject`: :class:`Subject`, :class:`Checks`,
:class:`Support`), and the one comparison routine (:func:`.compare.run_case`) with what it
returns (:class:`Failure`, :class:`Outcome`)."""
from .compare import run_case
from .outcome import STATUSES, Failure, Outcome, Violation
from .subject import REJECTIONS, Checks, Subject, Support, as_subject

__all__ = ["REJECTIONS", "STATUSES", "Checks", "Failure", "Outcome", "Subject", "Support", "Violation", "as_subject", "run_case"]
