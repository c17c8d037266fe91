"""``monitor cite``: a self-contained, checkable bundle for one change, removal or
restoration of a page (docs/EVIDENCE.md).

Why one module of this size: a change, a removal and a restoration are bundled by one
writer (the same manifest, checksums, WARC, rendered page and verifier), so that a
bundle of any kind is checked the same way; only the choice of captures differs.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select

from monitor import __version__
from monitor.evidence.archive import capture_record
from monitor.evidence.warc import (
    CaptureRecord,
    new_warc_file,
    warc_date,
    write_captures,
)
from monitor.exceptions import (
    EvidenceError,
    MonitorError,
    UnknownTargetError,
)
from monitor.storage.models import Capture, Change, Page, Target, Version
from monitor.storage.store import Store

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "monitor-evidence-bundle/1"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
BUNDLE_WARC = "captures.warc.gz"
#: The stand-alone checker (Python standard library only), copied into every bundle.
VERIFIER = "verify_bundle.py"


@dataclass(frozen=True, slots=True)
class Bundle:
    """A written evidence bundle."""

    path: Path
    manifest_sha256: str
    files: tuple[str, ...]


_EXTENSIONS = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "application/json": ".json",
    "application/xml": ".xml",
    "text/xml": ".xml",
    "application/rss+xml": ".xml",
    "application/atom+xml": ".xml",
}


def _extension(headers: dict[str, Any]) -> str:
    content_type = str(headers.get("content-type", "")).split(";")[0].strip().lower()
    return _EXTENSIONS.get(content_type, ".bin")


def canonical_json(data: Any) -> bytes:
    """The manifest's canonical form: sorted keys, no spaces, UTF-8 (RFC 8785 for our data).

    The manifest holds only strings, integers, booleans, null, lists and objects (no
    floats), for which this is the JSON Canonicalization Scheme of RFC 8785.
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def manifest_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the canonical manifest without its own ``manifest_sha256`` key."""
    rest = {key: value for key, value in manifest.items() if key != "manifest_sha256"}
    return hashlib.sha256(canonical_json(rest)).hexdigest()


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return slug[:80] or "page"


def default_export_name(target: str) -> str:
    return f"{_slug(target)}.warc.gz"


def default_bundle_name(target: str, from_seq: int, to_seq: int) -> str:
    return f"evidence-{_slug(target)}-v{from_seq}-v{to_seq}"


@dataclass(frozen=True, slots=True)
class Exhibit:
    """One capture in a bundle: its role, and the version it made (None for a capture
    that made no version: the 404 or redirect of a removal)."""

    role: str
    capture: Capture
    version: Version | None
    # The page the capture is of, when not the cited page's (a move: the new URL).
    page_url: str | None = None


def cite(
    store: Store,
    target: str,
    from_seq: int,
    to_seq: int,
    output: Path,
    *,
    as_zip: bool = False,
    created_at: datetime | None = None,
) -> Bundle:
    """Write the evidence bundle of a change between two versions of a page.

    ``output`` is a folder to create (or, with ``as_zip``, a .zip file to create) in a
    folder that exists (a missing parent is refused, never created). The
    bundle holds both captures as WARC, their exact bodies, the texts compared, the diff
    as HTML, a manifest (JSON) with its own sha256, SHA256SUMS of every file, and
    ``verify_bundle.py`` to check it all without the monitor.
    """
    if from_seq == to_seq:
        raise EvidenceError("FROM and TO are the same version; a change needs two")
    _refuse_existing(output)
    page = store.page(target)
    with store.session() as session:
        rows = {
            version.seq: (version, capture)
            for version, capture in session.execute(
                select(Version, Capture)
                .join(Capture, Capture.id == Version.capture_id)
                .where(Version.page_id == page.id, Version.seq.in_([from_seq, to_seq]))
            ).all()
        }
        target_name = session.scalar(select(Target.name).where(Target.id == page.target_id))
        change = None
        if len(rows) == 2:
            change = session.scalar(
                select(Change)
                .where(
                    Change.from_version_id == rows[from_seq][0].id,
                    Change.to_version_id == rows[to_seq][0].id,
                )
                .order_by(Change.id)
                .limit(1)
            )
    for seq in (from_seq, to_seq):
        if seq not in rows:
            raise UnknownTargetError(f"{page.url} has no version {seq}")
    exhibits = [
        Exhibit("before", rows[from_seq][1], rows[from_seq][0]),
        Exhibit("after", rows[to_seq][1], rows[to_seq][0]),
    ]
    return _bundle(
        store,
        page.url,
        target_name or target,
        exhibits,
        change,
        (rows[from_seq][0], rows[to_seq][0]),
        output,
        as_zip=as_zip,
        created_at=created_at,
    )


#: What ``monitor cite --event`` accepts besides an event id: the latest of that kind.
EVENT_KINDS = ("removed", "restored", "moved")


def cite_event(
    store: Store,
    target: str,
    event: str,
    output: Path,
    *,
    as_zip: bool = False,
    created_at: datetime | None = None,
) -> Bundle:
    """Write the evidence bundle of a removal or a restoration of a page.

    ``event`` is "removed" or "restored" (the page's latest such event) or an event's
    id. A removal's bundle holds the last version before it and the capture that showed
    the removal (its status, headers, redirect chain and body); a restoration's adds the
    capture that found the page again, and says whether its content equals the
    version before the removal.
    """
    _refuse_existing(output)
    page = store.page(target)
    with store.session() as session:
        # A move lives on the page that moved away; cited from either URL.
        arrived = select(Version.id).where(Version.page_id == page.id).scalar_subquery()
        query = select(Change).where(
            (Change.page_id == page.id)
            | ((Change.kind == "moved") & Change.to_version_id.in_(arrived))
        )
        if event in EVENT_KINDS:
            query = query.where(Change.kind == event)
        else:
            query = query.where(Change.uid == event)
        change = session.scalar(query.order_by(Change.detected_at.desc(), Change.id.desc()))
        if change is None:
            what = f"{event!r} event" if event in EVENT_KINDS else f"event with id {event}"
            raise UnknownTargetError(f"{page.url} has no {what}")
        if change.kind not in EVENT_KINDS:
            raise EvidenceError(
                f"event {change.uid} is {change.kind!r}; --event cites a removal, a "
                "restoration or a move (cite a change with FROM and TO versions)"
            )
        if change.page_id != page.id:
            moved_from = session.get(Page, change.page_id)
            if moved_from is not None:
                page = moved_from
        target_name = session.scalar(select(Target.name).where(Target.id == page.target_id))
        before = session.get(Version, change.from_version_id) if change.from_version_id else None
        if before is None:
            raise EvidenceError(f"{page.url}: no version was recorded before this {change.kind}")
        exhibits = [Exhibit("before", _capture(session, before.capture_id), before)]
        pair: tuple[Version, Version] | None = None
        removal: Change | None = change
        if change.kind == "restored":
            removal = session.scalar(
                select(Change)
                .where(
                    Change.page_id == page.id,
                    Change.kind == "removed",
                    Change.detected_at <= change.detected_at,
                    Change.id < change.id,
                )
                .order_by(Change.detected_at.desc(), Change.id.desc())
                .limit(1)
            )
        if removal is not None and removal.capture_id is not None:
            exhibits.append(Exhibit("removal", _capture(session, removal.capture_id), None))
        if change.kind == "moved" and change.to_version_id is not None:
            after = session.get(Version, change.to_version_id)
            if after is not None:
                moved_to = session.get(Page, after.page_id)
                exhibits.append(
                    Exhibit(
                        "moved",
                        _capture(session, after.capture_id),
                        after,
                        moved_to.url if moved_to is not None else None,
                    )
                )
                pair = (before, after)
        if change.kind == "restored" and change.capture_id is not None:
            after = session.get(Version, change.to_version_id) if change.to_version_id else None
            capture = _capture(session, change.capture_id)
            made = after if after is not None and after.capture_id == capture.id else None
            exhibits.append(Exhibit("restoration", capture, made))
            if after is not None and after.id != before.id:
                pair = (before, after)
    return _bundle(
        store,
        page.url,
        target_name or target,
        exhibits,
        change,
        pair,
        output,
        as_zip=as_zip,
        created_at=created_at,
    )


def _capture(session: Any, capture_id: int) -> Capture:
    capture = session.get(Capture, capture_id)
    if capture is None:
        raise EvidenceError(f"capture {capture_id} is missing from the database")
    return capture  # type: ignore[no-any-return]


def _refuse_existing(output: Path) -> None:
    if output.exists():
        raise EvidenceError(f"{output} already exists; choose another path with -o")


def default_event_bundle_name(target: str, kind: str, at: datetime) -> str:
    return f"evidence-{_slug(target)}-{kind}-{at:%Y%m%dT%H%M%SZ}"


def _bundle(
    store: Store,
    page_url: str,
    target_name: str,
    exhibits: list[Exhibit],
    change: Change | None,
    pair: tuple[Version, Version] | None,
    output: Path,
    *,
    as_zip: bool,
    created_at: datetime | None,
) -> Bundle:
    """Write a bundle of ``exhibits``: WARC, bodies, texts, the rendered story, manifest."""
    from monitor.detect.differ import diff_versions

    created = (created_at or datetime.now(UTC)).astimezone(UTC)
    files: dict[str, bytes] = {}
    texts: dict[str, str] = {}
    entries: list[dict[str, Any]] = []
    records: list[CaptureRecord] = []
    for exhibit in exhibits:
        capture, version = exhibit.capture, exhibit.version
        seq = version.seq if version is not None else None
        # A move's second page numbers its versions anew: its files say which page.
        prefix = "moved-" if exhibit.role == "moved" else ""
        name = f"{prefix}v{seq}" if seq is not None else f"{exhibit.role}-capture-{capture.id}"
        if capture.status is None or capture.body_sha256 is None:
            raise EvidenceError(
                f"capture {capture.id} of {page_url} ({exhibit.role}) has no HTTP answer to cite"
            )
        try:
            # Bodies are stored once by sha256: a capture whose bytes an earlier one had
            # (a restoration to the same page) finds them there.
            body = store.body(capture.body_sha256)
        except MonitorError:
            raise EvidenceError(
                f"capture {capture.id} of {page_url} ({exhibit.role}): its body was not "
                "stored, so it cannot be cited"
            ) from None
        record = capture_record(capture, exhibit.page_url or page_url, target_name, seq, body)
        records.append(record)
        body_file = f"bodies/{name}{_extension(capture.headers or {})}"
        files[body_file] = body
        text_file = None
        if version is not None:
            text_file = f"text/{prefix}v{version.seq}.txt"
            files[text_file] = f"{version.title or ''}\n{version.text}\n".encode()
            texts[text_file] = version.text
        entries.append(
            {
                "role": exhibit.role,
                "version": seq,
                "capture_id": capture.id,
                "captured_at": warc_date(capture.started_at),
                "url": capture.final_url or capture.requested_url,
                "requested_url": capture.requested_url,
                "redirects": [
                    {"url": hop.get("url"), "status": hop.get("status")}
                    for hop in capture.redirects or []
                ],
                "http_status": capture.status,
                "http_protocol": capture.protocol,
                "http_headers": {str(k): str(v) for k, v in (capture.headers or {}).items()},
                "body_sha256": capture.body_sha256,
                "body_size": len(body),
                "body_file": body_file,
                "text_file": text_file,
                "title": version.title if version is not None else None,
                "content_sha256": version.content_sha256 if version is not None else None,
                "warc_record_id": record.record_id("response"),
                "archive_record": capture.warc_record,
                "web_archive_url": version.archive_url if version is not None else None,
                "page_url": exhibit.page_url or page_url,
                # Captures the monitor did not fetch itself: where they came from.
                "source": capture.source or "monitor",
                "provenance": capture.provenance,
            }
        )
    warc = io.BytesIO()
    new_warc_file(warc, BUNDLE_WARC, f"evidence for {page_url}: {_story(entries, change)}")
    write_captures(warc, records)
    files[BUNDLE_WARC] = warc.getvalue()
    both = diff_versions(*pair) if pair is not None else None
    files["diff.html"] = _diff_document(page_url, entries, change, both, created, texts)
    files["README.txt"] = _bundle_readme(page_url, _story(entries, change)).encode()
    files[VERIFIER] = resources.files("monitor.evidence").joinpath(VERIFIER).read_bytes()
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "monitor_version": __version__,
        "created_at": warc_date(created),
        "target": target_name,
        "page_url": page_url,
        "change": None
        if change is None
        else {
            "id": change.uid,
            "kind": change.kind,
            "detected_at": warc_date(change.detected_at),
            "summary": change.summary,
            "significance": f"{change.significance:.2f}",
            **(
                {"same_content": bool((change.features or {}).get("same_content"))}
                if change.kind == "restored"
                else {}
            ),
        },
        "captures": entries,
        "warc_file": BUNDLE_WARC,
        "diff_file": "diff.html",
        "verifier": VERIFIER,
        "files": [
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        ],
        "manifest_hash": "sha256 of the manifest without manifest_sha256, in canonical JSON "
        "(RFC 8785: keys sorted, no whitespace, UTF-8); see docs/EVIDENCE.md",
    }
    manifest["manifest_sha256"] = manifest_hash(manifest)
    files[MANIFEST] = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
    files[CHECKSUMS] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    ).encode()
    if not output.parent.is_dir():
        # Never created silently: a mistyped -o would leave evidence somewhere unexpected.
        raise EvidenceError(
            f"cannot write the bundle {output}: the folder {output.parent} does not exist "
            "(create it first, or choose another -o)"
        )
    try:
        if as_zip:
            _write_zip(output, files, created)
        else:
            _write_folder(output, files)
    except OSError as exc:
        raise EvidenceError(f"cannot write the bundle {output}: {exc}") from exc
    return Bundle(output, manifest["manifest_sha256"], tuple(sorted(files)))


def _story(entries: list[dict[str, Any]], change: Change | None) -> str:
    """What the bundle shows, in a few words (its WARC info and README)."""
    versions = [f"version {e['version']}" for e in entries if e["version"] is not None]
    if change is not None and change.kind == "removed":
        return f"removal ({versions[0]}, then HTTP {entries[-1]['http_status']})"
    if change is not None and change.kind == "moved":
        moved_to = (change.features or {}).get("moved_to")
        return f"move ({versions[0]}, then at {moved_to} as {versions[-1]})"
    if change is not None and change.kind == "restored":
        same = (change.features or {}).get("same_content")
        return f"restoration ({'same content as' if same else 'new content after'} {versions[0]})"
    return " -> ".join(versions)


def _write_folder(output: Path, files: dict[str, bytes]) -> None:
    output.mkdir()
    for name, data in files.items():
        path = output / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _write_zip(output: Path, files: dict[str, bytes], created: datetime) -> None:
    prefix = output.name.removesuffix(".zip")
    stamp = created.timetuple()[:6]
    with zipfile.ZipFile(output, "x", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)


_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em;color:#111}
table.meta{border-collapse:collapse;margin-bottom:1.5em}
table.meta th,table.meta td{border:1px solid #ccc;padding:.3em .6em;text-align:left;
vertical-align:top}
code{font-size:13px;word-break:break-all}
table.diff-sbs{border-collapse:collapse;width:100%;table-layout:fixed}
table.diff-sbs td{vertical-align:top;padding:.15em .4em;white-space:pre-wrap;
word-wrap:break-word}
table.diff-sbs col.num{width:3em}table.diff-sbs td.num{color:#888;text-align:right}
tr.skip td{background:#f4f4f4;color:#666;text-align:center}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
td.old.change,td.old.delete{background:#fff3f3}td.new.change,td.new.insert{background:#f3fff3}
td.moved{background:#f3f3ff}td.empty{background:#fafafa}
"""


def _diff_document(
    page_url: str,
    entries: list[dict[str, Any]],
    change: Change | None,
    both: Any,
    created: datetime,
    texts: dict[str, str],
) -> bytes:
    escape = html.escape
    rows = "".join(
        f"<tr><th>{escape(entry['role'])}"
        + (f": version {entry['version']}" if entry["version"] is not None else "")
        + f"</th><td>{escape(entry['captured_at'])}</td><td>HTTP {entry['http_status']}</td>"
        f"<td><code>{escape(entry['url'])}</code>"
        + "".join(
            f"<br><small>redirect {hop['status']} {escape(str(hop['url']))}</small>"
            for hop in entry["redirects"]
        )
        + f"</td><td>sha256 <code>{entry['body_sha256']}</code></td></tr>"
        for entry in entries
    )
    title = "Change"
    if change is not None and change.kind == "removed":
        title = "Removal"
    elif change is not None and change.kind == "restored":
        title = "Restoration"
    summary = f"<p>{escape(change.summary)}</p>" if change is not None else ""
    if both is not None:
        labels = tuple(
            f"v{entry['version']} {entry['captured_at']}"
            for entry in entries
            if entry["version"] is not None
        )[-2:]
        links = both.links.to_html() if both.links.changed else "<p>No change in links.</p>"
        body = (
            f"<h2>Text</h2>\n{both.text.side_by_side_html(context=3, labels=labels)}\n"
            f"<h2>Links</h2>\n{links}"
        )
    else:
        before = next((e for e in entries if e["role"] == "before"), None)
        same = change is not None and (change.features or {}).get("same_content")
        body = "".join(
            f"<h2>{escape(e['role'].capitalize())}: HTTP {e['http_status']}</h2>"
            f"<p>Requested <code>{escape(e['requested_url'])}</code>, answered by "
            f"<code>{escape(e['url'])}</code>; body in <code>{escape(e['body_file'])}</code>."
            "</p>"
            for e in entries
            if e["role"] != "before"
        )
        if same:
            body += "<p>The restored page has the same content as the version before.</p>"
        if before is not None:
            text = (before.get("title") or "") + "\n" + texts.get(before["text_file"] or "", "")
            body = (
                f"<h2>Last version before: version {before['version']}</h2>"
                f'<pre style="white-space:pre-wrap">{escape(text)}</pre>' + body
            )
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} of {escape(page_url)}</title><style>{_CSS}</style></head><body>
<h1>{title} of <code>{escape(page_url)}</code></h1>
{summary}
<table class="meta"><tr><th></th><th>captured (UTC)</th><th>status</th><th>URL</th>
<th>body</th></tr>{rows}</table>
{body}
<p><small>Texts compared: the normalised text of each version (text/). Exact bodies:
bodies/; the HTTP exchanges: {BUNDLE_WARC}. Written by monitor {__version__} at
{escape(warc_date(created))}.</small></p>
</body></html>
"""
    return document.encode("utf-8")


def _bundle_readme(page_url: str, story: str) -> str:
    return f"""Evidence of a {story} of {page_url}.

Files:
  {MANIFEST}       what was captured, when, with what HTTP status, and the sha256 of every file
  {CHECKSUMS}      sha256 of every file: check with `sha256sum -c {CHECKSUMS}`
  {BUNDLE_WARC}  the HTTP exchanges (request, response, metadata) as WARC 1.1 records
  bodies/          the exact bodies received (their sha256 is in the manifest and the WARC)
  text/            the normalised text of each version, as compared
  diff.html        what happened, rendered
  {VERIFIER}  checks all of this with Python's standard library alone

To check the bundle without the monitor:
  python3 {VERIFIER} .        (or: python3 {VERIFIER} BUNDLE.zip)
It does the following, which any other tool can redo:
  1. sha256sum -c {CHECKSUMS}
  2. The manifest's own hash: sha256 of the manifest with the key "manifest_sha256" removed,
     serialised as canonical JSON (keys sorted, separators "," and ":", UTF-8, no escaping
     of non-ASCII); it must equal manifest_sha256.
  3. Each body's sha256 equals its capture's body_sha256, and the WARC response record's
     WARC-Payload-Digest (sha256, base32) for the same capture.
  4. Any WARC tool (warcio check, pywb, ReplayWeb.page) reads {BUNDLE_WARC} and checks
     its digests.
The monitor's docs/EVIDENCE.md explains each step.
"""
