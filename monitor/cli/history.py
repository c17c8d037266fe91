"""Reviewing history: ``targets``, ``history``, ``show``, ``search`` and ``diff``.

Every listing takes ``--json`` for scripts. ``TARGET`` is a target name or a URL.

Why one module of this size: the five commands read one page's history through the same
read model and print it with the same table and time helpers; split, each piece would
import the others' formatting.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor import config as cfg
from monitor.cli._common import (
    COLOURS,
    NUMBER,
    Cell,
    config_option,
    db_option,
    echo_json,
    handle_errors,
    open_store,
    paint,
    table,
    time_arg,
    when,
)
from monitor.exceptions import UnknownTargetError

if TYPE_CHECKING:
    from monitor.history import CaptureDetail, EventView
    from monitor.storage.store import Store

logger = logging.getLogger(__name__)


@click.command("targets")
@click.option("--tag", "tags", multiple=True, help="Only targets with this tag.")
@click.option(
    "--status",
    type=click.Choice(["ok", "failing", "removed", "paused", "never checked"]),
    help="Only targets in this state.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@config_option
@db_option
@handle_errors
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
    from monitor.history import filter_targets, target_rows, with_configured

    url, seen = cfg.glance_if_present(config_path, database)
    rows = target_rows(open_store(url, reading=True))
    if seen is not None and database is None:
        # Targets of the config not checked yet: listed as "never checked".
        rows = with_configured(
            rows, [(t.name, t.url, t.tags, t.enabled, t.listing) for t in seen.targets]
        )
    if tags:
        rows = [row for row in rows if set(tags) & set(row.tags)]
    rows = filter_targets(rows, status=status)
    if as_json:
        echo_json({"targets": [row.to_json() for row in rows]})
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
                when(row.last_checked),
                when(row.last_change),
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


@click.command("history")
@click.argument("target")
@click.option("--since", help="From this UTC date or time (2026-03-01[T12:00]).")
@click.option("--until", help="Before this UTC time; a date alone includes that day.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@config_option
@db_option
@handle_errors
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
    from monitor.history import timeline

    store = open_store(cfg.database_of(config_path, database), reading=True)
    start, end = time_arg(since), time_arg(until, end=True)
    pages = store.resolve(target)
    timelines = [timeline(store, page.id, start, end) for page in pages]
    if as_json:
        echo_json(
            {
                "pages": [
                    {
                        **t.page.to_json(),
                        "captures": t.captures,
                        "versions": [v.to_json() for v in t.versions],
                        "changes": [e.story_json() for e in t.events],
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
            f"last checked {when(page.last_checked)}]"
        )
        if page.moved_from is not None:
            click.echo(
                f"  moved here from {page.moved_from[1]} (its history before: "
                f"monitor history {page.moved_from[1]})"
            )
        if page.moved_to is not None:
            click.echo(
                f"  moved to {page.moved_to[1]} (its history since: "
                f"monitor history {page.moved_to[1]})"
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
                        when(entry.when),
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
                details = "; ".join(_event_details(event) for event in events)
            if version is not None and version.imported:
                details += f"  [{version.imported}]"
            kind = entry.kind if events else ("first" if entry.kind == "first" else "new")
            if version:
                seq = Cell(f"v{version.seq}", bold=True)
            else:
                # The version in force at this event (before a removal, or brought back).
                seq = Cell(f"(v{entry.in_force})" if entry.in_force else "", dim=True)
            rows.append(
                [
                    when(entry.when),
                    seq,
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


def _event_details(event: EventView) -> str:
    """An event's line in `monitor history`: its summary, where a removal led, the capture
    to look at, and the reasons of its score."""
    text = event.summary
    if event.kind == "removed" and event.final_url and event.final_url != event.url:
        text += f" -> {event.final_url}"
    if event.kind == "moved":
        text += f" (from {event.features.get('moved_from', event.url)})"
    if event.kind == "removed" and event.capture_id is not None:
        text += f" (capture {event.capture_id}; see it with show --capture {event.capture_id})"
    if event.reasons:
        text += f"  [{'; '.join(event.reasons)}]"
    return text


# --------------------------------------------------------------------------------------
# monitor show


@click.command("show")
@click.argument("target")
@click.argument("version", required=False, type=NUMBER)
@click.option("--at", help="The version the page had at this UTC time or date.")
@click.option(
    "--capture",
    "capture_id",
    type=NUMBER,
    help="A capture by its id instead of a version (the 404 or redirect of a removal).",
)
@click.option("--text", "part", flag_value="text", help="Only the text compared.")
@click.option("--raw", "part", flag_value="raw", help="The exact body captured.")
@click.option("--headers", "part", flag_value="headers", help="The HTTP headers.")
@click.option("--summary", "part", flag_value="summary", default=True, hidden=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@config_option
@db_option
@handle_errors
def show(
    target: str,
    version: int | None,
    at: str | None,
    capture_id: int | None,
    part: str,
    as_json: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """Show one version of a page: what it said, with its capture's time, status and hashes.

    VERSION is a version number (default: the latest); --at TIME picks the version the
    page had at that time ("what did it say on 3 March?"). --text prints only the text
    compared (title first), --raw the exact bytes captured, --headers the HTTP answer.
    A removed page says so first, with the capture that showed the removal; --capture ID
    shows such a capture (status, redirects, headers; --raw its body).

    Example: monitor show mfa-statements --at 2026-03-03T12:00
    """
    from monitor.history import capture_detail, removal_of, version_detail, version_summaries

    store = open_store(cfg.database_of(config_path, database), reading=True)
    page = store.page(target)
    if capture_id is not None:
        _show_capture(store, capture_detail(store, page.id, capture_id), part, as_json)
        return
    removal = removal_of(store, page.id)
    versions = version_summaries(store, page.id)
    if not versions:
        raise UnknownTargetError(f"{page.url} has no versions yet")
    if at is not None:
        whole_day = len(at.strip()) == 10  # a date: the version at the end of that day
        moment = time_arg(at, end=whole_day)
        assert moment is not None
        earlier = [
            v
            for v in versions
            if v.captured_at < moment or (not whole_day and v.captured_at == moment)
        ]
        if not earlier:
            raise UnknownTargetError(
                f"{page.url} had no version yet at {when(moment)} "
                f"(first: v{versions[0].seq} at {when(versions[0].captured_at)})"
            )
        version = earlier[-1].seq
    seq = version if version is not None else versions[-1].seq
    detail = version_detail(store, page.id, seq)
    capture = detail.capture
    if as_json:
        echo_json(
            {**detail.to_json(), "removed": removal.story_json() if removal is not None else None}
        )
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
    if removal is not None:
        gone = f"REMOVED since {when(removal.detected_at)}: HTTP {removal.status or '-'}"
        if removal.final_url and removal.final_url != page.url:
            gone += f", redirected to {removal.final_url}"
        if removal.how:
            gone += f" ({removal.how})"
        click.echo(paint(gone, COLOURS["removed"], bold=True))
        click.echo(
            f"the text below is the last version before the removal; the capture that "
            f"showed it: monitor show {target} --capture {removal.capture_id}"
        )
        click.echo("")
    facts = [
        ("page", page.url),
        ("version", f"v{seq} of {latest}" + (" (latest)" if seq == latest else "")),
        ("captured", f"{when(capture.started_at)}  ({capture.duration_ms:.0f} ms)"),
        ("status", f"{capture.status or '-'}" + (f"  {capture.error}" if capture.error else "")),
    ]
    if capture.final_url and capture.final_url != capture.requested_url:
        facts.append(("final url", capture.final_url))
    facts += [
        ("body", f"{capture.body_size or 0} bytes, sha256 {capture.body_sha256 or '-'}"),
        *_fetched_how(capture),
        ("content", f"sha256 {detail.version.content_sha256}"),
        ("title", detail.version.title or ""),
    ]
    if detail.archive_url:
        facts.append(("archive", detail.archive_url))
    for name, value in facts:
        click.echo(f"{paint(f'{name:10}', dim=True)} {value}")
    click.echo("")
    click.echo(detail.text)


def _fetched_how(capture: Any) -> list[tuple[str, str]]:
    """What a capture's facts add: the quality judge's note, and how it was fetched when not
    directly as plain HTTP (its renderer, its proxy)."""
    facts = []
    if capture.note and not capture.error:
        facts.append(("note", capture.note))
    if capture.renderer:
        served = f"; as served: sha256 {capture.raw_body_sha256}" if capture.raw_body_sha256 else ""
        facts.append(
            ("rendered", f"by a {capture.renderer} (the body is the rendered page){served}")
        )
    if capture.proxy:
        facts.append(("proxy", capture.proxy))
    return facts


def _show_capture(store: Store, detail: CaptureDetail, part: str, as_json: bool) -> None:
    """One capture: what was asked, what answered (status, redirects, headers), its body."""
    capture = detail.capture
    if as_json:
        echo_json(detail.to_json())
        return
    if part == "raw":
        if not capture.body_sha256 or not capture.body_stored:
            raise UnknownTargetError(f"the body of capture {capture.id} was not stored")
        sys.stdout.buffer.write(store.body(capture.body_sha256))
        sys.stdout.buffer.flush()
        return
    if part == "headers":
        click.echo(f"{capture.protocol or 'HTTP'} {capture.status or '-'}")
        for name, value in sorted((capture.headers or {}).items()):
            click.echo(f"{name}: {value}")
        return
    facts = [
        ("page", detail.page.url),
        ("capture", f"{capture.id} at {when(capture.started_at)} ({capture.duration_ms:.0f} ms)"),
        ("status", f"{capture.status or '-'}" + (f"  {capture.error}" if capture.error else "")),
    ]
    for hop in capture.redirects or []:
        facts.append(("redirect", f"{hop.get('status', '-')} {hop.get('url', '')}"))
    if capture.final_url and capture.final_url != capture.requested_url:
        facts.append(("final url", capture.final_url))
    facts.append(("body", f"{capture.body_size or 0} bytes, sha256 {capture.body_sha256 or '-'}"))
    facts += _fetched_how(capture)
    if detail.event is not None:
        facts.append(("event", detail.event.summary))
    if capture.body_stored:
        facts.append(("", "--raw prints the body as received, --headers the HTTP headers"))
    for name, value in facts:
        click.echo(f"{paint(f'{name:10}', dim=True)} {value}")


# --------------------------------------------------------------------------------------
# monitor search


@click.command("search")
@click.argument("words", nargs=-1, required=True)
@click.option("--target", "names", multiple=True, help="Only this target (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only targets with this tag.")
@click.option("--since", help="From this UTC date or time (2026-03-01[T12:00]).")
@click.option("--until", help="Before this UTC time; a date alone includes that day.")
@click.option("--limit", type=int, default=20, show_default=True, help="Pages shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@config_option
@db_option
@handle_errors
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
        open_store(cfg.database_of(config_path, database), reading=True),
        " ".join(words),
        targets=names,
        tags=tags,
        since=time_arg(since),
        until=time_arg(until, end=True),
        limit=limit,
    )
    if as_json:
        echo_json(result.to_json())
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
                when(hit.last_at),
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


@click.command()
@click.argument("target")
@click.argument("from_version", required=False, type=NUMBER)
@click.argument("to_version", required=False, type=NUMBER)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "words", "html", "side-by-side", "json"]),
    default="text",
    show_default=True,
    help="text: unified diff; words: changed lines with [-removed-]{+added+} words; "
    "html: an HTML page (inline diff); side-by-side: an HTML page (two columns); "
    "json: ops and statistics. Text is coloured on a terminal (never with NO_COLOR or "
    "when piped).",
)
@config_option
@db_option
@handle_errors
def diff(
    target: str,
    from_version: int | None,
    to_version: int | None,
    output: str,
    config_path: Path,
    database: str | None,
) -> None:
    """Show what changed between two versions of a page (the latest two by default).

    The text diff is followed by the set-diffs of the page's outgoing links and of the
    images of its content.

    Example: monitor diff mfa-statements 3 5 --format words
    """
    import json

    from monitor.cli import _diffview
    from monitor.detect.differ import diff_versions

    store = open_store(cfg.database_of(config_path, database), reading=True)
    page = store.page(target)
    versions = {version.seq: version for version in store.versions(page.id)}
    if len(versions) < 2 and (from_version is None or to_version is None):
        raise UnknownTargetError(f"{page.url} has {len(versions)} version(s); nothing to compare")
    seqs = sorted(versions)
    to_seq = to_version if to_version is not None else seqs[-1]
    from_seq = (
        from_version
        if from_version is not None
        else (max((seq for seq in seqs if seq < to_seq), default=seqs[0]))
    )
    for seq in (from_seq, to_seq):
        if seq not in versions:
            raise UnknownTargetError(
                f"{page.url} has no version {seq} (versions: {seqs[0]}-{seqs[-1]})"
            )
    a, b = versions[from_seq], versions[to_seq]
    labels = (
        f"v{a.seq} {a.captured_at:%Y-%m-%d %H:%M:%S}Z",
        f"v{b.seq} {b.captured_at:%Y-%m-%d %H:%M:%S}Z",
    )
    both = diff_versions(a, b)
    result, links, images = both.text, both.links, both.images
    if output == "json":
        payload = {
            "page": page.url,
            "from": a.seq,
            "to": b.seq,
            "diff": result.to_json(),
            "links": links.to_json(),
            "images": images.to_json(),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if output in ("html", "side-by-side"):
        click.echo(
            _diffview.html_page(
                url=page.url,
                title=b.title,
                labels=labels,
                diff=result,
                links=links,
                images=images,
                side_by_side=output == "side-by-side",
            ),
            nl=False,
        )
        return
    if not result.changed and not links.changed and not images.changed:
        click.echo(f"v{a.seq} and v{b.seq} have the same content")
        return
    style = _diffview.styler(_diffview.wants_colour())
    if output == "words":
        lines = _diffview.words(result, labels, style)
    else:
        lines = _diffview.unified(result, labels, style) if result.changed else iter(())
    for line in lines:
        click.echo(line)
    if links.changed:
        click.echo("\n" + style("links:", bold=True))
        for line in _diffview.link_lines(links, style):
            click.echo(line)
    if images.changed:
        click.echo("\n" + style("images:", bold=True))
        for line in _diffview.link_lines(images, style):
            click.echo(line)
