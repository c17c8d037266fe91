"""``monitor db``: database maintenance."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from monitor import config as cfg
from monitor.cli._common import config_option, db_option, handle_errors, refuse_read_only
from monitor.exceptions import StorageError

logger = logging.getLogger(__name__)


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
@db_option
@handle_errors
def db_upgrade(config_path: Path, database: str | None) -> None:
    """Bring the database to the current schema (done automatically on first use).

    Example: monitor db upgrade -c config.yaml
    """
    from monitor.storage import db as database_module
    from monitor.storage.store import Store

    url = cfg.database_of(config_path, database)
    refuse_read_only(url)
    store = Store(url, upgrade=False)
    before, after = database_module.upgrade(store.engine)
    if before == after:
        click.echo(f"database is current (revision {after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@db_option
@handle_errors
def db_backup(path: Path, config_path: Path, database: str | None) -> None:
    """Copy the SQLite database to PATH, safely while the daemon runs.

    Uses SQLite's online backup API, so the copy is consistent and includes what is still
    in the write-ahead log. For PostgreSQL it prints the pg_dump and pg_restore commands
    for the configured database instead. To restore a SQLite copy: stop the daemon, put
    the copy in place of the database file (remove the old -wal and -shm files beside
    it) and start it again.

    Example: monitor db backup -c config.yaml backups/monitor-2026-03-03.db
    """
    from sqlalchemy.engine import make_url

    from monitor.storage.db import backup_sqlite, sqlite_file

    url = cfg.database_of(config_path, database)
    source = sqlite_file(url)
    if source is None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            raise StorageError(f"cannot back up {parsed.render_as_string()}: not SQLite")
        plain = parsed.set(drivername="postgresql").render_as_string(hide_password=True)
        click.echo("PostgreSQL is backed up with its own tools (the password is hidden here):")
        click.echo(f"  pg_dump --format=custom --file {path} '{plain}'")
        click.echo("restore into an empty database owned by the monitor's role:")
        click.echo(f"  pg_restore --no-owner --dbname '{plain}' {path}")
        return
    copy = backup_sqlite(url, path)
    click.echo(
        f"backed up {source} to {copy.path} ({copy.size:,} bytes, {copy.pages:,} pages, "
        "integrity checked)"
    )
    click.echo(
        f"restore: stop the daemon, then replace {source} with this file "
        f"(and delete {source.name}-wal and {source.name}-shm beside it)"
    )
