"""docs/ci.md tells other projects which options to type; every one of them must exist.

The page's command lines are not run (they gate a package that is not here), so this test
reads every ``--option`` out of them and asks pytest, with the crosscheck plugin loaded, for
its help text. pytest-split's three options are the page's only ones from a plugin this
project does not install; they are named here rather than skipped silently.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST_SPLIT = {"--splits", "--group", "--store-durations"}


def test_every_option_the_ci_page_uses_exists():
    page = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", page)) - {"--index-url"}  # pip's, not pytest's
    help_text = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300).stdout
    known = set(re.findall(r"(--[a-z][a-z-]+)", help_text))
    assert {"--impl", "--max-examples", "--fuzz-ci", "--known-deviations", "--junit-xml"} <= used
    assert used - PYTEST_SPLIT <= known, sorted(used - PYTEST_SPLIT - known)
