"""The chapters as notebooks (docs/make_notebooks.py): each notebook is what its chapter gives,
and each one runs, top to bottom, on a Jupyter kernel of the interpreter running the tests,
printing what its chapter says it prints."""
import doctest
import importlib.util
import re
import sys

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.helpers.paths import ROOT

SCRIPT = ROOT / "docs" / "make_notebooks.py"
NOTEBOOKS = ROOT / "docs" / "notebooks"
# Each cell of a chapter runs in well under a second; the first notebook a test process runs also
# imports torch in its kernel (2-3 s, more on a loaded 2-core machine). Only a hung cell comes
# near 120 s, and it then fails its notebook instead of holding the test run.
CELL_TIMEOUT_S = 120
# How docs/conftest.py compares a chapter's doctests with their output: a notebook's printed
# values are held to the chapter the same way.
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
# The first cell of every run: the kernel's namespace as a fresh kernel has it (every name but
# IPython's own removed; the modules stay imported). ``%reset -f`` does the same and then
# collects garbage twice, which with torch loaded made the twelve notebooks take 17 s instead
# of 11.
RESET = ("[get_ipython().user_ns.pop(name) for name in list(get_ipython().user_ns)"
         " if name not in get_ipython().user_ns_hidden];")
# The colours of IPython's tracebacks, which a test report shows as escape codes.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _load():
    spec = importlib.util.spec_from_file_location("make_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_notebooks = _load()


@pytest.fixture(scope="module")
def kernel():
    """One kernel for the test process, in docs/notebooks (the folder Jupyter opens a notebook
    in). Its spec is ipykernel's own, which runs ``sys.executable`` (the interpreter running the
    tests, in CI the fresh venv's): the search path of installed kernel specs is emptied, so a
    "python3" spec that a user or a system installed for another interpreter cannot stand in.
    Each notebook gets it with a fresh namespace (``RESET``), so what it runs is its own cells;
    the kernel's start and the import of torch are paid once per test process, not once per
    notebook (about 1 s a notebook, against 5-8 s with a kernel of its own on 2 busy cores)."""
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    run_sync(km.start_kernel)(cwd=str(NOTEBOOKS))
    yield km
    run_sync(km.shutdown_kernel)(now=True)


def _printed(cell) -> str:
    """What a run cell showed: its standard output and its value, as a reader sees them."""
    text = ""
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stdout":
            text += output.text
        elif output.output_type == "execute_result":
            text += output.data.get("text/plain", "") + "\n"
        elif output.output_type == "error":
            text += f"{output.ename}: {output.evalue}\n"
    return text


def run(nb, km, shows=None):
    """Execute ``nb`` on the kernel ``km``, from a fresh namespace, and check every cell: a cell
    tagged ``raises-exception`` must raise the exception it names, any other must not raise, and
    a cell in ``shows`` (cell id to text, from ``make_notebooks.shown``) must print that text, as
    a doctest compares it. Fails naming the cell, its source and what it printed."""
    nb.cells.insert(0, nbformat.v4.new_code_cell(RESET))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S)
    try:
        client.execute()
    except CellExecutionError as error:  # raised for an untagged cell only; names its source
        pytest.fail("a cell raised:\n" + ANSI.sub("", str(error)))
    finally:
        if client.kc is not None:  # the kernel is the fixture's; the client is this notebook's
            client.kc.stop_channels()
    checker = doctest.OutputChecker()
    for cell in nb.cells[1:]:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        expected = cell.metadata.get("raises")
        raised = errors[0].ename if errors else None
        if raised != expected:
            pytest.fail(f"cell {cell.id} should raise {expected}, raised {raised}:\n{cell.source}")
        want = (shows or {}).get(cell.id)
        if want is not None and not checker.check_output(want, _printed(cell), FLAGS):
            pytest.fail(f"cell {cell.id} printed other than its chapter says:\n{cell.source}\n"
                        f"--- the chapter:\n{want}--- the notebook:\n{_printed(cell)}")


def test_every_notebook_is_what_its_chapter_gives():
    assert make_notebooks.stale() == [], "run `make notebooks`"
    chapters = {p.stem for p in make_notebooks.chapters()}
    assert chapters and chapters == {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    for path in NOTEBOOKS.glob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))  # what Jupyter will open


def test_the_kernel_is_the_interpreter_running_the_tests_and_each_run_starts_afresh(kernel):
    first = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os, sys\nsys.executable, os.getcwd()")])
    run(first, kernel, {first.cells[0].id: repr((sys.executable, str(NOTEBOOKS))) + "\n"})
    second = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("sorted(set(globals()) & {'os', 'sys'})")])
    run(second, kernel, {second.cells[0].id: "[]\n"})  # the first run's names are gone


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_the_notebook_runs_and_prints_what_its_chapter_says(name, kernel):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    shows = make_notebooks.shown(make_notebooks.DOCS / name.replace(".ipynb", ".md"))
    run(nb, kernel, shows)


CHAPTER = '''# 99. A test chapter

See [the padding chapter](04-padding.md), [the semantics](semantics.md#rules) and
![a figure](figures/x.png), or [torch](https://pytorch.org/docs); `w[0](1.md)` is code.

```python
>>> import numpy as np
>>> x = np.arange(3.0)
>>> x.sum()
np.float64(3.0)
>>> x.mean()
np.float64(1.0)
>>> int("three")
Traceback (most recent call last):
...
ValueError: invalid literal for int() with base 10: 'three'

```

```text
>>> this is prose, not code
f[0](g.md)
```

```python
y = x * 2
assert y[2] == 4.0
```

The rule.
'''


def test_the_conversion_drops_prompts_and_outputs_and_tags_what_raises(tmp_path):
    chapter = tmp_path / "99-test.md"
    chapter.write_text(CHAPTER)
    nb = make_notebooks.notebook(chapter)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.source for c in code[1:]] == ["import numpy as np\nx = np.arange(3.0)\nx.sum()", "x.mean()",
                                            'int("three")', "y = x * 2\nassert y[2] == 4.0"]
    assert code[3].metadata == {"tags": ["raises-exception"], "raises": "ValueError"}
    assert "precision=4" in code[0].source and not code[1].metadata
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "](04-padding.ipynb)" in prose and "](../semantics.md#rules)" in prose and "](../figures/x.png)" in prose
    assert "](https://pytorch.org/docs)" in prose and "this is prose, not code" in prose and "The rule." in prose
    assert "`w[0](1.md)`" in prose and "f[0](g.md)" in prose  # code, not links
    assert not re.search(r"^>>>|np\.float64\(3\.0\)", "\n".join(c.source for c in code), re.M)
    assert list(make_notebooks.shown(chapter).values()) == [
        "np.float64(3.0)\n", "np.float64(1.0)\n", "ValueError: invalid literal for int() with base 10: 'three'\n"]
    assert make_notebooks.text_of(nb) == make_notebooks.text_of(make_notebooks.notebook(chapter))  # deterministic


def test_a_notebook_fails_when_a_cell_raises_prints_otherwise_or_a_tagged_one_does_not(tmp_path, kernel):
    chapter = tmp_path / "99-test.md"
    chapter.write_text(CHAPTER)
    shows = make_notebooks.shown(chapter)
    run(make_notebooks.notebook(chapter), kernel, shows)  # as written, it runs
    broken = make_notebooks.notebook(chapter)
    next(c for c in broken.cells if c.source.startswith("y = x * 2")).source = "assert x[2] == 5.0"
    with pytest.raises(pytest.fail.Exception, match="(?s)a cell raised.*assert x\\[2\\] == 5.0.*AssertionError"):
        run(broken, kernel, shows)
    quiet = make_notebooks.notebook(chapter)
    next(c for c in quiet.cells if c.metadata.get("raises")).source = 'int("3")'
    with pytest.raises(pytest.fail.Exception, match="should raise ValueError, raised None"):
        run(quiet, kernel, shows)
    other = make_notebooks.notebook(chapter)
    next(c for c in other.cells if c.source == "x.mean()").source = "x.max()"
    with pytest.raises(pytest.fail.Exception, match="(?s)printed other.*np.float64\\(1.0\\).*np.float64\\(2.0\\)"):
        run(other, kernel, shows)
    message = make_notebooks.notebook(chapter)
    next(c for c in message.cells if c.metadata.get("raises")).source = 'int("four")'
    with pytest.raises(pytest.fail.Exception, match="printed other"):
        run(message, kernel, shows)


def test_the_script_writes_the_notebooks_removes_strays_and_checks(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(make_notebooks, "NOTEBOOKS", tmp_path)
    (tmp_path / "00-gone.ipynb").write_text("{}")
    assert make_notebooks.main([]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert make_notebooks.main(["--check"]) == 0
    first = min(tmp_path.iterdir())
    first.write_text(first.read_text().replace('"cell_type": "markdown"', '"cell_type": "raw"', 1))
    (tmp_path / "00-gone.ipynb").write_text("{}")
    assert make_notebooks.main(["--check"]) == 1
    report = capsys.readouterr().out
    assert f"{first.name}: differs from its chapter" in report and "00-gone.ipynb: no chapter" in report
