"""Layer 1, what to call, for any implementation under test: the :class:`Case` type and its
data (:mod:`.case`), the builders that name cases (:mod:`.builders`), the tables of named cases
and grids for every family of ops (:mod:`.conv_table`, :mod:`.pool_table`, :mod:`.dense_table`), the profiles that
gather them (:func:`cases_for`), and the hypothesis strategies that search between them
(:mod:`.strategies`, imported on its own: it needs hypothesis)."""
from .case import Case
from .profiles import DTYPES, PROFILES, cases_for

__all__ = ["Case", "DTYPES", "PROFILES", "cases_for"]
