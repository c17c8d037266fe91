"""Adding a target to a config file by editing its text, so comments and layout stay.

A YAML library that round-trips comments (ruamel.yaml) re-indents the whole file to its
own style; a person's config is theirs, so the new target is inserted as text after the
last item of ``targets:``, indented like the items before it, and the result is
validated before the file is replaced (atomically).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

logger = logging.getLogger(__name__)

_TARGETS = re.compile(r"^targets:\s*(\[\s*\])?\s*(#.*)?$")


def default_name(url: str) -> str:
    """A target name from a URL: host and last path segment, in allowed characters.

    >>> default_name("https://www.mid.ru/ru/press_service/statements/")
    'mid.ru-statements'
    """
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    tail = [segment for segment in parts.path.split("/") if segment]
    name = host + ("-" + tail[-1] if tail else "")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:100] or "target"


def target_entry(
    url: str,
    name: str,
    tags: tuple[str, ...],
    follow: str | None,
    *,
    render: str | None = None,
    wait_for: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "url": url}
    if tags:
        entry["tags"] = list(tags)
    if follow:
        key = "links" if follow.startswith(("css:", "xpath:")) else "pattern"
        entry["follow"] = {key: follow}
    if render and render != "plain":
        entry["render"] = render
    if wait_for:
        entry["wait_for"] = wait_for
    return entry


def insert_target(text: str, entry: dict[str, Any]) -> str:
    """``text`` (a config file) with ``entry`` appended to its ``targets:`` list."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _TARGETS.match(line.rstrip("\n"))), None)
    if start is None:
        block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
        block = "".join("  " + line for line in block.splitlines(keepends=True))
        separator = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{separator}targets:\n{block}"
    if lines[start].split("#")[0].rstrip().endswith("[]"):
        lines[start] = "targets:\n"
    # The block: indented lines, or items at column 0, up to the next top-level key.
    end = start
    indent: str | None = None
    for index in range(start + 1, len(lines)):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace() and not stripped.startswith("-"):
            break
        end = index
        if indent is None and stripped.startswith("-"):
            indent = line[: len(line) - len(line.lstrip())]
    indent = "  " if indent is None else indent
    block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
    block = "".join(indent + line for line in block.splitlines(keepends=True))
    if not lines[end].endswith("\n"):
        lines[end] += "\n"
    return "".join(lines[: end + 1]) + block + "".join(lines[end + 1 :])


def append_target(path: Path, entry: dict[str, Any]) -> None:
    """Insert ``entry`` into the config file at ``path``; validated, then replaced."""
    from monitor import config as cfg

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    updated = insert_target(text, entry)
    cfg.parse(yaml.safe_load(updated), str(path))  # never write a config that fails
    handle, temporary = tempfile.mkstemp(prefix=".monitor-add-", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(updated)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
