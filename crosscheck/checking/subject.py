"""What is checked, and how much of it: the implementation under test as :func:`run_case` sees it.

A :class:`Subject` holds the implementation's ops in NumPy terms (``NAME`` and
``NAME_backward``, as the contract says), the exceptions that mean "this call is refused",
and the support it declares. A plain module of the NumPy contract becomes one through
:func:`as_subject`; the framework adapters (:mod:`crosscheck.frameworks`) build one for code
written in torch, JAX or another autograd library.

:class:`Checks` says which of the contract's checks run. Values and gradients always do;
rejection parity, input mutation, aliasing and dtype preservation can each be switched off,
and ``backward=False`` gates a forward alone.

:class:`Support` is what an implementation declares it supports, per op: the values of each
argument, the dtypes, unbatched input, empty batches, a bias. A case outside it is reported as
*unsupported*, never silently passed or failed. The declaration is the module attribute
``CROSSCHECK_SUPPORT`` (docs/contract.md, section 12)::

    CROSSCHECK_SUPPORT = {
        "*": {"dtype": ["float32", "float64"]},               # every op
        "conv2d": {"dilation": [1], "groups": [1], "unbatched": False},
    }

An argument's list holds the values supported; a tuple value (``stride=(2, 1)``) is supported
when each of its entries is. An argument a case leaves out takes torch's default and is always
supported.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..cases import Case
from ..specs import OPS

REJECTIONS = (ValueError, TypeError)
# the keys of a declaration that are conditions, True or False, rather than argument names
CONDITIONS = ("unbatched", "empty_batch", "bias")
# the spatial rank of the ops whose input may come without a batch axis
SPATIAL = {f"{name}{d}d": d for d in (1, 2, 3)
           for name in ("conv", "conv_transpose", "max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool")}
SPATIAL.update(unfold=2, fold=1)  # unfold's image (C, H, W), fold's columns (C·|k|, B) when unbatched


@dataclass(frozen=True)
class Checks:
    """Which checks run besides values and gradients (all on by default)."""

    rejection: bool = True  # calls torch rejects must be rejected
    mutation: bool = True  # inputs and grad_output come back unmodified
    aliasing: bool = True  # results share no memory with the arguments
    dtype: bool = True  # results have the input's dtype
    backward: bool = True  # False: the forward alone (--forward-only)
    order: int = 1  # 2: also the backward's own vector-Jacobian product, NAME_double_backward (--order 2)

    def __post_init__(self):
        if self.order not in (1, 2):
            raise ValueError(f"Checks: order must be 1 or 2, got order={self.order!r}")
        if self.order == 2 and not self.backward:
            raise ValueError("Checks: order 2 differentiates the backward, so it cannot be used with the forward "
                             "alone (--forward-only)")

    def off(self) -> list[str]:
        """The names of the checks switched off, for the report."""
        return [f.name for f in fields(self) if f.name != "order" and not getattr(self, f.name)]


@dataclass(frozen=True)
class Support:
    """An implementation's declared support: op → {argument or condition: allowed values}."""

    declared: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, declaration, source: str = "CROSSCHECK_SUPPORT") -> Support:
        """Check a declaration's shape and names; raise ValueError naming what is wrong."""
        if declaration is None:
            return cls()
        if not isinstance(declaration, dict):
            raise ValueError(f"{source} must be a dict of op -> {{argument: allowed values}}, "
                             f"got {type(declaration).__name__}")
        for op, rules in declaration.items():
            if op != "*" and op not in OPS:
                raise ValueError(f"{source}: unknown op {op!r}; choose from '*', {', '.join(OPS)}")
            if not isinstance(rules, dict):
                raise ValueError(f"{source}[{op!r}] must be a dict, got {type(rules).__name__}")
            for key, allowed in rules.items():
                if key in CONDITIONS:
                    if not isinstance(allowed, bool):
                        raise ValueError(f"{source}[{op!r}][{key!r}] must be True or False, got {allowed!r}")
                elif not isinstance(allowed, (list, tuple, set, frozenset)):
                    raise ValueError(f"{source}[{op!r}][{key!r}] must be a list of the values supported, "
                                     f"got {allowed!r}")
        return cls(declaration)

    def reason(self, case: Case) -> str | None:
        """Why ``case`` is outside the declared support, or None if it is inside."""
        for op in ("*", case.op):
            for key, allowed in self.declared.get(op, {}).items():
                why = _outside(case, key, allowed)
                if why:
                    return f"declared unsupported: {why}"
        return None


def _outside(case: Case, key: str, allowed) -> str | None:
    if key == "dtype":
        return None if case.dtype in allowed else f"dtype {case.dtype} (supported: {', '.join(allowed)})"
    if key == "bias":
        has_bias = "bias" in case.arg_names and case.shapes[case.arg_names.index("bias")] is not None
        return None if allowed or not has_bias else "a bias"
    input_shape = case.shapes[0]
    if key == "unbatched":
        unbatched = case.op in SPATIAL and input_shape is not None and len(input_shape) == SPATIAL[case.op] + 1
        return None if allowed or not unbatched else "unbatched input"
    if key == "empty_batch":
        empty = input_shape is not None and len(input_shape) > 0 and input_shape[0] == 0
        return None if allowed or not empty else "an empty batch"
    if key not in case.kwargs:
        return None
    value = case.kwargs[key]
    entries = value if isinstance(value, (tuple, list)) else (value,)
    if all(_member(entry, allowed) for entry in entries):
        return None
    return f"{key}={value!r} (supported: {', '.join(map(repr, allowed))})"


def _member(value, allowed) -> bool:
    """``value in allowed``, with 1 == 1.0 == True kept apart (a float stride is a rejection case)."""
    return any(type(value) is type(a) and value == a for a in allowed)


@dataclass(frozen=True)
class Subject:
    """The implementation under test, in NumPy terms, with what it declares."""

    ops: object  # NAME and NAME_backward as attributes, NumPy in and out
    name: str = ""
    rejections: tuple = REJECTIONS  # exception types that mean "this call is refused"
    support: Support = field(default_factory=Support)
    framework: str = "numpy"  # as named by --framework: a built-in adapter's name, or a module
    about: str = ""  # what the framework says of itself (version, device), for the report

    def forward(self, op: str):
        return getattr(self.ops, op, None)

    def backward(self, op: str):
        return getattr(self.ops, op + "_backward", None)

    def double_backward(self, op: str):
        return getattr(self.ops, op + "_double_backward", None)


def as_subject(impl, name: str = "") -> Subject:
    """``impl`` itself if it is a Subject, else a module of the NumPy contract as one."""
    if isinstance(impl, Subject):
        return impl
    declared = getattr(impl, "CROSSCHECK_SUPPORT", None)
    return Subject(impl, name or getattr(impl, "__name__", ""), support=Support.parse(declared))
