"""Property-based search: hypothesis draws calls between the table's points.

One test per op of the contract draws valid calls (:func:`crosscheck.cases.strategies.calls`) and
runs each through the same comparison as the table's cases; one test per family of rules
draws calls torch rejects (:func:`crosscheck.cases.rejections.rejected_calls`), and the
implementation must reject each too. A failure shrinks to the smallest call that still
fails and prints the case, its configuration and a reproduction snippet.

    pytest --pyargs crosscheck.suite -m fuzz --impl mypkg.ops --max-examples 500
    pytest --pyargs crosscheck.suite -m fuzz --fuzz-ci            # the same draws every run
"""
import pytest
from hypothesis import given, strategies as st

from crosscheck.cases import rejections, strategies
from crosscheck.checking import run_case
from crosscheck.gate.plugin import fuzz_settings, known_deviations, selected_ops
from crosscheck.gate.report import format_failure
from crosscheck.specs import OPS

pytestmark = pytest.mark.fuzz


def pytest_generate_tests(metafunc):
    if "fuzzed_op" in metafunc.fixturenames:
        ops = selected_ops(metafunc.config) or list(OPS)
        metafunc.parametrize("fuzzed_op", ops)


def _check(impl, impl_name, case, seed, config, must_be_rejected, checks):
    if known_deviations(config).reason(case) is not None:
        return  # listed as a known deviation: not held against the implementation
    outcome = run_case(impl, case, seed, checks)
    if outcome.status == "skipped":
        pytest.skip(f"{case.op}: {outcome.note} by {impl_name}")
    if outcome.status == "unsupported":
        return  # outside what the implementation declares: a draw, not the op, is out of scope
    if must_be_rejected:
        assert outcome.rejected, f"{case.id}: drawn as a call torch rejects, but torch accepted it (a strategy bug)"
    assert outcome.status == "passed", format_failure(outcome, impl_name, seed, impl.framework)


def test_drawn_calls_agree_with_torch(fuzzed_op, impl, impl_name, crosscheck_seed, crosscheck_checks, pytestconfig):
    @fuzz_settings(pytestconfig)
    @given(data=st.data())
    def search(data):
        case = data.draw(strategies.calls(fuzzed_op), label="case")
        _check(impl, impl_name, case, crosscheck_seed, pytestconfig, False, crosscheck_checks)

    search._hypothesis_internal_add_digest = fuzzed_op.encode()  # one example database entry per op
    search()


@pytest.mark.parametrize("family", list(rejections.REJECTIONS))
def test_drawn_calls_torch_rejects_are_rejected(family, impl, impl_name, crosscheck_seed, crosscheck_checks,
                                                pytestconfig):
    ops = selected_ops(pytestconfig)
    if not crosscheck_checks.rejection:
        pytest.skip("rejection parity is off (--checks-off rejection)")

    @fuzz_settings(pytestconfig)
    @given(data=st.data())
    def search(data):
        case = data.draw(rejections.REJECTIONS[family](), label="case")
        if ops is None or case.op in ops:
            _check(impl, impl_name, case, crosscheck_seed, pytestconfig, True, crosscheck_checks)

    search._hypothesis_internal_add_digest = family.encode()
    search()
