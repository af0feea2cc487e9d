"""Known deviations: cases an implementation is allowed to fail, each with a reason.

A downstream project that differs from torch on purpose (as the reference does, README)
lists those calls in a text file and passes it with ``--known-deviations FILE``::

    # pattern: reason
    conv_transpose2d-*-empty-output*: we refuse an empty output in both dtypes
    max_pool3d: not implemented yet, tracked in #12

A pattern is a case id (``conv2d-k3x2-s1-p1-d1-x2x3x5x6-o4``), a shell-style glob over ids
(``*-reflect``), or an op name, which covers every case of that op. The suite marks a
matching case as an expected failure with the reason; a pattern that matches no case of
the run is reported at the end, so a file does not silently outlive the bugs it excuses.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class KnownDeviations:
    entries: dict[str, str] = field(default_factory=dict)  # pattern -> reason
    used: set[str] = field(default_factory=set)
    source: str = ""

    @classmethod
    def read(cls, path) -> KnownDeviations:
        text = Path(path).read_text(encoding="utf-8")
        entries = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            pattern, colon, reason = line.partition(":")
            if not colon or not pattern.strip() or not reason.strip():
                raise ValueError(f"{path}:{number}: expected 'pattern: reason', got {raw!r}")
            entries[pattern.strip()] = reason.strip()
        return cls(entries, source=str(path))

    def reason(self, case) -> str | None:
        """The reason ``case`` may fail, or None. Marks the patterns that matched."""
        for pattern, reason in self.entries.items():
            if pattern == case.op or fnmatch.fnmatchcase(case.id, pattern) or fnmatch.fnmatchcase(case.key, pattern):
                self.used.add(pattern)
                return reason
        return None

    def unmatched(self) -> list[str]:
        return [p for p in self.entries if p not in self.used]
