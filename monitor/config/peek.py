"""A quick look at a config file: the database and the targets, without validating it all.

The commands that only read history (``targets``, ``history``, ``show``, ``diff``,
``search``, ``status``, ...) need the database URL and, for ``targets`` and ``status``,
which targets are configured. Validating the whole file costs pydantic and every
plugin's settings (half a second at each command); this reads the YAML and checks only
what it returns, with errors naming the file and key like :func:`~monitor.config.load`.
``monitor config check``, ``check``, ``run`` and ``add`` validate everything.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.exceptions import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "sqlite:///monitor.db"
#: follow.max_articles when a listing does not set it (monitor.config.targets.Follow).
DEFAULT_MAX_ARTICLES = 500


@dataclass(frozen=True, slots=True)
class ConfiguredTarget:
    """A target as the config names it, before anything was checked."""

    name: str
    url: str
    tags: tuple[str, ...] = ()
    enabled: bool = True
    listing: bool = False
    max_articles: int | None = None  # a listing's follow.max_articles


@dataclass(frozen=True, slots=True)
class Glance:
    """What a read-only command needs from a config file."""

    path: Path
    database: str
    targets: tuple[ConfiguredTarget, ...]


def read_yaml(file: Path) -> Any:
    """The parsed YAML of a config file; ConfigError naming the file and the line."""
    import yaml

    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file (start from config.example.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the config file: {exc}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{file}: not valid YAML{where}: {problem}") from None


def glance(path: str | os.PathLike[str]) -> Glance:
    """The database URL and the configured targets of a config file."""
    file = Path(path)
    data = read_yaml(file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: the top level must be a mapping of keys, not {type(data).__name__}"
        )
    database = data.get("database", DEFAULT_DATABASE)
    if not isinstance(database, str) or not database.strip():
        raise ConfigError(f"{file}: database: expected a database URL such as {DEFAULT_DATABASE}")
    raw = data.get("targets") or []
    if not isinstance(raw, list):
        raise ConfigError(f"{file}: targets: expected a list of targets")
    targets = []
    for index, item in enumerate(raw):
        key = f"targets[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{file}: {key}: expected a mapping with name and url")
        for field in ("name", "url"):
            if not isinstance(item.get(field), str) or not item[field].strip():
                raise ConfigError(f"{file}: {key}.{field}: required, a string")
        tags = item.get("tags") or []
        follow = item.get("follow")
        max_articles = None
        if isinstance(follow, dict):
            value = follow.get("max_articles", DEFAULT_MAX_ARTICLES)
            max_articles = value if isinstance(value, int) else DEFAULT_MAX_ARTICLES
        targets.append(
            ConfiguredTarget(
                name=item["name"],
                url=item["url"],
                tags=tuple(str(tag) for tag in tags) if isinstance(tags, list) else (str(tags),),
                enabled=item.get("enabled", True) is not False,
                listing=follow is not None,
                max_articles=max_articles,
            )
        )
    return Glance(file, database, tuple(targets))


def database_of(config_path: str | os.PathLike[str], database: str | None) -> str:
    """The database URL for a command: ``--db`` if given, else the config file's."""
    if database:
        return database
    if not Path(config_path).exists():
        raise ConfigError(
            f"{config_path}: no such config file; pass -c CONFIG or --db DATABASE_URL"
        )
    return glance(config_path).database


def glance_if_present(
    config_path: str | os.PathLike[str], database: str | None
) -> tuple[str, Glance | None]:
    """The database URL and, when the config file exists, its glance (``--db`` alone
    works without a config; a broken config given with ``--db`` is only logged)."""
    if not Path(config_path).exists():
        return database_of(config_path, database), None
    try:
        seen = glance(config_path)
    except ConfigError:
        if database is None:
            raise
        logger.warning("ignoring the config %s: it cannot be read", config_path)
        return database, None
    return database or seen.database, seen
