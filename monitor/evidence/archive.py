"""Recorded captures to the WARC archive.

:func:`archive_plan` is what the check's writer calls after each batch is committed: the
captures the plan asks for, built from the plan's rows and the bodies it holds in memory
(nothing is read back). :func:`archive_recorded` writes captures already stored, by id,
reading them from the database (for captures whose writing failed, and for tools); both
build the same records byte for byte (:func:`capture_record`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from monitor.evidence.warc import (
    ArchiveSettings,
    CaptureRecord,
    WarcArchive,
    warc_date,
)
from monitor.exceptions import EvidenceError, MonitorError
from monitor.recording import Plan, Written
from monitor.records import RecordedCapture
from monitor.storage.models import Capture, Change, Page, Target, Version
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)


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


def archive_plan(archive: WarcArchive, plan: Plan, written: Written) -> dict[int, str]:
    """Write the captures a committed plan asks for (``plan.warc``) as WARC records, from
    the plan's rows and bodies; returns capture id -> "file.warc.gz#offset" (to note on
    the captures). Raises :class:`EvidenceError` if the WARC folder cannot be written.
    """
    if not plan.warc:
        return {}
    pending: list[tuple[int, CaptureRecord]] = []
    for wanted in plan.warc:
        row = plan.captures[wanted.capture]
        capture_id = written.captures[wanted.capture]
        pending.append(
            (
                capture_id,
                capture_record(
                    row, wanted.page_url, wanted.target, wanted.version_seq, wanted.body, capture_id
                ),
            )
        )
    try:
        locations = archive.write([record for _id, record in pending])
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"cannot write WARC records in {archive.folder}: {exc}") from exc
    logger.info("wrote %d capture(s) as WARC records in %s", len(pending), archive.folder)
    return {
        capture_id: location for (capture_id, _), location in zip(pending, locations, strict=True)
    }


def archive_recorded(
    store: Store,
    archive: WarcArchive,
    captures: Sequence[tuple[int, bytes | None]],
    *,
    repair: bool = False,
) -> dict[int, str]:
    """Write captures (by id) as WARC records and note each one's location on its row.

    Each pair is a capture id and the exact body received, or None to read the body from
    the database (only there when the capture's ``body_stored``: a capture whose content
    was unchanged has no stored body, so its bytes must be passed). Captures already
    written are not written again; captures without an HTTP answer or without their body
    are skipped with a warning. Returns capture id -> "file.warc.gz#offset".

    With ``repair``, the records are marked as written now, after their capture (their
    WARC-Date stays the capture's), in a WARC file of their own that says so.

    Raises :class:`EvidenceError` if the WARC folder cannot be written; the database is
    then left unchanged.
    """
    if not captures:
        return {}
    written_at = utcnow() if repair else None
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
        record = capture_record(capture, page_url, target_name, seq, body)
        pending.append((capture.id, dataclasses.replace(record, written_at=written_at)))
    missing = set(bodies) - {capture.id for capture, *_ in rows}
    if missing:
        logger.warning("no such captures to write as WARC: %s", sorted(missing))
    if not pending:
        return done
    description = (
        f"captures written at {warc_date(written_at)}, after the fact, from the bodies "
        "stored in the database (monitor verify --repair); each keeps its capture's date"
        if written_at is not None
        else None
    )
    try:
        locations = archive.write([record for _id, record in pending], description=description)
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


@dataclasses.dataclass(frozen=True, slots=True)
class Unarchived:
    """A capture that should have WARC records and has none (its write failed or was
    killed): a version's, or an event's (a removal's 404)."""

    capture_id: int
    page_url: str
    started_at: datetime
    version_seq: int | None
    event: str | None
    body_stored: bool

    def __str__(self) -> str:
        what = (
            f"version {self.version_seq} of {self.page_url}"
            if self.version_seq is not None
            else f"{self.event or 'event'} of {self.page_url}"
        )
        return f"{what} (capture {self.capture_id} at {warc_date(self.started_at)})"


def unarchived(store: Store) -> list[Unarchived]:
    """The captures of versions and events (with an HTTP answer) without a WARC record."""
    with store.session() as session:
        versions = session.execute(
            select(Capture.id, Page.url, Capture.started_at, Version.seq, Capture.body_stored)
            .join(Version, Version.capture_id == Capture.id)
            .join(Page, Page.id == Capture.page_id)
            .where(Capture.warc_record.is_(None), Capture.status.is_not(None))
        ).all()
        events = session.execute(
            select(Capture.id, Page.url, Capture.started_at, Change.kind, Capture.body_stored)
            .join(Change, Change.capture_id == Capture.id)
            .join(Page, Page.id == Capture.page_id)
            .where(Capture.warc_record.is_(None), Capture.status.is_not(None))
        ).all()
    found: dict[int, Unarchived] = {}
    for capture_id, url, started_at, seq, stored in versions:
        found[capture_id] = Unarchived(capture_id, url, started_at, seq, None, bool(stored))
    for capture_id, url, started_at, kind, stored in events:
        if capture_id not in found:
            found[capture_id] = Unarchived(capture_id, url, started_at, None, kind, bool(stored))
    return sorted(found.values(), key=lambda item: item.capture_id)


class CaptureFields(Protocol):
    """What a WARC record needs of a capture: a stored row, or a plan's row."""

    @property
    def started_at(self) -> datetime: ...
    @property
    def requested_url(self) -> str: ...
    @property
    def final_url(self) -> str | None: ...
    @property
    def redirects(self) -> Sequence[Mapping[str, Any]] | None: ...
    @property
    def status(self) -> int | None: ...
    @property
    def headers(self) -> Mapping[str, Any] | None: ...
    @property
    def request_headers(self) -> Mapping[str, Any] | None: ...
    @property
    def protocol(self) -> str | None: ...
    @property
    def body_sha256(self) -> str | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def content_sha256(self) -> str | None: ...


def capture_record(
    capture: CaptureFields,
    page_url: str | None,
    target: str | None,
    version_seq: int | None,
    body: bytes,
    capture_id: int | None = None,
) -> CaptureRecord:
    """A capture row (and its body) as the plain data the WARC writer takes."""
    capture_id = capture_id if capture_id is not None else getattr(capture, "id", None)
    if capture.status is None or capture.body_sha256 is None:
        raise EvidenceError(f"capture {capture_id} has no HTTP answer to write as WARC")
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
        capture_id=capture_id,
        outcome=capture.outcome,
        version_seq=version_seq,
        content_sha256=capture.content_sha256,
        proxy=getattr(capture, "proxy", None),
        renderer=getattr(capture, "renderer", None),
        raw_body_sha256=getattr(capture, "raw_body_sha256", None),
    )


def version_body(store: Store, capture: Capture, page_url: str, seq: int) -> bytes:
    if capture.status is None or capture.body_sha256 is None:
        raise EvidenceError(f"version {seq} of {page_url} has no HTTP answer to export")
    try:
        return store.body(capture.body_sha256)
    except MonitorError:
        raise EvidenceError(
            f"version {seq} of {page_url}: its body {capture.body_sha256} is missing from the "
            "database (run `monitor verify`)"
        ) from None
