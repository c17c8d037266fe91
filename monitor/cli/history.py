"""Reviewing history from the command line: ``targets``, ``history``, ``show``, ``search``,
``serve``, and the JSON and CSV formats of ``export``.

Listings are aligned tables, coloured only on a terminal (and never with ``NO_COLOR``
set); every listing takes ``--json`` for scripts. ``TARGET`` is a target name or a URL.
:func:`register` adds the commands to the ``monitor`` group with the shared options and
error handling of :mod:`monitor.cli`.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from monitor import config as cfg
from monitor.exceptions import UnknownTargetError

logger = logging.getLogger(__name__)

#: Colours of event kinds and target states.
COLOURS = {
    "changed": "cyan",
    "added": "magenta",
    "removed": "yellow",
    "restored": "green",
    "recovered": "green",
    "learned": "blue",
    "forgotten": "blue",
    "error": "red",
    "failing": "red",
    "ok": "green",
    "paused": "bright_black",
    "never checked": "bright_black",
}


def _store(url: str) -> Any:
    from monitor.storage.store import Store

    store = Store(url)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.close)  # its connections, when the command ends
    return store


def _time(value: str | None, *, end: bool = False) -> datetime | None:
    from monitor.evidence import parse_time

    return parse_time(value, end=end) if value else None


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else "never"


def _colour_on() -> bool:
    return "NO_COLOR" not in os.environ


def paint(text: str, colour: str | None = None, bold: bool = False, dim: bool = False) -> str:
    """``text`` styled for a terminal (click.echo drops the codes when not a terminal)."""
    if not _colour_on() or not (colour or bold or dim):
        return text
    return click.style(text, fg=colour, bold=bold, dim=dim)


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: its text and how to colour it."""

    text: str
    colour: str | None = None
    bold: bool = False
    dim: bool = False


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str | Cell]], right: Sequence[int] = ()
) -> list[str]:
    """Rows padded into aligned columns under bold headers; on a terminal the last column
    is cut to the terminal's width."""
    cells = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell.text))
    room = None
    if sys.stdout.isatty():
        room = (
            shutil.get_terminal_size((120, 24)).columns - sum(widths[:-1]) - 2 * (len(widths) - 1)
        )

    def line(row: Sequence[Cell], header: bool = False) -> str:
        out = []
        for index, cell in enumerate(row):
            text = cell.text
            last = index == len(row) - 1
            if last and room is not None and room > 10 and len(text) > room:
                text = text[: room - 1] + "…"
            padded = (
                text.rjust(widths[index])
                if index in right
                else (text if last else text.ljust(widths[index]))
            )
            out.append(paint(padded, cell.colour, bold=header or cell.bold, dim=cell.dim))
        return "  ".join(out).rstrip()

    return [line([Cell(h) for h in headers], header=True), *(line(row) for row in cells)]


def _echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------------------
# monitor targets


def targets(
    tags: tuple[str, ...],
    status: str | None,
    as_json: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """List every target with its state: status, pages, versions, last check, last change.

    Status is one of: ok, failing (its last check failed), removed, paused (not in the
    config any more, or disabled), never checked.

    Example: monitor targets --tag russia --status failing
    """
    from monitor.history.data import filter_targets, target_rows

    rows = target_rows(_store(cfg.database_of(config_path, database)))
    if tags:
        rows = [row for row in rows if set(tags) & set(row.tags)]
    rows = filter_targets(rows, status=status)
    if as_json:
        _echo_json({"targets": [row.to_json() for row in rows]})
        return
    if not rows:
        click.echo("no targets")
        return
    body: list[list[str | Cell]] = []
    for row in rows:
        body.append(
            [
                Cell(row.name, bold=True),
                Cell(row.status, COLOURS.get(row.status)),
                str(row.pages),
                str(row.versions),
                _when(row.last_checked),
                _when(row.last_change),
                Cell(row.last_event or "-", COLOURS.get(row.last_event or "")),
                f"{row.significance:.2f}" if row.significance is not None else "-",
                Cell(str(row.failures), "red" if row.failures else None),
                ",".join(row.tags),
            ]
        )
    headers = [
        "TARGET", "STATUS", "PAGES", "VERSIONS", "LAST CHECK", "LAST CHANGE", "EVENT", "SIG",
        "FAILS", "TAGS",
    ]  # fmt: skip
    for text in table(headers, body, right=(2, 3, 7, 8)):
        click.echo(text)


# --------------------------------------------------------------------------------------
# monitor history


def history(
    target: str,
    since: str | None,
    until: str | None,
    as_json: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """List the versions and events of a page (TARGET is a target name or a URL).

    One row per version (time, number, HTTP status, content hash, title) with the event
    that made it; removals, errors and recoveries have rows of their own. Events show
    their significance and the reasons behind it. What was learned as noise (and so is
    no longer an event) shows as a `learned` note, recorded and never alerted. A listing
    target shows each of its pages. --since/--until take a UTC date or time (a date
    alone for --until includes it).

    Example: monitor history mfa-statements --since 2026-03-01
    """
    from monitor.history.data import timeline

    store = _store(cfg.database_of(config_path, database))
    start, end = _time(since), _time(until, end=True)
    pages = store.resolve(target)
    timelines = [timeline(store, page.id, start, end) for page in pages]
    if as_json:
        _echo_json(
            {
                "pages": [
                    {
                        **t.page.to_json(),
                        "captures": t.captures,
                        "versions": [v.to_json() for v in t.versions],
                        "changes": [e.to_json() for e in t.events],
                        "learning_notes": [n.to_json() for n in t.notes],
                    }
                    for t in timelines
                ]
            }
        )
        return
    for number, line in enumerate(timelines):
        page = line.page
        if number:
            click.echo("")
        state = paint(page.state, "yellow" if page.state != "active" else None)
        click.echo(
            f"{paint(page.url, bold=True)}  [{page.role}, {state}, "
            f"last checked {_when(page.last_checked)}]"
        )
        if not line.versions and not line.events and not line.notes:
            click.echo("  no versions yet")
            continue
        rows: list[list[str | Cell]] = []
        for entry in reversed(line.entries):
            version = entry.version
            events = entry.events
            if entry.notes:
                # What was learned as noise: low significance, recorded, never alerted.
                rows.append(
                    [
                        _when(entry.when),
                        "",
                        "",
                        "",
                        Cell(entry.kind, COLOURS.get(entry.kind)),
                        Cell("note", dim=True),
                        "; ".join(note.summary for note in entry.notes) + "  [not alerted]",
                    ]
                )
                continue
            status = version.status if version else (events[0].status if events else None)
            details = version.title or "" if version else ""
            if events:
                details = "; ".join(
                    event.summary + (f"  [{'; '.join(event.reasons)}]" if event.reasons else "")
                    for event in events
                )
            kind = entry.kind if events else ("first" if entry.kind == "first" else "new")
            rows.append(
                [
                    _when(entry.when),
                    Cell(f"v{version.seq}" if version else "", bold=True),
                    str(status or "-"),
                    Cell(version.content_sha256[:12] if version else "", dim=True),
                    Cell(kind, COLOURS.get(kind)),
                    f"{max(e.significance for e in events):.2f}" if events else "",
                    details,
                ]
            )
        headers = ["WHEN", "VERSION", "STATUS", "CONTENT", "EVENT", "SIG", "DETAILS"]
        for text in table(headers, rows, right=(5,)):
            click.echo("  " + text)


# --------------------------------------------------------------------------------------
# monitor show


def show(
    target: str,
    version: int | None,
    at: str | None,
    part: str,
    as_json: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """Show one version of a page: what it said, with its capture's time, status and hashes.

    VERSION is a version number (default: the latest); --at TIME picks the version the
    page had at that time ("what did it say on 3 March?"). --text prints only the text
    compared (title first), --raw the exact bytes captured, --headers the HTTP answer.

    Example: monitor show mfa-statements --at 2026-03-03T12:00
    """
    from monitor.history.data import version_detail, version_summaries

    store = _store(cfg.database_of(config_path, database))
    page = store.page(target)
    versions = version_summaries(store, page.id)
    if not versions:
        raise UnknownTargetError(f"{page.url} has no versions yet")
    if at is not None:
        whole_day = len(at.strip()) == 10  # a date: the version at the end of that day
        moment = _time(at, end=whole_day)
        assert moment is not None
        earlier = [
            v
            for v in versions
            if v.captured_at < moment or (not whole_day and v.captured_at == moment)
        ]
        if not earlier:
            raise UnknownTargetError(
                f"{page.url} had no version yet at {_when(moment)} "
                f"(first: v{versions[0].seq} at {_when(versions[0].captured_at)})"
            )
        version = earlier[-1].seq
    seq = version if version is not None else versions[-1].seq
    detail = version_detail(store, page.id, seq)
    capture = detail.capture
    if as_json:
        _echo_json(detail.to_json())
        return
    if part == "raw":
        if not capture.body_sha256 or not capture.body_stored:
            raise UnknownTargetError(f"the body of v{seq} of {page.url} was not stored")
        body: bytes = store.body(capture.body_sha256)
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    if part == "headers":
        click.echo(f"{capture.protocol or 'HTTP'} {capture.status or '-'}")
        for name, value in sorted((capture.headers or {}).items()):
            click.echo(f"{name}: {value}")
        return
    if part == "text":
        click.echo(f"{detail.version.title or ''}\n{detail.text}")
        return
    latest = versions[-1].seq
    facts = [
        ("page", page.url),
        ("version", f"v{seq} of {latest}" + (" (latest)" if seq == latest else "")),
        ("captured", f"{_when(capture.started_at)}  ({capture.duration_ms:.0f} ms)"),
        ("status", f"{capture.status or '-'}" + (f"  {capture.error}" if capture.error else "")),
    ]
    if capture.final_url and capture.final_url != capture.requested_url:
        facts.append(("final url", capture.final_url))
    facts += [
        ("body", f"{capture.body_size or 0} bytes, sha256 {capture.body_sha256 or '-'}"),
        ("content", f"sha256 {detail.version.content_sha256}"),
        ("title", detail.version.title or ""),
    ]
    if detail.archive_url:
        facts.append(("archive", detail.archive_url))
    for name, value in facts:
        click.echo(f"{paint(f'{name:10}', dim=True)} {value}")
    click.echo("")
    click.echo(detail.text)


# --------------------------------------------------------------------------------------
# monitor search


def search(
    words: tuple[str, ...],
    names: tuple[str, ...],
    tags: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """Search the text and titles of every version of every page.

    All words must occur (case does not matter, accents do); "a phrase" in quotes,
    evacuat* for words starting so, -word to exclude. Pages are listed newest match
    first, with the versions that match, so one sees when a sentence appeared and whether
    the current version still says it. Same results on SQLite and PostgreSQL.

    Example: monitor search '"visa applications" suspended' --tag consular --since 2026-01-01
    """
    from monitor.history.search import search as run_search

    result = run_search(
        _store(cfg.database_of(config_path, database)),
        " ".join(words),
        targets=names,
        tags=tags,
        since=_time(since),
        until=_time(until, end=True),
        limit=limit,
    )
    if as_json:
        _echo_json(result.to_json())
        return
    click.echo(
        f"{result.versions} version{'s' if result.versions != 1 else ''} of "
        f"{result.total_pages} page{'s' if result.total_pages != 1 else ''} "
        f"({result.seconds * 1000:.0f} ms)"
        + (
            f"; the {len(result.pages)} newest shown"
            if result.total_pages > len(result.pages)
            else ""
        )
    )
    if not result.pages:
        return
    rows: list[list[str | Cell]] = []
    for hit in result.pages:
        rows.append(
            [
                Cell(hit.target, bold=True),
                hit.ranges(),
                _when(hit.last_at),
                Cell("yes", "green") if hit.current else Cell(f"no (v{hit.latest_seq})", "yellow"),
                hit.title or hit.url,
            ]
        )
    lines = table(["TARGET", "VERSIONS", "LAST MATCH", "NOW", "TITLE"], rows)
    click.echo(lines[0])
    for hit, line in zip(result.pages, lines[1:], strict=True):
        click.echo(line)
        excerpt = "".join(
            paint(text, "yellow", bold=True) if hit else text for text, hit in hit.excerpt
        )
        click.echo(f"    {paint(hit.url, dim=True)}")
        if excerpt:
            click.echo(f"    {excerpt}")


# --------------------------------------------------------------------------------------
# monitor serve


def serve(
    host: str, port: int, public_url: str | None, config_path: Path, database: str | None
) -> None:
    """Serve the history in a browser, as Atom feeds and as a read-only JSON API.

    Pages: the dashboard (/), a page's timeline (/pages/ID), diffs
    (/pages/ID/diff/FROM/TO), snapshots (/pages/ID/versions/N), search (/search);
    feeds under /feeds/; the API under /api/ (OpenAPI: /api/openapi.json). Bound to
    127.0.0.1 by default; any other address requires MONITOR_WEB_TOKEN (Bearer token) or
    MONITOR_WEB_PASSWORD (HTTP Basic) in the environment.

    Example: monitor serve -c config.yaml --port 8080
    """
    from monitor.web.app import WebSettings
    from monitor.web.app import serve as run

    if public_url is None and config_path.exists():
        public_url = cfg.load(config_path).public_url
    settings = WebSettings.from_env(host, port, public_url)
    settings.check()
    store = _store(cfg.database_of(config_path, database))
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving http://{shown}:{port}/ (Ctrl-C to stop)")
    run(store, settings)


# --------------------------------------------------------------------------------------
# monitor export --format json|csv

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
    store: Any,
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
    from monitor.history.data import timeline, version_detail

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

    store = _store(database_url)
    start, end = _time(since), _time(until, end=True)
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


def _decorated(function: Callable[..., None], *decorators: Callable[[Any], Any]) -> Any:
    """``function`` under ``decorators`` listed top to bottom, as ``@`` lines would be."""
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def register(main: click.Group) -> None:
    """Add ``targets``, ``history``, ``show``, ``search`` and ``serve`` to ``monitor``."""
    from monitor.cli import _errors, config_option, db_option

    shared = (config_option, db_option, _errors)
    as_json = click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
    since = click.option("--since", help="From this UTC date or time (2026-03-01[T12:00]).")
    until = click.option("--until", help="Before this UTC time; a date alone includes that day.")
    main.command("targets")(
        _decorated(
            targets,
            click.option("--tag", "tags", multiple=True, help="Only targets with this tag."),
            click.option(
                "--status",
                type=click.Choice(["ok", "failing", "removed", "paused", "never checked"]),
                help="Only targets in this state.",
            ),
            as_json,
            *shared,
        )
    )
    main.command("history")(
        _decorated(history, click.argument("target"), since, until, as_json, *shared)
    )
    main.command("show")(
        _decorated(
            show,
            click.argument("target"),
            click.argument("version", required=False, type=int),
            click.option("--at", help="The version the page had at this UTC time or date."),
            click.option("--text", "part", flag_value="text", help="Only the text compared."),
            click.option("--raw", "part", flag_value="raw", help="The exact body captured."),
            click.option("--headers", "part", flag_value="headers", help="The HTTP headers."),
            click.option("--summary", "part", flag_value="summary", default=True, hidden=True),
            as_json,
            *shared,
        )
    )
    main.command("search")(
        _decorated(
            search,
            click.argument("words", nargs=-1, required=True),
            click.option("--target", "names", multiple=True, help="Only this target (repeatable)."),
            click.option("--tag", "tags", multiple=True, help="Only targets with this tag."),
            since,
            until,
            click.option("--limit", type=int, default=20, show_default=True, help="Pages shown."),
            as_json,
            *shared,
        )
    )
    main.command("serve")(
        _decorated(
            serve,
            click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind."),
            click.option("--port", type=int, default=8080, show_default=True, help="Port."),
            click.option(
                "--public-url",
                help="Base URL for absolute links in feeds (default: the config's public_url).",
            ),
            *shared,
        )
    )
