"""Layer 3, the frameworks an implementation under test may be written in.

``numpy`` is the contract as it stands: the module is the subject. Any other framework is an
adapter (:class:`.base.Framework`) that :func:`.base.adapt` applies, so the checking sees NumPy
in and out whatever the implementation speaks. The framework is named by ``--framework``, or
by the module itself (``CROSSCHECK_FRAMEWORK = "torch"``); an adapter outside this package is
named by the module that defines it (``--framework mypkg.adapter``, whose ``FRAMEWORK`` is a
:class:`.base.Framework`).
"""
from __future__ import annotations

import importlib

from ..checking import Subject, as_subject
from .base import Framework, adapt

# the adapters shipped: name -> (the module whose adapter() makes it, imported only when asked for,
# and adapter()'s options); jax-jit compiles each call with jax.jit (see crosscheck.frameworks.jax)
BUILTIN = {"numpy": None, "torch": ("crosscheck.frameworks.torch", {}), "jax": ("crosscheck.frameworks.jax", {}),
           "jax-jit": ("crosscheck.frameworks.jax", {"jit": True})}

__all__ = ["BUILTIN", "Framework", "adapt", "framework_named", "subject_of"]


def framework_named(name: str, device: str = "cpu") -> Framework | None:
    """The adapter called ``name`` (None for numpy), or the FRAMEWORK of the module ``name``."""
    if name == "numpy":
        if device != "cpu":
            raise ValueError(f"--device {device!r}: the numpy framework runs on the cpu only")
        return None
    if name in BUILTIN:
        module, options = BUILTIN[name]
        return importlib.import_module(module).adapter(device, **options)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ValueError(f"--framework {name!r} is neither one of {', '.join(BUILTIN)} nor an importable module: "
                         f"{exc}") from exc
    framework = getattr(module, "FRAMEWORK", None)
    if not isinstance(framework, Framework):
        raise ValueError(f"--framework {name!r}: the module must define FRAMEWORK, an instance of "
                         f"crosscheck.frameworks.Framework; got {type(framework).__name__}")
    return framework


def subject_of(module, framework: str | None = None, device: str = "cpu", name: str = "") -> Subject:
    """``module`` as the checking sees it. ``framework`` None means the module's own
    ``CROSSCHECK_FRAMEWORK``, else numpy."""
    framework = framework or getattr(module, "CROSSCHECK_FRAMEWORK", "numpy")
    adapter = framework_named(framework, device)
    if adapter is None:
        return as_subject(module, name)
    return adapt(module, adapter, name, framework)
