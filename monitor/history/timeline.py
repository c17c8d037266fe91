"""A page and its timeline: versions, events and learning notes, newest first.

Why one module of this size: a timeline is the page, its versions (imported ones marked
with their provenance), its events (a move to it from another page included), and its
notes, read and interleaved together; split, the pieces would only import each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from monitor.exceptions import UnknownTargetError
from monitor.history.targets import site_of
from monitor.storage.models import (
    Capture,
    Change,
    LearningNote,
    Page,
    Target,
    Version,
)
from monitor.storage.store import Store
from monitor.timefmt import iso

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class PageInfo:
    """A watched page with its target and checking state."""

    id: int
    url: str
    role: str
    state: str
    target: str
    target_url: str
    tags: list[str]
    active: bool
    created_at: datetime
    last_checked: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    title: str | None
    latest_seq: int | None
    # A page that moved (monitor.detect.moves): (page id, url) of where its content went,
    # and of where this page's content came from. History follows the page across them.
    moved_to: tuple[int, str] | None = None
    moved_from: tuple[int, str] | None = None

    @property
    def site(self) -> str:
        return site_of(self.url)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "role": self.role,
            "state": self.state,
            "target": self.target,
            "tags": list(self.tags),
            "title": self.title,
            "created_at": iso(self.created_at),
            "last_checked_at": iso(self.last_checked),
            "consecutive_failures": self.consecutive_failures,
            "failing_since": iso(self.failing_since),
            "latest_version": self.latest_seq,
            **{
                name: {"page_id": link[0], "url": link[1]}
                for name, link in (("moved_to", self.moved_to), ("moved_from", self.moved_from))
                if link is not None
            },
        }


@dataclass(slots=True)
class VersionSummary:
    """A version without its text: what a timeline lists."""

    id: int
    seq: int
    captured_at: datetime
    title: str | None
    content_sha256: str
    status: int | None
    final_url: str | None
    body_sha256: str | None
    body_size: int | None
    capture_id: int
    # Imported, not fetched by the monitor: "warc" or "archive", and from where exactly.
    source: str | None = None
    provenance: str | None = None

    @property
    def imported(self) -> str | None:
        """How a person reads where an imported version came from (None: the monitor's)."""
        if self.source is None:
            return None
        return f"imported from {self.source}: {self.provenance}"

    def to_json(self) -> dict[str, Any]:
        return {
            **(
                {"source": self.source, "provenance": self.provenance}
                if self.source is not None
                else {}
            ),
            "seq": self.seq,
            "captured_at": self.captured_at.isoformat(),
            "title": self.title,
            "status": self.status,
            "final_url": self.final_url,
            "content_sha256": self.content_sha256,
            "body_sha256": self.body_sha256,
            "body_size": self.body_size,
        }


@dataclass(slots=True)
class EventView:
    """A detected event, with the versions it is between and the reasons of its score."""

    id: int
    uid: str
    page_id: int
    kind: str
    detected_at: datetime
    significance: float
    reasons: list[str]
    summary: str
    from_seq: int | None
    to_seq: int | None
    alerted: bool
    features: dict[str, Any] = field(default_factory=dict)
    status: int | None = None  # the HTTP status of the capture that found it
    target: str = ""
    url: str = ""
    tags: list[str] = field(default_factory=list)
    capture_id: int | None = None  # the capture that found it (a removal: the 404 itself)
    final_url: str | None = None  # where that capture ended (a removal by redirect)

    @property
    def same_content(self) -> bool | None:
        """A restoration: whether the page came back with its pre-removal content."""
        if self.kind != "restored":
            return None
        return bool(self.features.get("same_content"))

    @property
    def how(self) -> str | None:
        """A removal: how the page answered (http_404, soft_404, redirect_home, ...)."""
        value = self.features.get("how")
        return str(value) if value else None

    def to_json(self) -> dict[str, Any]:
        features = {k: v for k, v in self.features.items() if k not in ("reasons", "alert")}
        return {
            "id": self.uid,
            "event": self.kind,
            "page_id": self.page_id,
            "target": self.target,
            "url": self.url,
            "detected_at": self.detected_at.isoformat(),
            "significance": {
                "score": self.significance,
                "reasons": list(self.reasons),
                "features": jsonable(features),
            },
            "summary": self.summary,
            "from_version": self.from_seq,
            "to_version": self.to_seq,
            "alerted": self.alerted,
        }

    def story_json(self) -> dict[str, Any]:
        """:meth:`to_json` (the API's shape, kept stable) with the capture that found the
        event and, for a restoration, whether the content is the same as before."""
        return {
            **self.to_json(),
            "capture": None
            if self.capture_id is None
            else {"id": self.capture_id, "status": self.status, "final_url": self.final_url},
            **({"same_content": self.same_content} if self.kind == "restored" else {}),
        }


@dataclass(slots=True)
class NoteView:
    """Something the monitor learned (or forgot) about a page: recorded, never alerted.

    ``action`` is "learned" or "forgotten"; ``source`` says how: "probe" (two fetches of a
    new page seconds apart), "observed" (over several captures) or "user" (a reset).
    """

    id: int
    page_id: int
    noted_at: datetime
    action: str
    source: str
    summary: str
    rules: list[Any]

    @property
    def kind(self) -> str:
        return self.action

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "note": self.action,
            "source": self.source,
            "noted_at": self.noted_at.isoformat(),
            "summary": self.summary,
            "rules": jsonable(self.rules),
            "alerted": False,
        }


@dataclass(slots=True)
class TimelineEntry:
    """One row of a timeline: a version with the events that made it, an event alone at
    its own time (a removal, an error, a restoration to content already recorded), or a
    note of what was learned.

    ``in_force`` is the version the page showed at an event's row: the last version
    before a removal, or the version a restoration brought back.
    """

    when: datetime
    version: VersionSummary | None
    events: list[EventView]
    previous_seq: int | None = None
    notes: list[NoteView] = field(default_factory=list)
    in_force: int | None = None

    @property
    def kind(self) -> str:
        """What the row shows first: the strongest event, a note, else "version"."""
        if self.events:
            return max(self.events, key=lambda e: e.significance).kind
        if self.notes:
            return self.notes[0].kind
        return "version" if self.version and self.version.seq > 1 else "first"


@dataclass(slots=True)
class Timeline:
    """A page's versions and events, newest first, and the other pages of its target."""

    page: PageInfo
    entries: list[TimelineEntry]
    versions: list[VersionSummary]
    events: list[EventView]
    captures: int
    siblings: list[tuple[int, str, str, str]]  # page id, url, role, state
    notes: list[NoteView] = field(default_factory=list)


def page_info(store: Store, page_id: int) -> PageInfo:
    """One page, or :class:`UnknownTargetError`."""
    with store.session() as session:
        row = session.execute(
            select(Page, Target, Version.seq, Version.title)
            .join(Target, Target.id == Page.target_id)
            .outerjoin(Version, Version.id == Page.last_version_id)
            .where(Page.id == page_id)
        ).first()
    if row is None:
        raise UnknownTargetError(f"no page with id {page_id}")
    page, target, seq, title = row
    moved: dict[int, str] = {}
    links = [link for link in (page.moved_to_id, page.moved_from_id) if link is not None]
    if links:
        with store.session() as session:
            moved = {
                row[0]: row[1]
                for row in session.execute(select(Page.id, Page.url).where(Page.id.in_(links)))
            }
    return PageInfo(
        id=page.id,
        url=page.url,
        role=page.role,
        state=page.state,
        target=target.name,
        target_url=target.url,
        tags=list(target.tags or []),
        active=target.active,
        created_at=page.created_at,
        last_checked=page.last_checked_at,
        consecutive_failures=page.consecutive_failures,
        failing_since=page.failing_since,
        title=title,
        latest_seq=seq,
        moved_to=(page.moved_to_id, moved[page.moved_to_id])
        if page.moved_to_id in moved and page.moved_to_id is not None
        else None,
        moved_from=(page.moved_from_id, moved[page.moved_from_id])
        if page.moved_from_id in moved and page.moved_from_id is not None
        else None,
    )


SUMMARY_COLUMNS = (
    Version.id,
    Version.seq,
    Version.captured_at,
    Version.title,
    Version.content_sha256,
    Capture.status,
    Capture.final_url,
    Capture.body_sha256,
    Capture.body_size,
    Capture.id.label("capture_id"),
    Capture.source,
    Capture.provenance,
)


def version_summaries(
    store: Store,
    page_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[VersionSummary]:
    """A page's versions, oldest first, without their texts."""
    query = (
        select(*SUMMARY_COLUMNS)
        .join(Capture, Capture.id == Version.capture_id)
        .where(Version.page_id == page_id)
        .order_by(Version.seq)
    )
    if since is not None:
        query = query.where(Version.captured_at >= since)
    if until is not None:
        query = query.where(Version.captured_at < until)
    with store.session() as session:
        return [VersionSummary(**row._mapping) for row in session.execute(query)]


def event_view(change: Change, seqs: dict[int, int], target: str = "", url: str = "") -> EventView:
    features = dict(change.features or {})
    return EventView(
        id=change.id,
        uid=change.uid,
        page_id=change.page_id,
        kind=change.kind,
        detected_at=change.detected_at,
        significance=change.significance,
        reasons=[str(reason) for reason in features.get("reasons", [])],
        capture_id=change.capture_id,
        summary=change.summary,
        from_seq=seqs.get(change.from_version_id) if change.from_version_id else None,
        to_seq=seqs.get(change.to_version_id) if change.to_version_id else None,
        alerted=bool(features.get("alert", True)),
        features=features,
        target=target,
        url=url,
    )


def page_events(
    store: Store,
    page_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[EventView]:
    """A page's events, oldest first: its own, and the moves of other pages to it (a
    ``moved`` event lives on the page that moved away, and ends at this page's version)."""
    mine = select(Version.id).where(Version.page_id == page_id).scalar_subquery()
    query = (
        select(Change)
        .where(
            (Change.page_id == page_id)
            | ((Change.kind == "moved") & Change.to_version_id.in_(mine))
        )
        .order_by(Change.detected_at, Change.id)
    )
    if since is not None:
        query = query.where(Change.detected_at >= since)
    if until is not None:
        query = query.where(Change.detected_at < until)
    with store.session() as session:
        changes = list(session.scalars(query))
        seqs = dict(
            session.execute(select(Version.id, Version.seq).where(Version.page_id == page_id)).all()
        )
        capture_ids = [c.capture_id for c in changes if c.capture_id is not None]
        captured = (
            {
                row.id: (row.status, row.final_url)
                for row in session.execute(
                    select(Capture.id, Capture.status, Capture.final_url).where(
                        Capture.id.in_(capture_ids)
                    )
                )
            }
            if capture_ids
            else {}
        )
        others = {change.page_id for change in changes if change.page_id != page_id}
        urls = {
            row[0]: row[1]
            for row in session.execute(select(Page.id, Page.url).where(Page.id.in_(others)))
        }
    events = [event_view(change, seqs, url=urls.get(change.page_id, "")) for change in changes]
    for event in events:
        if event.page_id != page_id:
            # A move to this page: the capture that found it is the old page's (a 404).
            event.capture_id = None
            continue
        if event.capture_id is not None and event.capture_id in captured:
            event.status, event.final_url = captured[event.capture_id]
    return events


def page_notes(
    store: Store,
    page_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[NoteView]:
    """What was learned (or forgotten) about a page, oldest first."""
    query = (
        select(LearningNote)
        .where(LearningNote.page_id == page_id)
        .order_by(LearningNote.noted_at, LearningNote.id)
    )
    if since is not None:
        query = query.where(LearningNote.noted_at >= since)
    if until is not None:
        query = query.where(LearningNote.noted_at < until)
    with store.session() as session:
        return [
            NoteView(
                id=note.id,
                page_id=note.page_id,
                noted_at=note.noted_at,
                action=note.action,
                source=note.source,
                summary=note.summary,
                rules=list(note.rules or []),
            )
            for note in session.scalars(query)
        ]


def timeline(
    store: Store,
    page_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Timeline:
    """A page's history: each version with the events that produced it, newest first."""
    page = page_info(store, page_id)
    versions = version_summaries(store, page_id, since, until)
    events = page_events(store, page_id, since, until)
    for event in events:
        event.target, event.tags = page.target, list(page.tags)
        event.url = event.url or page.url  # a move to this page keeps its old page's URL
    by_capture: dict[int, TimelineEntry] = {}
    entries: list[TimelineEntry] = []
    previous: int | None = None
    for version in versions:
        entry = TimelineEntry(version.captured_at, version, [], previous)
        by_capture[version.capture_id] = entry
        entries.append(entry)
        previous = version.seq
    for event in events:
        # An event shares the row of the version its own capture made (a change, an
        # added article, a restoration with new content). Every other event stands on
        # its own row at its own time: a removal, an error, a recovery, a restoration
        # to content already recorded (never on the old version's row).
        owner = by_capture.get(event.capture_id) if event.capture_id is not None else None
        made = owner.version if owner is not None else None
        if owner is not None and made is not None and event.to_seq == made.seq:
            owner.events.append(event)
        else:
            in_force = event.to_seq if event.to_seq is not None else event.from_seq
            entries.append(TimelineEntry(event.detected_at, None, [event], in_force=in_force))
    notes = page_notes(store, page_id, since, until)
    entries += [TimelineEntry(note.noted_at, None, [], notes=[note]) for note in notes]
    # Newest first; at one instant a version before the events that follow it.
    entries.sort(key=lambda e: (e.when, e.version is None, e.version.seq if e.version else 0))
    entries.reverse()
    with store.session() as session:
        captures = (
            session.scalar(select(func.count(Capture.id)).where(Capture.page_id == page_id)) or 0
        )
        siblings = [
            (row.id, row.url, row.role, row.state)
            for row in session.execute(
                select(Page.id, Page.url, Page.role, Page.state)
                .join(Target, Target.id == Page.target_id)
                .where(Target.name == page.target, Page.id != page_id)
                .order_by(Page.id)
                .limit(500)
            )
        ]
    return Timeline(page, entries, versions, events, captures, siblings, notes)


def jsonable(value: Any) -> Any:
    """Features as JSON: tuples become lists, anything odd becomes its string."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
