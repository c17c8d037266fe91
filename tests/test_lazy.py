"""Packages that export their names lazily (monitor/lazy.py) list them consistently, and
the commands that only read history start without the heavy libraries."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAZY = sorted(
    path
    for path in (ROOT / "monitor").glob("*/__init__.py")
    if "lazy_exports(" in path.read_text(encoding="utf-8")
)


def _declared(path: Path) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(names imported for the type checker, names in the lazy map, __all__)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typed: dict[str, str] = {}
    lazy: dict[str, str] = {}
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                assert isinstance(child, ast.ImportFrom) and child.module
                typed.update({alias.asname or alias.name: child.module for alias in child.names})
            call = next(n for n in ast.walk(node.orelse[0]) if isinstance(n, ast.Call))
            lazy = ast.literal_eval(call.args[1])
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__":
            exported = ast.literal_eval(node.value)
    return typed, lazy, exported


@pytest.mark.parametrize("path", LAZY, ids=lambda p: p.parent.name)
def test_lazy_names_agree_and_resolve(path: Path) -> None:
    typed, lazy, exported = _declared(path)
    assert typed == lazy, "the TYPE_CHECKING imports and the lazy map name the same things"
    assert sorted(lazy) == sorted(exported)
    # A name that is also a submodule's would turn into that module once the submodule
    # is imported (the import system sets it on the package).
    submodules = {p.stem for p in path.parent.glob("*.py")} | {
        p.parent.name for p in path.parent.glob("*/__init__.py")
    }
    assert not set(lazy) & submodules
    package = importlib.import_module(f"monitor.{path.parent.name}")
    for name, module in lazy.items():
        assert getattr(package, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_lazy_packages_exist() -> None:
    assert {p.parent.name for p in LAZY} >= {"config", "daemon"}


HEAVY = ("pydantic", "scrapy", "starlette", "trafilatura", "twisted", "jinja2", "lxml")


@pytest.mark.parametrize(
    "command",
    [["--help"], ["targets"], ["history", "statement"], ["status"], ["show", "statement"]],
    ids=" ".join,
)
def test_reading_commands_import_no_heavy_library(command: list[str], tmp_path: Path) -> None:
    """`monitor history` needs SQLAlchemy, not pydantic, Scrapy, the web stack or the
    extraction libraries (issue 14: start-up under 0.3 s)."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'm.db'}\n"
        "targets:\n  - name: statement\n    url: http://127.0.0.1:9/statement\n"
    )
    code = (
        "import sys\n"
        "from monitor.cli import main\n"
        "try:\n"
        f"    main({[*command, '-c', str(config)] if command != ['--help'] else command!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(','.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    modules = set(result.stdout.strip().splitlines()[-1].split(","))
    loaded = {name.split(".")[0] for name in modules}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    if command != ["--help"]:
        # Only the command's own module, and no diff is computed to list history.
        other_commands = {m for m in modules if m.startswith("monitor.cli.")} - {
            "monitor.cli._common",
            "monitor.cli.history",
            "monitor.cli.daemon",
        }
        assert not other_commands, sorted(other_commands)
        assert "monitor.detect.differ" not in modules
