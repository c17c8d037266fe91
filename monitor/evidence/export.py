"""``monitor export``: chosen versions of a target as one WARC, from the database alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select

from monitor.evidence.archive import capture_record, version_body
from monitor.evidence.warc import (
    new_warc_file,
    warc_date,
    write_captures,
)
from monitor.storage.models import Capture, Page, Target, Version
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


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
        body = version_body(store, capture, page_url, seq)
        write_captures(out, [capture_record(capture, page_url, target_name, seq, body)])
        result.versions += 1
        result.records += 3
        seen.add(page_url)
    result.pages = len(seen)
    out.flush()
    return result
