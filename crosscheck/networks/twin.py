"""The torch twin of a ``reference.nn`` network, built from the reference's own layers.

:func:`torch_twin` reads each reference layer's constructor arguments (the attributes its
``__init__`` stores, named as torch names them) and builds the ``torch.nn`` layer of the same
name with them, in the reference's dtype; containers become ``torch.nn.Sequential`` with the same
child names. The reference's state dict is then loaded into it by
:func:`load_twin` — the same loading, with the same key and shape checks, as
the module and network checks — so both hold bit-identical parameters.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from reference import nn

from ..checking.outcome import Failure

TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def load_twin(ref_module, torch_module):
    """``(params, failure)``: the reference's state dict, loaded into the twin; ``failure`` is a
    :class:`~crosscheck.checking.outcome.Failure` where the keys differ from torch's (or come in
    another order) or torch's ``load_state_dict(strict=True)`` refuses the arrays, else None."""
    params = ref_module.state_dict()
    torch_keys = list(torch_module.state_dict())
    if list(params) != torch_keys:
        return params, Failure("state_dict", f"keys {list(params)} != torch's {torch_keys}")
    try:
        torch_module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()}, strict=True)
    except Exception as exc:  # torch reports shape mismatches as RuntimeError
        return params, Failure("state_dict", f"torch's load_state_dict refuses it: {str(exc).splitlines()[-1].strip()}")
    return params, None


def _layer(module: nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """One reference layer's ``torch.nn`` counterpart (torch's own initial values, replaced later)."""
    name = type(module).__name__
    cls = getattr(torch.nn, name, None)
    bias = getattr(module, "bias", None) is not None
    if name.startswith("ConvTranspose"):
        return cls(module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding,
                   module.output_padding, module.groups, bias, module.dilation, dtype=dtype)
    if name.startswith("Conv"):
        return cls(module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding,
                   module.dilation, module.groups, bias, module.padding_mode, dtype=dtype)
    if name == "Linear":
        return cls(module.in_features, module.out_features, bias, dtype=dtype)
    if name.startswith("MaxPool"):
        return cls(module.kernel_size, module.stride, module.padding, module.dilation, module.return_indices,
                   module.ceil_mode)
    if name.startswith("AvgPool"):
        extra = () if name == "AvgPool1d" else (module.divisor_override,)
        return cls(module.kernel_size, module.stride, module.padding, module.ceil_mode, module.count_include_pad,
                   *extra)
    if name == "Flatten":
        return cls(module.start_dim, module.end_dim)
    if name in ("ReLU", "Sigmoid", "Tanh"):
        return cls()
    raise TypeError(f"torch_twin: no torch counterpart known for the reference layer {module!r}")


def _build(module: nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    if isinstance(module, nn.Sequential):
        return torch.nn.Sequential(OrderedDict((name, _build(child, dtype)) for name, child in module._modules.items()))
    return _layer(module, dtype)


def torch_twin(ref_net: nn.Module) -> torch.nn.Module:
    """``torch.nn`` layers of the same kinds, arguments and names as ``ref_net``, holding its
    parameters (copies). Refuses a layer it does not know (``TypeError``) and a state dict torch
    does not take (``ValueError``, with :func:`load_twin`'s reason)."""
    dtypes = {p.data.dtype for p in ref_net.parameters()}
    if len(dtypes) > 1:
        raise TypeError(f"torch_twin: the network mixes parameter dtypes {sorted(map(str, dtypes))}")
    dtype = TORCH_DTYPES[dtypes.pop() if dtypes else np.dtype(np.float32)]
    twin = _build(ref_net, dtype)
    _, failure = load_twin(ref_net, twin)
    if failure is not None:
        raise ValueError(f"torch_twin: {failure.quantity}: {failure.reason}")
    return twin
