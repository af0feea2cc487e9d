"""The chapters as notebooks (docs/make_notebooks.py): each notebook is what its chapter gives,
and each one runs, top to bottom, on a Jupyter kernel of the interpreter running the tests."""
import importlib.util
import re

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.helpers.paths import ROOT

SCRIPT = ROOT / "docs" / "make_notebooks.py"
NOTEBOOKS = ROOT / "docs" / "notebooks"
# Each cell of a chapter runs in well under a second; the first one of a notebook also starts the
# kernel and imports torch (a few seconds, more on a loaded 2-core machine). A cell that hangs
# fails its notebook after this long instead of holding the test run.
CELL_TIMEOUT_S = 120


def _load():
    spec = importlib.util.spec_from_file_location("make_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_notebooks = _load()


@pytest.fixture(scope="module")
def kernel():
    """One kernel ("python3": jupyter_client runs it on the interpreter running the tests) in
    docs/notebooks, the folder Jupyter opens a notebook in. Each notebook gets it with a fresh
    namespace (``%reset -f``), so what it runs is its own cells; the kernel's start and the
    import of torch are paid once per test process, not once per notebook (1.3 s against 4.5 s
    a notebook)."""
    km = AsyncKernelManager(kernel_name="python3")
    run_sync(km.start_kernel)(cwd=str(NOTEBOOKS))
    yield km
    run_sync(km.shutdown_kernel)(now=True)


def run(nb, km):
    """Execute ``nb`` on the kernel ``km``, from a fresh namespace, and check every cell: a cell
    tagged ``raises-exception`` must raise the exception it names, any other must not raise.
    Fails naming the cell and its source."""
    nb.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S)
    try:
        client.execute()
    except CellExecutionError as error:  # raised for an untagged cell only
        pytest.fail(f"a cell raised:\n{error}")
    for cell in nb.cells[1:]:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        expected = cell.metadata.get("raises")
        raised = errors[0].ename if errors else None
        if raised != expected:
            pytest.fail(f"cell {cell.id} should raise {expected}, raised {raised}:\n{cell.source}")


def test_every_notebook_is_what_its_chapter_gives():
    assert make_notebooks.stale() == [], "run `make notebooks`"
    chapters = {p.stem for p in make_notebooks.chapters()}
    assert chapters and chapters == {p.stem for p in NOTEBOOKS.glob("*.ipynb")}


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_the_notebook_runs(name, kernel):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    run(nb, kernel)
    # the chapter's doctests print, so its notebook shows values (it is not only assignments)
    assert any(o.output_type == "execute_result" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


CHAPTER = '''# 99. A test chapter

See [the padding chapter](04-padding.md), [the semantics](semantics.md#rules) and
![a figure](figures/x.png), or [torch](https://pytorch.org/docs).

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
    assert not re.search(r"^>>>|np\.float64\(3\.0\)", "\n".join(c.source for c in code), re.M)
    assert make_notebooks.text_of(nb) == make_notebooks.text_of(make_notebooks.notebook(chapter))  # deterministic


def test_a_notebook_fails_when_a_cell_raises_or_a_tagged_one_does_not(tmp_path, kernel):
    chapter = tmp_path / "99-test.md"
    chapter.write_text(CHAPTER)
    run(make_notebooks.notebook(chapter), kernel)  # as written, it runs
    broken = make_notebooks.notebook(chapter)
    next(c for c in broken.cells if c.source.startswith("y = x * 2")).source = "assert x[2] == 5.0"
    with pytest.raises(pytest.fail.Exception, match="AssertionError"):
        run(broken, kernel)
    quiet = make_notebooks.notebook(chapter)
    next(c for c in quiet.cells if c.metadata.get("raises")).source = 'int("3")'
    with pytest.raises(pytest.fail.Exception, match="should raise ValueError, raised None"):
        run(quiet, kernel)
