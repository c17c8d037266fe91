"""Opening the database: engine settings per backend and automatic Alembic upgrades.

SQLite gets WAL, ``synchronous=NORMAL``, foreign keys on and a busy timeout; PostgreSQL
is used as is. A database is upgraded to the current schema when it is opened, so a
new user never runs a migration by hand.

An upgrade is one transaction, whatever it does: a process killed in the middle of it
(even of the first schema creation) leaves the database as it was, and the next command
upgrades it again. Processes that open a new database at once take turns: on SQLite the
upgrade's transaction begins IMMEDIATE (the write lock), on PostgreSQL it takes an
advisory transaction lock; whoever comes second finds the schema current and does
nothing.

Errors never carry a statement's parameters (they may hold a page's whole text): the
engines hide them, and :func:`describe` says what went wrong in one short line.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.exceptions import StorageError

logger = logging.getLogger(__name__)

# The newest migration. Opening an up-to-date database compares its alembic_version with
# this and never loads Alembic (which costs ~0.1 s at every command); a test checks that
# it equals the head of migrations/.
SCHEMA_REVISION = "0014_robots"

# The PostgreSQL advisory lock key (per database) of an upgrade in progress.
MIGRATION_LOCK_KEY = zlib.crc32(b"monitor.migration")


def describe(exc: BaseException, limit: int = 300) -> str:
    """A database error in one short line: the driver's message, without the statement
    or its parameters (a page's text, a body), at most ``limit`` characters."""
    message = str(getattr(exc, "orig", None) or exc)
    message = " ".join(message.split())
    if len(message) > limit:
        message = message[: limit - 1] + "…"
    return message or type(exc).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create(url: str) -> Engine:
    """An engine for ``url`` with the monitor's per-backend settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the folder of the database {database}: "
                    f"{exc.strerror or exc} ({folder})"
                ) from None
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    return engine


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _driver_transactions_off(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _begin_immediate): pysqlite would otherwise
    # begin only before INSERT/UPDATE/DELETE and commit each CREATE/ALTER on its own.
    # Foreign keys off while tables are rebuilt (SQLite's advice for schema changes): a
    # batch migration drops and recreates a table, and dropping it with them on would
    # delete (cascade) the rows that point at it.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()
    dbapi_connection.isolation_level = None


def migration_engine(url: str) -> Engine:
    """An engine for upgrading: on SQLite each transaction begins IMMEDIATE and DDL is
    transactional (see the module); on PostgreSQL the normal engine."""
    engine = create(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _driver_transactions_off)
        event.listen(engine, "begin", _begin_immediate)
    return engine


def lock_for_upgrade(connection: Any) -> None:
    """Called at the start of the upgrade's transaction (migrations/env.py): on
    PostgreSQL, wait for any other process's upgrade of this database to end."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def migrations_path() -> str:
    """Where the Alembic scripts are: ``monitor.migrations`` (``migrations/`` in the repo)."""
    return str(resources.files("monitor.migrations"))


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", migrations_path())
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to ``revision``; returns (before, after) revisions."""
    from alembic import command

    migrating = migration_engine(engine.url.render_as_string(hide_password=False))
    try:
        before = current_revision(engine)
        if before is not None and not known_revision(engine, before):
            raise StorageError(newer_message(before))
        command.upgrade(alembic_config(migrating), revision)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot upgrade the database {engine.url!r}: {describe(exc)}") from exc
    finally:
        migrating.dispose()
    if before != after:
        logger.info("database upgraded from %s to %s", before or "empty", after)
    return before, after


def ensure_current(engine: Engine) -> None:
    """Upgrade the database if it is behind; cheap when it is current."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        if [row[0] for row in rows] == [SCHEMA_REVISION]:
            return
    except SQLAlchemyError:
        pass  # a new database (no alembic_version yet): upgrade it
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the database {engine.url!r}: {describe(exc)}") from exc
    if current is not None and not known_revision(engine, current):
        raise StorageError(newer_message(current))
    if current != head_revision(engine):
        upgrade(engine)


def known_revision(engine: Engine, revision: str) -> bool:
    """Whether this monitor's migrations know ``revision`` (an older monitor does not know
    the revisions of a newer one)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        scripts = ScriptDirectory.from_config(alembic_config(engine))
        return scripts.get_revision(revision) is not None
    except (CommandError, KeyError, ValueError):
        return False


def newer_message(revision: str) -> str:
    """What a person reads when the database is newer than this monitor."""
    return (
        f"this database was written by a newer monitor: revision {revision}; upgrade monitor "
        f"(this one knows revisions up to {SCHEMA_REVISION})"
    )


@dataclass(frozen=True, slots=True)
class SqliteBackup:
    """A finished copy of a SQLite database."""

    path: Path
    pages: int
    size: int


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another backend or an in-memory database."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).expanduser()


def backup_sqlite(url: str, destination: Path) -> SqliteBackup:
    """Copy a SQLite database to ``destination`` with SQLite's online backup API.

    The copy is made page by page through SQLite itself, so it is consistent while the
    daemon writes, and it includes what is still in the write-ahead log (a copy of the
    main file alone would lose the last commits). It is written beside ``destination``
    and renamed into place once checked (``PRAGMA quick_check``), so a failed backup
    leaves no half-written file.
    """
    import os
    import sqlite3

    source_path = sqlite_file(url)
    if source_path is None:
        raise StorageError(f"{url!r} is not a SQLite database file")
    if not source_path.exists():
        raise StorageError(f"no database at {source_path}")
    if destination.exists():
        raise StorageError(f"{destination} already exists; choose another path")
    partial = destination.with_name(destination.name + ".partial")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(source_path, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy, pages=1024)
                check = copy.execute("PRAGMA quick_check").fetchone()
                pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
            finally:
                copy.close()
        finally:
            source.close()
        if not check or check[0] != "ok":
            raise StorageError(f"the copy failed its integrity check: {check}")
        os.replace(partial, destination)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"cannot back up {source_path} to {destination}: {exc}") from exc
    return SqliteBackup(destination, pages, destination.stat().st_size)
