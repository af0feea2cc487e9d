"""``make ecosystem``: real libraries gated through their adapters, and docs/ecosystem.md.

Each library's ops (written under torch's signatures in ``examples/``) run through every case
of the profile, each case in a worker process (a crash is that case's, not the run's). The
page shows, per library and op, how many cases passed, failed, were unsupported, crashed or
timed out; then every group of failures (same op, quantity and reason), with its smallest case,
what differs from torch, a three-line reproduction, and whether it is a bug of the library, a
convention of its own, or the adapter code's missing validation (``VERDICTS``, below).

    python examples/ecosystem.py                     # default profile, writes docs/ecosystem.md
    python examples/ecosystem.py --profile quick --out /tmp/ecosystem.md

Every run keeps its outcomes (``--keep``, default ``.ecosystem-outcomes.pickle``, not
tracked), so that ``--replay`` writes the page again from them, with the verdicts as they are
now, without gating anything.
"""
from __future__ import annotations

import argparse
import collections
import importlib.metadata
import math
import os
import pickle
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crosscheck import STATUSES, cases_for, load_impl, subject_of  # noqa: E402
from crosscheck.gate.isolation import Isolated  # noqa: E402
from crosscheck.specs import OPS  # noqa: E402


@dataclass(frozen=True)
class Library:
    name: str
    package: str  # the distribution, for its version
    impl: str  # torch's ops written on it
    framework: str  # --framework
    needs: str = ""  # what else it needs to run here, if anything: why it is not gated when missing


LIBRARIES = [
    Library("JAX", "jax", "examples.jax_ops", "jax"),
    Library("MyGrad", "mygrad", "examples.mygrad_ops", "examples.mygrad_framework"),
    Library("tinygrad", "tinygrad", "examples.tinygrad_ops", "examples.tinygrad_framework", needs="clang"),
    Library("numpy-ml", "numpy-ml", "examples.numpy_ml_ops", "numpy"),
]
CLANGS = ["clang", *(f"clang-{v}" for v in range(21, 13, -1))]


def clang() -> str | None:
    """The clang tinygrad's CPU device compiles its kernels with (``$CC``, else the first of
    CLANGS on the PATH), set as ``$CC`` for the worker processes; None if there is none."""
    found = next((c for c in ([os.environ["CC"]] if os.environ.get("CC") else CLANGS) if shutil.which(c)), None)
    if found:
        os.environ["CC"] = found
    return found


def missing(library: Library) -> str | None:
    """Why ``library`` cannot be gated here, or None."""
    try:
        importlib.metadata.version(library.package)
    except importlib.metadata.PackageNotFoundError:
        return f"{library.package} is not installed (make ecosystem installs it)"
    if library.needs == "clang" and not clang():
        return "its CPU device compiles kernels with clang, and none is on the PATH (Debian: apt-get install clang-14)"
    return None


# (library, op or ops, quantity, the start of the reason, as it is or with its numbers as #) ->
# (kind, what it is[, a reproduction, where the smallest case alone does not show it]); the first
# key that matches a group is its verdict. Kind is "bug" (the library computes something wrong),
# "convention" (it does a thing its own way) or "adapter" (the code in examples/ does not validate
# what torch validates). Groups not listed are "unclassified".
VERDICTS = {
    ("JAX", "*", "rejection", "accepted a call torch rejects"): (
        "adapter", "lax takes what torch refuses (negative padding crops, a bias or weight of another size broadcasts, "
                   "'same' with a stride, mixed float dtypes promote); examples/jax_ops.py does not check"),
    ("MyGrad", "*", "rejection", "accepted a call torch rejects"): (
        "adapter", "MyGrad takes what torch refuses; examples/mygrad_ops.py does not check"),
    ("MyGrad", "*", "rejection", "raised AssertionError"): (
        "convention", "MyGrad validates its arguments with assert statements, so a bad call raises AssertionError "
                      "(and is not refused at all under python -O)"),
    ("JAX", "*", "rejection", "raised KeyError"): ("adapter", "an unknown reduction reaches a dict lookup"),
    ("MyGrad", "*", "rejection", "raised KeyError"): ("adapter", "an unknown reduction reaches a dict lookup"),
    ("MyGrad", "relu", "output", ""): (
        "bug", "relu(-inf) is NaN (it is computed as x·(x > 0), and -inf·0 is NaN) where torch's is 0"),
    ("MyGrad", "relu", "grad_input", ""): ("convention", "the gradient at NaN is 0, torch's 1 (torch zeroes it where x ≤ 0 only)"),
    ("MyGrad", "*", "output", "raised ValueError on a call torch accepts: The dilated window"): (
        "bug", "conv_nd refuses a dilated kernel that fits the input exactly: it checks d·k ≤ L where the extent is "
               "d·(k − 1) + 1 (with an input one larger it computes torch's values)"),
    ("MyGrad", "*", "gradients", "raised ValueError on a call torch accepts: cannot reshape"): (
        "bug", "max_pool's backward raises on an empty batch"),
    ("MyGrad", "log_softmax", "output", "raised ValueError"): (
        "bug", "log_softmax of an empty row raises (zero-size array to reduction) where torch returns an empty array"),
    ("MyGrad", "log_softmax", "output", ""): (
        "bug", "log_softmax of a row holding +inf is -inf, or finite, where torch's is NaN (inf - inf)"),
    ("MyGrad", "*", "output", "raised ValueError on a call torch accepts: Stride and kernel"): (
        "convention", "conv_nd and max_pool refuse windows that do not tile the (padded) input exactly; torch "
                      "drops the remainder"),
    ("JAX", "*", "crashed", "the process running the case killed by signal 6"): (
        "bug", "XLA aborts the process (a failed CHECK in algebraic_simplifier.cc, \"Window dimensions do not match "
               "RHS shape\") compiling the gradient of a convolution that is both strided and dilated; the forward "
               "alone compiles"),
    ("JAX", "conv2d", "output", "raised TypeError on a call torch accepts: 'numpy.float64' object"): (
        "bug", "a refused call poisons JAX's dispatch cache: after conv_general_dilated refuses strides (2.0, 2.0) "
               "(rightly: a TypeError), the same call with (2, 2), which compares and hashes equal, raises that "
               "TypeError too. Here the float-stride case (a call torch rejects) runs first; the case alone passes",
        "import jax.numpy as jnp; from jax import lax; x, w = jnp.ones((1, 3, 4, 6)), jnp.ones((4, 3, 2, 4))\n"
        "try: lax.conv_general_dilated(x, w, (2.0, 2.0), [(0, 0), (0, 0)])  # refused: TypeError, rightly\n"
        "except TypeError: pass\n"
        "lax.conv_general_dilated(x, w, (2, 2), [(0, 0), (0, 0)])  # raises the same TypeError"),
    ("JAX", "relu", "grad_input", ""): (
        "convention", "jax.nn.relu's gradient at NaN is 0, torch's 1 (torch zeroes it where x ≤ 0 only)"),
    ("tinygrad", "*", "rejection", "accepted a call torch rejects"): (
        "adapter", "tinygrad takes what torch refuses (negative padding crops, a zero dilation, 'same' with a stride, "
                   "mixed dtypes promote); examples/tinygrad_ops.py does not check"),
    ("tinygrad", "*", "rejection", "raised AssertionError"): (
        "convention", "tinygrad checks shapes with assert statements, so a bad call raises AssertionError (and is not "
                      "refused at all under python -O)"),
    ("tinygrad", "*", "rejection", "raised ZeroDivisionError"): ("adapter", "a zero stride reaches a division"),
    ("tinygrad", "*", "rejection", "raised IndexError"): (
        "convention", "shapes that do not broadcast raise IndexError in tinygrad"),
    ("tinygrad", "relu", "output", ""): ("bug", "relu(NaN) is 0, where torch's is NaN: tinygrad's relu swallows NaN"),
    ("tinygrad", "*", "indices", "int32"): ("convention", "max pooling's indices are int32, torch's int64"),
    ("tinygrad", ("max_pool1d", "max_pool2d", "max_pool3d"), "grad_input", ""): (
        "convention", "the gradient of a window's maximum is split evenly between tied maxima, where torch gives it "
                      "all to the first (max_pool1d of [1, 3, 3, 0] with a window of 4: [0, 0.5, 0.5, 0] against "
                      "[0, 1, 0, 0])"),
    ("tinygrad", ("max_pool1d", "max_pool2d", "max_pool3d"), "output", "# of # entries outside the tolerance"): (
        "bug", "a window's maximum ignores NaN (max_pool1d of [1, NaN, 2, 0] with a window of 2 is [1, 2], torch's "
               "[NaN, 2])"),
    ("tinygrad", "pad", "output", "raised ValueError on a call torch accepts: Padding"): (
        "bug", "reflect padding of an empty batch raises (it checks the unpadded batch axis against its size 0)"),
    ("tinygrad", "linear", "output", ""): (
        "convention", "linear with a 1-d weight scales element-wise (tinygrad's own use, as in its layer norm), where "
                      "torch's is a dot product: torch's shape (3,) for an input (3, 4), tinygrad's (3, 4)"),
    ("tinygrad", "tanh", "output", ""): (
        "bug", "tanh is computed as 2·sigmoid(2x) − 1, which cancels near 0: a relative error of 8e-6 in float32 at "
               "tanh ≈ 0.014, where torch's is within an ulp"),
    ("tinygrad", "sigmoid", "output", ""): (
        "bug", "sigmoid is computed as 1 / (1 + exp2(−x / ln 2)): the rounding of −x / ln 2 grows with |x|, so far "
               "in the negative tail the result is off by more than torch's few ulps"),
    ("tinygrad", "cross_entropy", "output", ""): (
        "adapter", "ignore_index is not passed on (tinygrad's cross_entropy has none), so a target of -100 counts as "
                   "a class; examples/tinygrad_ops.py should declare it unsupported"),
    ("tinygrad", "cross_entropy", "grad_input", ""): (
        "adapter", "the targets hold -100, the ignore_index examples/tinygrad_ops.py does not pass on"),
    ("tinygrad", ("conv2d", "conv3d", "conv_transpose3d"), "grad_input", ""): (
        "bug", "the input gradient lands on inputs that no output reads (between dilated taps, skipped by a stride "
               "longer than the kernel, or where only padding is in the window), where torch's is 0; the forward "
               "is right"),
    ("tinygrad", ("conv_transpose2d", "conv_transpose3d"), "grad_weight", ""): (
        "bug", "the weight gradient of a strided transposed convolution with groups or dilation is wrong in the "
               "sweep, non-zero where torch's is 0, but the smallest case run alone passes: the result depends on "
               "what tinygrad ran before it in the process. Not reduced to a reproduction of its own; the three "
               "lines below pass"),
    ("tinygrad", "*", "*", "raised ValueError on a call torch accepts: bad reshape"): (
        "bug", "tinygrad fails on some dilated or strided, grouped convolutions (ValueError: bad reshape: () -> "
               "...), forward or backward"),
    ("tinygrad", "conv_transpose3d", "output", ""): (
        "bug", "some strided 3-d transposed convolutions with groups or dilation are wrong in every entry (NaN in "
               "one of them)"),
    ("numpy-ml", "*", "rejection", "accepted a call torch rejects"): (
        "adapter", "numpy-ml takes what torch refuses; examples/numpy_ml_ops.py does not check"),
    ("numpy-ml", "*", "rejection", "raised"): (
        "adapter", "numpy-ml fails on a bad call with whatever error the value meets (IndexError, ZeroDivisionError, "
                   "UnboundLocalError); examples/numpy_ml_ops.py does not check first"),
    ("numpy-ml", "*", "grad_input", "dtype float64 != float32"): (
        "convention", "numpy-ml computes in float64 wherever it allocates (col2im, ReLU's integer gradient): float32 "
                      "in, float64 out"),
    ("numpy-ml", "*", "output", "dtype float64 != float32"): (
        "convention", "Pool2D's output buffer is float64 whatever the input"),
    ("numpy-ml", "max_pool2d", "output", "# of # entries outside the tolerance"): (
        "bug", "max pooling pads with zeros, so a window over the padding whose inputs are all negative gives 0, "
               "where torch's padding never wins"),
    ("numpy-ml", "max_pool2d", "gradients", ""): (
        "bug", "Pool2D's max backward reads its windows from the unpadded input (X where X_pad is meant): with padding "
               "the windows do not fit (this error) or send the gradient to the wrong entries, and a window holding "
               "NaN has no maximum to find (IndexError)"),
    ("numpy-ml", "max_pool2d", "grad_input", ""): (
        "bug", "Pool2D's max backward reads its windows from the unpadded input (X where X_pad is meant), so with "
               "padding the gradient goes to the wrong entries"),
    ("numpy-ml", "softmax", "grad_input", ""): (
        "bug", "Softmax's backward differentiates along the last axis whatever its dim: with dim=0 (or -2) of a "
               "matrix every gradient is wrong"),
    ("numpy-ml", "softmax", "output", "raised ValueError"): (
        "bug", "softmax of an empty row raises (zero-size array to reduction) where torch returns an empty array"),
    ("numpy-ml", "*", "gradients", "raised ValueError on a call torch accepts: cannot reshape"): (
        "bug", "the convolution layers' backward raises on an empty batch (im2col's reshape of nothing)"),
    ("numpy-ml", "relu", "grad_input", ""): (
        "convention", "ReLU's gradient at NaN is 0, torch's 1 (torch zeroes it where x ≤ 0 only)"),
}


def verdict(library: str, op: str, quantity: str, reason: str):
    """(kind, what it is, a reproduction of its own or None)."""
    for (lib, ops, q, start), value in VERDICTS.items():
        ops = (ops,) if isinstance(ops, str) else ops
        if lib == library and ("*" in ops or op in ops) and q in ("*", quantity) and \
                (reason.startswith(start) or _shape_of_reason(reason).startswith(start)):
            return (*value, None)[:3]
    return ("unclassified", "", None)


def _shape_of_reason(reason: str) -> str:
    """The reason with its numbers and quoted values blanked, so that one cause is one group."""
    reason = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", reason)
    return re.sub(r"\[[^\]]*\]|\([^)]*\)|'[^']*'", "…", reason)[:90]


def _size(case) -> int:
    return sum(1 if s is None else max(1, math.prod(s)) for s in case.shapes)


def run(library: Library, profile: str, timeout: float, ops=None):
    module = load_impl(library.impl)
    subject = subject_of(module, library.framework, name=library.impl)
    cases = [c for c in cases_for(profile, ops=ops) if subject.forward(c.op) is not None]
    start = time.perf_counter()
    with Isolated(library.impl, library.framework, timeout=timeout) as isolated:
        outcomes = [isolated.run(case) for case in cases]
    return outcomes, time.perf_counter() - start


def reproduction(library: Library, case, profile: str) -> str:
    compiler = f"import os; os.environ.setdefault('CC', {os.environ.get('CC', 'clang')!r}); " \
        if library.needs == "clang" else ""
    return "\n".join([
        compiler + "import importlib; from crosscheck import cases_for, run_case, subject_of",
        f"case = next(c for c in cases_for({profile!r}, ops=[{case.op!r}]) if c.key == {case.key!r})",
        f"print(run_case(subject_of(importlib.import_module({library.impl!r}), {library.framework!r}), case))",
    ])


def page(results, profile: str, skipped=()) -> str:
    lines = [
        "# How real libraries fare",
        "",
        f"Produced by `make ecosystem` (`python examples/ecosystem.py --profile {profile}`), on the current code: each",
        "library's ops, written under torch's signatures in `examples/`, through every case of the",
        f"`{profile}` profile that its module has, each case in a worker process. *unsupported* is what",
        "the module declares it lacks (`CROSSCHECK_SUPPORT`). A failure group is one op, quantity and",
        "reason; its case is the smallest, and its three lines reproduce it from the repository's root.",
        "",
        "| library | version | framework | cases | " + " | ".join(s.replace("_", " ") for s in STATUSES) + " | s |",
        "|---|---|---|---:|" + "---:|" * len(STATUSES) + "---:|",
    ]
    for library, outcomes, seconds in results:
        counts = collections.Counter(o.status for o in outcomes)
        version = importlib.metadata.version(library.package)
        lines.append(f"| {library.name} | {version} | `{library.framework}` | {len(outcomes):,} | "
                     + " | ".join(f"{counts[s]:,}" for s in STATUSES) + f" | {seconds:.0f} |")
    for library, why in skipped:
        lines.append(f"| {library.name} | | | | not gated: {why} |" + " |" * (len(STATUSES) - 1) + " |")
    for library, outcomes, _ in results:
        lines += ["", f"## {library.name}", "", "| op | " + " | ".join(s.replace("_", " ") for s in STATUSES) + " |",
                  "|---|" + "---:|" * len(STATUSES)]
        by_op = collections.defaultdict(collections.Counter)
        for o in outcomes:
            by_op[o.case.op][o.status] += 1
        for op, counts in by_op.items():
            lines.append(f"| `{op}` | " + " | ".join(str(counts[s]) for s in STATUSES) + " |")
        absent = [op for op in OPS if op not in by_op]
        if absent:
            lines += ["", f"Ops of the contract its module does not write, so not gated here: "
                      + ", ".join(f"`{op}`" for op in absent) + "."]
        groups = collections.defaultdict(list)
        for o in outcomes:
            if o.status == "failed":
                groups[(o.case.op, o.failure.quantity, _shape_of_reason(o.failure.reason))].append(o)
            elif o.status in ("crashed", "timed_out"):
                groups[(o.case.op, o.status, _shape_of_reason(o.note))].append(o)
        lines += ["", f"{len(groups)} failure groups:", ""]
        for (op, quantity, _), members in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
            smallest = min(members, key=lambda o: (_size(o.case), o.case.key))
            reason = smallest.failure.reason if smallest.failure else smallest.note
            kind, what, own = verdict(library.name, op, quantity, reason)
            lines += [f"**`{op}`, {quantity}: {len(members)} cases, {kind}.** " + (what + ". " if what else "")
                      + f"Smallest: `{smallest.case.key}`: {reason}", "", "```py",  # not ```python: docs/conftest.py runs those, and these may abort (they reproduce crashes)
                      own or reproduction(library, smallest.case, profile), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default", choices=("quick", "default", "full"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "ecosystem.md"))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case (default: %(default)g)")
    parser.add_argument("--ops", default=None, help="comma-separated ops (default: all; a page of fewer is a sample)")
    parser.add_argument("--libraries", default=None,
                        help="comma-separated, of " + ", ".join(lib.name for lib in LIBRARIES) + " (default: all)")
    parser.add_argument("--keep", default=str(ROOT / ".ecosystem-outcomes.pickle"),
                        help="where the run keeps its outcomes (default: %(default)s)")
    parser.add_argument("--replay", action="store_true",
                        help="write the page from the outcomes kept by the last run, gating nothing")
    args = parser.parse_args(argv)
    if args.replay:
        kept = pickle.loads(Path(args.keep).read_bytes())
        if kept.get("cc"):
            os.environ["CC"] = kept["cc"]  # the compiler the reproductions name
        by_name = {lib.name: lib for lib in LIBRARIES}  # kept by name: a pickled Library is __main__'s
        results = [(by_name[name], outcomes, seconds) for name, outcomes, seconds in kept["results"]]
        skipped = [(by_name[name], why) for name, why in kept["skipped"]]
        Path(args.out).write_text(page(results, kept["profile"], skipped), encoding="utf-8")
        print(f"wrote {args.out} from {args.keep}")
        return 0
    names = [lib.name for lib in LIBRARIES]
    asked = args.libraries.split(",") if args.libraries else names
    unknown = [n for n in asked if n not in names]
    if unknown:
        parser.error(f"--libraries: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(names)}")
    results, skipped = [], []
    chosen = [lib for lib in LIBRARIES if lib.name in asked]
    for library in chosen:
        why = missing(library)
        if why:
            print(f"{library.name}: not gated: {why}", flush=True)
            skipped.append((library, why))
            continue
        outcomes, seconds = run(library, args.profile, args.timeout, args.ops.split(",") if args.ops else None)
        counts = collections.Counter(o.status for o in outcomes)
        print(f"{library.name}: {len(outcomes)} cases in {seconds:.0f} s: {dict(counts)}", flush=True)
        results.append((library, outcomes, seconds))
    Path(args.keep).write_bytes(pickle.dumps({"results": [(lib.name, o, t) for lib, o, t in results],
                                                "profile": args.profile,
                                                "skipped": [(lib.name, why) for lib, why in skipped],
                                                "cc": os.environ.get("CC")}))
    Path(args.out).write_text(page(results, args.profile, skipped), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
