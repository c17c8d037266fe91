"""``monitor check``: one check of every target (or the chosen ones), then its alerts."""

from __future__ import annotations

import gc
import logging
import sys
import time
from pathlib import Path

import click

from monitor.cli._common import (
    EXIT_FAILURE,
    config_option,
    console,
    db_option,
    handle_errors,
    open_store,
)
from monitor.vocab import Outcome, Purpose

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
    """Check every target once (or the chosen ones) and print what it finds.

    Each event is printed as it is found (kind, significance, page, and the changed
    words or what happened); on a terminal a progress line shows the pages done, the
    rate, the time left and the failures. Then a summary. Exit status: 0 when the check
    ran, 1 when every page checked failed (or another failure), 2 for a bad config.

    Example: monitor check -c config.yaml --tag russia
    """
    from monitor import config as cfg
    from monitor.check import run_check
    from monitor.check.report import format_summary
    from monitor.cli.progress import CheckReporter, outcome_words

    config = cfg.load(config_path)
    targets = config.select(names, tags)
    if not targets:
        click.echo("no targets to check")
        return
    store = open_store(database or config.database)
    reporter = CheckReporter(store, console())
    try:
        summary = run_check(
            config,
            store,
            targets,
            on_recorded=reporter.recorded,
            on_planned=reporter.planned_pages,
        )
    finally:
        reporter.close()
    if listing:
        for item in summary.outcomes:
            if item.purpose != Purpose.CHECK or item.outcome in (Outcome.PART, Outcome.PROBE):
                continue
            detail = f" v{item.version_seq}" if item.version_seq else ""
            problem = f" ({item.error})" if item.error and item.outcome != "new" else ""
            click.echo(
                f"{outcome_words(item):24} {item.status or '-':>3} {item.key.url}{detail}{problem}"
            )
    click.echo(format_summary(summary))
    if config.channels and not no_notify:
        # Like urlwatch from cron: the alerts of this run go out before it exits (within
        # outbox.flush_timeout, counted from here); what is left stays in the outbox for
        # the next run.
        flush_end = time.monotonic() + config.outbox.flush_timeout
        from monitor.notify.outbox import Outbox

        outbox = Outbox(store, config)
        report = outbox.deliver(timeout=max(0.0, flush_end - time.monotonic()))
        if report.messages or report.pending:
            click.echo(f"alerts: {report}")
    # The process ends next: spare it a collection of every loaded module's objects at
    # interpreter shutdown (seconds on a busy machine, after the flush's deadline).
    gc.freeze()
    if summary.checked and summary.errors == summary.checked:
        click.echo(
            f"error: every page checked failed ({summary.errors}); see `monitor -v check` "
            "or `monitor status`",
            err=True,
        )
        sys.exit(EXIT_FAILURE)
