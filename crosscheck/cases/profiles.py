"""The profiles: which cases a run checks, from the tables of every family of ops.

Each profile is the named cases of every table plus the grids drawn at the profile's size; the
grids are drawn from a fixed seed, so a profile is the same list of ids on every machine, and
the run's ``--seed`` changes only the data.
"""
from __future__ import annotations

from .adaptive_table import adaptive_grid, invalid_adaptive_cases, named_adaptive_cases
from .case import Case
from .conv_table import conv_grid, conv_transpose_grid, invalid_cases, named_cases, named_transpose_cases, pad_grid
from .dense_table import dense_grid, invalid_dense_cases, named_dense_cases
from .pool_table import invalid_pool_cases, named_pool_cases, pool_grid
from .unfold_table import invalid_unfold_cases, named_unfold_cases, unfold_grid

DTYPES = ("float64", "float32")
PROFILES = ("quick", "default", "full")
# conv configurations drawn per spatial rank, and pad configurations, for each profile
GRID_SIZES = {"quick": (12, 10), "default": (330, 120), "full": (2000, 600)}
# pooling calls per kind (max, average, and each adaptive) and spatial rank, and dense/activation/loss calls, for each profile
LAYER_SIZES = {"quick": (4, 24), "default": (50, 240), "full": (300, 1500)}


def every_named_case() -> list[Case]:
    """The named cases of every table: calls torch accepts, each pinning one behaviour."""
    return (named_cases() + named_transpose_cases() + named_unfold_cases() + named_pool_cases() + named_adaptive_cases()
            + named_dense_cases())


def every_invalid_case() -> list[Case]:
    """The cases of every table written to be rejected, each with the argument its rejection names."""
    return (invalid_cases() + invalid_unfold_cases() + invalid_pool_cases() + invalid_adaptive_cases()
            + invalid_dense_cases())


def cases_for(profile: str = "default", ops=None, dtypes=DTYPES) -> list[Case]:
    """Every case of ``profile``, for the given ops (all when None), in each dtype."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got profile={profile!r}")
    conv_count, pad_count = GRID_SIZES[profile]
    pool_count, dense_count = LAYER_SIZES[profile]
    base = every_named_case() + every_invalid_case() + pad_grid(pad_count) + dense_grid(dense_count)
    base += unfold_grid("unfold", pool_count) + unfold_grid("fold", pool_count)
    for dims in (1, 2, 3):
        base += conv_grid(dims, conv_count) + conv_transpose_grid(dims, conv_count // 3)
        base += pool_grid("max", dims, pool_count) + pool_grid("avg", dims, pool_count)
        base += adaptive_grid("max", dims, pool_count) + adaptive_grid("avg", dims, pool_count)
    unique = {}
    for case in base:  # a grid may draw a named case again; the named one stays
        unique.setdefault(case.id, case)
    base = list(unique.values())
    if ops is not None:
        base = [case for case in base if case.op in ops]
    return [case.with_dtype(dtype) for case in base for dtype in dtypes]
