"""Evidence: ``export`` (WARC, JSON, CSV), ``verify`` and ``cite``."""

from __future__ import annotations

import csv
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from monitor import config as cfg
from monitor.cli._common import (
    NUMBER,
    config_option,
    db_option,
    handle_errors,
    open_store,
    time_arg,
)

if TYPE_CHECKING:
    from monitor.evidence.settings import ArchiveSettings
    from monitor.storage.store import Store

logger = logging.getLogger(__name__)


def _archive_settings(config_path: Path) -> ArchiveSettings:
    """The config's ``archive`` section; the defaults when there is no config file."""
    from monitor.evidence.settings import ArchiveSettings

    if not config_path.exists():
        return ArchiveSettings()
    return cfg.load(config_path).archive


def _size(count: int) -> str:
    """A byte count for people (1.5KB, 2.5MB): pydantic's ByteSize, decimal units."""
    from pydantic import ByteSize

    return ByteSize(count).human_readable(decimal=True, separator=" ")


@click.command("export")
@click.argument("target")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["warc", "json", "csv"]),
    default="warc",
    show_default=True,
    help="warc: WARC 1.1, one gzip member per record; json: versions and events; "
    "csv: one row per version.",
)
@click.option("--since", help="Versions captured at or after this UTC time or date.")
@click.option("--until", help="Versions captured before this; a date includes it.")
@click.option(
    "-o",
    "--output",
    help="The file to write ('-': standard output; default TARGET.warc.gz, "
    "TARGET.json or TARGET.csv).",
)
@config_option
@db_option
@handle_errors
def export(
    target: str,
    output_format: str,
    since: str | None,
    until: str | None,
    output: str | None,
    config_path: Path,
    database: str | None,
) -> None:
    """Write the versions of a target (or page URL) as WARC, JSON or CSV, from the database.

    warc: every version captured in [--since, --until) becomes its HTTP request, response
    (the exact body, with sha256 digests) and a metadata record, readable by any WARC tool
    (pywb, ReplayWeb.page, warcio). json: every page with its versions (texts, links,
    hashes) and events. csv: one row per version with its text and the events that made
    it. A date alone for --until includes that whole day (UTC).

    Example: monitor export mfa-statements --format warc --since 2026-01-01 -o mfa.warc.gz
    """
    from monitor.evidence import default_export_name, export_warc
    from monitor.timefmt import parse_time

    url = cfg.database_of(config_path, database)
    if output_format in ("json", "csv"):
        export_table(target, output_format, since, until, output, url)
        return
    start = parse_time(since) if since else None
    end = parse_time(until, end=True) if until else None
    store = open_store(url)
    path = output or default_export_name(target)
    if path == "-":
        result = export_warc(store, target, sys.stdout.buffer, since=start, until=end)
        click.echo(f"wrote {result.versions} versions ({result.records} records)", err=True)
        return
    destination = Path(path)
    try:
        with open(destination, "wb") as out:
            result = export_warc(
                store, target, out, since=start, until=end, filename=destination.name
            )
    except OSError as exc:
        from monitor.evidence import EvidenceError

        raise EvidenceError(f"cannot write {destination}: {exc}") from exc
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    pages = "page" if result.pages == 1 else "pages"
    click.echo(
        f"wrote {result.versions} versions of {result.pages} {pages} ({result.records} WARC "
        f"records, {_size(destination.stat().st_size)}) to {destination}"
    )


@click.command("verify")
@click.option(
    "--warc-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The WARC folder to check (default: the config's archive.warc_dir).",
)
@click.option(
    "--repair",
    is_flag=True,
    help="First write the missing WARC records of versions and events from their stored "
    "bodies (marked with the time they were written), then check.",
)
@config_option
@db_option
@handle_errors
def verify(warc_dir: Path | None, repair: bool, config_path: Path, database: str | None) -> None:
    """Check the integrity of every stored body and WARC record; exit 1 on any problem.

    Recomputes the sha256 of every body in the database, checks that every capture and
    version has the body it should, that each capture's WARC record is where the database
    says with valid digests matching the capture, that every version (and event) has its
    WARC record, and every record of every WARC file in the archive folder
    (archive.warc_dir, or --warc-dir). Each problem is one line. With --repair, versions
    whose WARC write failed are written first, from the stored bodies: each record keeps
    its capture's WARC-Date and says when it was written (Monitor-Written-Date).

    Example: monitor verify -c config.yaml --repair
    """
    from monitor.evidence import verify as run_verify
    from monitor.evidence.verify import repair as run_repair
    from monitor.evidence.warc import WarcArchive

    url = cfg.database_of(config_path, database)
    if warc_dir is None:
        settings = _archive_settings(config_path)
        warc_dir = Path(settings.warc_dir).expanduser() if settings.warc_dir else None
    store = open_store(url)
    if repair:
        if warc_dir is None:
            raise click.UsageError(
                "--repair needs a WARC folder: set archive.warc_dir in the config or pass "
                "--warc-dir"
            )
        repaired = run_repair(store, WarcArchive(warc_dir))
        for line in repaired.written:
            click.echo(f"written: {line}")
        for line in repaired.skipped:
            click.echo(f"not written: {line}")
        click.echo(f"repair: wrote the WARC records of {len(repaired.written)} capture(s)")
    report = run_verify(store, warc_dir)
    for problem in report.problems:
        click.echo(problem)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@click.command("cite")
@click.argument("target")
@click.argument("from_version", type=NUMBER, required=False)
@click.argument("to_version", type=NUMBER, required=False)
@click.option(
    "--event",
    help="Cite a removal, a restoration or a move instead of a change: 'removed', "
    "'restored' or 'moved' (the latest), or an event's id.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="The bundle folder (or .zip) to create; default evidence-TARGET-vFROM-vTO.",
)
@click.option("--zip", "as_zip", is_flag=True, help="Write one .zip file.")
@config_option
@db_option
@handle_errors
def cite(
    target: str,
    from_version: int | None,
    to_version: int | None,
    event: str | None,
    output: Path | None,
    as_zip: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """Write a self-contained evidence bundle for one change of a page (a folder or a zip).

    The bundle holds the captures as WARC, their exact bodies, the texts compared, the
    diff as HTML, a manifest (JSON: URLs, capture times in UTC, HTTP statuses, headers,
    redirects, sha256 of each body and file, the monitor's version, and the manifest's own
    sha256), SHA256SUMS and verify_bundle.py, which checks it all with Python alone.
    --event removed bundles a removal: the last version before it and the capture that
    showed it (status, headers, redirect chain, body); --event restored a restoration;
    --event moved a move (the old page's last version, its removal, the new page's
    version and the diff between them; cite it from either URL).
    docs/EVIDENCE.md explains how anyone checks a bundle without this software.

    Example: monitor cite mfa-statements 3 4 --zip
    """
    from monitor.evidence import (
        VERIFIER,
        cite_event,
        default_bundle_name,
        default_event_bundle_name,
    )
    from monitor.evidence import cite as write_bundle
    from monitor.timefmt import utcnow

    store = open_store(cfg.database_of(config_path, database))
    if event is not None:
        if from_version is not None:
            raise click.UsageError("give FROM and TO versions, or --event, not both")
        name = default_event_bundle_name(target, event[:12], utcnow())
        path = output or Path(name + (".zip" if as_zip else ""))
        bundle = cite_event(store, target, event, path, as_zip=as_zip)
    else:
        if from_version is None or to_version is None:
            raise click.UsageError("give FROM and TO versions (or --event removed|restored)")
        path = output or Path(
            default_bundle_name(target, from_version, to_version) + (".zip" if as_zip else "")
        )
        bundle = write_bundle(store, target, from_version, to_version, path, as_zip=as_zip)
    click.echo(f"wrote evidence bundle {bundle.path} ({len(bundle.files)} files)")
    click.echo(f"manifest sha256: {bundle.manifest_sha256}")
    if as_zip:
        click.echo(f"check it: unzip it, then python3 {VERIFIER} <its folder> (or {bundle.path})")
    else:
        click.echo(f"check it: python3 {bundle.path / VERIFIER} {bundle.path}")


CSV_COLUMNS = (
    "target",
    "page_url",
    "version",
    "captured_at",
    "status",
    "final_url",
    "title",
    "content_sha256",
    "body_sha256",
    "body_size",
    "events",
    "significance",
    "reasons",
    "text",
)


def export_history(
    store: Store,
    target: str,
    output_format: str,
    out: IO[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write the versions (with their texts) and events of a target as JSON or CSV.

    JSON: one document with every page, its versions and its events. CSV: one row per
    version, with the events that made it. Returns the number of versions written.
    """
    from monitor.history import timeline, version_detail

    pages = store.resolve(target)
    count = 0
    if output_format == "json":
        documents = []
        for page in pages:
            line = timeline(store, page.id, since, until)
            versions = []
            for summary in line.versions:
                detail = version_detail(store, page.id, summary.seq)
                versions.append(
                    {
                        **summary.to_json(),
                        "text": detail.text,
                        "links": [list(x) for x in detail.links],
                        "images": [list(x) for x in detail.images],
                    }
                )
            count += len(versions)
            documents.append(
                {
                    **line.page.to_json(),
                    "versions": versions,
                    "changes": [event.to_json() for event in line.events],
                }
            )
        json.dump({"target": target, "pages": documents}, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return count
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for page in pages:
        line = timeline(store, page.id, since, until)
        made = {}
        for entry in line.entries:
            if entry.version is not None:
                made[entry.version.seq] = entry.events
        for summary in line.versions:
            detail = version_detail(store, page.id, summary.seq)
            events = made.get(summary.seq, [])
            writer.writerow(
                [
                    line.page.target,
                    page.url,
                    summary.seq,
                    summary.captured_at.isoformat(),
                    summary.status if summary.status is not None else "",
                    summary.final_url or "",
                    summary.title or "",
                    summary.content_sha256,
                    summary.body_sha256 or "",
                    summary.body_size if summary.body_size is not None else "",
                    " ".join(event.kind for event in events),
                    f"{max(e.significance for e in events):.2f}" if events else "",
                    "; ".join(reason for event in events for reason in event.reasons),
                    f"{summary.title or ''}\n{detail.text}",
                ]
            )
            count += 1
    return count


def export_table(
    target: str,
    output_format: str,
    since: str | None,
    until: str | None,
    output: str | None,
    database_url: str,
) -> None:
    """``monitor export --format json|csv`` (called by :func:`monitor.cli.evidence.export`)."""
    from monitor.evidence import EvidenceError

    store = open_store(database_url)
    start, end = time_arg(since), time_arg(until, end=True)
    if output == "-":
        count = export_history(store, target, output_format, sys.stdout, since=start, until=end)
        click.echo(f"wrote {count} versions", err=True)
        return
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in target).strip("._")
    destination = Path(output or f"{safe or 'export'}.{output_format}")
    try:
        with open(destination, "w", encoding="utf-8", newline="") as out:
            count = export_history(store, target, output_format, out, since=start, until=end)
    except OSError as exc:
        raise EvidenceError(f"cannot write {destination}: {exc}") from exc
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    click.echo(f"wrote {count} versions of {target} to {destination}")


# --------------------------------------------------------------------------------------
