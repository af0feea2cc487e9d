"""The one check of a planted bug: it fails some case of the default profile, on the quantity
its bug breaks (its ``GATE``), for the reason it gives, and nothing is skipped on the way."""
from __future__ import annotations

import crosscheck
from crosscheck.specs import OPS

SEED = 0


def describe(outcome) -> str:
    return f"{outcome.case.key}: {outcome.failure.quantity}: {outcome.failure.reason}"


def assert_caught(name, mutant, subject=None):
    """``subject`` is how the checking sees ``mutant`` (the module itself by default)."""
    assert mutant.__doc__ and "Revealed by" in mutant.__doc__, f"{name} must say which bug and which cases"
    gate = mutant.GATE
    # a second-order bug shows on any case its op has: those mutants name the quick profile
    cases = crosscheck.cases_for(gate.get("profile", "default"), ops=gate["ops"], dtypes=gate["dtypes"])
    assert cases and set(gate["ops"]) <= set(OPS)

    checks = crosscheck.Checks(order=gate.get("order", 1))  # a second-order bug needs the second order checked
    outcomes = [crosscheck.run_case(subject or mutant, case, SEED, checks) for case in cases]
    failures = [o for o in outcomes if o.status == "failed"]

    assert not any(o.status == "skipped" for o in outcomes), f"{name}: the harness skipped ops the mutant has"
    assert failures, f"{name}: the harness passed all {len(cases)} cases of {gate['ops']} {gate['dtypes']}"
    allowed = (gate["quantity"],) + tuple(gate.get("also", ()))
    wrong = [describe(o) for o in failures if o.failure.quantity not in allowed]
    assert not wrong, f"{name} must fail on {allowed} only, but:\n" + "\n".join(wrong[:5])
    caught = [o for o in failures if o.failure.quantity == gate["quantity"]]
    assert caught, f"{name}: never caught on {gate['quantity']!r}: " + "; ".join(describe(o) for o in failures[:3])
    if "reason" in gate:
        off = [describe(o) for o in caught if gate["reason"] not in o.failure.reason]
        assert not off, f"{name}: expected {gate['reason']!r} in the reason:\n" + "\n".join(off[:5])
