"""Cases: what to call, on which shapes, in which dtype.

A :class:`Case` is plain data. Its array values are drawn from a generator seeded by the
run's seed and the case id, so a case id and a seed reproduce a failure exactly. Whether a
call is valid is not written here: torch decides at run time, and the implementation must
agree. (``invalid=True`` only marks the cases written to be rejected, so a test can check
that torch does reject them, and the table does not silently test nothing.)
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from ..specs import OPS


@dataclass(frozen=True)
class Case:
    op: str
    id: str
    shapes: tuple  # one entry per array argument: a shape tuple, or None to pass None
    kwargs: dict = field(default_factory=dict, hash=False)
    dtype: str = "float64"
    array_dtypes: dict = field(default_factory=dict, hash=False)  # per-argument override
    invalid: bool = False
    blame: str = ""  # for an invalid case: the argument its rejection must name
    values: dict = field(default_factory=dict, hash=False)  # per-argument kind of data, see draw()

    @property
    def key(self) -> str:
        return f"{self.id}[{self.dtype}]"

    @property
    def arg_names(self) -> tuple[str, ...]:
        return OPS[self.op].arrays

    def with_dtype(self, dtype: str) -> Case:
        return replace(self, dtype=dtype)

    def arrays(self, seed: int) -> list:
        """The argument values: standard normal draws, reproducible from (seed, id, dtype)."""
        rng = np.random.default_rng([seed, zlib.crc32(self.key.encode())])
        values = []
        for name, shape in zip(self.arg_names, self.shapes):
            if shape is None:
                values.append(None)
                continue
            values.append(draw(rng, self.values.get(name, "normal"), shape, np.dtype(self._dtype_of(name))))
        return values

    def _dtype_of(self, name: str) -> str:
        """The argument's dtype: the case's, or an override ('other' is the other float dtype)."""
        wanted = self.array_dtypes.get(name, self.dtype)
        if wanted == "other":
            return "float32" if self.dtype == "float64" else "float64"
        return wanted

    def grad_output(self, shape, seed: int) -> np.ndarray:
        """A random upstream gradient (never all ones: a sum would hide permuted gradients)."""
        rng = np.random.default_rng([seed, zlib.crc32(self.key.encode()), 1])
        return rng.standard_normal(shape).astype(self.dtype)


INF, NAN = np.inf, np.nan
# The values of the ``fixed:NAME`` kinds: exactly these entries, where parity is easy to get wrong
FIXED = {
    # NaN, ±inf, ±0 and the tails of exp: sigmoid and tanh saturate, exp(750) overflows
    "special-values": [0.0, -0.0, 1.0, -1.0, NAN, INF, -INF, 1e4, -1e4, 20.0, -20.0, 100.0, -100.0, 750.0, -750.0],
    "special-values-reversed": [-750.0, 750.0, -100.0, 100.0, -20.0, 20.0, -1e4, 1e4, -INF, INF, NAN, -1.0, 1.0, -0.0,
                                0.0],
    # softmax rows: +inf (NaN throughout), −inf once (probability 0) and throughout (NaN), NaN, ±1e4
    "special-rows": [[INF, 0, 1], [INF, INF, 0], [-INF, 0, 1], [-INF, -INF, -INF], [NAN, 0, 1], [1e4, -1e4, 0], [0, 1, 2]],
    # cross_entropy: a target logit of −inf (loss inf), NaN, +inf, ±1e4; one target ignored (−100)
    "ce-logits": [[-INF, 0, 0], [-INF, 0, 0], [NAN, 0, 0], [INF, 0, 1], [1e4, -1e4, 0]],
    "ce-targets": np.array([0, 1, -100, 2, 1], np.int64),
    # class probabilities for the same logits: 0·(−inf) is NaN, a probability of 1 on −inf is inf
    "ce-probabilities": [[0, 0.5, 0.5], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [1, 0, 0], [0, 1, 0]],
    # mse_loss: inf − inf is NaN, inf − (−inf) is inf, a square that overflows float32, a NaN target
    "inf-inputs": [INF, INF, 1e18, 1.0],
    "inf-targets": [INF, -INF, -1e18, NAN],
}


def draw(rng, kind: str, shape, dtype) -> np.ndarray:
    """Data of one ``kind``:

    normal             standard normal draws
    integers           integers in [−3, 3]: windows hold equal values, so max-pool ties occur
    zeros              the same with every third entry +0.0 and the second −0.0
    specials           normal, with a fifth of the entries NaN, +inf, −inf, +0.0 or −0.0
    integer-specials   integers in [−3, 3] (ties), about 8% each NaN, +inf and −inf
    minus-inf          integers in [−3, 3], four fifths of them −inf (windows of −inf alone)
    uniform            uniform in [0, 1) (class probabilities; torch does not ask them to sum to 1)
    large              normal × 1e4 (logits whose exp overflows unless the max is subtracted)
    scaled:S           normal × S (``scaled:40``: sigmoid's and tanh's tails)
    classes:C          integer class labels in [0, C)
    labels:C           the same, about a fifth of them −100 (torch's ignore_index: no loss, no gradient)
    label:V            every entry the integer V (a label out of range by construction, never by chance),
                       in the argument's dtype where that is an integer one, else int64
    fixed:NAME         exactly the entries ``FIXED[NAME]`` (of the case's shape)

    Integer dtypes (a rejection case's int64 input) get normal draws × 4, truncated.
    """
    name, _, arg = kind.partition(":")
    if name in ("labels", "label", "fixed", "integer-specials", "minus-inf"):
        return _drawn_by_name(rng, name, arg, shape, dtype)
    if kind.startswith("classes:"):  # labels are int64 whatever the case's float dtype
        return rng.integers(0, int(kind.split(":")[1]), size=shape).astype(np.int64)
    if kind == "integers":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    if kind == "uniform":
        return np.asarray(rng.random(shape)).astype(dtype)
    if kind == "zeros":  # integers with every third entry 0 and a −0.0: relu at exactly zero
        data = rng.integers(-3, 4, size=shape).astype(dtype)
        flat = data.reshape(-1)
        flat[::3] = 0
        flat[1:2] = -0.0
        return data
    data = np.asarray(rng.standard_normal(shape))  # a 0-d shape gives a scalar, not an array
    if kind == "large":
        data = data * 1e4
    elif name == "scaled":
        data = data * float(arg)
    elif kind == "specials":
        pick = rng.random(shape) < 0.2
        data = np.where(pick, rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], size=shape), data)
    elif kind != "normal":
        raise ValueError(f"unknown kind of data {kind!r}")
    data = np.asarray(data)  # arithmetic on a 0-d array returns a scalar
    return np.asarray(data * 4).astype(dtype) if dtype.kind in "iu" else data.astype(dtype)


def _drawn_by_name(rng, name, arg, shape, dtype) -> np.ndarray:
    """The kinds of :func:`draw` written ``name:arg``, and the integer ones with special values."""
    if name == "labels":
        labels = rng.integers(0, int(arg), size=shape)
        return np.where(rng.random(shape) < 0.2, -100, labels).astype(np.int64)
    if name == "label":
        return np.full(shape, int(arg), dtype=dtype if dtype.kind in "iub" else np.int64)
    if name == "fixed":
        values = np.asarray(FIXED[arg])
        if values.shape != tuple(shape):
            raise ValueError(f"fixed:{arg} holds shape {values.shape}, the case asks for {tuple(shape)}")
        return values.astype(dtype if values.dtype.kind == "f" else np.int64)
    data = rng.integers(-3, 4, size=shape).astype(dtype)
    u = rng.random(shape)
    if name == "minus-inf":
        return np.where(u < 0.8, -np.inf, data).astype(dtype)
    special = np.select([u < 0.08, u < 0.16, u < 0.24], [np.nan, np.inf, -np.inf], 0.0)
    return np.where(u < 0.24, special, data).astype(dtype)
