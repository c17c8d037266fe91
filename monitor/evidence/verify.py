"""``monitor verify``: the hash of every stored body and WARC record, recomputed."""

from __future__ import annotations

import hashlib
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import zstandard
from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from monitor.evidence.archive import archive_recorded, unarchived
from monitor.evidence.warc import (
    WarcArchive,
    hex_to_warc_digest,
    warc_date,
    warc_digest_to_hex,
)
from monitor.storage.models import Blob, Capture, Page, Version
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


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
    that every version's (and event's) capture has a WARC record; and that every record
    of every WARC file in ``warc_dir`` has valid digests.
    """
    report = VerifyReport()
    _verify_blobs(store, report)
    _verify_captures(store, report)
    if warc_dir is not None:
        _verify_warc_locations(store, WarcArchive(warc_dir), report)
        _verify_warc_files(WarcArchive(warc_dir), report)
        for item in unarchived(store):
            report.problems.append(
                f"{item}: no WARC record"
                + (
                    " (write it with `monitor verify --repair`)"
                    if item.body_stored
                    else " (its body is not stored: it cannot be written)"
                )
            )
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


@dataclass(slots=True)
class RepairReport:
    """What ``verify --repair`` wrote: the captures given their WARC records, and those
    it could not (each with the reason)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def repair(store: Store, archive: WarcArchive) -> RepairReport:
    """Write the missing WARC records of versions and events from their stored bodies.

    The records keep their capture's WARC-Date and say when they were written (a
    ``Monitor-Written-Date`` field, and a WARC file of their own whose ``warcinfo``
    says it). Raises :class:`EvidenceError` when the folder cannot be written.
    """
    report = RepairReport()
    missing = unarchived(store)
    writable = [item for item in missing if item.body_stored]
    report.skipped = [f"{item}: its body is not stored" for item in missing if not item.body_stored]
    if not writable:
        return report
    written = archive_recorded(
        store, archive, [(item.capture_id, None) for item in writable], repair=True
    )
    for item in writable:
        if item.capture_id in written:
            report.written.append(f"{item}: {written[item.capture_id]}")
        else:
            report.skipped.append(f"{item}: not written (see the log)")
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
