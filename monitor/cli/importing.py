"""``monitor import warc`` and ``monitor backfill``: a page's past, from WARC files and
from a web archive, recorded as versions with their original times (marked imported)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from monitor import config as cfg
from monitor.cli._common import config_option, db_option, handle_errors, open_store, time_arg

logger = logging.getLogger(__name__)


def _report(report: object, what: str) -> None:
    from monitor.check.imported import ImportReport

    assert isinstance(report, ImportReport)
    events = ", ".join(f"{count} {kind}" for kind, count in sorted(report.events.items()))
    click.echo(
        f"{what}: {report.captures} captures of {len(report.pages)} pages recorded, "
        f"{report.versions} versions{f', events: {events}' if events else ''}; "
        f"{report.alerts} alerts queued"
    )
    for reason, count in sorted(report.skipped.items()):
        click.echo(f"  skipped {count}: {reason}")


@click.group("import")
def import_group() -> None:
    """Import the past of watched pages from elsewhere.

    Example: monitor import warc crawl.warc.gz
    """


@import_group.command("warc")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--target", help="Make pages of this target for URLs no page watches yet.")
@click.option("--alert", is_flag=True, help="Queue alerts for the events found (default: none).")
@config_option
@db_option
@handle_errors
def warc(
    files: tuple[Path, ...],
    target: str | None,
    alert: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """Record the pages in WARC FILES as past captures of the pages they are of.

    Each response (or revisit) record of a watched URL becomes a capture at its original
    time, with its exact body; new content makes a version, and events are computed as if
    observed then. Captures are marked imported (source warc, FILE#offset) in history,
    the web pages and evidence bundles. No alert is queued unless --alert. A page that
    already has versions only takes captures newer than its last check.

    Example: monitor import warc colleague-crawl.warc.gz --target mfa-statements
    """
    from monitor.check.imported import record_imported
    from monitor.evidence.warc_import import read_warcs

    config = cfg.load(config_path)
    store = open_store(cfg.database_of(config_path, database))
    try:
        reading = read_warcs(list(files))
        report = record_imported(config, store, reading.captures, alert=alert, target=target)
    finally:
        store.close()
    for reason, count in reading.skipped.items():
        report.skipped[reason] = report.skipped.get(reason, 0) + count
    _report(report, f"{len(files)} WARC file{'s' if len(files) != 1 else ''}")


@click.command("backfill")
@click.argument("target")
@click.option("--since", help="Only captures from this UTC date or time on.")
@click.option(
    "--cdx",
    default="https://web.archive.org/cdx/search/cdx",
    show_default=True,
    help="The CDX server (Internet Archive CDX API JSON format).",
)
@click.option(
    "--replay",
    default="https://web.archive.org/web",
    show_default=True,
    help="The archive's replay server ({replay}/{timestamp}id_/{url} gives a capture).",
)
@click.option("--alert", is_flag=True, help="Queue alerts for the events found (default: none).")
@config_option
@db_option
@handle_errors
def backfill(
    target: str,
    since: str | None,
    cdx: str,
    replay: str,
    alert: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """Record what a web archive holds of TARGET's page before it was watched.

    Lists the archive's captures of the target's URL (CDX), fetches only those whose
    digest differs from the previous one, one at a time with fetch.delay between
    requests, and records them as versions at their archived times, with the archive's
    URL of each as its provenance. No alert is queued unless --alert.

    Example: monitor backfill mfa-statements --since 2024-01-01
    """
    from monitor import __version__
    from monitor.check.imported import record_imported
    from monitor.evidence.backfill import Archive
    from monitor.exceptions import UnknownTargetError

    config = cfg.load(config_path)
    chosen = next((t for t in config.targets if t.name == target), None)
    if chosen is None:
        raise UnknownTargetError(f"no target named {target!r} in the config")
    archive = Archive(
        cdx,
        replay,
        user_agent=config.fetch.user_agent.format(
            version=__version__, contact=config.fetch.contact
        ),
        delay=config.fetch.delay,
        timeout=config.fetch.timeout,
    )
    captures = list(archive.backfill(chosen.url, time_arg(since)))
    store = open_store(cfg.database_of(config_path, database))
    try:
        report = record_imported(config, store, captures, alert=alert, target=target)
    finally:
        store.close()
    _report(report, f"{target}: {archive.requests} requests to the archive")
