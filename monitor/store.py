"""The capture store: the one place that reads and writes the database.

Writes come in batches, each one transaction: a process killed mid-batch leaves the
database as it was before the batch, never a capture without its version or a version
without its body.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

import zstandard
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor import config as cfg
from monitor import db
from monitor.events import Context, Decision, decide
from monitor.exceptions import StorageError, UnknownTargetError
from monitor.models import (
    Blob,
    Capture,
    Change,
    Delivery,
    Page,
    SiteBoilerplate,
    SiteLine,
    Target,
    Version,
    VolatileLine,
    utcnow,
)
from monitor.records import FetchResult, Observation, PageKey, PageState, RecordedCapture
from monitor.site_boilerplate import SiteChrome, SiteCounts, host_of
from monitor.volatility import Volatility

DEFAULT_CONTEXT = Context()


SEPARATOR = "\x1f"


def queue_deliveries(session: Session, change: Change, channels: list[str], now: datetime) -> None:
    """The outbox rows of an event, one per channel, in the event's own transaction."""
    for channel in channels:
        session.add(
            Delivery(
                change_id=change.id,
                channel=channel,
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
        )


def _streak_key(line: VolatileLine) -> str:
    return f"{line.kind}{SEPARATOR}{line.value}"


def _after_value(before: str, after: str) -> str:
    """How a rotating block (between two stable lines) is stored in volatile_lines.value."""
    return f"{before}{SEPARATOR}{after}"


def _after_pair(value: str) -> tuple[str, str]:
    before, _, after = value.partition(SEPARATOR)
    return before, after


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


logger = logging.getLogger(__name__)

# Error pages are kept as evidence (a 404 or a block page says something) up to this size.
MAX_ERROR_BODY = 512 * 1024


@dataclass(frozen=True, slots=True)
class VersionView:
    """A stored version with what a reader needs about its capture."""

    id: int
    page_id: int
    seq: int
    captured_at: datetime
    title: str | None
    text: str
    content_sha256: str
    capture_id: int
    status: int | None
    final_url: str | None
    body_sha256: str | None
    links: list[Any]
    images: list[Any] = dataclass_field(default_factory=list)


class Store:
    """Reads and writes targets, pages, captures, bodies and versions."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        try:
            self.engine: Engine = db.create(url)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database {url!r}: {exc}") from exc
        if upgrade:
            db.ensure_current(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._compressor = zstandard.ZstdCompressor(level=3)
        self._decompressor = zstandard.ZstdDecompressor()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
            except SQLAlchemyError as exc:
                session.rollback()
                raise StorageError(f"database error: {exc}") from exc

    # --- targets and pages -------------------------------------------------------

    def sync_targets(self, targets: Sequence[cfg.Target]) -> dict[str, int]:
        """Create or update target rows (and their first page); returns name -> target id."""
        now = utcnow()
        ids: dict[str, int] = {}
        names = [t.name for t in targets]
        with self.session() as session, session.begin():
            existing: dict[str, Target] = {}
            for chunk in _chunks(names, 500):
                existing.update(
                    (row.name, row)
                    for row in session.scalars(select(Target).where(Target.name.in_(chunk)))
                )
            for target in targets:
                row = existing.get(target.name)
                if row is None:
                    row = Target(
                        name=target.name,
                        kind=target.kind,
                        url=target.url,
                        tags=list(target.tags),
                        active=target.enabled,
                        created_at=now,
                        updated_at=now,
                    )
                    session.add(row)
                    existing[target.name] = row
                elif (row.kind, row.url, list(row.tags), row.active) != (
                    target.kind,
                    target.url,
                    list(target.tags),
                    target.enabled,
                ):
                    row.kind, row.url, row.tags = target.kind, target.url, list(target.tags)
                    row.active, row.updated_at = target.enabled, now
            session.flush()
            ids = {name: existing[name].id for name in names}
            roots: set[tuple[int, str]] = set()
            for chunk in _chunks(list(ids.values()), 500):
                roots.update(
                    (target_id, url)
                    for target_id, url in session.execute(
                        select(Page.target_id, Page.url).where(Page.target_id.in_(chunk))
                    )
                )
            for target in targets:
                if (ids[target.name], target.url) not in roots:
                    role = "listing" if target.kind == "listing" else "page"
                    session.add(
                        Page(target_id=ids[target.name], url=target.url, role=role, created_at=now)
                    )
        return ids

    def deactivate_missing(self, names: Iterable[str]) -> list[str]:
        """Pause targets not in ``names`` (history is kept); returns the paused names."""
        keep = set(names)
        with self.session() as session, session.begin():
            rows = session.scalars(select(Target).where(Target.active.is_(True))).all()
            paused = [row.name for row in rows if row.name not in keep]
            if paused:
                session.execute(
                    update(Target)
                    .where(Target.name.in_(paused))
                    .values(active=False, updated_at=utcnow())
                )
        return paused

    def states(self, target_ids: Iterable[int]) -> dict[PageKey, PageState]:
        """The current state of every page of these targets, for deciding new versions."""
        ids = list(target_ids)
        if not ids:
            return {}
        with self.session() as session:
            rows = session.execute(
                select(Page, Target.name, Version.seq, Version.content_sha256)
                .join(Target, Target.id == Page.target_id)
                .outerjoin(Version, Version.id == Page.last_version_id)
                .where(Page.target_id.in_(ids))
            ).all()
            page_ids = [page.id for page, *_rest in rows]
            recent: dict[int, list[str]] = {}
            learned: dict[int, tuple[set[str], set[tuple[str, str]]]] = {}
            streaks: dict[int, dict[str, int]] = {}
            for chunk in _chunks(page_ids, 500):
                for page_id, content_sha in session.execute(
                    select(Version.page_id, Version.content_sha256)
                    .where(Version.page_id.in_(chunk))
                    .order_by(Version.page_id, Version.seq)
                ):
                    hashes = recent.setdefault(page_id, [])
                    if content_sha in hashes:
                        hashes.remove(content_sha)
                    hashes.append(content_sha)
                for line in session.scalars(
                    select(VolatileLine).where(VolatileLine.page_id.in_(chunk))
                ):
                    if not line.learned:
                        streaks.setdefault(line.page_id, {})[_streak_key(line)] = line.streak
                        continue
                    signatures, after = learned.setdefault(line.page_id, (set(), set()))
                    if line.kind == "signature":
                        signatures.add(line.value)
                    else:
                        after.add(_after_pair(line.value))
        chrome = self.site_chromes({host_of(page.url) for page, *_rest in rows})
        states: dict[PageKey, PageState] = {}
        for page, target_name, seq, content_sha in rows:
            signatures, after = learned.get(page.id, (set(), set()))
            states[PageKey(target_name, page.url)] = PageState(
                page_id=page.id,
                target_id=page.target_id,
                role=page.role,  # type: ignore[arg-type]
                state=page.state,
                last_body_sha256=page.last_body_sha256,
                last_extract_key=page.last_extract_key,
                last_version_id=page.last_version_id,
                last_version_seq=seq or 0,
                last_content_sha256=page.compare_sha256 or content_sha,
                consecutive_failures=page.consecutive_failures,
                failing_since=page.failing_since,
                removal_pending=page.removal_pending,
                content_region=page.content_region,
                etag=page.etag,
                last_modified=page.last_modified,
                next_due_at=page.next_due_at,
                created_at=page.created_at,
                recent_hashes=tuple(recent.get(page.id, ())[-20:]),
                volatility=Volatility(frozenset(signatures), frozenset(after)),
                volatile_streaks=streaks.get(page.id, {}),
                site_chrome=chrome.get(host_of(page.url)),
            )
        return states

    def record_stale(self, limits: dict[str, float], routes: dict[str, Any]) -> int:
        """An error event for each active page not checked successfully within its limit.

        ``limits``: seconds per target name (stale_factor x interval). Such a page is set
        to the error state, so its next good check reports it recovered.
        """
        from monitor.notify.routing import channels_for

        now = utcnow()
        made = 0
        with self.session() as session, session.begin():
            rows = session.execute(
                select(Page, Target.name)
                .join(Target, Target.id == Page.target_id)
                .where(
                    Target.name.in_(list(limits)),
                    Target.active.is_(True),
                    Page.state == "active",
                    Page.role.in_(["page", "listing"]),
                    Page.last_checked_at.is_not(None),
                )
            ).all()
            for page, name in rows:
                limit = limits[name]
                since = page.failing_since if page.consecutive_failures else page.last_checked_at
                if since is None or (now - since).total_seconds() < limit:
                    continue
                page.state = "error"
                summary = (
                    f"Error: {page.url} has not been checked successfully since "
                    f"{since:%Y-%m-%d %H:%M:%S}Z"
                )
                change = Change(
                    uid=str(uuid.uuid4()),
                    page_id=page.id,
                    kind="error",
                    detected_at=now,
                    from_version_id=page.last_version_id,
                    significance=0.4,
                    features={
                        "how": "stale",
                        "since": since.isoformat(),
                        "reasons": ["not checked successfully for too long"],
                        "alert": True,
                    },
                    summary=summary,
                )
                session.add(change)
                session.flush()
                queue_deliveries(
                    session, change, channels_for(tuple(routes.get(name, ())), "error", 0.4), now
                )
                made += 1
        return made

    def learn_volatility(
        self, state: PageState, learned: Volatility, source: str, last_text: str | None
    ) -> None:
        """Store what was learned to be volatile on a page, and re-base its compare hash.

        The last version's text is re-masked with the new knowledge, so the next capture
        is compared under the same rules as the version it is compared with.
        """
        from monitor import volatility
        from monitor.process import stored_hash

        if not learned or state.page_id is None:
            return
        now = utcnow()
        current = state.volatility or volatility.NONE
        merged = current.merged(learned)
        with self.session() as session, session.begin():
            for value in sorted(learned.signatures - current.signatures):
                session.add(
                    VolatileLine(
                        page_id=state.page_id,
                        kind="signature",
                        value=value,
                        lines=1,
                        source=source,
                        learned=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            for before, after in sorted(learned.after - current.after):
                session.add(
                    VolatileLine(
                        page_id=state.page_id,
                        kind="after",
                        value=_after_value(before, after),
                        lines=0,
                        source=source,
                        learned=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            state.volatility = merged
            if last_text is not None and state.last_version_id is not None:
                version = session.get(Version, state.last_version_id)
                if version is not None:
                    state.last_content_sha256 = stored_hash(
                        version.title, version.text, version.images, merged, state.site_chrome
                    )
                    session.execute(
                        update(Page)
                        .where(Page.id == state.page_id)
                        .values(compare_sha256=state.last_content_sha256)
                    )

    def volatile_lines(self, page_id: int) -> list[VolatileLine]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(VolatileLine)
                    .where(VolatileLine.page_id == page_id)
                    .order_by(VolatileLine.id)
                )
            )

    def reset_volatility(self, page_id: int) -> int:
        """Forget what was learned on a page; returns how many entries were removed."""
        from sqlalchemy import delete

        with self.session() as session, session.begin():
            result = session.execute(delete(VolatileLine).where(VolatileLine.page_id == page_id))
            page = session.get(Page, page_id)
            if page is not None and page.last_version_id is not None:
                version = session.get(Version, page.last_version_id)
                if version is not None:
                    from monitor.process import stored_hash

                    chrome = self.site_chromes([host_of(page.url)]).get(host_of(page.url))
                    page.compare_sha256 = stored_hash(
                        version.title, version.text, version.images, None, chrome
                    )
            return int(getattr(result, "rowcount", 0) or 0)

    # --- site boilerplate ---------------------------------------------------------

    def site_chromes(self, hosts: Iterable[str]) -> dict[str, SiteChrome]:
        """What was learned to be chrome on each of these sites."""
        wanted = sorted(set(hosts))
        found: dict[str, tuple[set[str], set[str]]] = {}
        with self.session() as session:
            for chunk in _chunks(wanted, 500):
                for host, kind, value in session.execute(
                    select(SiteBoilerplate.host, SiteBoilerplate.kind, SiteBoilerplate.value).where(
                        SiteBoilerplate.host.in_(chunk)
                    )
                ):
                    lines, blocks = found.setdefault(host, (set(), set()))
                    (lines if kind == "line" else blocks).add(value)
        return {
            host: SiteChrome(frozenset(lines), frozenset(blocks))
            for host, (lines, blocks) in found.items()
        }

    def site_counts(
        self, host: str, *, min_pages: int, min_share: float, candidates: Iterable[str] = ()
    ) -> SiteCounts:
        """How many pages of a site carry each line and block (their latest versions),
        counted by the database; lines and blocks on too few pages to be learned are left
        out. ``candidates``: lines whose pages are wanted one by one."""
        from monitor.site_boilerplate import threshold

        counts = SiteCounts()
        pages_of = func.count(func.distinct(SiteLine.page_id))
        with self.session() as session:
            counts.pages = int(session.scalar(select(pages_of).where(SiteLine.host == host)) or 0)
            needed = threshold(counts.pages, min_pages, min_share)
            for line, pages in session.execute(
                select(SiteLine.line, pages_of)
                .where(SiteLine.host == host)
                .group_by(SiteLine.line)
                .having(pages_of >= needed)
            ):
                counts.line_pages[line] = int(pages)
            for block, pages in session.execute(
                select(SiteLine.block, pages_of)
                .where(SiteLine.host == host, SiteLine.block != "")
                .group_by(SiteLine.block)
                .having(pages_of >= needed)
            ):
                counts.block_pages[block] = int(pages)
            for chunk in _chunks(sorted(counts.block_pages), 200):
                for block, line in session.execute(
                    select(SiteLine.block, SiteLine.line)
                    .distinct()
                    .where(SiteLine.host == host, SiteLine.block.in_(chunk))
                ):
                    counts.block_lines.setdefault(block, set()).add(line)
            for chunk in _chunks(sorted(set(candidates)), 200):
                for line, page_id in session.execute(
                    select(SiteLine.line, SiteLine.page_id).where(
                        SiteLine.host == host, SiteLine.line.in_(chunk)
                    )
                ):
                    counts.candidates.setdefault(line, set()).add(page_id)
        return counts

    def _site_lines(
        self, session: Session, page_id: int, url: str, observation: Observation
    ) -> None:
        """Replace what a page contributes to site learning by its new version's lines."""
        from sqlalchemy import delete

        from monitor.site_boilerplate import rows

        session.execute(delete(SiteLine).where(SiteLine.page_id == page_id))
        lines = (observation.text or "").splitlines()
        host = host_of(url)
        entries = [
            {"host": host, "page_id": page_id, "position": p, "line": line, "block": block}
            for p, line, block in rows(lines, observation.keys)
        ]
        if entries:
            session.execute(SiteLine.__table__.insert(), entries)  # type: ignore[attr-defined]

    def add_site_chrome(self, host: str, learned: SiteChrome, counts: SiteCounts) -> None:
        """Store lines and blocks learned to be chrome on a site."""
        now = utcnow()
        with self.session() as session, session.begin():
            for line in sorted(learned.lines):
                pages = counts.line_pages.get(line, 0)
                session.add(
                    SiteBoilerplate(host=host, kind="line", value=line, pages=pages, created_at=now)
                )
            for block in sorted(learned.blocks):
                pages = counts.block_pages.get(block, 0)
                session.add(
                    SiteBoilerplate(
                        host=host, kind="block", value=block, pages=pages, created_at=now
                    )
                )

    def site_boilerplate(self, host: str | None = None) -> list[SiteBoilerplate]:
        """What was learned per site (one site, or every site), for `monitor volatility`."""
        with self.session() as session:
            query = select(SiteBoilerplate).order_by(
                SiteBoilerplate.host, SiteBoilerplate.kind, SiteBoilerplate.id
            )
            if host is not None:
                query = query.where(SiteBoilerplate.host == host)
            return list(session.scalars(query))

    def reset_site(self, host: str) -> int:
        """Forget what was learned on a site and what it was learned from; learning starts
        again from its pages' next versions. Returns how many entries were forgotten."""
        from sqlalchemy import delete

        with self.session() as session, session.begin():
            result = session.execute(delete(SiteBoilerplate).where(SiteBoilerplate.host == host))
            session.execute(delete(SiteLine).where(SiteLine.host == host))
        self.rebase_site(host, SiteChrome())
        return int(getattr(result, "rowcount", 0) or 0)

    def rebase_site(
        self, host: str, chrome: SiteChrome, states: dict[PageKey, PageState] | None = None
    ) -> int:
        """Re-compute the compare hash of every page of a site under its chrome now known,
        so that the next capture of each is compared under the same rules; returns how
        many pages were re-based. ``states`` (of a running check) are updated too."""
        from monitor.process import stored_hash

        live = {
            state.page_id: state
            for key, state in (states or {}).items()
            if state.page_id is not None and host_of(key.url) == host
        }
        changed = 0
        with self.session() as session, session.begin():
            pages = [
                (page_id, url, version_id)
                for page_id, url, version_id in session.execute(
                    select(Page.id, Page.url, Page.last_version_id).where(
                        Page.last_version_id.is_not(None), Page.role.in_(["page", "article"])
                    )
                )
                if host_of(url) == host
            ]
            volatilities = self._volatilities(session, [page_id for page_id, *_r in pages])
            updates = []
            for chunk in _chunks(pages, 500):
                versions = {
                    version.id: version
                    for version in session.scalars(
                        select(Version).where(Version.id.in_([v for *_r, v in chunk]))
                    )
                }
                for page_id, _url, version_id in chunk:
                    version = versions.get(version_id)
                    if version is None:
                        continue
                    state = live.get(page_id)
                    learned = state.volatility if state is not None else volatilities.get(page_id)
                    compare = stored_hash(
                        version.title, version.text, version.images, learned, chrome
                    )
                    updates.append({"id": page_id, "compare_sha256": compare})
                    if state is not None:
                        state.site_chrome = chrome
                        state.last_content_sha256 = compare
            if updates:
                session.execute(update(Page), updates)
                changed = len(updates)
        for key, state in (states or {}).items():
            if host_of(key.url) == host:
                state.site_chrome = chrome
        return changed

    @staticmethod
    def _volatilities(session: Session, page_ids: list[int]) -> dict[int, Volatility]:
        """What was learned to be volatile on these pages."""
        found: dict[int, tuple[set[str], set[tuple[str, str]]]] = {}
        for chunk in _chunks(page_ids, 500):
            for line in session.scalars(
                select(VolatileLine).where(
                    VolatileLine.page_id.in_(chunk), VolatileLine.learned.is_(True)
                )
            ):
                signatures, after = found.setdefault(line.page_id, (set(), set()))
                if line.kind == "signature":
                    signatures.add(line.value)
                else:
                    after.add(_after_pair(line.value))
        return {
            page_id: Volatility(frozenset(signatures), frozenset(after))
            for page_id, (signatures, after) in found.items()
        }

    def mark_listed(self, target_id: int, urls: Iterable[str], when: datetime) -> None:
        """Record that these article URLs were seen on their target's listing at ``when``."""
        url_list = list(urls)
        if not url_list:
            return
        with self.session() as session, session.begin():
            session.execute(
                update(Page)
                .where(Page.target_id == target_id, Page.url.in_(url_list))
                .values(last_listed_at=when)
            )

    # --- recording captures ------------------------------------------------------

    def _compress(self, body: bytes) -> tuple[str, bytes]:
        packed = self._compressor.compress(body)
        if len(packed) < len(body):
            return "zstd", packed
        return "none", body

    def record(
        self,
        observations: Sequence[Observation],
        states: dict[PageKey, PageState],
        contexts: dict[str, Context] | None = None,
    ) -> list[RecordedCapture]:
        """Record a batch of observations in one transaction; updates ``states`` in place.

        Each observation is decided by :func:`monitor.events.decide` (new version or not,
        which event), then its capture, body, version and event rows are written. On any
        failure the whole batch rolls back, in the database and in ``states``.
        """
        if not observations:
            return []
        with self.session() as session, session.begin():
            return self._record(session, observations, states, contexts or {})

    def _record(
        self,
        session: Session,
        observations: Sequence[Observation],
        states: dict[PageKey, PageState],
        contexts: dict[str, Context],
    ) -> list[RecordedCapture]:
        now = utcnow()
        touched = {obs.fetch.key for obs in observations}
        snapshot = {key: replace(states[key]) for key in touched}
        try:
            self._add_pages(session, observations, states, now)
            planned = []
            for observation in observations:
                state = states[observation.fetch.key]
                context = contexts.get(observation.fetch.key.target, DEFAULT_CONTEXT)
                before = replace(state)
                decision = decide(observation, state, context, now)
                planned.append((observation, state, before, decision, context))
            return self._write(session, planned, now)
        except BaseException:
            # The transaction rolls back: so does what we advanced in memory.
            for key, saved in snapshot.items():
                states[key] = saved
            raise

    @staticmethod
    def _add_pages(
        session: Session,
        observations: Sequence[Observation],
        states: dict[PageKey, PageState],
        now: datetime,
    ) -> None:
        # Pages discovered in this batch (articles, further listing pages).
        for observation in observations:
            key = observation.fetch.key
            state = states[key]
            if state.page_id is None:
                page = session.scalar(
                    select(Page).where(Page.target_id == state.target_id, Page.url == key.url)
                )
                if page is None:
                    page = Page(
                        target_id=state.target_id, url=key.url, role=state.role, created_at=now
                    )
                    session.add(page)
                    session.flush()
                state.page_id = page.id

    def _write(
        self,
        session: Session,
        planned: list[tuple[Observation, PageState, PageState, Decision, Context]],
        now: datetime,
    ) -> list[RecordedCapture]:
        # Bodies, once per sha256: always for a new version or an error page, never for a
        # capture whose content was unchanged.
        wanted: dict[str, bytes] = {}
        keep: list[bool] = []
        for observation, _state, _before, decision, _context in planned:
            body = observation.fetch.body
            kept = observation.body_sha256 is not None and (
                decision.new_version
                or (
                    decision.outcome not in ("unchanged", "flipflop", "probe", "part")
                    and 0 < len(body) <= MAX_ERROR_BODY
                )
            )
            keep.append(kept)
            if kept and observation.body_sha256:
                wanted[observation.body_sha256] = body
        if wanted:
            present = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(wanted))))
            for sha, body in wanted.items():
                if sha not in present:
                    compression, data = self._compress(body)
                    session.add(
                        Blob(
                            sha256=sha,
                            size=len(body),
                            compression=compression,
                            data=data,
                            created_at=now,
                        )
                    )

        captures: list[Capture] = []
        for (observation, state, _before, decision, _context), kept in zip(
            planned, keep, strict=True
        ):
            fetch = observation.fetch
            assert state.page_id is not None
            captures.append(
                Capture(
                    page_id=state.page_id,
                    started_at=fetch.started_at,
                    duration_ms=fetch.duration_ms,
                    requested_url=fetch.requested_url,
                    final_url=fetch.final_url,
                    redirects=fetch.redirects,
                    status=fetch.status,
                    error=fetch.error,
                    headers=fetch.headers,
                    request_headers=fetch.request_headers,
                    protocol=fetch.protocol,
                    body_size=len(fetch.body) if fetch.status is not None else None,
                    body_sha256=observation.body_sha256,
                    body_stored=kept,
                    encoding=observation.encoding,
                    content_sha256=observation.content_sha256,
                    quality=observation.quality,
                    outcome=decision.outcome,
                    note=observation.note
                    if observation.kind == "ok"
                    else (
                        f"{observation.kind}: {observation.note}"
                        if observation.note
                        else observation.kind
                    ),
                )
            )
        session.add_all(captures)
        session.flush()

        results: list[RecordedCapture] = []
        page_updates: dict[int, dict[str, Any]] = {}
        for index, (observation, state, before, decision, context) in enumerate(planned):
            capture = captures[index]
            fetch = observation.fetch
            assert state.page_id is not None
            recorded = RecordedCapture(
                key=fetch.key,
                page_id=state.page_id,
                capture_id=capture.id,
                outcome=decision.outcome,
                status=fetch.status,
                error=fetch.error or observation.note,
                purpose=fetch.purpose,
            )
            results.append(recorded)
            row = page_updates.setdefault(state.page_id, {"id": state.page_id})
            if state.role == "article":
                row["next_due_at"] = state.next_due_at  # aging articles; roots: the daemon
            row.update(
                last_checked_at=now,
                state=state.state,
                removal_pending=state.removal_pending,
                failing_since=state.failing_since,
                consecutive_failures=state.consecutive_failures,
            )
            if (
                observation.outcome_hint != "error"
                and decision.outcome not in ("probe", "part")
                and observation.body_sha256 is not None  # a 304 keeps what we had
            ):
                state.last_body_sha256 = observation.body_sha256
                state.last_extract_key = observation.extract_key
                if observation.region:
                    state.content_region = observation.region
                state.etag = fetch.headers.get("etag")
                state.last_modified = fetch.headers.get("last-modified")
                row.update(
                    last_body_sha256=observation.body_sha256,
                    last_extract_key=observation.extract_key,
                    content_region=state.content_region,
                    etag=state.etag,
                    last_modified=state.last_modified,
                )
            previous = None
            if decision.new_version:
                previous_id = state.last_version_id
                version = Version(
                    page_id=state.page_id,
                    capture_id=capture.id,
                    seq=state.last_version_seq + 1,
                    captured_at=fetch.started_at,
                    content_sha256=observation.content_sha256 or "",
                    title=observation.title,
                    text=observation.text or "",
                    links=[list(link) for link in observation.links],
                    images=[list(image) for image in observation.images],
                )
                session.add(version)
                session.flush()
                if context.learn_site and state.role in ("page", "article"):
                    self._site_lines(session, state.page_id, fetch.key.url, observation)
                if previous_id is not None:
                    previous = session.get(Version, previous_id)
                state.last_version_id, state.last_version_seq = version.id, version.seq
                state.last_content_sha256 = observation.content_sha256
                if observation.content_sha256:
                    state.recent_hashes = (*state.recent_hashes, observation.content_sha256)[-20:]
                recorded.version_id, recorded.version_seq = version.id, version.seq
                row.update(last_version_id=version.id)
            if decision.outcome == "new" and previous is not None and observation.compared:
                self._observe_volatility(session, state, previous, observation, context, now)
            elif decision.outcome in ("unchanged", "flipflop") and state.volatile_streaks:
                # A capture where nothing changed breaks every streak.
                session.execute(
                    update(VolatileLine)
                    .where(VolatileLine.page_id == state.page_id, VolatileLine.learned.is_(False))
                    .values(streak=0, updated_at=now)
                )
                state.volatile_streaks = {}
            if decision.outcome in ("new", "flipflop", "unchanged"):
                row["compare_sha256"] = state.last_content_sha256
            if decision.event is not None:
                change = self._event(
                    session, observation, state, before, decision, context, previous, capture, now
                )
                recorded.change_id = change.id
                recorded.event = change.kind
                recorded.significance = change.significance
                recorded.summary = change.summary
                recorded.alert = bool(change.features.get("alert", True))
        if page_updates:
            session.execute(update(Page), list(page_updates.values()))
        return results

    def _observe_volatility(
        self,
        session: Session,
        state: PageState,
        previous: Version,
        observation: Observation,
        context: Context,
        now: datetime,
    ) -> None:
        """Count, per line, the captures in a row that changed it; learn it at the threshold.

        A line that changed in each of the last ``volatile_after`` captures (a counter, a
        rotating quote) is learned as noise on this page, and the page's compare hash is
        re-based so the next capture is judged without it.
        """
        from monitor import site_boilerplate as site
        from monitor import volatility
        from monitor.process import compared_lines, stored_hash

        learned_before = state.volatility or volatility.NONE
        before_lines = compared_lines(
            previous.text.splitlines(), (), learned_before, state.site_chrome or site.NONE
        )[0]
        found = volatility.differing(before_lines, observation.compared or [])
        candidates: dict[str, tuple[str, str]] = {}
        for value in found.signatures:
            candidates[f"signature{SEPARATOR}{value}"] = ("signature", value)
        for before, after in found.after:
            value = _after_value(before, after)
            candidates[f"after{SEPARATOR}{value}"] = ("after", value)
        old = state.volatile_streaks
        new_streaks: dict[str, int] = {}
        graduated: list[tuple[str, str]] = []
        for key, (kind, value) in candidates.items():
            streak = old.get(key, 0) + 1
            if streak >= context.volatile_after:
                graduated.append((kind, value))
            else:
                new_streaks[key] = streak
            row = session.scalar(
                select(VolatileLine).where(
                    VolatileLine.page_id == state.page_id,
                    VolatileLine.kind == kind,
                    VolatileLine.value == value,
                )
            )
            if row is None:
                row = VolatileLine(
                    page_id=state.page_id,
                    kind=kind,
                    value=value,
                    lines=0,
                    source="observed",
                    created_at=now,
                )
                session.add(row)
            row.streak, row.updated_at = streak, now
            row.learned = streak >= context.volatile_after
        stale = [key for key in old if key not in candidates]
        if stale:
            session.execute(
                update(VolatileLine)
                .where(VolatileLine.page_id == state.page_id, VolatileLine.learned.is_(False))
                .where(VolatileLine.value.in_([key.partition(SEPARATOR)[2] for key in stale]))
                .values(streak=0, updated_at=now)
            )
        state.volatile_streaks = new_streaks
        if graduated:
            merged = learned_before.merged(
                volatility.Volatility(
                    frozenset(v for k, v in graduated if k == "signature"),
                    frozenset(_after_pair(v) for k, v in graduated if k == "after"),
                )
            )
            state.volatility = merged
            state.last_content_sha256 = stored_hash(
                observation.title,
                observation.text or "",
                observation.images,
                merged,
                state.site_chrome,
            )
            logger.info(
                "learned %d volatile line(s) on page %s from its last captures",
                len(graduated),
                state.page_id,
            )

    def _event(
        self,
        session: Session,
        observation: Observation,
        state: PageState,
        before: PageState,
        decision: Decision,
        context: Context,
        previous: Version | None,
        capture: Capture,
        now: datetime,
    ) -> Change:
        """Write one event row, with its significance and the features behind it."""
        from monitor import site_boilerplate as site
        from monitor import volatility
        from monitor.process import compared_lines
        from monitor.significance import score

        kind = decision.event or "changed"
        learned = state.volatility or volatility.NONE
        before_lines = (
            compared_lines(previous.text.splitlines(), (), learned, state.site_chrome or site.NONE)[
                0
            ]
            if previous
            else []
        )
        after_lines = observation.compared or []
        last = previous or (
            session.get(Version, state.last_version_id) if state.last_version_id else None
        )
        title_before = previous.title if previous else None
        significance = score(
            kind,
            before=before_lines if kind in ("changed", "restored") else [],
            after=after_lines,
            title_before=title_before if previous else observation.title,
            title_after=observation.title,
            links_before=[tuple(link) for link in previous.links] if previous else [],
            links_after=observation.links,
            images_before=[tuple(image) for image in previous.images or ()] if previous else [],
            images_after=observation.images,
            role=observation.fetch.role,
            url=observation.fetch.key.url,
            watch_terms=context.watch_terms,
            extra=decision.features,
        )
        if kind in ("removed", "error"):
            # The page's own title, not the "Page not found" of the error page.
            title = (last.title if last else None) or observation.fetch.key.url
        else:
            title = observation.title or (last.title if last else None) or observation.fetch.key.url
        summary = _summary(kind, title, significance.features, observation)
        # Below the target's minimum an event is kept for the record but not alerted.
        alert = significance.score >= context.min_significance
        significance.features["alert"] = alert
        change = Change(
            uid=str(uuid.uuid4()),
            page_id=state.page_id,
            kind=kind,
            detected_at=now,
            capture_id=capture.id,
            from_version_id=previous.id
            if previous
            else (
                before.last_version_id
                if kind in ("removed", "error", "restored", "recovered")
                else None
            ),
            to_version_id=state.last_version_id
            if decision.new_version or kind in ("restored", "recovered")
            else None,
            significance=significance.score,
            features=significance.features,
            summary=summary,
        )
        session.add(change)
        session.flush()
        if alert:
            from monitor.notify.routing import channels_for

            # The outbox: written in this same transaction, so no event lacks its alerts.
            queue_deliveries(
                session, change, channels_for(context.routes, kind, significance.score), now
            )
            session.flush()
        return change

    # --- reading -----------------------------------------------------------------

    def resolve(self, name_or_url: str) -> list[Page]:
        """Pages of the target named ``name_or_url``, or the page(s) with that URL."""
        with self.session() as session:
            target = session.scalar(select(Target).where(Target.name == name_or_url))
            if target is not None:
                return list(
                    session.scalars(
                        select(Page).where(Page.target_id == target.id).order_by(Page.id)
                    )
                )
            pages = list(session.scalars(select(Page).where(Page.url == name_or_url)))
            if not pages:
                normalized = name_or_url.rstrip("/")
                pages = list(
                    session.scalars(
                        select(Page).where(Page.url.in_([normalized, normalized + "/"]))
                    )
                )
        if not pages:
            raise UnknownTargetError(f"no target or page matches {name_or_url!r}")
        return pages

    def page(self, name_or_url: str) -> Page:
        """The one page meant by a target name or URL (a listing target: its listing page)."""
        pages = self.resolve(name_or_url)
        return next((page for page in pages if page.role in ("page", "listing")), pages[0])

    def versions(self, page_id: int) -> list[VersionView]:
        with self.session() as session:
            rows = session.execute(
                select(Version, Capture)
                .join(Capture, Capture.id == Version.capture_id)
                .where(Version.page_id == page_id)
                .order_by(Version.seq)
            ).all()
        return [
            VersionView(
                id=version.id,
                page_id=version.page_id,
                seq=version.seq,
                captured_at=version.captured_at,
                title=version.title,
                text=version.text,
                content_sha256=version.content_sha256,
                capture_id=capture.id,
                status=capture.status,
                final_url=capture.final_url,
                body_sha256=capture.body_sha256,
                links=version.links,
                images=version.images or [],
            )
            for version, capture in rows
        ]

    def captures(self, page_id: int, limit: int | None = None) -> list[Capture]:
        with self.session() as session:
            query = (
                select(Capture)
                .where(Capture.page_id == page_id)
                .order_by(Capture.started_at.desc(), Capture.id.desc())
            )
            if limit:
                query = query.limit(limit)
            return list(session.scalars(query))

    def events(self, page_id: int) -> list[Change]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(Change)
                    .where(Change.page_id == page_id)
                    .order_by(Change.detected_at, Change.id)
                )
            )

    def version_fetch(self, version_id: int) -> FetchResult | None:
        """The capture that made a version, as a fetch again (its stored body), to extract
        it anew under changed rules; None when its body was not kept."""
        with self.session() as session:
            row = session.execute(
                select(Capture, Page.url, Target.name, Page.role)
                .join(Version, Version.capture_id == Capture.id)
                .join(Page, Page.id == Capture.page_id)
                .join(Target, Target.id == Page.target_id)
                .where(Version.id == version_id)
            ).first()
        if row is None:
            return None
        capture, url, target, role = row
        if not capture.body_stored or not capture.body_sha256:
            return None
        try:
            body = self.body(capture.body_sha256)
        except StorageError:
            return None
        return FetchResult(
            key=PageKey(target, url),
            role=role,  # type: ignore[arg-type]
            requested_url=capture.requested_url,
            started_at=capture.started_at,
            duration_ms=capture.duration_ms,
            final_url=capture.final_url,
            status=capture.status,
            headers=dict(capture.headers or {}),
            body=body,
        )

    def body(self, sha256: str) -> bytes:
        """The exact bytes of a stored body."""
        with self.session() as session:
            blob = session.get(Blob, sha256)
        if blob is None:
            raise StorageError(f"no stored body with sha256 {sha256}")
        if blob.compression == "zstd":
            return self._decompressor.decompress(blob.data, max_output_size=blob.size)
        return blob.data

    def counts(self) -> dict[str, int]:
        with self.session() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Target, Page, Capture, Blob, Version, Change)
            }


def _summary(kind: str, title: str, features: dict[str, Any], observation: Observation) -> str:
    """One line saying what happened, for alerts and listings."""
    if kind == "removed":
        reason = features.get("reason") or features.get("how") or "gone"
        return f"Removed: {title} ({reason})"
    if kind == "restored":
        same = "same content as before" if features.get("same_content") else "with new content"
        return f"Restored: {title} ({same})"
    if kind == "added":
        return f"Added: {title}"
    if kind == "error":
        since = features.get("failing_since")
        return f"Error: {title} has failed since {since} ({features.get('reason')})"
    if kind == "recovered":
        return f"Recovered: {title}"
    if features.get("title_only"):
        return f"Title changed: {title}"
    added, removed = features.get("words_added", 0), features.get("words_removed", 0)
    pictures = [
        f"{len(features[key])} image{'s' if len(features[key]) != 1 else ''} {label}"
        for key, label in (("images_removed", "removed"), ("images_added", "added"))
        if features.get(key)
    ]
    if pictures and not added and not removed:
        return f"Changed: {title} ({', '.join(pictures)})"
    extra = f"; {', '.join(pictures)}" if pictures else ""
    return f"Changed: {title} (+{added} / -{removed} words{extra})"
