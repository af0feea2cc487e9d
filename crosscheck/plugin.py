"""The pytest side of the harness, registered as a pytest11 entry point.

After ``pip install conv-crosscheck`` every pytest run knows ``--impl``, ``--profile``,
``--ops`` and ``--crosscheck-seed``, so a downstream repository gates its own
implementation with ``pytest --pyargs crosscheck.suite --impl mypkg.ops``.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from . import DEFAULT_IMPL, load_impl
from .compare import use_one_torch_thread
from .ops import OPS
from .table import PROFILES


def pytest_addoption(parser):
    group = parser.getgroup("crosscheck", "conformance against torch")
    group.addoption("--impl", default=os.environ.get("CROSSCHECK_IMPL", DEFAULT_IMPL),
                    help="module under test (default: $CROSSCHECK_IMPL or %(default)s)")
    group.addoption("--profile", choices=PROFILES, default="default", help="case profile (default: %(default)s)")
    group.addoption("--ops", default=None, help="comma-separated ops to check (default: all)")
    group.addoption("--crosscheck-seed", type=int, default=0, help="seed of the case data (default: 0)")


def pytest_configure(config):
    use_one_torch_thread()


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
    import torch

    return f"crosscheck: impl={config.getoption('--impl')}, torch {torch.__version__}, numpy {np.__version__}"


@pytest.fixture(scope="session")
def impl_name(pytestconfig) -> str:
    return pytestconfig.getoption("--impl")


@pytest.fixture(scope="session")
def impl(impl_name):
    try:
        return load_impl(impl_name)
    except Exception as exc:  # reported as a usage error, whatever the import raised
        raise pytest.UsageError(f"--impl {impl_name}: cannot import: {type(exc).__name__}: {exc}") from exc


@pytest.fixture(scope="session")
def crosscheck_seed(pytestconfig) -> int:
    return pytestconfig.getoption("--crosscheck-seed")
