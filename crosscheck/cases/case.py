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


def draw(rng, kind: str, shape, dtype) -> np.ndarray:
    """Data of one ``kind``:

    normal       standard normal draws
    integers     integers in [−3, 3]: windows hold equal values, so max-pool ties occur
    zeros        the same with every third entry +0.0 and the second −0.0
    specials     normal, with a fifth of the entries NaN, +inf, −inf, +0.0 or −0.0
    large        normal × 1e4 (logits whose exp overflows unless the max is subtracted)
    classes:C    integer class labels in [0, C)

    Integer dtypes (a rejection case's int64 input) get normal draws × 4, truncated.
    """
    if kind.startswith("classes:"):  # labels are int64 whatever the case's float dtype
        return rng.integers(0, int(kind.split(":")[1]), size=shape).astype(np.int64)
    if kind == "integers":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    if kind == "zeros":  # integers with every third entry 0 and a −0.0: relu at exactly zero
        data = rng.integers(-3, 4, size=shape).astype(dtype)
        flat = data.reshape(-1)
        flat[::3] = 0
        flat[1:2] = -0.0
        return data
    data = np.asarray(rng.standard_normal(shape))  # a 0-d shape gives a scalar, not an array
    if kind == "large":
        data = data * 1e4
    elif kind == "specials":
        pick = rng.random(shape) < 0.2
        data = np.where(pick, rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], size=shape), data)
    elif kind != "normal":
        raise ValueError(f"unknown kind of data {kind!r}")
    data = np.asarray(data)  # arithmetic on a 0-d array returns a scalar
    return np.asarray(data * 4).astype(dtype) if dtype.kind in "iu" else data.astype(dtype)
