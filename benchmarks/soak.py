"""Soak the conformance suite: the full profile and random fuzzing under many seeds, against
implementations known to be correct, where every failure is a false one.

For each seed N and each implementation the script runs, in one pytest process spread over
the cores by pytest-xdist,

    pytest crosscheck/suite --impl IMPL --profile full --crosscheck-seed N \\
        --hypothesis-seed N --max-examples 200 -n auto -p no:cacheprovider

so the table's cases are drawn with data seed N and hypothesis searches with seed N, not
derandomised (``--fuzz-ci`` is what ``make test`` runs; here the draws differ from seed to
seed). Each run gets an empty hypothesis example database in a temporary folder: a row
depends on its seed alone, and a failure it finds is reproduced by rerunning that seed (the
failure message also prints hypothesis's reproduction blob).

    make soak                                            # or: python benchmarks/soak.py
    python benchmarks/soak.py --seeds 0-2 --impls reference.functional --profile default
    python benchmarks/soak.py --json soak.json            # the rows, the environment, the failures
    python benchmarks/soak.py --seeds 0 --ops conv2d,pad   # options it does not know go to pytest

Then the rejected-call search alone, in this process, against the torch-backed
implementation: for each of ``--rejection-seeds`` seeds, every family of
:data:`crosscheck.cases.rejections.REJECTIONS` draws ``--rejection-examples`` calls at random
(hypothesis seeded with the seed) and each must be a call torch rejects, rejected by the
implementation too. A strategy that makes a call invalid by chance rather than by
construction fails a correct implementation here; at the defaults (100 seeds × 500 draws ×
4 families, 200,000 draws) the cross_entropy target bug this phase was written for shows
about a hundred times. ``--rejection-seeds ''`` turns the phase off.

It prints one row per seed and implementation: the cases of the profile run, passed,
failed and skipped; the fuzz tests (one per op and per family of rejections) and the
examples hypothesis ran in them (passing plus failing, over its reuse and generate phases);
and the wall time. Exit status 1 if any case or fuzz test failed or errored (the failures are
printed after the table), 0 otherwise. A soak is not part of ``make test``: it is long.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the rejected-call search imports tests.impls.torch_backed in this process
IMPLS = ("tests.impls.torch_backed", "reference.functional")
CASE_TEST = "test_agrees_with_torch"
FUZZ_TESTS = ("test_drawn_calls_agree_with_torch", "test_drawn_calls_torch_rejects_are_rejected")
SHOWN_IN_FULL = 3  # failures per run printed with their report; the rest by test id (all in --json)
EXAMPLES = "hypothesis_examples"  # the property this module, loaded as a pytest plugin, adds to each test


@dataclass
class Row:
    seed: int
    impl: str
    cases: int = 0
    cases_passed: int = 0
    cases_failed: int = 0
    cases_skipped: int = 0
    fuzz_tests: int = 0
    fuzz_passed: int = 0
    fuzz_failed: int = 0
    examples: int = 0
    other_failed: int = 0  # collection errors, or failures of anything else
    seconds: float = 0.0
    returncode: int = 0
    failures: list = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.cases_failed + self.fuzz_failed + self.other_failed

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.returncode == 0


def parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds.extend(range(int(lo), int(hi) + 1))
        elif part.strip():
            seeds.append(int(part))
    return seeds


# --- the pytest plugin side (``-p soak``, in every xdist worker) --------------------------------
# The suite's fuzz tests run an inner ``@given`` search, which hypothesis's own pytest plugin
# does not report statistics for; hypothesis hands every search's statistics to
# ``hypothesis.statistics.collector``, so this hook catches them around each test call and
# records the examples as a junit property.

def _examples(stats: dict) -> int:
    """Examples run (passing or failing) in a search's phases other than shrinking."""
    return sum(1 for phase, data in stats.items() if phase.endswith("-phase") and phase != "shrink-phase"
               for case in data.get("test-cases", []) if case.get("status") in ("valid", "interesting"))


def _hookwrapper(function):
    import pytest

    return pytest.hookimpl(hookwrapper=True)(function)


@_hookwrapper
def pytest_runtest_call(item):
    from hypothesis.statistics import collector

    searches = []
    with collector.with_value(searches.append):
        yield
    if searches:
        item.user_properties.append((EXAMPLES, sum(_examples(s) for s in searches)))


def read_junit(row: Row, path: Path) -> None:
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "").split("[")[0]
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped") is not None
        nodeid = f"{case.get('classname')}::{case.get('name')}"
        for prop in case.iter("property"):
            if prop.get("name") == EXAMPLES:
                row.examples += int(prop.get("value"))
        if name == CASE_TEST:
            row.cases += 1
            row.cases_failed += bad is not None
            row.cases_skipped += skipped and bad is None
            row.cases_passed += bad is None and not skipped
        elif name in FUZZ_TESTS:
            row.fuzz_tests += 1
            row.fuzz_failed += bad is not None
            row.fuzz_passed += bad is None and not skipped
        else:
            row.other_failed += bad is not None
        if bad is not None:  # a fuzz failure first: it carries the shrunk call and hypothesis's blob
            row.failures.insert(0 if name in FUZZ_TESTS else len(row.failures),
                                f"{nodeid}\n{bad.text or bad.get('message', '')}")


def run_one(seed: int, impl: str, args) -> Row:
    row = Row(seed=seed, impl=impl)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "crosscheck/suite", "--impl", impl, "--profile", args.profile,
                   "--crosscheck-seed", str(seed), "--hypothesis-seed", str(seed),
                   "--max-examples", str(args.max_examples), "-n", args.workers, "-p", "no:cacheprovider",
                   "-q", "--no-header", "-o", "addopts=", "-p", "soak", f"--junitxml={junit}", *args.pytest]
        path = os.pathsep.join(p for p in (str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, PYTHONPATH=path, HYPOTHESIS_STORAGE_DIRECTORY=str(Path(tmp) / "hypothesis"))
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        row.seconds = time.perf_counter() - start
        row.returncode = done.returncode
        if junit.exists():
            read_junit(row, junit)
        if done.returncode not in (0, 1) or not junit.exists():  # usage error, collection error, crash
            row.other_failed += 1
            row.failures.append(f"pytest exited with {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return row


@dataclass
class RejectionRow:
    family: str
    seeds: int = 0
    draws: int = 0
    failures: list = field(default_factory=list)  # one per failing seed: the seed and the message


def search_rejections(family: str, seeds: list[int], examples: int, impl_name: str) -> RejectionRow:
    """Random searches of one family of rejected calls, one per seed, each call through
    ``run_case``: torch must reject it and so must the implementation."""
    import importlib

    from hypothesis import HealthCheck, given, seed as hypothesis_seed, settings

    from crosscheck import run_case
    from crosscheck.cases import rejections

    impl, row = importlib.import_module(impl_name), RejectionRow(family)
    for n in seeds:
        @hypothesis_seed(n)
        @settings(max_examples=examples, database=None, deadline=None, print_blob=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=rejections.REJECTIONS[family]())
        def search(case):
            row.draws += 1
            outcome = run_case(impl, case, n)
            assert outcome.rejected, f"{case.id}: drawn as a call torch rejects, but torch accepted it"
            assert outcome.status == "passed", f"{case.id}: {outcome.failure}"

        row.seeds += 1
        try:
            search()
        except AssertionError as exc:  # hypothesis re-raises the shrunk failure
            row.failures.append(f"seed {n}: {str(exc).splitlines()[0]}")
    return row


def table(rows: list[Row]) -> str:
    head = ("| seed | impl | cases | passed | failed | skipped | fuzz tests | examples | fuzz failed | seconds |\n"
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r.seed} | {r.impl} | {r.cases} | {r.cases_passed} | {r.cases_failed + r.other_failed} | "
                     f"{r.cases_skipped} | {r.fuzz_tests} | {r.examples} | {r.fuzz_failed} | {r.seconds:.0f} |")
    return "\n".join(lines)


def load() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # not on every platform
        return "load average unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0-9", help="seeds N, as 0-9 or 0,3,7 (default: %(default)s)")
    parser.add_argument("--impls", default=",".join(IMPLS), help="comma-separated modules (default: %(default)s)")
    parser.add_argument("--profile", default="full", choices=("quick", "default", "full"))
    parser.add_argument("--max-examples", type=int, default=200, help="per fuzz test (default: %(default)s)")
    parser.add_argument("--workers", default="auto", help="pytest-xdist's -n (default: %(default)s)")
    parser.add_argument("--rejection-seeds", default="0-99",
                        help="seeds of the rejected-call search against torch_backed; '' for none (default: %(default)s)")
    parser.add_argument("--rejection-examples", type=int, default=500,
                        help="draws per family and seed in that search (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="write the rows, failures included, and the environment here")
    args, args.pytest = parser.parse_known_args(argv)  # the rest goes to pytest, e.g. --ops conv2d,pad

    import numpy
    import torch
    import hypothesis

    print(f"soak: profile {args.profile}, --max-examples {args.max_examples}, -n {args.workers}; python "
          f"{platform.python_version()}, torch {torch.__version__}, numpy {numpy.__version__}, hypothesis "
          f"{hypothesis.__version__}, {os.cpu_count()} cpus; {load()}", flush=True)
    rows, loads = [], [load()]
    start = time.perf_counter()
    for seed in parse_seeds(args.seeds):
        for impl in [i.strip() for i in args.impls.split(",") if i.strip()]:
            row = run_one(seed, impl, args)
            rows.append(row)
            loads.append(load())
            print(f"seed {seed} {impl}: {row.cases} cases, {row.cases_failed} failed; {row.fuzz_tests} fuzz tests, "
                  f"{row.examples} examples, {row.fuzz_failed} failed; {row.seconds:.0f} s; {loads[-1]}", flush=True)
    searches, rejection_seeds = [], parse_seeds(args.rejection_seeds)
    if rejection_seeds:
        from crosscheck.cases import rejections

        for family in rejections.REJECTIONS:
            started = time.perf_counter()
            searches.append(search_rejections(family, rejection_seeds, args.rejection_examples, IMPLS[0]))
            r = searches[-1]
            print(f"rejected calls, {family}: {r.seeds} seeds, {r.draws} draws against {IMPLS[0]}, "
                  f"{len(r.failures)} seeds failed; {time.perf_counter() - started:.0f} s", flush=True)
    total = time.perf_counter() - start

    print()
    print(table(rows))
    failed = [r for r in rows if not r.ok]
    print(f"\n{len(rows)} runs, {sum(r.cases for r in rows)} cases, {sum(r.examples for r in rows)} examples, "
          f"{sum(r.failed for r in rows)} failed, {total:.0f} s in all")
    if searches:
        print(f"rejected-call search: {sum(r.draws for r in searches)} draws over {len(rejection_seeds)} seeds, "
              f"{sum(len(r.failures) for r in searches)} failed")
    for r in searches:
        for text in r.failures:
            print(f"  {r.family}, {text}")
    for r in failed:
        print(f"\n=== seed {r.seed}, {r.impl}: {r.failed} failed (pytest exit {r.returncode}) ===")
        for i, text in enumerate(r.failures):  # the first few in full, then the test ids
            print(text if i < SHOWN_IN_FULL else text.splitlines()[0])
    failed += [r for r in searches if r.failures]
    if args.json:
        args.json.write_text(json.dumps({"rows": [asdict(r) for r in rows], "loads": loads, "seconds": total,
                                         "rejections": [asdict(r) for r in searches],
                                         "argv": sys.argv, "profile": args.profile,
                                         "max_examples": args.max_examples}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
