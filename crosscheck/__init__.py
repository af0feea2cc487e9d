"""conv-crosscheck's harness: hold an implementation of the contract against PyTorch.

``run_case(impl, case, seed)`` is the one comparison routine; ``cases_for(profile)`` lists the
cases; ``load_impl(name)`` imports the implementation under test. The CLI
(``python -m crosscheck``) and the pytest suite (``crosscheck.suite``) are both built on these.

The package is in layers, each importing only the ones below it. The gate, for *any*
implementation of the contract:

    specs      layer 0  each op's arrays, outputs and torch function (data)
    oracle     layer 1  the torch side: the one module that runs torch's ops
    cases      layer 1  what to call: the Case type, the tables, the profiles, the strategies
    checking   layer 2  how agreement is decided: tolerances, bounds, what is checked, run_case
    frameworks layer 3  implementations in torch, JAX or an autograd library, as NumPy subjects
    gate       layer 4  the front ends: CLI, report, pytest plugin, known deviations, isolation
    suite               the pytest suite the plugin runs (``pytest --pyargs crosscheck.suite``)

and apart from it, for *this* reference only (the one part that imports ``reference``):

    networks   layer 3  reference.nn modules and networks against their torch twins, and the
                        training run against torch step by step (``python -m crosscheck.train``)
"""
from .cases import DTYPES, PROFILES, Case, cases_for
from .checking import STATUSES, Checks, Failure, Outcome, Subject, Support, run_case
from .frameworks import Framework, subject_of
from .gate.impl import DEFAULT_IMPL, load_impl

__all__ = ["Case", "Checks", "DEFAULT_IMPL", "DTYPES", "Failure", "Framework", "Outcome", "PROFILES", "STATUSES",
           "Subject", "Support", "cases_for", "load_impl", "run_case", "subject_of"]
