"""The shape of the code, held as tests: what a newcomer can rely on when reading it.

For the two packages, ``reference`` and ``crosscheck``:

* no import cycle between their modules (importing a module's own enclosing packages does not
  count: Python has them loaded already);
* no import of the packages' own modules inside a function (a deferred import is how a cycle
  hides);
* no underscored name imported from another module, nor read off one (``from .conv import
  _correlate``, ``conv._correlate``): what a module shares, it names publicly;
* no function over 80 lines, no module over 400 lines.

And for ``crosscheck``'s layers (its ``__init__`` draws them): each subpackage imports only the
layers below it, and only the part that proves this reference (``crosscheck.networks``)
imports ``reference``, which never imports ``crosscheck``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("reference", "crosscheck")
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(module: str, tree: ast.Module):
    """(node, imported module, imported names or None, inside a function) for each import of
    the two packages' modules; ``from package import submodule`` counts as the submodule."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in PACKAGES:
                        found.append((child, alias.name, None, in_function))
            elif isinstance(child, ast.ImportFrom):
                source = _resolve(module, child.level, child.module)
                if source.split(".")[0] in PACKAGES:
                    for alias in child.names:
                        sub = f"{source}.{alias.name}"
                        if sub in MODULES:
                            found.append((child, sub, None, in_function))
                        else:
                            found.append((child, source, alias.name, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def _trees():
    return {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}


TREES = _trees()


def _where(module, node) -> str:
    return f"{MODULES[module].relative_to(ROOT)}:{node.lineno}"


def test_every_module_is_parsed():
    assert "reference.functional" in MODULES and "crosscheck" in MODULES


def test_no_import_cycle():
    graph = {}
    for module, tree in TREES.items():
        ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        edges = set()
        for _, target, _, in_function in _imports(module, tree):
            while target not in MODULES:  # an attribute path: the module that holds it
                target = target.rsplit(".", 1)[0]
            if not in_function and target != module and target not in ancestors:
                edges.add(target)
        graph[module] = edges
    cycles, state = [], {}

    def walk(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_deferred_import_of_the_packages():
    deferred = [f"{_where(m, node)}: {target}" for m, tree in TREES.items()
                for node, target, _, in_function in _imports(m, tree) if in_function]
    assert not deferred, "imports inside functions:\n" + "\n".join(deferred)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_underscored_name_crosses_a_module():
    crossings = []
    for module, tree in TREES.items():
        aliases = {}  # local name -> the project module it is bound to
        for node, target, name, _ in _imports(module, tree):
            parts = target.split(".")
            if any(_private(p) for p in parts[1:]) or (name is not None and _private(name)):
                crossings.append(f"{_where(module, node)}: imports {target}{'.' + name if name else ''}")
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                if name is None and target in MODULES:
                    aliases[local] = target
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases):
                crossings.append(f"{_where(module, node)}: reads {aliases[node.value.id]}.{node.attr}")
    assert not crossings, "underscored names used across modules:\n" + "\n".join(crossings)


def test_no_function_over_80_lines():
    long = [f"{_where(m, node)}: {node.name} has {node.end_lineno - node.lineno + 1} lines"
            for m, tree in TREES.items() for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, "\n".join(long)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_400_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"


# crosscheck's layers and their ranks: a module imports from its own layer or from lower ranks
LAYERS = {
    "crosscheck.specs": 0,
    "crosscheck.oracle": 1,
    "crosscheck.cases": 1,
    "crosscheck.checking": 2,
    "crosscheck.frameworks": 3,
    "crosscheck.gate": 4,
    "crosscheck.networks": 3,
    "crosscheck.suite": 5,
    "crosscheck.train": 5,
    "crosscheck.__main__": 5,
    "crosscheck": 6,  # the public API: re-exports from the layers
}


def _layer(module: str) -> str:
    while module not in LAYERS:
        module = module.rsplit(".", 1)[0]
    return module


def test_every_crosscheck_module_has_a_layer():
    unplaced = [m for m in MODULES if m.startswith("crosscheck.") and _layer(m) == "crosscheck"]
    assert not unplaced, f"modules outside every layer (give them one in LAYERS): {unplaced}"


def test_crosscheck_layers_import_only_downward():
    upward = []
    for module, tree in TREES.items():
        if module.split(".")[0] != "crosscheck":
            continue
        here = _layer(module)
        for node, target, _, _ in _imports(module, tree):
            there = _layer(target) if target.split(".")[0] == "crosscheck" else None
            if there is not None and there != here and LAYERS[there] >= LAYERS[here]:
                upward.append(f"{_where(module, node)}: {here} (rank {LAYERS[here]}) imports {target} "
                              f"(rank {LAYERS[there]})")
    assert not upward, "imports that do not go down the layers:\n" + "\n".join(upward)


def test_only_the_networks_import_the_reference():
    crossings = [f"{_where(m, node)}: {target}" for m, tree in TREES.items() for node, target, _, _ in _imports(m, tree)
                 if (m.split(".")[0] == "crosscheck" and target.split(".")[0] == "reference"
                     and _layer(m) != "crosscheck.networks")
                 or (m.split(".")[0] == "reference" and target.split(".")[0] == "crosscheck")]
    assert not crossings, "imports between the reference and the gate:\n" + "\n".join(crossings)
