"""Writing a recording plan (:class:`monitor.recording.Plan`) in one transaction.

The plan says what to write; this module only writes it, in an order that lets every
row find the ids of the rows it points at: new pages, bodies, captures, versions, site
lines, events, deliveries, page updates, learned noise and its notes, site chrome,
listing marks. Captures, versions, events, deliveries, notes and site lines go in as
bulk inserts (one statement per batch of rows, ids returned in order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from monitor.recording import Plan, RuleWrite, Written
from monitor.records import Rule
from monitor.storage.models import (
    Blob,
    Capture,
    Change,
    Delivery,
    LearningNote,
    ListedLink,
    Page,
    SiteBoilerplate,
    SiteLine,
    Version,
    VolatileLine,
)
from monitor.vocab import DeliveryStatus

logger = logging.getLogger(__name__)


def rule_samples(rule: Rule) -> dict[str, Any] | None:
    """What a rule row keeps of the lines a block showed (None when nothing)."""
    if rule.kind != "after" or not (rule.seen or rule.known):
        return None
    return {"seen": sorted(rule.seen), "known": sorted(rule.known)}


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _names(row_type: type[Any]) -> tuple[str, ...]:
    names = _NAMES.get(row_type)
    if names is None:
        names = _NAMES[row_type] = tuple(item.name for item in fields(row_type))
    return names


def asdict(row: Any) -> dict[str, Any]:
    """A plan row as column values (shallow: the plan's values are written as they are)."""
    return {name: getattr(row, name) for name in _names(type(row))}


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _insert_new(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, skipping those whose unique key another process wrote first (a
    body, a line of site chrome, a listed link: the same row, whoever wrote it)."""
    if not rows:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    table = _table(model)
    statement: Any = (
        postgresql.insert(table)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    session.execute(statement.on_conflict_do_nothing(), rows)


def _insert_returning(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``; their new ids, in the order given (a Core insert of the table:
    SQLAlchemy's ORM bulk path costs more per row and gives nothing more here)."""
    if not rows:
        return []
    table = _table(model)
    result = session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [int(value) for value in result.scalars()]


def _update_by_id(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Update rows by their ``id``, one executemany per set of columns (Core statements:
    the ORM's bulk update path costs more per row)."""
    table = _table(model)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = tuple(sorted(name for name in row if name != "id"))
        # Parameters named apart from the columns (SQLAlchemy reserves those names).
        groups.setdefault(columns, []).append(
            {"_id": row["id"], **{f"_{name}": row[name] for name in columns}}
        )
    for columns, group in groups.items():
        if not columns:
            continue
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(f"_{name}") for name in columns})
        )
        session.execute(statement, group)


def write_plan(
    session: Session, plan: Plan, compress: Callable[[bytes], tuple[str, bytes]]
) -> Written:
    """Write ``plan`` in ``session``'s transaction; returns the ids given to its rows."""
    written = Written()
    written.pages = _pages(session, plan)
    _blobs(session, plan, compress)
    written.captures = _insert_returning(
        session,
        Capture,
        [
            {**asdict(capture), "page_id": written.page(capture.page_id)}
            for capture in plan.captures
        ],
    )
    written.versions = _insert_returning(
        session,
        Version,
        [
            {
                **asdict(version),
                "page_id": written.page(version.page_id),
                "capture_id": written.capture(version.capture_id),
            }
            for version in plan.versions
        ],
    )
    for lines in plan.site_lines:
        # What a page contributes to site learning: its latest version's lines only.
        page_id = written.page(lines.page_id)
        session.execute(delete(SiteLine).where(SiteLine.page_id == page_id))
        if lines.rows:
            session.execute(
                insert(_table(SiteLine)),
                [
                    {
                        "host": lines.host,
                        "page_id": page_id,
                        "position": position,
                        "line": line,
                        "block": block,
                    }
                    for position, line, block in lines.rows
                ],
            )
    written.events = _insert_returning(
        session,
        Change,
        [
            {
                **asdict(event),
                "page_id": written.page(event.page_id),
                "capture_id": written.capture(event.capture_id)
                if event.capture_id is not None
                else None,
                "from_version_id": written.version(event.from_version_id)
                if event.from_version_id is not None
                else None,
                "to_version_id": written.version(event.to_version_id)
                if event.to_version_id is not None
                else None,
            }
            for event in plan.events
        ],
    )
    if plan.deliveries:
        # The outbox, in the events' own transaction: no event lacks its alerts.
        session.execute(
            insert(_table(Delivery)),
            [
                {
                    "change_id": written.event(delivery.change_id),
                    "channel": delivery.channel,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": delivery.queued_at,
                    "created_at": delivery.queued_at,
                }
                for delivery in plan.deliveries
            ],
        )
    if plan.page_updates:
        updates = []
        for page_id, values in plan.page_updates.items():
            row = {**values, "id": written.page(page_id)}
            if row.get("last_version_id") is not None:
                row["last_version_id"] = written.version(row["last_version_id"])
            for link in ("moved_to_id", "moved_from_id"):
                if row.get(link) is not None:
                    row[link] = written.page(row[link])
            updates.append(row)
        _update_by_id(session, Page, updates)
    for page_id in plan.forget_rules:
        session.execute(delete(VolatileLine).where(VolatileLine.page_id == page_id))
    _volatility(session, plan, written)
    if plan.notes:
        session.execute(
            insert(_table(LearningNote)),
            [
                {
                    **asdict(note),
                    "page_id": written.page(note.page_id),
                    "capture_id": written.capture(note.capture_id)
                    if note.capture_id is not None
                    else None,
                }
                for note in plan.notes
            ],
        )
    for host in plan.forget_sites:
        session.execute(delete(SiteBoilerplate).where(SiteBoilerplate.host == host))
        session.execute(delete(SiteLine).where(SiteLine.host == host))
    if plan.chrome:
        _insert_new(session, SiteBoilerplate, [asdict(row) for row in plan.chrome])
    for marks in plan.listings:
        _listing(session, marks.target_id, marks.links, marks.when, marks.dates)
    return written


def _pages(session: Session, plan: Plan) -> list[int]:
    """Ids of the plan's new pages: found (another check made it meanwhile) or inserted."""
    if not plan.pages:
        return []
    wanted = [(page.target_id, page.key.url) for page in plan.pages]
    found: dict[tuple[int, str], int] = {}
    for chunk in _chunks(wanted):
        for page_id, target_id, url in session.execute(
            select(Page.id, Page.target_id, Page.url).where(
                tuple_(Page.target_id, Page.url).in_(chunk)
            )
        ):
            found.setdefault((target_id, url), page_id)
    missing = [page for page in plan.pages if (page.target_id, page.key.url) not in found]
    ids = _insert_returning(
        session,
        Page,
        [
            {
                "target_id": page.target_id,
                "url": page.key.url,
                "role": page.role,
                "created_at": page.created_at,
            }
            for page in missing
        ],
    )
    found.update(
        ((page.target_id, page.key.url), page_id)
        for page, page_id in zip(missing, ids, strict=True)
    )
    return [found[(page.target_id, page.key.url)] for page in plan.pages]


def _blobs(session: Session, plan: Plan, compress: Callable[[bytes], tuple[str, bytes]]) -> None:
    """Bodies not stored yet, compressed (one row per sha256)."""
    if not plan.blobs:
        return
    present = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(list(plan.blobs)))))
    rows = []
    for sha, body in plan.blobs.items():
        if sha in present:
            continue
        compression, data = compress(body)
        rows.append(
            {
                "sha256": sha,
                "size": len(body),
                "compression": compression,
                "data": data,
                "created_at": plan.made_at,
            }
        )
    _insert_new(session, Blob, rows)


def _volatility(session: Session, plan: Plan, written: Written) -> None:
    """Rule writes and streak resets, in the plan's order (a reset then a new streak is
    not a new streak then a reset)."""
    if not plan.volatility:
        return
    pages = sorted({written.page(item.page_id) for item in plan.volatility})
    rows: dict[tuple[int, str, str], VolatileLine] = {}
    for chunk in _chunks(pages):
        for line in session.scalars(select(VolatileLine).where(VolatileLine.page_id.in_(chunk))):
            rows[(line.page_id, line.kind, line.value)] = line
    for item in plan.volatility:
        page_id = written.page(item.page_id)
        if not isinstance(item, RuleWrite):
            query = update(VolatileLine).where(
                VolatileLine.page_id == page_id, VolatileLine.learned.is_(False)
            )
            if item.values is not None:
                query = query.where(VolatileLine.value.in_(list(item.values)))
            session.execute(query.values(streak=0, samples=None, updated_at=item.at))
            continue
        rule = item.rule
        row = rows.get((page_id, rule.kind, rule.value))
        if row is None:
            row = VolatileLine(
                page_id=page_id,
                kind=rule.kind,
                value=rule.value,
                lines=1 if rule.kind == "signature" else 0,
                source=item.source,
                created_at=item.at,
            )
            session.add(row)
            rows[(page_id, rule.kind, rule.value)] = row
        elif rule.learned and not row.learned:
            row.source = item.source
        row.streak, row.learned, row.updated_at = rule.streak, rule.learned, item.at
        row.samples = rule_samples(rule)
        if rule.kind == "after":
            row.lines = len(rule.known)
    session.flush()


def _listing(
    session: Session,
    target_id: int,
    links: list[tuple[str, int | None, bool]],
    when: Any,
    dates: dict[str, str] | None = None,
) -> None:
    """The links a listing showed at ``when``: a link seen for the first time gets its
    row; a known one its new time, and its page once it is followed. Links not given
    keep what they had."""
    if not links:
        return
    existing: dict[str, tuple[int, int | None]] = {}
    for chunk in _chunks([url for url, _page, _announce in links]):
        existing.update(
            (url, (link_id, page_id))
            for link_id, url, page_id in session.execute(
                select(ListedLink.id, ListedLink.url, ListedLink.page_id).where(
                    ListedLink.target_id == target_id, ListedLink.url.in_(chunk)
                )
            )
        )
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for url, page_id, announce in links:
        row = existing.get(url)
        if row is None:
            new.append(
                {
                    "target_id": target_id,
                    "url": url,
                    "page_id": page_id,
                    "first_listed_at": when,
                    "last_listed_at": when,
                    "announce": announce,
                    "lastmod": (dates or {}).get(url),
                }
            )
            continue
        values: dict[str, Any] = {"id": row[0], "last_listed_at": when}
        if dates and url in dates:
            values["lastmod"] = dates[url]
        if row[1] is None and page_id is not None:
            values.update(page_id=page_id, announce=announce)
        updates.append(values)
    _insert_new(session, ListedLink, new)
    if updates:
        session.execute(update(ListedLink), updates)
    followed = [page_id for _url, page_id, _announce in links if page_id is not None]
    for chunk in _chunks(followed):
        session.execute(
            update(Page)
            .where(Page.target_id == target_id, Page.id.in_(chunk))
            .values(last_listed_at=when)
        )
