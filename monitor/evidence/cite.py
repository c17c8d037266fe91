"""``monitor cite``: a self-contained, checkable bundle for one change (docs/EVIDENCE.md)."""

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
from pathlib import Path
from typing import Any

from sqlalchemy import select

from monitor import __version__
from monitor.detect.differ import LinkDiff, TextDiff
from monitor.evidence.archive import capture_record, version_body
from monitor.evidence.warc import (
    CaptureRecord,
    new_warc_file,
    warc_date,
    write_captures,
)
from monitor.exceptions import (
    EvidenceError,
    UnknownTargetError,
)
from monitor.storage.models import Capture, Change, Target, Version
from monitor.storage.store import Store

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "monitor-evidence-bundle/1"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
BUNDLE_WARC = "captures.warc.gz"


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

    ``output`` is a folder to create (or, with ``as_zip``, a .zip file to create). The
    bundle holds both captures as WARC, their exact bodies, the texts compared, the diff
    as HTML, a manifest (JSON) with its own sha256, and SHA256SUMS of every file.
    """
    from monitor.detect.differ import diff_versions

    if from_seq == to_seq:
        raise EvidenceError("FROM and TO are the same version; a change needs two")
    if output.exists():
        raise EvidenceError(f"{output} already exists; choose another path with -o")
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
    created = (created_at or datetime.now(UTC)).astimezone(UTC)
    files: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    records: list[CaptureRecord] = []
    for role, seq in (("before", from_seq), ("after", to_seq)):
        version, capture = rows[seq]
        body = version_body(store, capture, page.url, seq)
        record = capture_record(capture, page.url, target_name, seq, body)
        records.append(record)
        body_file = f"bodies/v{seq}{_extension(capture.headers or {})}"
        text_file = f"text/v{seq}.txt"
        files[body_file] = body
        files[text_file] = f"{version.title or ''}\n{version.text}\n".encode()
        entries.append(
            {
                "role": role,
                "version": seq,
                "captured_at": warc_date(capture.started_at),
                "url": capture.final_url or capture.requested_url,
                "requested_url": capture.requested_url,
                "redirects": [
                    {"url": hop.get("url"), "status": hop.get("status")}
                    for hop in capture.redirects or []
                ],
                "http_status": capture.status,
                "http_protocol": capture.protocol,
                "body_sha256": capture.body_sha256,
                "body_size": len(body),
                "body_file": body_file,
                "text_file": text_file,
                "title": version.title,
                "content_sha256": version.content_sha256,
                "warc_record_id": record.record_id("response"),
                "archive_record": capture.warc_record,
                "web_archive_url": version.archive_url,
            }
        )
    warc = io.BytesIO()
    new_warc_file(warc, BUNDLE_WARC, f"evidence for {page.url} v{from_seq} -> v{to_seq}")
    write_captures(warc, records)
    files[BUNDLE_WARC] = warc.getvalue()
    before, after = rows[from_seq][0], rows[to_seq][0]
    both = diff_versions(before, after)
    text_diff, link_diff = both.text, both.links
    files["diff.html"] = _diff_document(page.url, entries, change, text_diff, link_diff, created)
    files["README.txt"] = _bundle_readme(page.url, from_seq, to_seq).encode()
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "monitor_version": __version__,
        "created_at": warc_date(created),
        "target": target_name,
        "page_url": page.url,
        "change": None
        if change is None
        else {
            "id": change.uid,
            "kind": change.kind,
            "detected_at": warc_date(change.detected_at),
            "summary": change.summary,
            "significance": f"{change.significance:.2f}",
        },
        "captures": entries,
        "warc_file": BUNDLE_WARC,
        "diff_file": "diff.html",
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
    try:
        if as_zip:
            _write_zip(output, files, created)
        else:
            _write_folder(output, files)
    except OSError as exc:
        raise EvidenceError(f"cannot write the bundle {output}: {exc}") from exc
    return Bundle(output, manifest["manifest_sha256"], tuple(sorted(files)))


def _write_folder(output: Path, files: dict[str, bytes]) -> None:
    output.mkdir(parents=True)
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
    text_diff: TextDiff,
    link_diff: LinkDiff,
    created: datetime,
) -> bytes:
    escape = html.escape
    rows = "".join(
        f"<tr><th>{escape(entry['role'])}: version {entry['version']}</th>"
        f"<td>{escape(entry['captured_at'])}</td><td>HTTP {entry['http_status']}</td>"
        f"<td><code>{escape(entry['url'])}</code></td>"
        f"<td>sha256 <code>{entry['body_sha256']}</code></td></tr>"
        for entry in entries
    )
    before, after = (f"v{entry['version']} {entry['captured_at']}" for entry in entries)
    labels = (before, after)
    summary = f"<p>{escape(change.summary)}</p>" if change is not None else ""
    links = link_diff.to_html() if link_diff.changed else "<p>No change in links.</p>"
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Change of {escape(page_url)}</title><style>{_CSS}</style></head><body>
<h1>Change of <code>{escape(page_url)}</code></h1>
{summary}
<table class="meta"><tr><th></th><th>captured (UTC)</th><th>status</th><th>URL</th>
<th>body</th></tr>{rows}</table>
<h2>Text</h2>
{text_diff.side_by_side_html(context=3, labels=labels)}
<h2>Links</h2>
{links}
<p><small>Texts compared: the normalised text of each version (text/). Exact bodies:
bodies/; both HTTP exchanges: {BUNDLE_WARC}. Written by monitor {__version__} at
{escape(warc_date(created))}.</small></p>
</body></html>
"""
    return document.encode("utf-8")


def _bundle_readme(page_url: str, from_seq: int, to_seq: int) -> str:
    return f"""Evidence of a change of {page_url} (version {from_seq} -> version {to_seq}).

Files:
  {MANIFEST}       what was captured, when, with what HTTP status, and the sha256 of every file
  {CHECKSUMS}      sha256 of every file: check with `sha256sum -c {CHECKSUMS}`
  {BUNDLE_WARC}  both HTTP exchanges (request, response, metadata) as WARC 1.1 records
  bodies/          the exact bodies received (their sha256 is in the manifest and the WARC)
  text/            the normalised text of each version, as compared
  diff.html        the change, rendered

To check the bundle without the monitor:
  1. sha256sum -c {CHECKSUMS}
  2. The manifest's own hash: sha256 of the manifest with the key "manifest_sha256" removed,
     serialised as canonical JSON (keys sorted, separators "," and ":", UTF-8, no escaping
     of non-ASCII); it must equal manifest_sha256.
  3. Each body's sha256 equals its capture's body_sha256, and the WARC response record's
     WARC-Payload-Digest (sha256, base32) for the same capture.
  4. Any WARC tool (warcio check, pywb, ReplayWeb.page) reads {BUNDLE_WARC} and checks
     its digests.
The monitor's repository has scripts/verify_bundle.py (Python standard library only),
which does all of this, and docs/EVIDENCE.md, which explains each step.
"""
