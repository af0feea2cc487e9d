"""The tutorial's chapters as Jupyter notebooks: ``python docs/make_notebooks.py [--check]``.

Each chapter ``docs/NN-*.md`` becomes ``docs/notebooks/NN-*.ipynb``; the chapter is the one
source, and the notebooks are written from it (``make notebooks``). The conversion is the one
``docs/conftest.py`` executes the chapters by:

* the prose between the fenced ``python`` blocks becomes markdown cells, its links rewritten
  to work from ``docs/notebooks/`` (figures and pages one folder up, chapters as notebooks;
  code, inline or fenced, is left as written);
* a block without prompts becomes one code cell, as it is;
* a doctest block (``>>>`` prompts) loses its prompts and the outputs it expects, which the
  notebook prints when run: it is cut into cells after every example that prints, so each
  printed value is a cell's last; an example that expects an exception gets a cell of its own,
  tagged ``raises-exception`` (Jupyter's tag for a cell that is meant to fail, so running the
  notebook goes on) and recording the exception's name, which the tests check it raises;
* blocks fenced as anything else (``text``, ``console``) stay prose.

A first code cell sets NumPy's print options to the chapters' (as ``docs/conftest.py`` does),
so the printed arrays look as they do in the text. The output is deterministic: no outputs,
cell ids from the chapter's number and the cell's position (``01-005``). ``--check`` writes
nothing and exits 1 if a notebook differs from what its chapter gives (or is missing, or has
no chapter).

``shown(chapter)`` gives, cell by cell, what the chapter says each doctest cell prints, so the
tests can hold a notebook's run to the text a reader compares it with.
"""
from __future__ import annotations

import argparse
import doctest
import os
import re
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat

DOCS = Path(__file__).resolve().parent
NOTEBOOKS = DOCS / "notebooks"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*\n?", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(\]\()([^)#\s]+)")
# A fenced block or an inline code span of the prose: its text is code, not links.
CODE = re.compile(r"^```.*?^```|`[^`\n]*`", re.MULTILINE | re.DOTALL)
SETUP = ("# The chapters print arrays with these options (docs/conftest.py runs them so).\n"
         "import numpy as np\n"
         "np.set_printoptions(precision=4, suppress=True, linewidth=88)")


def chapters() -> list[Path]:
    """The numbered chapters, in order."""
    return sorted(DOCS.glob("[0-9][0-9]-*.md"))


def _link(match: re.Match) -> str:
    """A relative link of a chapter, as seen from ``docs/notebooks/``."""
    target = match.group(2)
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
        return match.group(0)  # a URL or an absolute path
    if re.fullmatch(r"[0-9][0-9]-[^/]*\.md", target):
        return match.group(1) + target[:-3] + ".ipynb"
    return match.group(1) + "../" + target


def prose(text: str) -> str:
    """A stretch of a chapter's prose as a markdown cell: its links rewritten, its code not."""
    text, parts, position = text.strip("\n"), [], 0
    for code in CODE.finditer(text):
        parts += [LINK.sub(_link, text[position:code.start()]), code.group()]
        position = code.end()
    return "".join(parts) + LINK.sub(_link, text[position:])


class Code(NamedTuple):
    """One code cell: its source, the exception it is meant to raise (its bare name, or None),
    and what the chapter shows it printing (``"Name: message"`` for one that raises; None for a
    block without prompts, whose output the chapter does not show)."""
    source: str
    raises: str | None
    shows: str | None


def code_cells(body: str) -> list[Code]:
    """The code of one fenced block as cells. A doctest block is cut after every example that
    prints something, so each cell ends in the expression whose value the chapter shows (a
    notebook displays only a cell's last value)."""
    if ">>>" not in body:
        return [Code(body.rstrip("\n"), None, None)]
    cells, current = [], []
    for example in doctest.DocTestParser().get_examples(body):
        if example.exc_msg is not None:
            if current:
                cells.append(Code("\n".join(current), None, ""))
                current = []
            # doctest names the exception as traceback does (torch.AcceleratorError), a kernel
            # by its bare name (AcceleratorError).
            qualified = re.match(r"\s*([\w.]+)", example.exc_msg).group(1)
            name = qualified.split(".")[-1]
            cells.append(Code(example.source.rstrip("\n"), name, name + example.exc_msg.lstrip()[len(qualified):]))
            continue
        current.append(example.source.rstrip("\n"))
        if example.want:
            cells.append(Code("\n".join(current), None, example.want))
            current = []
    if current:
        cells.append(Code("\n".join(current), None, ""))
    return cells


def notebook(chapter: Path) -> nbformat.NotebookNode:
    """The notebook of one chapter (see the module docstring)."""
    return _notebook(chapter)[0]


def shown(chapter: Path) -> dict[str, str]:
    """What the chapter shows each of its doctest cells printing, by cell id (``""``: nothing;
    for a cell that raises, ``"Name: message"``). Cells of blocks without prompts are absent."""
    return _notebook(chapter)[1]


def _notebook(chapter: Path) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    text = chapter.read_text(encoding="utf-8")
    stem = chapter.stem
    cells = [nbformat.v4.new_markdown_cell(
        f"*This notebook is generated from [{chapter.name}](../{chapter.name}) by `docs/make_notebooks.py`; "
        f"edit the chapter, then run `make notebooks`.*"),
        nbformat.v4.new_code_cell(SETUP)]
    shows = [None, None]  # per cell, parallel to cells
    position = 0
    for match in FENCE.finditer(text):
        before = prose(text[position:match.start()])
        if before:
            cells.append(nbformat.v4.new_markdown_cell(before))
            shows.append(None)
        for code in code_cells(match.group(1)):
            cell = nbformat.v4.new_code_cell(code.source)
            if code.raises:
                cell.metadata["tags"] = ["raises-exception"]
                cell.metadata["raises"] = code.raises
            cells.append(cell)
            shows.append(code.shows)
        position = match.end()
    after = prose(text[position:])
    if after:
        cells.append(nbformat.v4.new_markdown_cell(after))
        shows.append(None)
    for i, cell in enumerate(cells):
        cell.id = f"{stem[:2]}-{i:03d}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    return nb, {cell.id: want for cell, want in zip(cells, shows) if want is not None}


def text_of(nb) -> str:
    """A notebook as the file holds it."""
    return nbformat.writes(nb) + "\n"


def path_of(chapter: Path) -> Path:
    return NOTEBOOKS / (chapter.stem + ".ipynb")


def stale() -> list[str]:
    """What ``--check`` reports: notebooks missing, differing from their chapter, or without one."""
    wanted = {path_of(c): text_of(notebook(c)) for c in chapters()}
    problems = [f"{os.path.relpath(p)}: missing" for p in wanted if not p.exists()]
    problems += [f"{os.path.relpath(p)}: differs from its chapter" for p, t in wanted.items()
                 if p.exists() and p.read_text(encoding="utf-8") != t]
    problems += [f"{os.path.relpath(p)}: no chapter" for p in sorted(NOTEBOOKS.glob("*.ipynb")) if p not in wanted]
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/make_notebooks.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        print("\n".join(problems) or "every notebook is its chapter")
        return 1 if problems else 0
    NOTEBOOKS.mkdir(exist_ok=True)
    for chapter in chapters():
        path_of(chapter).write_text(text_of(notebook(chapter)), encoding="utf-8")
    for orphan in sorted(NOTEBOOKS.glob("*.ipynb")):
        if not any(orphan == path_of(c) for c in chapters()):
            orphan.unlink()
    print(f"wrote {len(chapters())} notebooks to {os.path.relpath(NOTEBOOKS)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
