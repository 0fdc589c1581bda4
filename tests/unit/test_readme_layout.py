"""The README's Layout lists every Python module of the runtime packages and ``tools/``, each
once under its package's heading, and nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("streams", "agents", "tools")
HEADING = re.compile(r"^### `(?P<package>[\w/]+)/`")
ROW = re.compile(r"^\|[^|]*\| `(?P<module>[\w/]+\.py)` \|")


def modules_in_tree() -> set[str]:
    return {str(path.relative_to(ROOT)) for package in PACKAGES
            for path in (ROOT / package).rglob("*.py") if path.name != "__init__.py"}


def modules_in_layout(readme: str) -> list[str]:
    """``package/module.py`` for each module row of the Layout section, in order."""
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    listed, package = [], None
    for line in section.splitlines():
        if heading := HEADING.match(line):
            package = heading["package"]
        elif (row := ROW.match(line)) and package:
            listed.append(f"{package}/{row['module']}")
    return listed


def test_the_reader_finds_rows_under_their_package() -> None:
    readme = ("\n## Layout\n\n### `streams/feeds/`: x\n\n| concern | module | what |\n"
              "| --- | --- | --- |\n| a | `poller.py` | one poll |\n| | `state.py` | state |\n"
              "\n## Next\n| a | `ignored.py` | b |\n")
    assert modules_in_layout(readme) == ["streams/feeds/poller.py", "streams/feeds/state.py"]


def test_the_layout_lists_every_module_once_and_nothing_else() -> None:
    listed = modules_in_layout((ROOT / "README.md").read_text(encoding="utf-8"))
    repeated = sorted({m for m in listed if listed.count(m) > 1})
    assert not repeated, f"listed twice in the README's Layout: {repeated}"
    tree = modules_in_tree()
    missing, stale = sorted(tree - set(listed)), sorted(set(listed) - tree)
    assert not missing, f"modules without a row in the README's Layout: {missing}"
    assert not stale, f"Layout rows for modules that do not exist: {stale}"
