"""``monitor db``: database maintenance."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from monitor import config as cfg
from monitor.cli._common import config_option, db_option, handle_errors

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

    store = Store(cfg.database_of(config_path, database), upgrade=False)
    before, after = database_module.upgrade(store.engine)
    if before == after:
        click.echo(f"database is current (revision {after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")
