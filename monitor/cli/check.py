"""``monitor check``: one check of every target (or the chosen ones), then its alerts."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from monitor import config as cfg
from monitor.cli._common import config_option, db_option, handle_errors, open_store

logger = logging.getLogger(__name__)


@click.command()
@config_option
@db_option
@click.option("--target", "names", multiple=True, help="Only this target (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only targets with this tag (repeatable).")
@click.option("--verbose-results", "-l", "listing", is_flag=True, help="One line per page.")
@click.option("--no-notify", is_flag=True, help="Record events but leave alerts in the outbox.")
@handle_errors
def check(
    config_path: Path,
    database: str | None,
    names: tuple[str, ...],
    tags: tuple[str, ...],
    listing: bool,
    no_notify: bool,
) -> None:
    """Check every target once (or the chosen ones) and print a summary.

    Example: monitor check -c config.yaml --tag russia
    """
    from monitor.check import run_check
    from monitor.check.report import format_summary

    config = cfg.load(config_path)
    targets = config.select(names, tags)
    if not targets:
        click.echo("no targets to check")
        return
    store = open_store(database or config.database)
    summary = run_check(config, store, targets)
    if listing:
        for item in summary.outcomes:
            detail = f" v{item.version_seq}" if item.version_seq else ""
            problem = f" ({item.error})" if item.error and item.outcome != "new" else ""
            click.echo(f"{item.outcome:9} {item.status or '-':>3} {item.key.url}{detail}{problem}")
    click.echo(format_summary(summary))
    if config.channels and not no_notify:
        from monitor.notify.outbox import Outbox

        # Like urlwatch from cron: the alerts of this run go out before it exits (within
        # outbox.flush_timeout); what is left stays in the outbox for the next run.
        report = Outbox(store, config).deliver(timeout=config.outbox.flush_timeout)
        if report.messages or report.pending:
            click.echo(f"alerts: {report}")
