"""Targets with their state: the one answer the dashboard, ``monitor targets``,
``monitor status``, the feeds and the API give.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, func, select

from monitor.storage.models import (
    Change,
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


@lru_cache(maxsize=16384)
def site_of(url: str) -> str:
    """The host of a URL, as the dashboard's "site" filter names it (remembered: the
    dashboard asks it of every target on every request)."""
    return urlsplit(url).netloc.lower()


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

    def overdue(self, now: datetime, daemon_alive: bool = True) -> bool:
        """Due more than :data:`OVERDUE_GRACE` ago (with ``daemon_alive``: while the
        daemon runs, so it is stuck; without: whoever should have checked it)."""
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
    """Every target (or the named ones) with its state, in natural order of their names
    (bulletin-2 before bulletin-10): a few queries."""
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
    # In the order people count: bulletin-2 before bulletin-10.
    result.sort(key=lambda row: natural_key(row.name))
    return result


def natural_key(text: str) -> Any:
    """A sort key that orders numbers in names by value: bulletin-2 before bulletin-10
    (natsort, so the dashboard and the CLI sort alike).

    >>> sorted(["bulletin-10", "bulletin-2", "Bulletin-1"], key=natural_key)
    ['Bulletin-1', 'bulletin-2', 'bulletin-10']
    """
    return _natural_keygen()(text)


@cache
def _natural_keygen() -> Any:
    from natsort import natsort_keygen, ns  # imported when first sorting

    return natsort_keygen(alg=ns.IGNORECASE)


def with_configured(
    rows: Sequence[TargetRow], configured: Sequence[tuple[str, str, Sequence[str], bool, bool]]
) -> list[TargetRow]:
    """``rows`` and, for each configured target the database does not know yet (name,
    url, tags, enabled, is a listing), a row that says "never checked" (or "paused")."""
    known = {row.name for row in rows}
    added = [
        TargetRow(
            id=0,
            name=name,
            kind="listing" if listing else "page",
            url=url,
            tags=list(tags),
            active=enabled,
            page_id=None,
            pages=0,
            versions=0,
            failing=0,
            removed=0,
            failures=0,
            last_checked=None,
            last_event=None,
            last_change=None,
            significance=None,
            last_summary=None,
        )
        for name, url, tags, enabled, listing in configured
        if name not in known
    ]
    return sorted([*rows, *added], key=lambda row: natural_key(row.name))


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
