"""``python -m crosscheck``: the conformance sweep of an implementation against torch.

Exit status: 0 every case checked agrees (unsupported and skipped cases are counted, not
failed), 1 any case failed, crashed or timed out, 2 a usage error, an implementation or
framework that cannot be loaded, or one that implements none of the ops asked for.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from ..cases import DTYPES, PROFILES, cases_for
from ..checking import Checks, run_case
from ..checking.compare import missing
from ..frameworks import BUILTIN, subject_of
from ..oracle import use_one_torch_thread
from ..specs import OPS
from . import report
from .impl import DEFAULT_IMPL, load_impl
from .isolation import Isolated

SWITCHABLE = {"rejection": "rejection parity: calls torch rejects must be rejected",
              "mutation": "inputs and grad_output come back unmodified",
              "aliasing": "results share no memory with the arguments",
              "dtype": "results keep the input's dtype"}


def _list(kind, choices):
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in choices]
        if not items or unknown:
            raise argparse.ArgumentTypeError(f"unknown {kind} {unknown or text!r}; choose from {', '.join(choices)}")
        return items

    return parse


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number of MiB, got {text!r}")
    return value


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


class Parser(argparse.ArgumentParser):
    """``--help`` ends with the ops, the profiles with their case counts, and the exit codes
    (counted when asked for: building every profile takes a few seconds)."""

    def format_help(self):
        counts = ", ".join(f"{p} {len(cases_for(p)):,}" for p in PROFILES)
        self.epilog = "\n".join([
            "ops: " + ", ".join(OPS),
            f"profiles (cases, both dtypes): {counts}",
            f"frameworks: {', '.join(BUILTIN)}, or a module defining FRAMEWORK (docs/contract.md, section 12)",
            "exit status: 0 every case checked agrees, 1 a case failed, crashed or timed out, 2 a usage error",
        ])
        return super().format_help()


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m crosscheck", description=__doc__.split("\n\n")[0],
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", default=os.environ.get("CROSSCHECK_IMPL", DEFAULT_IMPL),
                   help="module under test (default: $CROSSCHECK_IMPL or %(default)s)")
    p.add_argument("--framework", default=os.environ.get("CROSSCHECK_FRAMEWORK"),
                   help="what the module takes and returns: numpy, torch, jax, or a module defining FRAMEWORK "
                        "(default: $CROSSCHECK_FRAMEWORK, else the module's CROSSCHECK_FRAMEWORK, else numpy)")
    p.add_argument("--device", default="cpu", help="torch device the torch framework runs on (default: %(default)s)")
    p.add_argument("--ops", type=_list("op", list(OPS)), default=None, help="comma-separated ops (default: all)")
    p.add_argument("--dtype", type=_list("dtype", DTYPES), default=list(DTYPES),
                   help="comma-separated dtypes (default: float64,float32)")
    p.add_argument("--profile", choices=PROFILES, default="default", help="case profile (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data (the case list is fixed per profile)")
    p.add_argument("--forward-only", action="store_true", help="check outputs only: for code without a backward")
    p.add_argument("--order", type=int, choices=(1, 2), default=1,
                   help="2: also check NAME_double_backward, the backward's own vector-Jacobian product, against "
                        "torch's grad of grad (default: %(default)s)")
    for name, what in SWITCHABLE.items():
        p.add_argument(f"--no-{name}", dest=f"check_{name}", action="store_false", help=f"do not check {what}")
    p.add_argument("--no-isolate", dest="isolate", action="store_false",
                   help="run cases in this process (default: in a worker process, so that a crash or hang is "
                        "reported as the case's and the sweep goes on)")
    p.add_argument("--timeout", type=_positive, default=60.0,
                   help="seconds a case may take in the worker process before it is timed out (default: %(default)g)")
    p.add_argument("--memory-limit", type=_positive_int, default=None, metavar="MIB",
                   help="cap the worker process's address space at MIB mebibytes: a case that allocates past it is "
                        "reported as crashed (default: no cap)")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    p.add_argument("--json", metavar="PATH", help="write the machine-readable report here")
    return p


class Progress:
    """A one-line progress bar, drawn only when stderr is a terminal."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.stream = total, stream
        self.enabled = stream.isatty()
        self.last = 0.0

    def update(self, done: int, label: str, failed: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done < self.total):
            return
        self.last = now
        width = 30
        filled = width * done // max(self.total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {failed} failed  {label:<12}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 70 + "\r")


def _load(args):
    """The subject, or an error message (a usage error: exit 2)."""
    try:
        module = load_impl(args.impl)
    except Exception as exc:  # any import failure is the user's to fix, reported as a usage error
        return None, f"cannot import --impl {args.impl}: {type(exc).__name__}: {exc}"
    try:
        return subject_of(module, args.framework, args.device, args.impl), None
    except (ValueError, ImportError) as exc:  # an unknown framework or device, or one not installed
        return None, str(exc)


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.memory_limit is not None and not args.isolate:
        p.error("--memory-limit caps the worker process: it cannot be used with --no-isolate")
    try:
        checks = Checks(**{name: getattr(args, f"check_{name}") for name in SWITCHABLE}, backward=not args.forward_only,
                        order=args.order)
    except ValueError as exc:  # --order 2 with --forward-only
        p.error(str(exc))
    subject, error = _load(args)
    if error:
        print(f"crosscheck: {error}", file=sys.stderr)
        return 2
    use_one_torch_thread()
    cases = cases_for(args.profile, ops=args.ops, dtypes=args.dtype)
    asked = sorted({c.op for c in cases})
    absent = {op: missing(op, subject.forward(op), subject.backward(op)) for op in asked
              if subject.forward(op) is None or (checks.backward and subject.backward(op) is None)
              or (args.order == 2 and subject.double_backward(op) is None)}
    if len(absent) == len(asked):
        found = [op for op in asked if subject.forward(op) is not None]
        detail = "; ".join(absent[op] for op in found) if found else ", ".join(asked)
        print(f"crosscheck: {args.impl} implements none of the ops asked for ({detail})", file=sys.stderr)
        return 2

    off = checks.off()
    label = args.impl if subject.framework == "numpy" else f"{args.impl} ({subject.about or subject.framework})"
    print(f"crosscheck: {label} against torch, profile {args.profile}, {len(cases)} cases, "
          f"seed {args.seed}" + ("; order 2 (double backward)" if args.order == 2 else "")
          + (f"; checks off: {', '.join(off)}" if off else ""))
    for op, why in absent.items():
        print(f"  {op}: not implemented by {args.impl}, skipped" if subject.forward(op) is None else f"  {op}: {why}; skipped")
    outcomes = _sweep(args, subject, checks, cases)
    counts = report.totals(outcomes)
    print()
    print(report.summary_table(outcomes))
    print()
    print(f"{report.counts_line(counts)} in {time.perf_counter() - args.start:.1f} s "
          "(largest error per quantity; err/tol: its share of the tolerance)")
    if args.json:
        report.write_json(args.json, outcomes, args.impl, subject.framework, off, args.order)
    return 1 if counts["failed"] or counts["crashed"] or counts["timed_out"] else 0


def _sweep(args, subject, checks, cases) -> list:
    isolated = Isolated(args.impl, args.framework, args.device, args.seed, checks, args.timeout,
                        args.memory_limit) if args.isolate else None
    run = isolated.run if isolated else (lambda case: run_case(subject, case, args.seed, checks))
    outcomes, bad = [], 0
    progress = Progress(len(cases))
    args.start = time.perf_counter()
    try:
        for i, case in enumerate(cases, 1):
            outcome = run(case)
            outcomes.append(outcome)
            if outcome.status in ("failed", "crashed", "timed_out"):
                bad += 1
                progress.close()
                print(report.format_failure(outcome, args.impl, args.seed, subject.framework), flush=True)
                if args.exitfirst:
                    break
            progress.update(i, case.op, bad)
    finally:
        progress.close()
        if isolated:
            isolated.close()
    return outcomes
