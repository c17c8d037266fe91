"""The ``monitor`` command line: the main group and its commands, one module per group.

Domain errors become CLI errors only here: a :class:`MonitorError` is printed as one
clear message and a non-zero exit code, never as a traceback
(:func:`monitor.cli._common.handle_errors`).
"""

from __future__ import annotations

import logging

import click

from monitor import __version__
from monitor.cli import (
    check,
    configure,
    daemon,
    db,
    demo,
    evidence,
    history,
    importing,
    notify,
    serve,
    volatility,
)

logger = logging.getLogger(__name__)


@click.group()
@click.version_option(__version__, prog_name="monitor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for log collectors.",
)
@click.pass_context
def main(context: click.Context, verbose: int, log_format: str) -> None:
    """Watch official web pages and report, with proof, when they change.

    Example: monitor check -c config.yaml
    """
    from monitor.daemon import logs

    level = logging.WARNING - 10 * min(verbose, 2)
    logs.configure(level, log_format)
    context.obj = {"verbose": verbose}
    if verbose < 2:
        # Scrapy reports every retry and give-up at ERROR; the monitor records those
        # outcomes itself, so they are only shown with -vv.
        logging.getLogger("scrapy").setLevel(logging.CRITICAL)


for _command in (
    check.check,
    configure.config_group,
    configure.add,
    volatility.volatility,
    history.targets,
    history.history,
    history.show,
    history.search,
    history.diff,
    evidence.export,
    evidence.verify,
    evidence.cite,
    importing.import_group,
    importing.backfill,
    notify.notify,
    daemon.run,
    daemon.reload,
    daemon.status,
    db.db,
    demo.demo,
    serve.serve,
):
    main.add_command(_command)
