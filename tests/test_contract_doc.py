"""docs/contract.md lists the options of the CLI and of the pytest plugin; the lists must be
the programs' own, both ways.

The CLI table must name exactly the options ``python -m crosscheck --help`` shows. The plugin
table must name every option of the plugin's group in ``pytest --help`` ("conformance against
torch"), and nothing pytest does not know (it also lists ``--hypothesis-seed``, hypothesis's
own option). The examples of the page are run by docs/conftest.py; this test reads its tables.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z]\b)")


def table_options(heading: str) -> set[str]:
    """The options in the first column of the first table under ``heading``."""
    page = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `-")]
    assert rows, f"no option table under {heading!r}"
    return {option for row in rows for option in OPTION.findall(row.split("|")[1])}


def help_text(*command) -> str:
    return subprocess.run([sys.executable, *command, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300).stdout


def test_the_cli_table_lists_exactly_the_cli_options():
    options = help_text("-m", "crosscheck").split("\noptions:", 1)[1]  # the usage line has "-m"
    shown = {o for line in re.findall(r"^  (-.*?)(?:  |$)", options, re.MULTILINE) for o in OPTION.findall(line)}
    shown -= {"-h", "--help"}
    assert table_options("## 8. The command line") == shown


def test_the_plugin_table_lists_every_plugin_option_and_only_known_ones():
    text = help_text("-m", "pytest", "-p", "no:cacheprovider")
    group = text.split("conformance against torch:", 1)[1].split("\n\n", 1)[0]
    plugin = set(re.findall(r"^  (--[a-z][a-z-]+)", group, re.MULTILINE))
    listed = table_options("## 9. The pytest plugin")
    assert plugin and plugin <= listed, sorted(plugin - listed)
    assert listed <= set(OPTION.findall(text)), sorted(listed - set(OPTION.findall(text)))
