"""conv-crosscheck's harness: hold an implementation of the contract against PyTorch.

``run_case(impl, case, seed)`` is the one comparison routine; ``cases_for(profile)`` lists the
cases; ``load_impl(name)`` imports the implementation under test. The CLI
(``python -m crosscheck``) and the pytest suite (``crosscheck.suite``) are both built on these.
"""
import importlib

from .cases import Case
from .compare import Failure, Outcome, run_case
from .table import DTYPES, PROFILES, cases_for

DEFAULT_IMPL = "reference.functional"

__all__ = ["Case", "DEFAULT_IMPL", "DTYPES", "Failure", "Outcome", "PROFILES", "cases_for", "load_impl", "run_case"]


def load_impl(name: str):
    """Import the implementation under test: any module that follows the contract."""
    return importlib.import_module(name)
