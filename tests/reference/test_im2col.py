"""Tests of reference/im2col.py: the tiling of the column matrices.
"""
import re

import pytest

from crosscheck import cases_for
from reference import im2col
from tests.helpers.calls import agrees_with_torch


CONV_CASES = [c for c in cases_for("quick", dtypes=["float64"]) if re.match(r"^conv(_transpose)?[123]d$", c.op)]


# every tile size in the layout the cost rule picks; every layout at the budget that makes chunks
# (the hardest tiling: each tile one row, each chunk one channel and one first-axis tap)
TILINGS = [(1, None), (600, None), (4000, None), (1, "dense"), (1, "gather"), (1, "flat"), (600, "gather")]
BUDGETS = {1: "chunks", 600: "few-rows", 4000: "few-samples"}


@pytest.mark.parametrize("tile_bytes, layout", TILINGS, ids=[f"{BUDGETS[b]}-{layout or 'by-cost'}" for b, layout in TILINGS])
@pytest.mark.parametrize("case", CONV_CASES, ids=[c.key for c in CONV_CASES])
def test_convolutions_agree_with_torch_at_any_tile_size(case, tile_bytes, layout, monkeypatch):
    """Guards im2col tiling (one row, a few rows, a few samples per tile) in the convolutions' forward and backward, against torch.

    Kills the mutants of the tiling in ``reference.im2col`` and ``reference.conv``
    (``Im2col.tiles``, ``_index``, ``positions``, ``matrix``, ``laid_out``; ``_input_grad_col2im``'s
    sample steps; ``grad_w += ...`` → ``grad_w = ...`` in ``weight_grad`` and
    ``_backward_transposed``): an im2col is cut into tiles of about ``TILE_BYTES``, rows of one sample when a sample does not
    fit, and the tables' inputs are all far below the real 4 MiB, so every product is one tile.
    Shrinking the budget runs the same cases through one row per tile, a few rows per tile
    and a few samples per tile, against torch. At 1 byte even one output row is over budget, so
    every tile's columns are cut into chunks of one channel and one tap of the first kernel axis
    (``Im2col.chunks``, ``rows``, ``add_rows``), whose products are summed. Each case runs in
    every layout (``flat`` only where every stride is 1, else the rule's choice), not just the
    one the cost rule picks for its shapes."""
    monkeypatch.setattr(im2col, "TILE_BYTES", tile_bytes)
    monkeypatch.setattr(im2col, "LAYOUT", layout)
    agrees_with_torch(case)
