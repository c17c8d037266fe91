"""``monitor demo``: the monitor against a local embassy-like site, round by round."""

from __future__ import annotations

import logging

import click

from monitor.cli._common import handle_errors

logger = logging.getLogger(__name__)


@click.command()
@click.option(
    "--db",
    "database",
    default=None,
    help="Database URL for the demo (default: a new SQLite file in a temp folder).",
)
@click.option("--rounds", type=int, default=None, help="How many rounds of changes to show.")
@handle_errors
def demo(database: str | None, rounds: int | None) -> None:
    """Run the monitor against a local embassy-like site that changes between rounds.

    Offline and self-contained: starts the site on 127.0.0.1, checks it, changes it,
    checks again and prints what changed, through the same code as real monitoring.

    Example: monitor demo
    """
    from monitor.demo.run import run_demo

    run_demo(database=database, rounds=rounds, echo=click.echo)
