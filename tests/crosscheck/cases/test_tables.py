"""The case table tests something: invalid cases are ones torch rejects, named cases are
ones torch accepts, ids are unique and readable, and the grid is anisotropic."""
import warnings

import numpy as np
import pytest
import torch

from crosscheck.cases import cases_for
from crosscheck.cases.conv_table import conv_grid, named_cases
from crosscheck.cases.profiles import every_invalid_case, every_named_case
from crosscheck.oracle import torch_rejection


@pytest.mark.parametrize("case", every_invalid_case(), ids=lambda c: c.id)
def test_torch_rejects_every_invalid_case(case):
    for dtype in ("float64", "float32"):
        c = case.with_dtype(dtype)
        assert torch_rejection(c.op, c.arrays(0), c.kwargs) is not None, f"torch accepts {c.key}"


@pytest.mark.parametrize("case", every_named_case(), ids=lambda c: c.id)
def test_torch_accepts_every_named_case(case):
    assert torch_rejection(case.op, case.arrays(0), case.kwargs) is None


def test_profiles_are_sized_as_promised():
    quick, default = len(cases_for("quick")), len(cases_for("default"))
    assert quick < 1600  # "seconds": about 2 ms a case
    assert default >= 2000
    assert len(cases_for("full")) > 3 * default


def test_ids_are_unique_and_stable():
    keys = [c.key for c in cases_for("default")]
    assert len(keys) == len(set(keys))
    assert keys == [c.key for c in cases_for("default")]
    assert "conv2d-k3x2-s2x1-p1x0-d2x1-g2-x2x4x5x7-o6" in {c.id for c in named_cases()}


@pytest.mark.parametrize("dims", [2, 3])
def test_grid_is_mostly_anisotropic(dims):
    cases = conv_grid(dims, 200)
    uneven = [c for c in cases if len(set(c.shapes[1][2:])) > 1 or len(set(c.shapes[0][-dims:])) > 1]
    assert len(uneven) > 0.8 * len(cases)


def test_grid_covers_every_feature():
    cases = cases_for("default", ops=["conv1d", "conv2d", "conv3d"], dtypes=["float64"])
    grid = [c for c in cases if not c.invalid]
    seen = {
        "stride": any(c.kwargs["stride"] not in (1, (1,) * 3, (1, 1), (1,)) for c in grid),
        "dilation": any(c.kwargs["dilation"] != 1 for c in grid),
        "same": any(c.kwargs["padding"] == "same" for c in grid),
        "valid": any(c.kwargs["padding"] == "valid" for c in grid),
        "depthwise": any(c.kwargs["groups"] == c.shapes[0][-len(c.shapes[1]) + 1] > 1 for c in grid),
        "nobias": any(c.shapes[2] is None for c in grid),
        "empty batch": any(c.shapes[0][0] == 0 and len(c.shapes[0]) == len(c.shapes[1]) for c in grid),
        "unbatched": any(len(c.shapes[0]) == len(c.shapes[1]) - 1 for c in grid),
    }
    assert all(seen.values()), seen


def test_random_upstream_gradient_is_not_constant():
    case = named_cases()[1]
    grad = case.grad_output((2, 6, 3, 6), seed=0)
    assert np.unique(grad).size == grad.size
