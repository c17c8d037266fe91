"""Evidence: captures as WARC, integrity checks, citable bundles, public archive copies.

* :func:`archive_recorded` writes recorded captures to the WARC archive (the hook the
  check cycle calls after each batch) and notes where on each capture;
* :func:`export_warc` writes chosen versions of a target as one WARC, from the database
  alone;
* :func:`verify` recomputes the hash of every stored body and WARC record;
* :func:`cite` writes a self-contained bundle for one change (docs/EVIDENCE.md says how
  a third party checks it without this software);
* :class:`SavePageNow` asks a public web archive for a copy of a page, and
  :func:`save_versions` records the copy's URL with the version.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import zstandard
from sqlalchemy import func, select, update
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from monitor import __version__
from monitor.evidence.warc import (
    ArchiveSettings,
    CaptureRecord,
    WarcArchive,
    hex_to_warc_digest,
    new_warc_file,
    warc_date,
    warc_digest_to_hex,
    write_captures,
)
from monitor.exceptions import (
    EvidenceError,
    MonitorError,
    SavePageNowError,
    UnknownTargetError,
)
from monitor.records import RecordedCapture
from monitor.storage.models import Blob, Capture, Change, Page, Target, Version
from monitor.storage.store import Store
from monitor.timefmt import parse_time as parse_time

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "monitor-evidence-bundle/1"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
BUNDLE_WARC = "captures.warc.gz"


# --- the hook: recorded captures -> WARC archive --------------------------------------


def archive_for(settings: ArchiveSettings) -> WarcArchive | None:
    """The WARC archive of the ``archive`` settings; None when WARC writing is off."""
    if not settings.warc_dir:
        return None
    return WarcArchive(Path(settings.warc_dir).expanduser(), settings.max_file_size)


def wants_warc(recorded: RecordedCapture, all_captures: bool = False) -> bool:
    """Whether a recorded capture is written as WARC.

    Captures with an HTTP answer that made a new version or an event (a removal's 404,
    an error page) are; with ``all_captures``, every capture with an HTTP answer is.
    A network failure has no exchange to write.
    """
    if recorded.status is None:
        return False
    return all_captures or recorded.version_id is not None or recorded.event is not None


def archive_recorded(
    store: Store,
    archive: WarcArchive,
    captures: Sequence[tuple[int, bytes | None]],
) -> dict[int, str]:
    """Write captures (by id) as WARC records and note each one's location on its row.

    Each pair is a capture id and the exact body received, or None to read the body from
    the database (only there when the capture's ``body_stored``: a capture whose content
    was unchanged has no stored body, so its bytes must be passed). Captures already
    written are not written again; captures without an HTTP answer or without their body
    are skipped with a warning. Returns capture id -> "file.warc.gz#offset".

    Raises :class:`EvidenceError` if the WARC folder cannot be written; the database is
    then left unchanged.
    """
    if not captures:
        return {}
    bodies = dict(captures)
    with store.session() as session:
        rows = session.execute(
            select(Capture, Page.url, Target.name, Version.seq)
            .join(Page, Page.id == Capture.page_id)
            .join(Target, Target.id == Page.target_id)
            .outerjoin(Version, Version.capture_id == Capture.id)
            .where(Capture.id.in_(list(bodies)))
            .order_by(Capture.id)
        ).all()
    done: dict[int, str] = {}
    pending: list[tuple[int, CaptureRecord]] = []
    for capture, page_url, target_name, seq in rows:
        if capture.warc_record:
            done[capture.id] = capture.warc_record
            continue
        if capture.status is None or capture.body_sha256 is None:
            logger.warning("capture %s has no HTTP answer to write as WARC", capture.id)
            continue
        body = bodies.get(capture.id)
        if body is None:
            if not capture.body_stored:
                logger.warning(
                    "capture %s: its body is not stored and was not given; not written as WARC",
                    capture.id,
                )
                continue
            body = store.body(capture.body_sha256)
        if hashlib.sha256(body).hexdigest() != capture.body_sha256:
            logger.error(
                "capture %s: the body given does not hash to the recorded %s; not written",
                capture.id,
                capture.body_sha256,
            )
            continue
        pending.append((capture.id, capture_record(capture, page_url, target_name, seq, body)))
    missing = set(bodies) - {capture.id for capture, *_ in rows}
    if missing:
        logger.warning("no such captures to write as WARC: %s", sorted(missing))
    if not pending:
        return done
    try:
        locations = archive.write([record for _id, record in pending])
    except OSError as exc:
        raise EvidenceError(f"cannot write WARC records in {archive.folder}: {exc}") from exc
    written = {
        capture_id: location for (capture_id, _), location in zip(pending, locations, strict=True)
    }
    with store.session() as session, session.begin():
        session.execute(
            update(Capture),
            [
                {"id": capture_id, "warc_record": location}
                for capture_id, location in written.items()
            ],
        )
    logger.info("wrote %d capture(s) as WARC records in %s", len(written), archive.folder)
    return done | written


def capture_record(
    capture: Capture,
    page_url: str | None,
    target: str | None,
    version_seq: int | None,
    body: bytes,
) -> CaptureRecord:
    """A capture row (and its body) as the plain data the WARC writer takes."""
    if capture.status is None or capture.body_sha256 is None:
        raise EvidenceError(f"capture {capture.id} has no HTTP answer to write as WARC")
    return CaptureRecord(
        url=capture.final_url or capture.requested_url,
        started_at=capture.started_at,
        status=capture.status,
        body=body,
        body_sha256=capture.body_sha256,
        response_headers=dict(capture.headers or {}),
        request_headers=dict(capture.request_headers or {}),
        protocol=capture.protocol,
        requested_url=capture.requested_url,
        redirects=tuple(capture.redirects or ()),
        target=target,
        page_url=page_url,
        capture_id=capture.id,
        outcome=capture.outcome,
        version_seq=version_seq,
        content_sha256=capture.content_sha256,
    )


# --- export ------------------------------------------------------------------------------


@dataclass(slots=True)
class ExportResult:
    """What ``export_warc`` wrote."""

    versions: int = 0
    pages: int = 0
    records: int = 0


def export_warc(
    store: Store,
    target: str,
    out: BinaryIO,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    filename: str = "",
) -> ExportResult:
    """Write the versions of a target (or page URL) captured in [since, until) as WARC.

    From the database alone: each version's capture row and stored body become the same
    response, request and metadata records the archive holds (same record ids, same
    bytes). Raises :class:`EvidenceError` if a version's body is missing.
    """
    pages = store.resolve(target)
    with store.session() as session:
        query = (
            select(Version.seq, Capture, Page.url, Target.name)
            .join(Capture, Capture.id == Version.capture_id)
            .join(Page, Page.id == Version.page_id)
            .join(Target, Target.id == Page.target_id)
            .where(Version.page_id.in_([page.id for page in pages]))
            .order_by(Version.captured_at, Version.id)
        )
        if since is not None:
            query = query.where(Version.captured_at >= since)
        if until is not None:
            query = query.where(Version.captured_at < until)
        rows = session.execute(query).all()
    description = (
        f"versions of {target}"
        + (f" captured from {warc_date(since)}" if since else "")
        + (f" until {warc_date(until)}" if until else "")
    )
    new_warc_file(out, filename, f"monitor export: {description}")
    result = ExportResult()
    seen: set[str] = set()
    for seq, capture, page_url, target_name in rows:
        body = _version_body(store, capture, page_url, seq)
        write_captures(out, [capture_record(capture, page_url, target_name, seq, body)])
        result.versions += 1
        result.records += 3
        seen.add(page_url)
    result.pages = len(seen)
    out.flush()
    return result


def _version_body(store: Store, capture: Capture, page_url: str, seq: int) -> bytes:
    if capture.status is None or capture.body_sha256 is None:
        raise EvidenceError(f"version {seq} of {page_url} has no HTTP answer to export")
    try:
        return store.body(capture.body_sha256)
    except MonitorError:
        raise EvidenceError(
            f"version {seq} of {page_url}: its body {capture.body_sha256} is missing from the "
            "database (run `monitor verify`)"
        ) from None


# --- verify ------------------------------------------------------------------------------


@dataclass(slots=True)
class VerifyReport:
    """What ``verify`` checked, and every problem found (empty when all is well)."""

    bodies: int = 0
    captures: int = 0
    warc_files: int = 0
    warc_records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        checked = (
            f"checked {self.bodies} stored bodies, {self.captures} captures, "
            f"{self.warc_records} WARC records in {self.warc_files} file(s)"
        )
        if self.ok:
            return f"{checked}: no problems"
        return f"{checked}: {len(self.problems)} problem(s)"


def verify(store: Store, warc_dir: Path | None = None) -> VerifyReport:
    """Recompute the hash of every stored body and WARC record; report every mismatch.

    Checks that each blob's bytes hash to its sha256 and have its size; that every
    capture that should have a stored body (and every version) has it; that every
    capture's WARC record is where the database says, with valid digests, its payload
    digest equal to the capture's body hash and its URI and date those of the capture;
    and that every record of every WARC file in ``warc_dir`` has valid digests.
    """
    report = VerifyReport()
    _verify_blobs(store, report)
    _verify_captures(store, report)
    if warc_dir is not None:
        _verify_warc_locations(store, WarcArchive(warc_dir), report)
        _verify_warc_files(WarcArchive(warc_dir), report)
    else:
        with store.session() as session:
            archived = session.scalar(
                select(Capture.id).where(Capture.warc_record.is_not(None)).limit(1)
            )
        if archived is not None:
            report.problems.append(
                "WARC records: captures have WARC records but no WARC folder was given "
                "(set archive.warc_dir in the config or pass --warc-dir)"
            )
    return report


def _verify_blobs(store: Store, report: VerifyReport) -> None:
    decompressor = zstandard.ZstdDecompressor()
    with store.session() as session:
        rows = session.execute(
            select(Blob.sha256, Blob.size, Blob.compression, Blob.data).execution_options(
                yield_per=100
            )
        )
        for sha, size, compression, data in rows:
            report.bodies += 1
            try:
                body = (
                    decompressor.decompress(data, max_output_size=size)
                    if compression == "zstd"
                    else bytes(data)
                )
            except zstandard.ZstdError as exc:
                report.problems.append(f"body {sha}: cannot be decompressed ({exc})")
                continue
            actual = hashlib.sha256(body).hexdigest()
            if actual != sha:
                report.problems.append(f"body {sha}: stored bytes hash to {actual}")
            elif len(body) != size:
                report.problems.append(f"body {sha}: {len(body)} bytes, recorded as {size}")


def _verify_captures(store: Store, report: VerifyReport) -> None:
    with store.session() as session:
        report.captures = session.scalar(select(func.count()).select_from(Capture)) or 0
        missing = session.execute(
            select(Capture.id, Capture.requested_url, Capture.started_at, Capture.body_sha256)
            .outerjoin(Blob, Blob.sha256 == Capture.body_sha256)
            .where(Capture.body_stored.is_(True), Blob.sha256.is_(None))
            .order_by(Capture.id)
        ).all()
        for capture_id, url, started_at, sha in missing:
            report.problems.append(
                f"capture {capture_id} ({url} at {warc_date(started_at)}): its body {sha} "
                "is missing"
            )
        unstored = session.execute(
            select(Version.seq, Page.url, Capture.id)
            .join(Capture, Capture.id == Version.capture_id)
            .join(Page, Page.id == Version.page_id)
            .where(Capture.body_stored.is_(False))
        ).all()
        for seq, url, capture_id in unstored:
            report.problems.append(
                f"version {seq} of {url}: its capture {capture_id} has no stored body"
            )


def _read_record(path: Path, offset: int) -> tuple[Any, bytes]:
    """The record at ``offset`` (digests checked while reading) and its payload."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        records = ArchiveIterator(stream, check_digests=True)
        record = next(iter(records))
        payload = record.content_stream().read()
        return record, payload


_READ_ERRORS = (ArchiveLoadFailed, zlib.error, EOFError, OSError, ValueError, StopIteration)


def _verify_warc_locations(store: Store, archive: WarcArchive, report: VerifyReport) -> None:
    with store.session() as session:
        rows = session.execute(
            select(
                Capture.id,
                Capture.warc_record,
                Capture.body_sha256,
                Capture.final_url,
                Capture.requested_url,
                Capture.started_at,
            )
            .where(Capture.warc_record.is_not(None))
            .order_by(Capture.id)
        ).all()
    for capture_id, location, body_sha, final_url, requested_url, started_at in rows:
        subject = f"capture {capture_id} WARC record {location}"
        assert location is not None
        try:
            path, offset = archive.path(location)
        except ValueError as exc:
            report.problems.append(f"{subject}: {exc}")
            continue
        if not path.exists():
            report.problems.append(f"{subject}: the file {path} is missing")
            continue
        try:
            record, _payload = _read_record(path, offset)
        except _READ_ERRORS as exc:
            report.problems.append(f"{subject}: unreadable ({_error_text(exc)})")
            continue
        headers = record.rec_headers
        checker = record.digest_checker
        if record.rec_type != "response":
            report.problems.append(f"{subject}: is a {record.rec_type} record, not a response")
            continue
        if checker.passed is False:
            report.problems.append(f"{subject}: {'; '.join(checker.problems)}")
        elif checker.passed is None:
            report.problems.append(f"{subject}: {_unchecked(record)}")
        payload_digest = headers.get_header("WARC-Payload-Digest") or ""
        if warc_digest_to_hex(payload_digest) != body_sha:
            expected = hex_to_warc_digest(body_sha) if body_sha else "(none recorded)"
            report.problems.append(
                f"{subject}: payload digest {payload_digest} is not the capture's body {expected}"
            )
        if headers.get_header("WARC-Target-URI") != (final_url or requested_url):
            report.problems.append(
                f"{subject}: is for {headers.get_header('WARC-Target-URI')}, "
                f"not {final_url or requested_url}"
            )
        if headers.get_header("WARC-Date") != warc_date(started_at):
            report.problems.append(
                f"{subject}: is dated {headers.get_header('WARC-Date')}, "
                f"not {warc_date(started_at)}"
            )


def _verify_warc_files(archive: WarcArchive, report: VerifyReport) -> None:
    for path in archive.files():
        report.warc_files += 1
        problems = verify_warc_file(path)
        report.warc_records += problems.records
        report.problems.extend(f"{path.name}: {problem}" for problem in problems.problems)


@dataclass(slots=True)
class WarcCheck:
    """The result of reading a WARC file with digest checks."""

    records: int = 0
    problems: list[str] = field(default_factory=list)
    payload_digests: dict[str, str] = field(default_factory=dict)  # record id -> digest


def verify_warc_file(path: Path | BinaryIO) -> WarcCheck:
    """Read every record of a WARC file, checking block and payload digests."""
    result = WarcCheck()
    stream = open(path, "rb") if isinstance(path, Path) else path  # noqa: SIM115
    records = ArchiveIterator(stream, check_digests=True)
    try:
        for record in records:
            record.content_stream().read()
            offset = records.get_record_offset()
            result.records += 1
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            checker = record.digest_checker
            if checker.passed is False:
                result.problems.append(
                    f"record {record_id} at offset {offset}: {'; '.join(checker.problems)}"
                )
            elif checker.passed is None:
                result.problems.append(
                    f"record {record_id} at offset {offset}: {_unchecked(record)}"
                )
            digest = record.rec_headers.get_header("WARC-Payload-Digest")
            if digest:
                result.payload_digests[record_id] = digest
    except _READ_ERRORS as exc:
        result.problems.append(
            f"damaged from offset {records.offset} on; {result.records} records read before "
            f"({_error_text(exc)})"
        )
    finally:
        if isinstance(path, Path):
            stream.close()
    return result


def _unchecked(record: Any) -> str:
    headers = record.rec_headers
    if headers.get_header("WARC-Block-Digest") or headers.get_header("WARC-Payload-Digest"):
        return "incomplete: its digests could not be checked (truncated?)"
    return "has no digest to check"


def _error_text(exc: BaseException) -> str:
    """A one-line reason; warcio quotes the damaged bytes, which say nothing to people."""
    text = str(exc).split(", first line")[0].split(": [")[0]
    text = "".join(char if char.isprintable() else " " for char in text)
    return " ".join(text.split())[:200] or type(exc).__name__


# --- cite: a bundle for one change --------------------------------------------------------


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
        body = _version_body(store, capture, page.url, seq)
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
table.diff-sbs td.num{width:3em;color:#888;text-align:right}
tr.skip td{background:#f4f4f4;color:#666;text-align:center}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
td.old.change,td.old.delete{background:#fff3f3}td.new.change,td.new.insert{background:#f3fff3}
td.moved{background:#f3f3ff}td.empty{background:#fafafa}
"""


def _diff_document(
    page_url: str,
    entries: list[dict[str, Any]],
    change: Change | None,
    text_diff: Any,
    link_diff: Any,
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
    labels = tuple(f"v{entry['version']} {entry['captured_at']}" for entry in entries)
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


# --- Save Page Now -----------------------------------------------------------------------


class SavePageNow:
    """A client of a public web archive's Save Page Now API (the Internet Archive's by default).

    ``save(url)`` asks for a capture and returns the archived copy's URL. It speaks the
    authenticated API (POST, a job id, then polling ``status/<job id>``) and the
    anonymous one (the answer's Content-Location or final URL is the copy).
    """

    def __init__(
        self,
        endpoint: str = "https://web.archive.org/save/",
        *,
        auth: str | None = None,
        timeout: float = 120.0,
        poll_interval: float = 5.0,
        user_agent: str | None = None,
    ) -> None:
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self.auth = auth
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.user_agent = user_agent or f"monitor/{__version__}"
        parts = urllib.parse.urlsplit(self.endpoint)
        self.archive_base = f"{parts.scheme}://{parts.netloc}/web/"

    @classmethod
    def from_settings(cls, settings: ArchiveSettings) -> SavePageNow:
        from monitor.config import secret

        auth = secret(settings.save_page_now_auth_env, "archive.save_page_now_auth_env")
        return cls(
            settings.save_page_now_endpoint, auth=auth, timeout=settings.save_page_now_timeout
        )

    def _request(
        self, url: str, data: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes, str]:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.auth:
            headers["Authorization"] = f"LOW {self.auth}"
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout, 60.0)) as answer:
                return (
                    answer.status,
                    {name.lower(): value for name, value in answer.headers.items()},
                    answer.read(1024 * 1024),
                    answer.geturl(),
                )
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace").strip()
            raise SavePageNowError(
                f"{url}: HTTP {exc.code} {exc.reason}" + (f": {detail[:200]}" if detail else "")
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SavePageNowError(f"{url}: {reason}") from None

    def save(self, url: str) -> str:
        """Ask for a copy of ``url``; returns its archive URL (SavePageNowError otherwise)."""
        deadline = time.monotonic() + self.timeout
        _status, headers, body, final = self._request(
            self.endpoint, urllib.parse.urlencode({"url": url}).encode()
        )
        data = _json(body)
        if data is None:
            return self._location(url, headers, final)
        if data.get("job_id"):
            return self._poll(url, str(data["job_id"]), deadline)
        found = self._from_status(url, data)
        if found:
            return found
        return self._location(url, headers, final)

    def _poll(self, url: str, job_id: str, deadline: float) -> str:
        status_url = self.endpoint + "status/" + urllib.parse.quote(job_id, safe="")
        while True:
            _status, _headers, body, _final = self._request(status_url)
            data = _json(body) or {}
            found = self._from_status(url, data)
            if found:
                return found
            if time.monotonic() + self.poll_interval > deadline:
                raise SavePageNowError(
                    f"{url}: no archive copy after {self.timeout:.0f}s (job {job_id} "
                    f"{data.get('status', 'pending')})"
                )
            time.sleep(self.poll_interval)

    def _from_status(self, url: str, data: dict[str, Any]) -> str | None:
        state = data.get("status")
        if state == "error":
            reason = data.get("message") or data.get("status_ext") or "error"
            raise SavePageNowError(f"{url}: the archive refused: {reason}")
        timestamp = data.get("timestamp")
        if state in ("success", None) and timestamp:
            original = data.get("original_url") or url
            return f"{self.archive_base}{timestamp}/{original}"
        return None

    def _location(self, url: str, headers: dict[str, str], final: str) -> str:
        location = headers.get("content-location") or headers.get("location")
        if location and "/web/" in location:
            return urllib.parse.urljoin(self.endpoint, location)
        if "/web/" in urllib.parse.urlsplit(final).path:
            return final
        raise SavePageNowError(f"{url}: the archive's answer names no archived copy")


def _json(body: bytes) -> dict[str, Any] | None:
    text = body.strip()
    if not text.startswith(b"{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def save_versions(
    store: Store, client: SavePageNow, version_ids: Iterable[int]
) -> dict[int, str | None]:
    """Ask the public archive for a copy of each version's page; record the copy's URL.

    One failure never stops the others: it is logged with its reason and that version
    keeps no archive URL. Returns version id -> archive URL (None when it failed).
    """
    ids = list(dict.fromkeys(version_ids))
    if not ids:
        return {}
    with store.session() as session:
        rows = session.execute(
            select(Version.id, Capture.final_url, Capture.requested_url)
            .join(Capture, Capture.id == Version.capture_id)
            .where(Version.id.in_(ids))
        ).all()
    results: dict[int, str | None] = {}
    for version_id, final_url, requested_url in rows:
        url = final_url or requested_url
        try:
            archived = client.save(url)
        except SavePageNowError as exc:
            logger.warning("Save Page Now failed for version %s: %s", version_id, exc)
            results[version_id] = None
            continue
        with store.session() as session, session.begin():
            session.execute(
                update(Version).where(Version.id == version_id).values(archive_url=archived)
            )
        logger.info("archived copy of %s: %s", url, archived)
        results[version_id] = archived
    return results
