"""The shape of the code: modules, lines, packages and import circles (issue 11's figures).

    python scripts/module_map.py                 # this checkout
    python scripts/module_map.py /path/to/other/checkout

Reads every ``.py`` file under ``monitor/`` and ``spiders/`` of the checkout, with the
imports found anywhere in it (module level and inside functions: a lazy import is still a
dependency), and prints the number of modules and lines, the modules per package, and
the import circles between modules (strongly connected groups of more than one module).
It runs on any commit, so the same figures can be read before and after a change.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path


def modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in ("monitor", "spiders"):
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from package import module` depends on the module, not on the package.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                result.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).parents[1])
    args = parser.parse_args()
    found = modules(args.root)
    known = set(found)
    graph = {name: imports(name, path, known) for name, path in found.items()}
    lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in found.values())
    packages: dict[str, int] = defaultdict(int)
    for name, path in found.items():
        parts = name.split(".")
        package = name if path.name == "__init__.py" else ".".join(parts[:-1]) or name
        packages[package] += 1
    print(f"{len(found)} modules, {lines} lines, {len(packages)} packages")
    for package, count in sorted(packages.items()):
        print(f"  {package:<24} {count:>3} modules")
    groups = circles(graph)
    print(f"{len(groups)} import circles")
    for group in groups:
        print("  " + " <-> ".join(group))


if __name__ == "__main__":
    main()
