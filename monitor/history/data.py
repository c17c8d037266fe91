"""What the history views show, as plain data: the CLI, the web pages, feeds and the API.

Every reader of history (``monitor targets``, ``monitor history``, the dashboard, a
page's timeline, a diff, a snapshot, the Atom feeds, the JSON API) takes its data from
here, so they all say the same thing. Functions take a :class:`~monitor.storage.store.Store` and
return dataclasses; nothing here renders.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, func, or_, select

from monitor.detect.differ import (
    ImageDiff,
    LinkDiff,
    TextDiff,
    diff_images,
    diff_versions,
)
from monitor.exceptions import UnknownTargetError
from monitor.storage.models import (
    Capture,
    Change,
    LearningNote,
    ListedLink,
    Page,
    Target,
    Version,
    VolatileLine,
)
from monitor.storage.store import Store
from monitor.timefmt import iso

logger = logging.getLogger(__name__)

# A target whose next check is this late is overdue: the scheduler is stuck or gone.
OVERDUE_GRACE = 300.0

#: The states a target can be in, worst first (the dashboard's status filter).
STATUSES = ("failing", "removed", "paused", "never checked", "ok")


def site_of(url: str) -> str:
    """The host of a URL, as the dashboard's "site" filter names it."""
    return urlsplit(url).netloc.lower()


# --------------------------------------------------------------------------------------
# Targets


@dataclass(slots=True)
class TargetRow:
    """One target with its state: the one answer the dashboard, ``monitor targets``,
    ``monitor status``, the feeds and the API all give.

    A target's failures are counted once, here: ``failing`` is its pages failing now (a
    removed page is not failing, it is removed), ``failures`` the most consecutive
    failures of any of those pages.
    """

    id: int
    name: str
    kind: str
    url: str
    tags: list[str]
    active: bool
    page_id: int | None  # the target's own page (a listing's listing page)
    pages: int
    versions: int
    failing: int
    removed: int
    failures: int  # the most consecutive failures of any of its pages
    last_checked: datetime | None
    last_event: str | None
    last_change: datetime | None
    significance: float | None
    last_summary: str | None
    root_state: str | None = None  # the state of the target's own page
    next_due: datetime | None = None  # when the target's own page is due (the daemon's plan)
    learned: int = 0  # rules learned as noise on its pages (see `monitor volatility`)

    def overdue(self, now: datetime, daemon_alive: bool) -> bool:
        """Due more than :data:`OVERDUE_GRACE` ago while the daemon runs: it is stuck."""
        if not self.active or self.next_due is None or not daemon_alive:
            return False
        return (now - self.next_due).total_seconds() > OVERDUE_GRACE

    @property
    def site(self) -> str:
        return site_of(self.url)

    @property
    def status(self) -> str:
        """One word for the dashboard: failing, removed, paused, never checked or ok."""
        if not self.active:
            return "paused"
        if self.last_checked is None:
            return "never checked"
        if self.failing:
            return "failing"
        if self.root_state == "removed" or (self.pages and self.removed >= self.pages):
            return "removed"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "site": self.site,
            "tags": list(self.tags),
            "active": self.active,
            "status": self.status,
            "page_id": self.page_id,
            "pages": self.pages,
            "versions": self.versions,
            "failing_pages": self.failing,
            "removed_pages": self.removed,
            "consecutive_failures": self.failures,
            "last_checked_at": iso(self.last_checked),
            "last_event": self.last_event,
            "last_change_at": iso(self.last_change),
            "significance": self.significance,
            "summary": self.last_summary,
        }


def target_rows(store: Store, names: Sequence[str] = ()) -> list[TargetRow]:
    """Every target (or the named ones) with its state, ordered by name: a few queries."""
    with store.session() as session:
        query = (
            select(
                Target.id,
                Target.name,
                Target.kind,
                Target.url,
                Target.tags,
                Target.active,
                func.coalesce(
                    func.min(case((Page.url == Target.url, Page.id), else_=None)),
                    func.min(Page.id),
                ),
                func.count(Page.id),
                func.sum(
                    case(((Page.consecutive_failures > 0) & (Page.state != "removed"), 1), else_=0)
                ),
                func.sum(case((Page.state == "removed", 1), else_=0)),
                func.max(case((Page.state != "removed", Page.consecutive_failures), else_=0)),
                func.max(Page.last_checked_at),
                func.max(case((Page.url == Target.url, Page.state), else_=None)),
                func.min(case((Page.url == Target.url, Page.next_due_at), else_=None)),
            )
            .outerjoin(Page, Page.target_id == Target.id)
            .group_by(Target.id)
            .order_by(Target.name)
        )
        if names:
            query = query.where(Target.name.in_(list(names)))
        rows = session.execute(query).all()
        versions = dict(
            session.execute(
                select(Page.target_id, func.count(Version.id))
                .join(Version, Version.page_id == Page.id)
                .group_by(Page.target_id)
            ).all()
        )
        learned = dict(
            session.execute(
                select(Page.target_id, func.count(VolatileLine.id))
                .join(VolatileLine, VolatileLine.page_id == Page.id)
                .where(VolatileLine.learned.is_(True))
                .group_by(Page.target_id)
            ).all()
        )
        latest_ids = select(func.max(Change.id)).join(Page, Page.id == Change.page_id)
        latest_ids = latest_ids.group_by(Page.target_id)
        latest = {
            target_id: (kind, detected_at, significance, summary)
            for target_id, kind, detected_at, significance, summary in session.execute(
                select(
                    Page.target_id,
                    Change.kind,
                    Change.detected_at,
                    Change.significance,
                    Change.summary,
                )
                .join(Page, Page.id == Change.page_id)
                .where(Change.id.in_(latest_ids))
            )
        }
    result = []
    for (
        target_id,
        name,
        kind,
        url,
        tags,
        active,
        page_id,
        pages,
        failing,
        removed,
        failures,
        checked,
        root_state,
        next_due,
    ) in rows:
        event = latest.get(target_id)
        result.append(
            TargetRow(
                id=target_id,
                name=name,
                kind=kind,
                url=url,
                tags=list(tags or []),
                active=bool(active),
                page_id=page_id,
                pages=pages,
                versions=versions.get(target_id, 0),
                failing=int(failing or 0),
                removed=int(removed or 0),
                failures=int(failures or 0),
                last_checked=checked,
                last_event=event[0] if event else None,
                last_change=event[1] if event else None,
                significance=event[2] if event else None,
                last_summary=event[3] if event else None,
                root_state=root_state,
                next_due=next_due,
                learned=int(learned.get(target_id, 0)),
            )
        )
    return result


def filter_targets(
    rows: Sequence[TargetRow],
    *,
    tag: str | None = None,
    site: str | None = None,
    status: str | None = None,
    text: str | None = None,
) -> list[TargetRow]:
    """The rows matching every filter given (``text``: in the name or URL)."""
    needle = (text or "").strip().lower()
    return [
        row
        for row in rows
        if (not tag or tag in row.tags)
        and (not site or row.site == site.lower())
        and (not status or row.status == status)
        and (not needle or needle in row.name.lower() or needle in row.url.lower())
    ]


# --------------------------------------------------------------------------------------
# A page and its timeline


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

    def to_json(self) -> dict[str, Any]:
        return {
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
                "features": _jsonable(features),
            },
            "summary": self.summary,
            "from_version": self.from_seq,
            "to_version": self.to_seq,
            "alerted": self.alerted,
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
            "rules": _jsonable(self.rules),
            "alerted": False,
        }


@dataclass(slots=True)
class TimelineEntry:
    """One row of a timeline: a version with the events that made it, an event alone, or
    a note of what was learned."""

    when: datetime
    version: VersionSummary | None
    events: list[EventView]
    previous_seq: int | None = None
    notes: list[NoteView] = field(default_factory=list)

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
    )


_SUMMARY_COLUMNS = (
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
)


def version_summaries(
    store: Store,
    page_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[VersionSummary]:
    """A page's versions, oldest first, without their texts."""
    query = (
        select(*_SUMMARY_COLUMNS)
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


def _event_view(change: Change, seqs: dict[int, int], target: str = "", url: str = "") -> EventView:
    features = dict(change.features or {})
    return EventView(
        id=change.id,
        uid=change.uid,
        page_id=change.page_id,
        kind=change.kind,
        detected_at=change.detected_at,
        significance=change.significance,
        reasons=[str(reason) for reason in features.get("reasons", [])],
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
    """A page's events, oldest first."""
    query = select(Change).where(Change.page_id == page_id).order_by(Change.detected_at, Change.id)
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
        statuses = (
            dict(
                session.execute(
                    select(Capture.id, Capture.status).where(Capture.id.in_(capture_ids))
                ).all()
            )
            if capture_ids
            else {}
        )
    events = [_event_view(change, seqs) for change in changes]
    for event, change in zip(events, changes, strict=True):
        event.status = statuses.get(change.capture_id) if change.capture_id else None
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
        event.target, event.url, event.tags = page.target, page.url, list(page.tags)
    by_seq: dict[int, TimelineEntry] = {}
    entries: list[TimelineEntry] = []
    previous: int | None = None
    for version in versions:
        entry = TimelineEntry(version.captured_at, version, [], previous)
        by_seq[version.seq] = entry
        entries.append(entry)
        previous = version.seq
    for event in events:
        # An event that made a version shares its row; removals and errors stand alone.
        owner = by_seq.get(event.to_seq) if event.to_seq is not None else None
        if owner is not None and event.kind in ("changed", "added", "restored"):
            owner.events.append(event)
        else:
            entries.append(TimelineEntry(event.detected_at, None, [event]))
    notes = page_notes(store, page_id, since, until)
    entries += [TimelineEntry(note.noted_at, None, [], notes=[note]) for note in notes]
    entries.sort(key=lambda e: (e.when, e.version.seq if e.version else 0), reverse=True)
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


# --------------------------------------------------------------------------------------
# One version, and the diff of two


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
            "capture": {
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
            },
            "archive_url": self.archive_url,
            "previous_version": self.previous_seq,
            "next_version": self.next_seq,
        }


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
    images: ImageDiff = field(default_factory=lambda: diff_images((), ()))

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


#: The text, link and image diffs of two versions.
Diffs = tuple[TextDiff, LinkDiff, ImageDiff]


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


def cached_diff(old: Any, new: Any) -> Diffs:
    """The diffs of two stored versions (rows with id, title, text, links, images),
    computed once per pair and kept in :data:`DIFFS`."""
    key = (old.id, new.id)
    cached = DIFFS.get(key)
    if cached is None:
        both = diff_versions(old, new)
        cached = (both.text, both.links, both.images)
        DIFFS.put(key, cached)
    return cached


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
                select(*_SUMMARY_COLUMNS)
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
    events = [_event_view(change, seq_of) for change in changes]
    return DiffView(page, old, new, cached[0], cached[1], events, seqs, cached[2])


# --------------------------------------------------------------------------------------
# Events across pages (feeds, the API)


def recent_events(
    store: Store,
    *,
    target: str | None = None,
    tag: str | None = None,
    page_id: int | None = None,
    kinds: Sequence[str] = (),
    since: datetime | None = None,
    limit: int = 50,
) -> list[EventView]:
    """The newest events, newest first, of everything or one target, tag or page."""
    with store.session() as session:
        targets = {
            row.id: row
            for row in session.execute(select(Target.id, Target.name, Target.tags))
            if (target is None or row.name == target) and (tag is None or tag in (row.tags or ()))
        }
        if (target is not None or tag is not None) and not targets:
            return []
        query = (
            select(Change, Page.url, Page.target_id)
            .join(Page, Page.id == Change.page_id)
            .order_by(Change.detected_at.desc(), Change.id.desc())
            .limit(limit)
        )
        if target is not None or tag is not None:
            # With the pages of other targets these listings watch (one page per URL).
            listed = select(ListedLink.page_id).where(ListedLink.target_id.in_(list(targets)))
            query = query.where(or_(Page.target_id.in_(list(targets)), Page.id.in_(listed)))
        if page_id is not None:
            query = query.where(Change.page_id == page_id)
        if kinds:
            query = query.where(Change.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(Change.detected_at >= since)
        rows = session.execute(query).all()
        version_ids = {
            version_id
            for change, _url, _target in rows
            for version_id in (change.from_version_id, change.to_version_id)
            if version_id
        }
        seqs = (
            dict(
                session.execute(
                    select(Version.id, Version.seq).where(Version.id.in_(list(version_ids)))
                ).all()
            )
            if version_ids
            else {}
        )
        # The owners of the pages shown (another target's, for a page a listing shares).
        wanted = {target_id for _c, _u, target_id in rows} - set(targets)
        if wanted:
            targets.update(
                (row.id, row)
                for row in session.execute(
                    select(Target.id, Target.name, Target.tags).where(Target.id.in_(list(wanted)))
                )
            )
    events = []
    for change, url, target_id in rows:
        owner = targets.get(target_id)
        event = _event_view(change, seqs, owner.name if owner else "", url)
        event.tags = list(owner.tags or []) if owner else []
        events.append(event)
    return events


# --------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Features as JSON: tuples become lists, anything odd becomes its string."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
