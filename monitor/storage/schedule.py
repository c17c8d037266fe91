"""Due times of targets, kept in the database so a restarted daemon knows its plan."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from monitor.storage.models import Page, Target
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


def stored_dues(
    store: Store, names: list[str]
) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Each target's stored next due time and last check (of its own page)."""
    with store.session() as session:
        rows = session.execute(
            select(Target.name, Page.next_due_at, Page.last_checked_at)
            .join(Page, Page.target_id == Target.id)
            .where(Target.name.in_(names), Page.url == Target.url)
        ).all()
    return {name: (due, last) for name, due, last in rows}


def root_pages(store: Store, names: list[str]) -> dict[str, int]:
    """Each target's own page id."""
    with store.session() as session:
        rows = session.execute(
            select(Target.name, Page.id)
            .join(Page, Page.target_id == Target.id)
            .where(Target.name.in_(names), Page.url == Target.url)
        ).all()
    return {name: page_id for name, page_id in rows}


def store_dues(store: Store, dues: Sequence[tuple[int | None, datetime]]) -> None:
    """Keep the next due times in the database (one bulk update), for restarts."""
    rows = [{"id": page_id, "next_due_at": due} for page_id, due in dues if page_id]
    if rows:
        with store.writing() as session:
            session.execute(update(Page), rows)
