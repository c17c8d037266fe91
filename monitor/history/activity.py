"""How often things happened, and where: what the pictures and the dashboard's filters show.

- :func:`daily_events`: each target's events per UTC day (the dashboard's strips)
- :func:`listing_days`: a listing's articles added, removed and edited per day
- :func:`outages`: a page's removal (and error) gaps, from its events (pure)
- :func:`narrow_targets`, :func:`targets_changed_since`: the dashboard's "removed" and
  "changed recently" filters, which look inside a listing at its articles
- :func:`notable_pages`: the removed or recently changed pages of targets, with titles
- :func:`page_titles`: the title of each page's latest version (listings show titles)

Days are UTC days, as every time the monitor shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import or_, select

from monitor.storage.models import Change, ListedLink, Page, Version
from monitor.storage.store import Store
from monitor.vocab import EventKind, PageStatus, Role

if TYPE_CHECKING:
    from monitor.history.targets import TargetRow

logger = logging.getLogger(__name__)

#: Events that say the content changed (not a fetch error, nor its end).
CONTENT_EVENTS = (
    EventKind.CHANGED.value,
    EventKind.ADDED.value,
    EventKind.REMOVED.value,
    EventKind.RESTORED.value,
)

#: The dashboard's activity filter: its values and what each keeps.
ACTIVITY = {
    "removed": "a removed page",
    "day": "changed in the last 24 hours",
    "week": "changed in the last 7 days",
    "month": "changed in the last 30 days",
}
_WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


@dataclass(frozen=True, slots=True)
class Day:
    """One UTC day and its events, counted by kind."""

    day: date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, kind: str) -> int:
        return self.counts.get(kind, 0)


def window(days: int, now: datetime | None = None) -> list[date]:
    """The last ``days`` UTC days, oldest first, today last."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def _since(days: list[date]) -> datetime:
    first = days[0]
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def _bucket(rows: Iterable[tuple[int, str, datetime]], days: list[date]) -> dict[int, list[Day]]:
    index = {day: position for position, day in enumerate(days)}
    counts: dict[int, list[dict[str, int]]] = {}
    for key, kind, detected_at in rows:
        position = index.get(detected_at.astimezone(UTC).date())
        if position is None:
            continue
        per_day = counts.setdefault(key, [{} for _ in days])
        per_day[position][kind] = per_day[position].get(kind, 0) + 1
    return {
        key: [Day(day, per_day[position]) for position, day in enumerate(days)]
        for key, per_day in counts.items()
    }


def daily_events(
    store: Store, target_ids: Sequence[int], *, days: int = 30, now: datetime | None = None
) -> dict[int, list[Day]]:
    """Each target's events (of any of its pages) per day over the last ``days`` days.

    Targets without an event in that time are left out (an empty strip). One query,
    bounded by the targets asked for and the window, so a dashboard page of 100 targets
    costs milliseconds whatever the size of the history.
    """
    if not target_ids:
        return {}
    span = window(days, now)
    with store.session() as session:
        rows = session.execute(
            select(Page.target_id, Change.kind, Change.detected_at)
            .join(Page, Page.id == Change.page_id)
            .where(Page.target_id.in_(list(target_ids)), Change.detected_at >= _since(span))
        ).all()
    return _bucket(((t, k, d) for t, k, d in rows), span)


def _article_pages(session: Any, target_id: int) -> list[int]:
    """A listing's articles: its own article pages, and the pages of other targets it
    shares (one page per URL)."""
    own = session.scalars(
        select(Page.id).where(Page.target_id == target_id, Page.role == Role.ARTICLE.value)
    ).all()
    shared = session.scalars(
        select(ListedLink.page_id).where(
            ListedLink.target_id == target_id, ListedLink.page_id.is_not(None)
        )
    ).all()
    return sorted(set(own) | set(shared))


def listing_days(
    store: Store, listing_page_id: int, *, days: int = 30, now: datetime | None = None
) -> list[Day]:
    """The articles of the listing whose page is ``listing_page_id``, per day: ``added``,
    ``removed``, ``changed`` (edited), ``restored``, over the last ``days`` days (every
    day, empty ones too)."""
    span = window(days, now)
    with store.session() as session:
        target_id = session.scalar(select(Page.target_id).where(Page.id == listing_page_id))
        pages = _article_pages(session, target_id) if target_id is not None else []
        rows = (
            session.execute(
                select(Change.kind, Change.detected_at).where(
                    Change.page_id.in_(pages),
                    Change.detected_at >= _since(span),
                    Change.kind.in_(CONTENT_EVENTS),
                )
            ).all()
            if pages
            else []
        )
    bucketed = _bucket(((0, kind, at) for kind, at in rows), span)
    return bucketed.get(0, [Day(day) for day in span])


@dataclass(frozen=True, slots=True)
class Outage:
    """A stretch of time a page was gone (``removed``) or failing (``error``).

    ``end`` is when it came back (``restored``/``recovered``), None while it lasts.
    """

    kind: str
    start: datetime
    end: datetime | None

    def length(self, now: datetime) -> timedelta:
        return (self.end or now) - self.start


class Happened(Protocol):
    """What :func:`outages` reads of an event (an EventView or a Change both fit)."""

    @property
    def kind(self) -> str: ...
    @property
    def detected_at(self) -> datetime: ...


def outages(events: Iterable[Happened]) -> list[Outage]:
    """The gaps in a page's life from its events (oldest first): each removal up to the
    restoration that ended it, each error up to its recovery. Pure.

    >>> from types import SimpleNamespace as E
    >>> t = [datetime(2026, 3, d, tzinfo=UTC) for d in (1, 2, 4, 5)]
    >>> kinds = ["changed", "removed", "restored", "removed"]
    >>> [(o.kind, o.start.day, o.end and o.end.day) for o in outages(
    ...     E(kind=k, detected_at=d) for k, d in zip(kinds, t))]
    [('removed', 2, 4), ('removed', 5, None)]
    """
    found: list[Outage] = []
    open_since: dict[str, datetime] = {}
    ends = {EventKind.RESTORED.value: "removed", EventKind.RECOVERED.value: "error"}
    for event in sorted(events, key=lambda e: e.detected_at):
        kind = str(event.kind)
        if kind in (EventKind.REMOVED.value, EventKind.ERROR.value):
            open_since.setdefault(kind, event.detected_at)
        elif kind in ends and ends[kind] in open_since:
            found.append(Outage(ends[kind], open_since.pop(ends[kind]), event.detected_at))
            if kind == EventKind.RESTORED.value:
                open_since.pop("error", None)  # back with content: no longer failing
    found += [Outage(kind, start, None) for kind, start in open_since.items()]
    return sorted(found, key=lambda outage: outage.start)


def targets_changed_since(store: Store, since: datetime) -> set[int]:
    """The targets with a content event (changed, added, removed, restored) on any of
    their pages since ``since``: a listing's articles count for the listing."""
    with store.session() as session:
        return set(
            session.scalars(
                select(Page.target_id)
                .join(Change, Change.page_id == Page.id)
                .where(Change.detected_at >= since, Change.kind.in_(CONTENT_EVENTS))
                .distinct()
            ).all()
        )


def activity_since(activity: str, now: datetime | None = None) -> datetime | None:
    """Where the "changed recently" window of ``activity`` starts (None for "removed")."""
    span = _WINDOWS.get(activity)
    return (now or datetime.now(UTC)) - span if span else None


def narrow_targets(
    store: Store,
    rows: Sequence[TargetRow],
    activity: str | None,
    now: datetime | None = None,
) -> list[TargetRow]:
    """The rows matching the dashboard's activity filter (:data:`ACTIVITY`).

    ``removed``: a target with any removed page, so a listing whose one article was
    removed is found though the listing itself is fine; ``day``/``week``/``month``: a
    target with a content event on any of its pages in that time.
    """
    if not activity:
        return list(rows)
    if activity not in ACTIVITY:
        raise ValueError(f"activity is one of {', '.join(ACTIVITY)}, not {activity!r}")
    if activity == "removed":
        return [row for row in rows if row.removed]
    since = activity_since(activity, now)
    assert since is not None
    changed = targets_changed_since(store, since)
    return [row for row in rows if row.id in changed]


@dataclass(frozen=True, slots=True)
class PageLine:
    """A page of a target as a listing shows it: its title first, its URL after."""

    page_id: int
    target_id: int
    url: str
    role: str
    state: str
    title: str | None
    last_event: str | None = None
    last_change: datetime | None = None


def notable_pages(
    store: Store,
    target_ids: Sequence[int],
    *,
    removed: bool = True,
    changed_since: datetime | None = None,
    limit: int = 10,
) -> dict[int, list[PageLine]]:
    """Per target, its removed pages (``removed``) and its pages with a content event
    since ``changed_since``, newest event first, with their titles (at most ``limit``)."""
    if not target_ids or not (removed or changed_since):
        return {}
    with store.session() as session:
        latest: dict[int, tuple[str, datetime]] = {}
        conditions = []
        if removed:
            conditions.append(Page.state == PageStatus.REMOVED.value)
        if changed_since is not None:
            recent = select(Change.page_id).where(
                Change.detected_at >= changed_since, Change.kind.in_(CONTENT_EVENTS)
            )
            conditions.append(Page.id.in_(recent))
        pages = session.execute(
            select(Page.id, Page.target_id, Page.url, Page.role, Page.state, Version.title)
            .outerjoin(Version, Version.id == Page.last_version_id)
            .where(Page.target_id.in_(list(target_ids)), or_(*conditions))
        ).all()
        ids = [row.id for row in pages]
        for page_id, kind, detected_at in session.execute(
            select(Change.page_id, Change.kind, Change.detected_at)
            .where(Change.page_id.in_(ids), Change.kind.in_(CONTENT_EVENTS))
            .order_by(Change.detected_at, Change.id)
        ):
            latest[page_id] = (kind, detected_at)
    found: dict[int, list[PageLine]] = {}
    for row in pages:
        event = latest.get(row.id)
        found.setdefault(row.target_id, []).append(
            PageLine(
                page_id=row.id,
                target_id=row.target_id,
                url=row.url,
                role=row.role,
                state=row.state,
                title=row.title,
                last_event=event[0] if event else None,
                last_change=event[1] if event else None,
            )
        )
    oldest = datetime.min.replace(tzinfo=UTC)
    for lines in found.values():
        lines.sort(key=lambda line: line.last_change or oldest, reverse=True)
        del lines[limit:]
    return found


def page_titles(store: Store, page_ids: Iterable[int]) -> dict[int, str | None]:
    """The title of each page's latest version (None for a page without one)."""
    ids = list(page_ids)
    if not ids:
        return {}
    with store.session() as session:
        return {
            page_id: title
            for page_id, title in session.execute(
                select(Page.id, Version.title)
                .outerjoin(Version, Version.id == Page.last_version_id)
                .where(Page.id.in_(ids))
            )
        }
