"""A SQLite database that cannot be written (a read-only file, folder or filesystem).

Reading commands (``history``, ``show``, ``diff``, ``search``, ``targets``, ``status``,
``serve``) open such a database read-only and work as usual; commands that write are
told so in one line before they start (:func:`refusal`), and a write that fails on a
database that turned read-only later is reported the same way
(:func:`is_read_only_error`).

A WAL database keeps two files beside it (``-wal``, ``-shm``). In a folder that cannot
be written they cannot be made: the database is then opened ``immutable`` (nobody can
be writing it either), otherwise ``mode=ro``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event

from monitor.storage import db

logger = logging.getLogger(__name__)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL that names an existing file; None otherwise."""
    path = db.sqlite_file(url)
    if path is None or str(path).startswith("file:"):
        return None  # another backend, in memory, or already a URI: its mode is chosen
    return path if path.is_file() else None


def is_read_only(url: str) -> bool:
    """Whether ``url`` is a SQLite database this process cannot write: the file, or the
    folder its journal files go in, is not writable (permissions or a read-only
    filesystem)."""
    path = sqlite_path(url)
    if path is None:
        return False
    return not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)


def create(url: str) -> Engine:
    """A read-only engine on the SQLite file of ``url``."""
    path = sqlite_path(url)
    assert path is not None
    resolved = path.resolve()
    mode = "mode=ro"
    if not os.access(resolved.parent, os.W_OK) and not Path(f"{resolved}-shm").exists():
        mode = "immutable=1"
    uri = f"file:{quote(str(resolved))}?{mode}"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect)
    event.listen(engine, "connect", _pragmas)
    logger.info("the database %s is read-only: opened for reading (%s)", path, mode)
    return engine


def ensure_readable(engine: Engine, url: str) -> None:
    """StorageError unless the read-only database is at this monitor's schema (it
    cannot be upgraded)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.exceptions import StorageError

    try:
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the database {sqlite_path(url)}: {exc}") from None
    if revision == db.SCHEMA_REVISION:
        return
    if revision is not None and not db.known_revision(engine, revision):
        raise StorageError(db.newer_message(revision))
    raise StorageError(
        f"the database {sqlite_path(url)} is read-only and at revision {revision}: this "
        f"monitor reads revision {db.SCHEMA_REVISION}; upgrade it where it can be written "
        "(monitor db upgrade)"
    )


def _pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def refusal(url: str, command: str | None = None) -> str:
    """The one line a writing command says about a read-only database."""
    path = sqlite_path(url)
    doing = f"`monitor {command}` writes to it" if command else "this command writes to it"
    return (
        f"the database {path} is read-only (the file or its folder cannot be written): "
        f"{doing}; history, show, diff, search, targets, status and serve can read it"
    )


def is_read_only_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is SQLite refusing a write to a read-only
    database or filesystem."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if "readonly database" in text or "read-only file system" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
