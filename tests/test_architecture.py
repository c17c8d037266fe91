"""The shape of the house: no import circles, and imports only in the allowed directions.

Every module of ``monitor/`` and ``spiders/`` (installed as ``monitor.spiders``) is
parsed with :mod:`ast`; its imports (at
module level and inside functions alike: a lazy import is still a dependency) give a
graph of modules and one of packages. Imports under ``if TYPE_CHECKING:`` are left out:
they exist for the type checker only and never run.

``ALLOWED`` below is the architecture as data (docs/ARCHITECTURE.md draws it): the
packages each package may import besides itself and the shared modules at the top of
``monitor/``. A new package must be added here, with its place in the house.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Shared modules at the top of ``monitor/``: every package may import them; they import
#: only each other.
SHARED = {
    "monitor",  # __init__: the version
    "monitor.exceptions",
    "monitor.records",
    "monitor.recording",
    "monitor.timefmt",
    "monitor.vocab",
    "monitor.selector",
    "monitor.lazy",  # lazy package exports (PEP 562)
    "monitor.schemagen",  # JSON Schemas generated from pydantic models
}

#: What each package may import, besides itself and SHARED. Data flows one way:
#: fetch -> observe (detect) -> decide (detect) -> record (check, storage) -> notify.
ALLOWED: dict[str, set[str]] = {
    # The bottom: pure detection, and storage that only stores.
    "monitor.detect": set(),
    "monitor.storage": set(),
    # The config knows the detection vocabulary it validates (watch-term languages).
    "monitor.config": {"monitor.detect"},
    "monitor.spiders": {"monitor.detect"},
    "monitor.fetch": {"monitor.config", "monitor.spiders"},
    # What reads and acts on stored history.
    "monitor.history": {"monitor.detect", "monitor.storage"},
    "monitor.notify": {"monitor.config", "monitor.detect", "monitor.storage"},
    "monitor.evidence": {"monitor.config", "monitor.detect", "monitor.storage"},
    # One check cycle: everything below it, wired together.
    "monitor.check": {
        "monitor.config",
        "monitor.detect",
        "monitor.evidence",
        "monitor.fetch",
        "monitor.notify",
        "monitor.storage",
        "monitor.spiders",
    },
    "monitor.daemon": {
        "monitor.check",
        "monitor.config",
        "monitor.fetch",
        "monitor.notify",
        "monitor.storage",
    },
    # Scale-out: the scheduler and worker roles, wired from the daemon's parts.
    "monitor.cluster": {
        "monitor.check",
        "monitor.config",
        "monitor.daemon",
        "monitor.fetch",
        "monitor.notify",
        "monitor.storage",
    },
    "monitor.demo": {"monitor.check", "monitor.config", "monitor.detect", "monitor.storage"},
    # The edges people use: the web reads history; the CLI may use anything.
    "monitor.web": {"monitor.history", "monitor.storage"},
    "monitor.cli": {
        "monitor.check",
        "monitor.cluster",
        "monitor.config",
        "monitor.daemon",
        "monitor.demo",
        "monitor.detect",
        "monitor.evidence",
        "monitor.history",
        "monitor.notify",
        "monitor.storage",
        "monitor.web",
    },
}

#: Never, whatever ALLOWED says: storage that decides, detection that stores or alerts.
FORBIDDEN: dict[str, set[str]] = {
    "monitor.storage": {"monitor.detect", "monitor.notify", "monitor.config"},
    "monitor.detect": {"monitor.storage", "monitor.notify", "monitor.cli", "monitor.web"},
}


#: Folders of the repository and the package each one is installed as (pyproject.toml).
FOLDERS = {"monitor": "monitor", "spiders": "monitor.spiders"}


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [package, *path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run (not those under ``if TYPE_CHECKING:``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield from _runtime_imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_imports(node)


def imports_of(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports (``from pkg import submodule``: the submodule)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, *([node.module] if node.module else [])])
            else:
                prefix = node.module or ""
            for alias in node.names:
                full = f"{prefix}.{alias.name}"
                targets.append(full if full in MODULES else prefix)
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def package_of(name: str) -> str:
    """The package a module belongs to: ``monitor.x`` for ``monitor/x/...``, or SHARED."""
    parts = name.split(".")
    if name in SHARED or name == "monitor.__main__":
        return name
    return ".".join(parts[:2])


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        mine = package_of(name)
        graph.setdefault(mine, set()).update(
            package_of(target) for target in targets if package_of(target) != mine
        )
    return graph


def test_every_module_is_found() -> None:
    assert "monitor.storage.store" in MODULES and "monitor.spiders.base" in MODULES
    assert GRAPH["monitor.check.cycle"], "imports are read"


def test_no_module_import_circles() -> None:
    assert circles(GRAPH) == []


def test_no_package_import_circles() -> None:
    assert circles(package_graph()) == []


def test_every_package_has_its_place() -> None:
    packages = {package_of(name) for name in MODULES} - SHARED - {"monitor.__main__"}
    assert packages == set(ALLOWED), "add the new package to ALLOWED (and ARCHITECTURE.md)"


def test_shared_modules_import_only_each_other() -> None:
    wrong = {
        name: sorted(GRAPH[name] - SHARED)
        for name in SHARED
        if name in GRAPH and GRAPH[name] - SHARED
    }
    assert wrong == {}


def test_imports_go_only_in_allowed_directions() -> None:
    wrong: list[str] = []
    for name, targets in sorted(GRAPH.items()):
        mine = package_of(name)
        if mine in SHARED or mine == "monitor.__main__":
            continue
        for target in sorted(targets):
            theirs = package_of(target)
            if theirs == mine or theirs in SHARED:
                continue
            if theirs not in ALLOWED[mine] or theirs in FORBIDDEN.get(mine, set()):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_forbidden_directions_are_not_allowed() -> None:
    for package, never in FORBIDDEN.items():
        assert not ALLOWED[package] & never


def test_the_checker_finds_a_circle_and_a_wrong_direction() -> None:
    """The checks can fail: a made-up graph with both faults is caught."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "monitor.detect" in FORBIDDEN["monitor.storage"]


#: Lines past which a module says at its top why it is one module.
MAX_LINES = 500


def test_long_modules_say_why() -> None:
    """A newcomer reads small modules; a long one explains itself in its docstring."""
    unexplained = []
    for name, path in sorted(MODULES.items()):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_LINES and "Why one module of this size" not in docstring:
            unexplained.append(f"{name} ({lines} lines)")
    assert unexplained == []


def test_nothing_imports_the_repository_folders_by_their_folder_names() -> None:
    """Installed, spiders/ and migrations/ are monitor.spiders and monitor.migrations:
    code that ran only in a checkout (``import spiders``) would fail in a wheel."""
    wrong = []
    for name, path in MODULES.items():
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if not node.level else [])
            )
            wrong += [
                f"{name}: {t}" for t in targets if t.split(".")[0] in ("spiders", "migrations")
            ]
    assert not wrong
