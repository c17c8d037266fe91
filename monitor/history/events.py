"""Events across pages, newest first (the feeds, the API, the dashboard)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select

from monitor.history.timeline import EventView, event_view
from monitor.storage.models import (
    Change,
    ListedLink,
    Page,
    Target,
    Version,
)
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


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
        event = event_view(change, seqs, owner.name if owner else "", url)
        event.tags = list(owner.tags or []) if owner else []
        events.append(event)
    return events
