"""conv-crosscheck's harness: hold an implementation of the contract against PyTorch.

``run_case(impl, case, seed)`` is the one comparison routine; ``cases_for(profile)`` lists the
cases; ``load_impl(name)`` imports the implementation under test. The CLI
(``python -m crosscheck``) and the pytest suite (``crosscheck.suite``) are both built on these.

The package is in layers, each importing only the ones below it. The gate, for *any*
implementation of the contract:

    specs      layer 0  each op's arrays, outputs and torch function (data)
    oracle     layer 1  the torch side: the one module that runs torch's ops
    cases      layer 1  what to call: the Case type, the tables, the profiles, the strategies
    checking   layer 2  how agreement is decided: tolerances, bounds, run_case
    gate       layer 3  the front ends: CLI, report, pytest plugin, known deviations
    suite               the pytest suite the plugin runs (``pytest --pyargs crosscheck.suite``)

and apart from it, for *this* reference only (the one part that imports ``reference``):

    networks   layer 3  reference.nn modules and networks against their torch twins, and the
                        training run against torch step by step (``python -m crosscheck.train``)
"""
from .cases import DTYPES, PROFILES, Case, cases_for
from .checking import Failure, Outcome, run_case
from .gate.impl import DEFAULT_IMPL, load_impl

__all__ = ["Case", "DEFAULT_IMPL", "DTYPES", "Failure", "Outcome", "PROFILES", "cases_for", "load_impl", "run_case"]
