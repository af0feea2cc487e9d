"""A LeNet-style network in :mod:`reference.nn`, and its weights in a ``.npz`` file.

The network, for images ``(N, C, H, W)`` and ``K`` classes, with ``k × k`` kernels padded by
``⌊k/2⌋`` (so an odd kernel keeps the size) and 2 × 2 max pooling::

    Conv2d(C, c₁, k) → ReLU → MaxPool2d(2) → Conv2d(c₁, c₂, k) → ReLU → MaxPool2d(2)
      → Flatten → Linear(c₂·H₂·W₂, hidden) → ReLU → Linear(hidden, K)

where ``H₂ = ⌊⌊H'/2⌋'/2⌋`` follows the size through both convolutions and pools (for odd ``k``:
``⌊⌊H/2⌋/2⌋``, so 8 × 8 digits end 2 × 2 and 28 × 28 MNIST 7 × 7). The output is ``K`` logits
(cross-entropy) or ``K`` scores compared with one-hot targets (squared error). It is a
``reference.nn.Sequential``, so its state-dict keys (``0.weight`` … ``9.bias``) are those of
``torch.nn.Sequential`` of the same layers.

**The weights file** is ``numpy.savez`` of the state dict plus one entry ``__config__``: a JSON
string of the arguments of :func:`lenet` (and the dtype), so :func:`load` rebuilds the network
without being told its shape. It holds no pickled objects: ``numpy.load(path)`` reads it as it
is, and ``torch.nn.Sequential`` of the same layers loads the arrays directly.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .. import checks
from .. import nn

CONFIG_KEY = "__config__"


def _size_after(length: int, kernel_size: int) -> int:
    """One convolution (padding ``⌊k/2⌋``, stride 1) then one 2 × 2 pool: ``⌊(L + 2⌊k/2⌋ − k + 1)/2⌋``."""
    return (length + 2 * (kernel_size // 2) - kernel_size + 1) // 2


def lenet(image_shape=(1, 8, 8), classes=10, channels=(16, 32), hidden=128, kernel_size=3, *, rng=None,
          dtype=np.float32) -> nn.Sequential:
    """The network of the module docstring. ``rng`` (a ``numpy.random.Generator``, a seed, or None)
    draws every layer's initial weights in order, torch's default initialisation per layer; the
    sizes are checked so that every layer has something to compute (a ``ValueError`` naming the
    argument otherwise)."""
    op = "lenet"
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise ValueError(f"{op}: image_shape must be (C, H, W), got image_shape={image_shape!r}")
    in_channels, height, width = (checks.int_arg(op, "image_shape", v) for v in image_shape)
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise ValueError(f"{op}: channels must be a pair (c1, c2), got channels={channels!r}")
    c1, c2 = (checks.int_arg(op, "channels", v) for v in channels)
    for name, value in (("classes", classes), ("hidden", hidden), ("kernel_size", kernel_size)):
        if checks.int_arg(op, name, value) <= 0:
            raise ValueError(f"{op}: {name} must be positive, got {name}={value!r}")
    if min(in_channels, c1, c2) <= 0:
        raise ValueError(f"{op}: channel counts must be positive, got image_shape={image_shape!r}, "
                         f"channels={channels!r}")
    h2 = _size_after(_size_after(height, kernel_size), kernel_size)
    w2 = _size_after(_size_after(width, kernel_size), kernel_size)
    if min(h2, w2) < 1:
        raise ValueError(f"{op}: images of {height}×{width} are too small for two {kernel_size}×{kernel_size} "
                         f"convolutions each followed by 2×2 pooling, got image_shape={image_shape!r}")
    rng = np.random.default_rng(rng)
    p = kernel_size // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size, padding=p, rng=rng, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, kernel_size, padding=p, rng=rng, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * h2 * w2, hidden, rng=rng, dtype=dtype), nn.ReLU(),
        nn.Linear(hidden, classes, rng=rng, dtype=dtype),
    )


def save(path, net: nn.Sequential, config: dict) -> str:
    """Write ``net``'s state dict and ``config`` (the keyword arguments of :func:`lenet`, JSON-able)
    to ``path`` (``.npz`` is appended if missing, as ``numpy.savez`` does); returns the path written."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    state = net.state_dict()
    dtypes = {str(v.dtype) for v in state.values()}
    text = json.dumps(dict(config, dtype=dtypes.pop() if len(dtypes) == 1 else "float32"))
    np.savez(path, **state, **{CONFIG_KEY: np.array(text)})
    return path


def load(path) -> tuple[nn.Sequential, dict]:
    """The network saved by :func:`save`, rebuilt from its config and loaded (strictly: every key
    and shape must match), and the config. A file without the config entry is refused."""
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as archive:
        if CONFIG_KEY not in archive.files:
            raise ValueError(f"load: {path} has no {CONFIG_KEY!r} entry; it was not written by reference.training.lenet.save")
        config = json.loads(str(archive[CONFIG_KEY]))
        state = {k: archive[k] for k in archive.files if k != CONFIG_KEY}
    arguments = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k != "dtype"}
    net = lenet(**arguments, dtype=config.get("dtype", "float32"))
    net.load_state_dict(state, strict=True)
    return net, config
