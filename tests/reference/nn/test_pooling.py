"""reference.nn.pooling against torch.nn: MaxPool1d/2d/3d and AvgPool1d/2d/3d.

Twins under the layer-by-layer bound of :mod:`crosscheck.networks.bounds`, returned indices,
defaults and constructor refusals.
"""
import numpy as np
import pytest
import torch

from crosscheck.networks.compare import compare_module
from reference import nn
from tests.helpers.twins import (
    DIMS,
    DTYPES,
    assert_twin,
    check_constructor_parity,
    input_shape,
    per_axis,
    random_input,
)


# (id, kernel (3 axes), keyword arguments (3 axes), batch); the input is (batch, 3, *SPATIAL)
MAX_CONFIGS = [
    ("kernel", (3, 2, 2), {}, 2),
    ("stride-padding", (3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 1, 1)), 2),
    ("dilation-ceil", (2, 3, 2), dict(stride=2, dilation=(2, 1, 2), ceil_mode=True), 1),
    ("overlapping", (3, 3, 2), dict(stride=1, padding=1), 2),
    ("indices", (2, 2, 2), dict(return_indices=True), 2),
    ("unbatched", (2, 3, 2), dict(stride=1), None),
    ("empty-batch", (2, 2, 2), {}, 0),
    ("kernel-too-big", (10, 10, 10), {}, 1),  # both must refuse: no output position
]

AVG_CONFIGS = [
    ("kernel", (3, 2, 2), {}, 2),
    ("stride-padding", (3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 1, 1)), 2),
    ("exclude-pad-ceil", (3, 2, 2), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), 1),
    ("overlapping", (3, 3, 2), dict(stride=1, padding=1), 2),
    ("divisor", (2, 2, 2), dict(divisor_override=3), 2),  # 2-d and 3-d only, as in torch
    ("unbatched", (2, 3, 2), dict(stride=1), None),
    ("empty-batch", (2, 2, 2), {}, 0),
    ("kernel-too-big", (10, 10, 10), {}, 1),
]


POOL_CASES = [
    pytest.param(kind, config, dims, id=f"{kind.lower()}-{config[0]}-{dims}d")
    for kind, configs in (("Max", MAX_CONFIGS), ("Avg", AVG_CONFIGS))
    for config in configs
    for dims in DIMS
    if not (dims == 1 and "divisor_override" in config[2])  # AvgPool1d has no divisor_override, in torch as here
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, config, dims", POOL_CASES)
def test_pool_twin(kind, config, dims, dtype):
    name, kernel, kwargs, batch = config
    kwargs = {k: per_axis(v, dims) for k, v in kwargs.items()}
    ref = getattr(nn, f"{kind}Pool{dims}d")(per_axis(kernel, dims), **kwargs)
    twin = getattr(torch.nn, f"{kind}Pool{dims}d")(per_axis(kernel, dims), **kwargs)
    x = random_input(input_shape(batch, 3, dims), dtype, seed=dims)
    result = compare_module(ref, twin, x, seed=dims)
    expected = {"output", "grad_input"} | ({"indices"} if kwargs.get("return_indices") else set())
    assert_twin(result, expected, rejected=name == "kernel-too-big")


def test_max_pool_return_indices_like_torch():
    ref, twin = nn.MaxPool2d((2, 3), return_indices=True), torch.nn.MaxPool2d((2, 3), return_indices=True)
    x = random_input((2, 3, 6, 7), "float64")
    y, index = ref(x)
    ty, tindex = twin(torch.from_numpy(x))
    np.testing.assert_array_equal(y, ty.numpy())  # a copy of input entries: exact
    np.testing.assert_array_equal(index, tindex.numpy())
    assert index.dtype == np.int64
    assert ref.backward(np.ones_like(y)).shape == x.shape  # the gradient of the output, not the indices


def test_pool_stride_defaults_to_the_kernel():
    assert nn.MaxPool2d((2, 3)).stride == (2, 3) and nn.AvgPool1d(4, stride=()).stride == (4,)
    assert nn.AvgPool3d(2, stride=1).stride == (1, 1, 1)


POOL_CONSTRUCTOR_CASES = [
    # torch builds every one of these and refuses the first forward
    (dict(kernel_size=0), "kernel_size", "forward"),
    (dict(kernel_size=-1), "kernel_size", "forward"),
    (dict(kernel_size=2.0), "kernel_size", "forward"),
    (dict(kernel_size=(2,) * 4), "kernel_size", "forward"),
    (dict(stride=0), "stride", "forward"),
    (dict(stride=2.0), "stride", "forward"),
    (dict(kernel_size=3, padding=2), "padding", "forward"),
    (dict(padding=-1), "padding", "forward"),
    (dict(ceil_mode=1), "ceil_mode", "forward"),
    (dict(stride=()), None, "ok"),
    (dict(kernel_size=[3], stride=[2], padding=(1,)), None, "ok"),
    (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), None, "ok"),
]
MAX_ONLY = [
    (dict(dilation=0), "dilation", "forward"),
    (dict(kernel_size=3, padding=1, dilation=2), None, "ok"),
    (dict(return_indices=1), None, "ok"),
]
AVG_ONLY = [
    (dict(count_include_pad=1), "count_include_pad", "forward"),
    (dict(divisor_override=0), "divisor_override", "forward"),
    (dict(divisor_override=2.0), "divisor_override", "forward"),
    (dict(divisor_override=-2), None, "ok"),
]


POOL_CONSTRUCTOR_PARAMS = [
    pytest.param(kind, overrides, name, stage, dims, id=f"{kind.lower()}-{stage}-{i}-{dims}d")
    for kind, cases in (("Max", POOL_CONSTRUCTOR_CASES + MAX_ONLY), ("Avg", POOL_CONSTRUCTOR_CASES + AVG_ONLY))
    for i, (overrides, name, stage) in enumerate(cases)
    for dims in DIMS
    if not (dims == 1 and "divisor_override" in overrides)  # AvgPool1d has no divisor_override, in torch as here
]


@pytest.mark.parametrize("kind, overrides, name, stage, dims", POOL_CONSTRUCTOR_PARAMS)
def test_pool_constructor_parity(kind, overrides, name, stage, dims):
    kwargs = dict(kernel_size=2)
    kwargs.update(overrides)
    x = np.zeros((2, 3) + (8,) * dims, np.float32)
    check_constructor_parity(getattr(torch.nn, f"{kind}Pool{dims}d"), getattr(nn, f"{kind}Pool{dims}d"), kwargs, name, stage, x)
