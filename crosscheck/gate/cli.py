"""``python -m crosscheck``: the conformance sweep of an implementation against torch.

Exit status: 0 every case agrees, 1 any disagreement, 2 a usage error or an
implementation that cannot be imported (or that implements none of the ops asked for).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from ..cases import DTYPES, PROFILES, cases_for
from ..checking import run_case
from ..oracle import use_one_torch_thread
from ..specs import OPS
from . import report
from .impl import DEFAULT_IMPL, load_impl


def _list(kind, choices):
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in choices]
        if not items or unknown:
            raise argparse.ArgumentTypeError(f"unknown {kind} {unknown or text!r}; choose from {', '.join(choices)}")
        return items

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crosscheck", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default=os.environ.get("CROSSCHECK_IMPL", DEFAULT_IMPL),
                   help="module under test (default: $CROSSCHECK_IMPL or %(default)s)")
    p.add_argument("--ops", type=_list("op", list(OPS)), default=None, help="comma-separated ops (default: all)")
    p.add_argument("--dtype", type=_list("dtype", DTYPES), default=list(DTYPES), help="float64,float32")
    p.add_argument("--profile", choices=PROFILES, default="default")
    p.add_argument("--seed", type=int, default=0, help="seed of the data (the case list is fixed per profile)")
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


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        impl = load_impl(args.impl)
    except Exception as exc:  # any import failure is the user's to fix, reported as a usage error
        print(f"crosscheck: cannot import --impl {args.impl}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    use_one_torch_thread()
    cases = cases_for(args.profile, ops=args.ops, dtypes=args.dtype)
    missing = sorted({c.op for c in cases if not hasattr(impl, c.op) or not hasattr(impl, c.op + "_backward")})
    if missing and len(missing) == len({c.op for c in cases}):
        print(f"crosscheck: {args.impl} implements none of the ops asked for ({', '.join(missing)})", file=sys.stderr)
        return 2

    print(f"crosscheck: {args.impl} against torch, profile {args.profile}, {len(cases)} cases, seed {args.seed}")
    for op in missing:
        print(f"  {op}: not implemented by {args.impl}, skipped")
    outcomes, failed = [], 0
    progress = Progress(len(cases))
    start = time.perf_counter()
    for i, case in enumerate(cases, 1):
        outcome = run_case(impl, case, args.seed)
        outcomes.append(outcome)
        if outcome.status == "failed":
            failed += 1
            progress.close()
            print(report.format_failure(outcome, args.impl, args.seed), flush=True)
            if args.exitfirst:
                break
        progress.update(i, case.op, failed)
    progress.close()

    counts = report.totals(outcomes)
    print()
    print(report.summary_table(outcomes))
    print()
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
          f"in {time.perf_counter() - start:.1f} s (largest error per quantity; err/tol: its share of the tolerance)")
    if args.json:
        report.write_json(args.json, outcomes, args.impl)
    return 1 if failed else 0
