"""Every case of the chosen profile, through the one comparison routine.

Run against any implementation: ``pytest --pyargs crosscheck.suite --impl mypkg.ops``.
"""
import pytest

from crosscheck.cases import cases_for
from crosscheck.checking import run_case
from crosscheck.gate.plugin import known_deviations, selected_ops
from crosscheck.gate.report import format_failure


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        config = metafunc.config
        cases = cases_for(config.getoption("--profile"), ops=selected_ops(config))
        metafunc.parametrize("case", cases, ids=[c.key for c in cases])


def test_agrees_with_torch(case, impl, impl_name, crosscheck_seed, crosscheck_checks, crosscheck_isolated, request):
    reason = known_deviations(request.config).reason(case)
    if reason is not None:  # allowed to fail; reported as XPASS if it agrees after all
        request.applymarker(pytest.mark.xfail(reason=f"known deviation: {reason}", strict=False))
    if crosscheck_isolated is not None:  # --crosscheck-timeout: a crash or hang fails this case only
        outcome = crosscheck_isolated.run(case)
    else:
        outcome = run_case(impl, case, crosscheck_seed, crosscheck_checks)
    if outcome.status == "skipped":
        pytest.skip(f"{case.op}: {outcome.note} by {impl_name}")
    if outcome.status == "unsupported":
        pytest.skip(f"unsupported by {impl_name}: {outcome.note}")
    assert outcome.status == "passed", format_failure(outcome, impl_name, crosscheck_seed, impl.framework)
