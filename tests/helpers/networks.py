"""Small CNNs built twice, in reference.nn and in torch.nn, for the network and container tests."""
import numpy as np
import torch

from reference import nn
from tests.helpers.twins import TORCH_DTYPES


PARAMETRIC = ("Conv", "ConvTranspose", "Linear")  # take rng and dtype

# (name, layers, input shape, classes): a layer is (class name, args, kwargs); a Linear's
# in_features None is filled in from the shape that reaches it
NETWORKS = [
    ("cnn2d", [
        ("Conv2d", (2, 4, (3, 2)), dict(padding=(1, 0))),
        ("ReLU", (), {}),
        ("MaxPool2d", ((2, 3),), dict(stride=(2, 2), padding=(1, 1))),
        ("Conv2d", (4, 6, (2, 3)), dict(dilation=(1, 2))),
        ("ReLU", (), {}),
        ("AvgPool2d", ((2, 1),), {}),
        ("Flatten", (), {}),
        ("Linear", (None, 5), {}),
    ], (3, 2, 10, 13), 5),
    ("cnn1d", [
        ("Conv1d", (3, 5, 4), dict(stride=2, padding=2)),
        ("ReLU", (), {}),
        ("MaxPool1d", (3,), dict(stride=2, ceil_mode=True)),
        ("Conv1d", (5, 4, 2), dict(groups=1, bias=False)),
        ("ReLU", (), {}),
        ("AvgPool1d", (2,), dict(padding=1, count_include_pad=False)),
        ("Flatten", (), {}),
        ("Linear", (None, 3), {}),
    ], (2, 3, 23), 3),
    ("cnn3d", [
        ("Conv3d", (1, 3, (2, 3, 2)), dict(padding=(0, 1, 1))),
        ("ReLU", (), {}),
        ("MaxPool3d", ((1, 2, 2),), dict(dilation=(1, 1, 2))),
        ("Conv3d", (3, 4, (2, 1, 2)), {}),
        ("ReLU", (), {}),
        ("AvgPool3d", ((1, 2, 1),), dict(ceil_mode=True)),
        ("Flatten", (), {}),
        ("Linear", (None, 4), {}),
    ], (2, 1, 4, 7, 9), 4),
]


def build_network(layers, shape, dtype, seed=0):
    """The reference network, its torch twin (torch's own initialisation, overwritten by the
    check) and an input of ``shape``."""
    ref_layers, torch_layers = [], []
    probe = torch.zeros(shape, dtype=torch.float64)
    for i, (name, args, kwargs) in enumerate(layers):
        if name == "Linear" and args[0] is None:
            args = (probe.shape[-1],) + args[1:]
        parametric = name.startswith(PARAMETRIC)
        ref_layers.append(getattr(nn, name)(*args, **kwargs, **(dict(rng=seed + i, dtype=dtype) if parametric else {})))
        torch_layers.append(getattr(torch.nn, name)(*args, **kwargs, **(dict(dtype=TORCH_DTYPES[dtype]) if parametric else {})))
        with torch.no_grad():  # the shape that reaches the next layer
            wide = {k: v.to(torch.float64) for k, v in torch_layers[-1].named_parameters()}
            probe = torch.func.functional_call(torch_layers[-1], wide, (probe,))
    x = np.random.default_rng(seed + 100).standard_normal(shape).astype(dtype)
    return nn.Sequential(*ref_layers), torch.nn.Sequential(*torch_layers), x


def losses(kind, classes, batch, dtype, seed=0):
    """The reference loss, its torch twin and a target for an output of (batch, classes)."""
    rng = np.random.default_rng(seed + 200)
    if kind == "mse":
        return nn.MSELoss(), torch.nn.MSELoss(), rng.standard_normal((batch, classes)).astype(dtype)
    return nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), rng.integers(0, classes, batch)
