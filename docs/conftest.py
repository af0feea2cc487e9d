"""Run the tutorial's examples: every fenced ``python`` block of every chapter, in order.

Each chapter is one test. Its blocks share one namespace, like cells of a notebook: a block
with ``>>>`` prompts runs as a doctest (a printed number that differs from the chapter fails
the build, with the chapter's file and line), a block without prompts is executed as is
(its ``assert`` statements are checks too). Blocks fenced as anything else (``text``,
``console``) are prose and are not run.
"""
import doctest
import re

import numpy as np
import pytest

FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".md" and FENCE.search(file_path.read_text(encoding="utf-8")):
        return Chapter.from_parent(parent, path=file_path)
    return None


class Chapter(pytest.File):
    def collect(self):
        yield Examples.from_parent(self, name="examples")


class ExampleFailed(Exception):
    """A chapter's example printed something else than the chapter says, or raised."""


class Examples(pytest.Item):
    def runtest(self):
        text = self.path.read_text(encoding="utf-8")
        # __file__ lets a page find the files beside it (the contract loads docs/examples/).
        namespace = {"__name__": f"docs.{self.path.stem}", "__file__": str(self.path)}
        parser = doctest.DocTestParser()
        # One print style for every chapter, so the printed arrays in the text are stable.
        with np.printoptions(precision=4, suppress=True, linewidth=88):
            for match in FENCE.finditer(text):
                body, line = match.group(1), text.count("\n", 0, match.start(1))
                if ">>>" in body:
                    # One name per block: a traceback into a function of an earlier block then
                    # finds that block's source, not this one's.
                    test = parser.get_doctest(body, namespace, f"{self.path.stem}:{line + 1}", str(self.path), line)
                    report = []
                    runner = doctest.DocTestRunner(optionflags=FLAGS)
                    runner.run(test, out=report.append, clear_globs=False)
                    namespace = test.globs  # the parser ran the block on a copy; keep its names
                    if runner.failures:
                        raise ExampleFailed("".join(report))
                else:
                    exec(compile(body, f"{self.path}:{line + 1}", "exec"), namespace)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ExampleFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}: examples"
