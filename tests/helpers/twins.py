"""Helpers shared by the module-twin tests: dimensions, dtypes, inputs and the twin verdict.

The tests in ``tests/reference/nn/`` and ``tests/crosscheck/networks/test_modules.py`` build a
reference.nn module and its torch.nn twin and compare them with
:func:`crosscheck.networks.compare.compare_module`.
"""
import warnings

import numpy as np
import pytest
import torch


DIMS = (1, 2, 3)
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}
SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 6, 4)}


def per_axis(value, dims):
    """Configurations are written for 3 axes; a 1-d or 2-d module takes the leading ones."""
    return tuple(value[:dims]) if isinstance(value, tuple) else value


DTYPES = tuple(TORCH_DTYPES)


def random_input(shape, dtype, seed=0, scale=1.0):
    return np.asarray(scale * np.random.default_rng(seed).standard_normal(shape), dtype=dtype)


def input_shape(batch, channels, dims, spatial=None):
    return (() if batch is None else (batch,)) + (channels,) + (SPATIAL[dims] if spatial is None else spatial[:dims])


def assert_twin(result, expected, rejected=False):
    assert result.status == "passed", str(result)
    assert result.rejected == rejected, str(result)
    if not rejected:
        assert set(result.errors) == expected, str(result)
        assert result.ambiguous == {}, str(result)


def torch_stage(make, x):
    """Where torch refuses: 'init', 'forward' or 'ok'."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = make()
    except Exception:  # torch refuses with ValueError, TypeError or RuntimeError
        return "init"
    try:
        with torch.no_grad():
            module(x)
    except Exception:
        return "forward"
    return "ok"


def check_constructor_parity(make_torch, make_ref, kwargs, name, stage, x):
    assert torch_stage(lambda: make_torch(**kwargs), torch.from_numpy(x)) == stage, "torch no longer behaves as this table says"
    if stage == "ok":
        assert make_ref(**kwargs)(x) is not None
        return
    with pytest.raises((ValueError, TypeError)) as info:
        make_ref(**kwargs)
    assert name in str(info.value)
    assert repr(kwargs[name]) in str(info.value) or str(kwargs[name]) in str(info.value)
