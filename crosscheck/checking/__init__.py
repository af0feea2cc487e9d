"""Layer 2, how agreement is decided, for any implementation under test: the tolerance
policy (:mod:`.tolerance`), each op's entrywise error bound (:mod:`.bounds`, ``BOUNDS``), and
the one comparison routine (:func:`.compare.run_case`) with what it returns (:class:`Failure`,
:class:`Outcome`)."""
from .compare import run_case
from .outcome import Failure, Outcome

__all__ = ["Failure", "Outcome", "run_case"]
