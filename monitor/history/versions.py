"""One version in full, and the diff of any two (computed once per pair)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from monitor.exceptions import UnknownTargetError
from monitor.history.timeline import (
    SUMMARY_COLUMNS,
    EventView,
    PageInfo,
    VersionSummary,
    event_view,
    page_info,
)
from monitor.storage.models import (
    Capture,
    Change,
    Version,
)
from monitor.storage.store import Store

if TYPE_CHECKING:  # the differ is imported when a diff is made (start-up of other commands)
    from monitor.detect.differ import DiffLine, ImageDiff, LinkDiff, TextDiff, VersionText

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class VersionDetail:
    """A version with its text and everything known about its capture."""

    page: PageInfo
    version: VersionSummary
    text: str
    links: list[Any]
    capture: Capture
    archive_url: str | None
    previous_seq: int | None
    next_seq: int | None
    images: list[Any] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return str(self.capture.headers.get("content-type", ""))

    def to_json(self) -> dict[str, Any]:
        capture = self.capture
        return {
            **self.version.to_json(),
            "page_id": self.page.id,
            "url": self.page.url,
            "text": self.text,
            "links": [list(link) for link in self.links],
            "images": [list(image) for image in self.images],
            "capture": capture_json(capture),
            "archive_url": self.archive_url,
            "previous_version": self.previous_seq,
            "next_version": self.next_seq,
        }


def capture_json(capture: Capture) -> dict[str, Any]:
    """A capture as plain data: what was asked, what answered, and the body's hash."""
    return {
        "id": capture.id,
        "started_at": capture.started_at.isoformat(),
        "duration_ms": capture.duration_ms,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "redirects": list(capture.redirects or []),
        "status": capture.status,
        "headers": dict(capture.headers or {}),
        "request_headers": dict(capture.request_headers or {}),
        "protocol": capture.protocol,
        "body_size": capture.body_size,
        "body_sha256": capture.body_sha256,
        "body_stored": capture.body_stored,
        "encoding": capture.encoding,
        "warc_record": capture.warc_record,
        "proxy": capture.proxy,
        "renderer": capture.renderer,
        "raw_body_sha256": capture.raw_body_sha256,
    }


@dataclass(slots=True)
class CaptureDetail:
    """One capture of a page: the 404, redirect or soft 404 that showed a removal, say,
    with the event it recorded (if any)."""

    page: PageInfo
    capture: Capture
    event: EventView | None

    def to_json(self) -> dict[str, Any]:
        return {
            "page_id": self.page.id,
            "url": self.page.url,
            "capture": {**capture_json(self.capture), "error": self.capture.error},
            "event": self.event.story_json() if self.event else None,
        }


def capture_detail(store: Store, page_id: int, capture_id: int) -> CaptureDetail:
    """A capture of a page by its id (``monitor show --capture``, a removal's link)."""
    page = page_info(store, page_id)
    with store.session() as session:
        capture = session.get(Capture, capture_id)
        # An attachment's capture is shown with the page its event is on.
        attached = (
            capture is not None
            and capture.page_id != page_id
            and session.scalar(
                select(Change.id).where(Change.capture_id == capture_id, Change.page_id == page_id)
            )
            is not None
        )
        if capture is None or (capture.page_id != page_id and not attached):
            raise UnknownTargetError(f"{page.url} has no capture {capture_id}")
        change = session.scalar(
            select(Change).where(Change.capture_id == capture_id).order_by(Change.id).limit(1)
        )
        seqs = dict(
            session.execute(select(Version.id, Version.seq).where(Version.page_id == page_id)).all()
        )
        session.expunge(capture)
    event = event_view(change, seqs, page.target, page.url) if change is not None else None
    if event is not None:
        event.status, event.final_url = capture.status, capture.final_url
    return CaptureDetail(page, capture, event)


def removal_of(store: Store, page_id: int) -> EventView | None:
    """The removal in force on a page (its latest event is ``removed``), or None."""
    with store.session() as session:
        change = session.scalar(
            select(Change)
            .where(Change.page_id == page_id, Change.kind.in_(("removed", "restored")))
            .order_by(Change.detected_at.desc(), Change.id.desc())
            .limit(1)
        )
        if change is None or change.kind != "removed":
            return None
        seqs = dict(
            session.execute(select(Version.id, Version.seq).where(Version.page_id == page_id)).all()
        )
        capture = session.get(Capture, change.capture_id) if change.capture_id else None
        event = event_view(change, seqs)
        if capture is not None:
            event.status, event.final_url = capture.status, capture.final_url
    return event


def version_detail(store: Store, page_id: int, seq: int) -> VersionDetail:
    page = page_info(store, page_id)
    with store.session() as session:
        row = session.execute(
            select(Version, Capture)
            .join(Capture, Capture.id == Version.capture_id)
            .where(Version.page_id == page_id, Version.seq == seq)
        ).first()
        if row is None:
            raise UnknownTargetError(f"{page.url} has no version {seq}")
        version, capture = row
        previous = session.scalar(
            select(func.max(Version.seq)).where(Version.page_id == page_id, Version.seq < seq)
        )
        following = session.scalar(
            select(func.min(Version.seq)).where(Version.page_id == page_id, Version.seq > seq)
        )
    summary = VersionSummary(
        version.id,
        version.seq,
        version.captured_at,
        version.title,
        version.content_sha256,
        capture.status,
        capture.final_url,
        capture.body_sha256,
        capture.body_size,
        capture.id,
    )
    return VersionDetail(
        page,
        summary,
        version.text,
        list(version.links or []),
        capture,
        version.archive_url,
        previous,
        following,
        list(version.images or []),
    )


@dataclass(slots=True)
class DiffView:
    """Two versions of a page and what changed between them."""

    page: PageInfo
    old: VersionSummary
    new: VersionSummary
    text: TextDiff
    links: LinkDiff
    events: list[EventView]
    seqs: list[int]
    images: ImageDiff = field(default_factory=lambda: _no_images())

    @property
    def previous_pair(self) -> tuple[int, int] | None:
        """The change before this one: the version before ``old`` to ``old``."""
        earlier = [seq for seq in self.seqs if seq < self.old.seq]
        return (earlier[-1], self.old.seq) if earlier else None

    @property
    def next_pair(self) -> tuple[int, int] | None:
        """The change after this one: ``new`` to the version after it."""
        later = [seq for seq in self.seqs if seq > self.new.seq]
        return (self.new.seq, later[0]) if later else None

    def to_json(self) -> dict[str, Any]:
        return {
            "page_id": self.page.id,
            "url": self.page.url,
            "from": self.old.to_json(),
            "to": self.new.to_json(),
            "diff": self.text.to_json(),
            "links": self.links.to_json(),
            "images": self.images.to_json(),
            "events": [event.to_json() for event in self.events],
        }


def _no_images() -> ImageDiff:
    from monitor.detect.differ import diff_images

    return diff_images((), ())


#: The text, link and image diffs of two versions.
Diffs = tuple["TextDiff", "LinkDiff", "ImageDiff"]


class _DiffCache:
    """The last diffs computed: versions never change, so neither do their diffs."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, int], Diffs] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> Diffs | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[int, int], value: Diffs) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


DIFFS = _DiffCache()


def cached_diff(old: VersionText, new: VersionText) -> Diffs:
    """The diffs of two stored versions (rows with id, title, text, links, images),
    computed once per pair and kept in :data:`DIFFS`."""
    key = (getattr(old, "id"), getattr(new, "id"))  # noqa: B009  (rows, not a protocol)
    cached = DIFFS.get(key)
    if cached is None:
        from monitor.detect.differ import diff_versions

        both = diff_versions(old, new)
        cached = (both.text, both.links, both.images)
        DIFFS.put(key, cached)
    return cached


def _cut(text: str, where: str, chars: int) -> str:
    if len(text) <= 2 * chars:
        return text
    if where == "first":
        return "…" + text[-chars:]
    if where == "last":
        return text[:chars] + "…"
    return text[:chars] + " … " + text[-chars:]


def _excerpt(line: DiffLine, chars: int) -> DiffLine:
    from monitor.detect.differ import Segment

    last = len(line.segments) - 1
    return replace(
        line,
        segments=tuple(
            Segment(
                segment.op,
                _cut(segment.text, "first" if i == 0 else "last" if i == last else "middle", chars)
                if segment.op == "equal"
                else segment.text,
            )
            for i, segment in enumerate(line.segments)
        ),
    )


def diff_excerpt(
    diff: TextDiff, *, changed_lines: int = 40, context: int = 1, chars: int = 120
) -> tuple[list[TextDiff], int]:
    """The first stretches of a diff, for a place with little room (a feed entry): its
    changed stretches, ``context`` lines around each, up to ``changed_lines`` changed
    lines, long unchanged text around an edit cut to about ``chars`` on each side.

    Returns the stretches (each a TextDiff to render) and how many changed lines were
    left out.
    """
    pieces: list[TextDiff] = []
    shown = 0
    for hunk in diff.hunks(context=context):
        kept: list[DiffLine] = []
        for line in hunk.lines:
            if line.op != "equal":
                if shown == changed_lines:
                    break
                shown += 1
            kept.append(_excerpt(line, chars))
        if kept:
            pieces.append(replace(diff, lines=tuple(kept)))
        if shown == changed_lines:
            break
    total = sum(1 for line in diff.lines if line.op != "equal")
    return pieces, total - shown


def diff_view(store: Store, page_id: int, from_seq: int, to_seq: int) -> DiffView:
    """The diff between two versions of a page (any two, in either order)."""
    page = page_info(store, page_id)
    with store.session() as session:
        seqs = list(
            session.scalars(
                select(Version.seq).where(Version.page_id == page_id).order_by(Version.seq)
            )
        )
        for seq in (from_seq, to_seq):
            if seq not in seqs:
                span = f"versions: {seqs[0]}-{seqs[-1]}" if seqs else "no versions yet"
                raise UnknownTargetError(f"{page.url} has no version {seq} ({span})")
        rows = {
            row.seq: row
            for row in session.execute(
                select(*SUMMARY_COLUMNS)
                .join(Capture, Capture.id == Version.capture_id)
                .where(Version.page_id == page_id, Version.seq.in_([from_seq, to_seq]))
            )
        }
        old, new = (VersionSummary(**rows[seq]._mapping) for seq in (from_seq, to_seq))
        key = (old.id, new.id)
        cached = DIFFS.get(key)
        if cached is None:
            texts: dict[int, Any] = {
                row.id: row
                for row in session.execute(
                    select(
                        Version.id, Version.title, Version.text, Version.links, Version.images
                    ).where(Version.id.in_(key))
                )
            }
            from monitor.detect.differ import diff_versions

            both = diff_versions(texts[old.id], texts[new.id])
            cached = (both.text, both.links, both.images)
            DIFFS.put(key, cached)
        low, high = sorted((old.id, new.id))
        changes = list(
            session.scalars(
                select(Change)
                .where(
                    Change.page_id == page_id,
                    Change.to_version_id.is_not(None),
                    Change.to_version_id > low,
                    Change.to_version_id <= high,
                )
                .order_by(Change.detected_at)
            )
        )
        seq_of = dict(
            session.execute(select(Version.id, Version.seq).where(Version.page_id == page_id)).all()
        )
    events = [event_view(change, seq_of) for change in changes]
    return DiffView(page, old, new, cached[0], cached[1], events, seqs, cached[2])
