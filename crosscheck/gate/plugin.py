"""The pytest side of the harness, registered as a pytest11 entry point.

After ``pip install conv-crosscheck`` every pytest run knows ``--impl``, ``--framework``,
``--crosscheck-device``, ``--profile``, ``--ops``, ``--crosscheck-seed``, ``--forward-only``, ``--crosscheck-order``,
``--checks-off``, ``--crosscheck-timeout``, ``--crosscheck-memory-limit``, ``--max-examples``, ``--fuzz-ci`` and
``--known-deviations``, so a downstream repository gates its own implementation with
``pytest --pyargs crosscheck.suite --impl mypkg.ops``. JUnit XML comes from pytest's own
``--junitxml``; hypothesis's ``--hypothesis-seed`` fixes the fuzzing's seed. Under pytest-xdist
(``-n``) a worker that a case brings down is replaced by xdist, which reports that case as failed
("worker crashed") and goes on with the others. With ``--crosscheck-timeout`` the table cases run
in a worker process of their own (``crosscheck.gate.isolation``), so a case that aborts or hangs
fails as *crashed* or *timed out*, with its reproduction, with or without xdist.
"""
from __future__ import annotations

import os

import hypothesis
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

from ..cases import PROFILES
from ..checking import Checks
from ..frameworks import subject_of
from ..oracle import use_one_torch_thread
from ..specs import OPS
from .deviations import KnownDeviations
from .impl import DEFAULT_IMPL, load_impl
from .isolation import Isolated


def pytest_addoption(parser):
    group = parser.getgroup("crosscheck", "conformance against torch")
    group.addoption("--impl", default=os.environ.get("CROSSCHECK_IMPL", DEFAULT_IMPL),
                    help="module under test (default: $CROSSCHECK_IMPL or %(default)s)")
    group.addoption("--framework", default=os.environ.get("CROSSCHECK_FRAMEWORK"),
                    help="what the module takes and returns: numpy, torch, jax, or a module defining FRAMEWORK "
                         "(default: $CROSSCHECK_FRAMEWORK, else the module's CROSSCHECK_FRAMEWORK, else numpy)")
    group.addoption("--crosscheck-device", default="cpu", help="torch device of the torch framework (default: cpu)")
    group.addoption("--forward-only", action="store_true", help="check outputs only: for code without a backward")
    group.addoption("--crosscheck-order", type=int, choices=(1, 2), default=1,
                    help="2: also check NAME_double_backward against torch's grad of grad (default: 1)")
    group.addoption("--checks-off", default="", metavar="LIST",
                    help=f"comma-separated checks not to run, of {', '.join(SWITCHABLE)} (default: none)")
    group.addoption("--crosscheck-timeout", type=float, default=None, metavar="SECONDS",
                    help="run each table case in a worker process, failing it as crashed if the process dies "
                         "and as timed out after SECONDS (default: in the test process, no limit)")
    group.addoption("--crosscheck-memory-limit", type=int, default=None, metavar="MIB",
                    help="with --crosscheck-timeout: cap the worker's address space at MIB mebibytes, failing a "
                         "case that allocates past it as crashed (default: no cap)")
    group.addoption("--profile", choices=PROFILES, default="default", help="case profile (default: %(default)s)")
    group.addoption("--ops", default=None, help="comma-separated ops to check (default: all)")
    group.addoption("--crosscheck-seed", type=int, default=0, help="seed of the case data (default: 0)")
    group.addoption("--max-examples", type=int, default=50,
                    help="calls hypothesis draws per op and per rejection family (default: %(default)s)")
    group.addoption("--fuzz-ci", action="store_true",
                    help="derandomised fuzzing: the same draws on every run (for CI); without it, draws are "
                         "random and failures are kept in the example database (.hypothesis/) and replayed first")
    group.addoption("--known-deviations", default=None, metavar="FILE",
                    help="cases the implementation may fail, 'pattern: reason' per line (see crosscheck.gate.deviations)")


SWITCHABLE = ("rejection", "mutation", "aliasing", "dtype")


def pytest_configure(config):
    use_one_torch_thread()
    config.addinivalue_line("markers", "fuzz: property-based search with hypothesis (--max-examples, --fuzz-ci)")
    config._crosscheck_checks = _checks(config)
    timeout = config.getoption("--crosscheck-timeout", default=None)
    if timeout is not None and not timeout > 0:
        raise pytest.UsageError(f"--crosscheck-timeout must be positive (seconds per case), got {timeout!r}")
    memory = config.getoption("--crosscheck-memory-limit", default=None)
    if memory is not None and (timeout is None or memory <= 0):
        raise pytest.UsageError(f"--crosscheck-memory-limit must be a positive number of MiB, with "
                                f"--crosscheck-timeout (the cap is the worker's), got {memory!r}")
    path = config.getoption("--known-deviations", default=None)
    try:
        config._crosscheck_deviations = KnownDeviations.read(path) if path else KnownDeviations()
    except (OSError, ValueError) as exc:
        raise pytest.UsageError(f"--known-deviations {path}: {exc}") from exc


def _checks(config) -> Checks:
    off = [t.strip() for t in (config.getoption("--checks-off", default="") or "").split(",") if t.strip()]
    unknown = [t for t in off if t not in SWITCHABLE]
    if unknown:
        raise pytest.UsageError(f"--checks-off: unknown {unknown}; choose from {', '.join(SWITCHABLE)}")
    try:
        return Checks(**dict.fromkeys(off, False), backward=not config.getoption("--forward-only", default=False),
                      order=config.getoption("--crosscheck-order", default=1))
    except ValueError as exc:  # --crosscheck-order 2 with --forward-only
        raise pytest.UsageError(str(exc)) from exc


def fuzz_settings(config) -> settings:
    """The hypothesis settings of the suite's fuzz tests, from the command line. Applied to
    those tests only: no profile is loaded, so a project's own hypothesis tests keep theirs."""
    return settings(max_examples=config.getoption("--max-examples"), derandomize=config.getoption("--fuzz-ci"),
                    deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])


def known_deviations(config) -> KnownDeviations:
    return config._crosscheck_deviations


def pytest_sessionfinish(session):
    """Under pytest-xdist a worker hands the patterns it matched back to the controller."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["crosscheck_deviations_used"] = sorted(known_deviations(session.config).used)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    used = getattr(node, "workeroutput", {}).get("crosscheck_deviations_used", [])
    known_deviations(node.config).used.update(used)


def pytest_terminal_summary(terminalreporter, config):
    deviations = getattr(config, "_crosscheck_deviations", None)
    if deviations and deviations.entries and not hasattr(config, "workerinput"):
        unmatched = deviations.unmatched()
        if unmatched:
            terminalreporter.write_sep("-", f"known deviations that matched no case ({deviations.source})")
            for pattern in unmatched:
                terminalreporter.write_line(f"{pattern}: {deviations.entries[pattern]}")


def selected_ops(config):
    text = config.getoption("--ops")
    if text is None:
        return None
    ops = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise pytest.UsageError(f"--ops: unknown {unknown}; choose from {', '.join(OPS)}")
    return ops


def pytest_report_header(config):
    return (f"crosscheck: impl={config.getoption('--impl')}, torch {torch.__version__}, numpy {np.__version__}, "
            f"hypothesis {hypothesis.__version__}")


@pytest.fixture(scope="session")
def impl_name(pytestconfig) -> str:
    return pytestconfig.getoption("--impl")


@pytest.fixture(scope="session")
def impl(impl_name, pytestconfig):
    """The implementation under test as the checking sees it (a Subject, whatever its framework)."""
    try:
        module = load_impl(impl_name)
    except Exception as exc:  # reported as a usage error, whatever the import raised
        raise pytest.UsageError(f"--impl {impl_name}: cannot import: {type(exc).__name__}: {exc}") from exc
    try:
        return subject_of(module, pytestconfig.getoption("--framework"),
                          pytestconfig.getoption("--crosscheck-device"), impl_name)
    except (ValueError, ImportError) as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture(scope="session")
def crosscheck_checks(pytestconfig) -> Checks:
    return pytestconfig._crosscheck_checks


@pytest.fixture(scope="session")
def crosscheck_seed(pytestconfig) -> int:
    return pytestconfig.getoption("--crosscheck-seed")


@pytest.fixture(scope="session")
def crosscheck_isolated(pytestconfig, impl_name, crosscheck_seed, crosscheck_checks):
    """With ``--crosscheck-timeout``, the worker process the table cases run in; else None."""
    timeout = pytestconfig.getoption("--crosscheck-timeout")
    if timeout is None:
        yield None
        return
    with Isolated(impl_name, pytestconfig.getoption("--framework"), pytestconfig.getoption("--crosscheck-device"),
                  crosscheck_seed, crosscheck_checks, timeout,
                  pytestconfig.getoption("--crosscheck-memory-limit")) as isolated:
        yield isolated
