"""The capture store: targets, pages, captures, bodies, versions, listings, learning.

It writes what it is given and answers queries; deciding what a capture means (events,
significance, routing, learning) happens before it, in a pure recording plan
(:func:`monitor.detect.plan.plan_batch`). :meth:`Store.write` writes one plan in one
transaction (:mod:`monitor.storage.plans`): a process killed mid-batch leaves the
database as it was before the batch, never a capture without its version or a version
without its body.

Why one module of this size: the one class that reads the database for the check and
the CLI, by table group (targets and pages, learning, site boilerplate, listings,
reading); its writes of captures are plans (:mod:`monitor.storage.plans`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any, Protocol

import zstandard
from sqlalchemy import Engine, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, aliased, sessionmaker

from monitor.exceptions import LockLostError, StorageError, UnknownTargetError, WriteConflictError
from monitor.recording import Plan, Written
from monitor.records import (
    FetchResult,
    ListedLinkState,
    PageKey,
    PageState,
    Rule,
    SiteChrome,
    SiteCounts,
    StoredVersion,
    Volatility,
    host_of,
    threshold,
)
from monitor.storage import db, readonly
from monitor.storage.models import (
    Blob,
    Capture,
    Change,
    DaemonLock,
    LearningNote,
    ListedLink,
    Page,
    SiteBoilerplate,
    SiteLine,
    Target,
    Version,
    VolatileLine,
)
from monitor.storage.plans import write_plan
from monitor.timefmt import utcnow
from monitor.vocab import EventKind, PageStatus, Role


def rule_of(line: VolatileLine) -> Rule:
    """A stored ``volatile_lines`` row as the volatility rule it holds."""
    samples = line.samples or {}
    return Rule(
        line.kind,
        line.value,
        line.streak,
        line.learned,
        frozenset(samples.get("seen", ())),
        frozenset(samples.get("known", ())),
    )


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


logger = logging.getLogger(__name__)


class TargetSpec(Protocol):
    """A target as the store keeps it (the config's ``Target`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def enabled(self) -> bool: ...


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

    def __init__(self, url: str, *, upgrade: bool = True, read_only: bool = False) -> None:
        """``read_only``: open a SQLite file that cannot be written for reading (it must
        be at the current schema); see :mod:`monitor.storage.readonly`."""
        self.url = url
        self.read_only = read_only
        try:
            self.engine: Engine = readonly.create(url) if read_only else db.create(url)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database {url!r}: {exc}") from exc
        if read_only:
            readonly.ensure_readable(self.engine, url)
        elif upgrade:
            db.ensure_current(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The daemon's fence (monitor.storage.lock): the holder its writes must still
        # be, checked in each write's transaction; set once the fence fails.
        self.fence: str | None = None
        self.fence_lost = threading.Event()
        self._compressor = zstandard.ZstdCompressor(level=3)
        self._decompressor = zstandard.ZstdDecompressor()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
            except IntegrityError as exc:
                session.rollback()
                raise WriteConflictError(f"database error: {db.describe(exc)}") from exc
            except SQLAlchemyError as exc:
                session.rollback()
                raise StorageError(f"database error: {db.describe(exc)}") from exc

    @contextmanager
    def writing(self, *, fenced: bool = True) -> Iterator[Session]:
        """A write transaction, serialised with the other writers from its start.

        On SQLite it begins IMMEDIATE (the write lock first), so what it reads before
        writing (is this body or page stored yet?) cannot change under it; a second
        process waits for the lock instead of colliding. In a daemon (``fence`` set) it
        first checks that the scheduler lock still names this daemon, in the same
        transaction (on PostgreSQL the row is share-locked until commit, so no one takes
        the lock over meanwhile): a daemon that lost its lock writes nothing
        (:class:`LockLostError`).
        """
        with self.session() as session, session.begin():
            if self.engine.dialect.name == "sqlite":
                session.execute(text("BEGIN IMMEDIATE"))
            if fenced and self.fence is not None:
                holder = session.scalar(
                    select(DaemonLock.holder).where(DaemonLock.id == 1).with_for_update(read=True)
                )
                if holder != self.fence:
                    self.fence_lost.set()
                    raise LockLostError(
                        "this `monitor run` lost the database's scheduler lock "
                        f"(now held by {holder or 'nobody'}): not writing"
                    )
            yield session

    # --- targets and pages -------------------------------------------------------

    def sync_targets(self, targets: Sequence[TargetSpec]) -> dict[str, int]:
        """Create or update target rows (and their first page); returns name -> target id."""
        now = utcnow()
        ids: dict[str, int] = {}
        names = [t.name for t in targets]
        with self.session() as session, session.begin():
            existing: dict[str, Target] = {}
            for chunk in chunks(names, 500):
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
            for chunk in chunks(list(ids.values()), 500):
                roots.update(
                    (target_id, url)
                    for target_id, url in session.execute(
                        select(Page.target_id, Page.url).where(Page.target_id.in_(chunk))
                    )
                )
            missing = [t for t in targets if (ids[t.name], t.url) not in roots]
            # A URL that a listing already watches as one of its articles becomes the new
            # target's own page, history included: one page per URL, fetched once.
            adoptable: dict[str, Page] = {}
            if any(t.kind == "page" for t in missing):
                for chunk in chunks([t.url for t in missing if t.kind == "page"], 500):
                    for page in session.scalars(
                        select(Page)
                        .where(Page.url.in_(chunk), Page.role == Role.ARTICLE)
                        .order_by(Page.id)
                    ):
                        adoptable.setdefault(page.url, page)
            for target in missing:
                adopted = adoptable.pop(target.url, None) if target.kind == "page" else None
                if adopted is not None:
                    logger.info(
                        "%s: %s was an article of another target; it is now this target's "
                        "page, with its history",
                        target.name,
                        target.url,
                    )
                    adopted.target_id, adopted.role = ids[target.name], Role.PAGE
                    continue
                role = Role.LISTING if target.kind == "listing" else Role.PAGE
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

    def states(
        self, target_ids: Iterable[int], pages: Iterable[int] = ()
    ) -> dict[PageKey, PageState]:
        """The current state of every page of these targets (and of the pages with these
        ids, watched by them but kept by another target), for deciding new versions."""
        ids = list(target_ids)
        extra = sorted(set(pages))
        if not ids and not extra:
            return {}
        with self.session() as session:
            query = (
                select(Page, Target.name, Version.seq, Version.content_sha256)
                .join(Target, Target.id == Page.target_id)
                .outerjoin(Version, Version.id == Page.last_version_id)
            )
            rows = list(session.execute(query.where(Page.target_id.in_(ids))).all()) if ids else []
            seen = {page.id for page, *_rest in rows}
            for chunk in chunks(extra, 500):
                rows += [
                    row
                    for row in session.execute(query.where(Page.id.in_(chunk))).all()
                    if row[0].id not in seen
                ]
            page_ids = [page.id for page, *_rest in rows]
            unversioned = [page.id for page, *_rest in rows if page.last_version_id is None]
            announced: set[int] = set()
            for chunk in chunks(unversioned, 500):
                announced.update(
                    session.scalars(
                        select(ListedLink.page_id).where(
                            ListedLink.page_id.in_(chunk), ListedLink.announce.is_(True)
                        )
                    )
                )
            recent: dict[int, list[str]] = {}
            rules: dict[int, dict[tuple[str, str], Rule]] = {}
            for chunk in chunks(page_ids, 500):
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
                    rule = rule_of(line)
                    rules.setdefault(line.page_id, {})[rule.key] = rule
        chrome = self.site_chromes({host_of(page.url) for page, *_rest in rows})
        states: dict[PageKey, PageState] = {}
        for page, target_name, seq, content_sha in rows:
            page_rules = rules.get(page.id, {})
            learned = Volatility()
            for rule in page_rules.values():
                learned = learned.merged(rule.volatility())
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
                document_meta=page.document_meta,
                next_due_at=page.next_due_at,
                created_at=page.created_at,
                last_checked_at=page.last_checked_at,
                recent_hashes=tuple(recent.get(page.id, ())[-20:]),
                volatility=learned,
                volatile_rules=page_rules,
                announce_added=page.id in announced,
                site_chrome=chrome.get(host_of(page.url)),
            )
        return states

    def stale_candidates(self, target_names: Iterable[str]) -> list[tuple[PageKey, PageState]]:
        """The active pages (own pages and listings) of these active targets that were
        checked before: whether each is stale is decided from its state
        (:func:`monitor.detect.events.stale`)."""
        names = sorted(set(target_names))
        found: list[tuple[PageKey, PageState]] = []
        with self.session() as session:
            for chunk in chunks(names, 500):
                for page, name in session.execute(
                    select(Page, Target.name)
                    .join(Target, Target.id == Page.target_id)
                    .where(
                        Target.name.in_(chunk),
                        Target.active.is_(True),
                        Page.state == PageStatus.ACTIVE,
                        Page.role.in_([Role.PAGE, Role.LISTING]),
                        Page.last_checked_at.is_not(None),
                    )
                    .order_by(Page.id)
                ):
                    found.append(
                        (
                            PageKey(name, page.url),
                            PageState(
                                page_id=page.id,
                                target_id=page.target_id,
                                role=Role(page.role),
                                state=page.state,
                                last_version_id=page.last_version_id,
                                consecutive_failures=page.consecutive_failures,
                                failing_since=page.failing_since,
                                last_checked_at=page.last_checked_at,
                            ),
                        )
                    )
        return found

    def host_versions(self, host: str) -> list[tuple[int, StoredVersion]]:
        """The last version of every page (own pages and articles) of a site, by page id:
        what a change of the site's known chrome re-bases."""
        with self.session() as session:
            pages = [
                (page_id, version_id)
                for page_id, url, version_id in session.execute(
                    select(Page.id, Page.url, Page.last_version_id).where(
                        Page.last_version_id.is_not(None), Page.role.in_([Role.PAGE, Role.ARTICLE])
                    )
                )
                if version_id is not None and host_of(url) == host
            ]
        versions = self.previous_versions(version_id for _page, version_id in pages)
        return [
            (page_id, versions[version_id])
            for page_id, version_id in pages
            if version_id in versions
        ]

    def learned_volatility(self, page_ids: Iterable[int]) -> dict[int, Volatility]:
        """What was learned to be volatile on these pages."""
        found: dict[int, Volatility] = {}
        with self.session() as session:
            for chunk in chunks(sorted(set(page_ids)), 500):
                for line in session.scalars(
                    select(VolatileLine).where(
                        VolatileLine.page_id.in_(chunk), VolatileLine.learned.is_(True)
                    )
                ):
                    learned = found.get(line.page_id, Volatility())
                    found[line.page_id] = learned.merged(rule_of(line).volatility())
        return found

    def volatile_lines(self, page_id: int) -> list[VolatileLine]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(VolatileLine)
                    .where(VolatileLine.page_id == page_id)
                    .order_by(VolatileLine.id)
                )
            )

    def learning_notes(self, page_id: int) -> list[LearningNote]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(LearningNote)
                    .where(LearningNote.page_id == page_id)
                    .order_by(LearningNote.noted_at, LearningNote.id)
                )
            )

    # --- site boilerplate ---------------------------------------------------------

    def site_chromes(self, hosts: Iterable[str]) -> dict[str, SiteChrome]:
        """What was learned to be chrome on each of these sites."""
        wanted = sorted(set(hosts))
        found: dict[str, tuple[set[str], set[str]]] = {}
        with self.session() as session:
            for chunk in chunks(wanted, 500):
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
            for chunk in chunks(sorted(counts.block_pages), 200):
                for block, line in session.execute(
                    select(SiteLine.block, SiteLine.line)
                    .distinct()
                    .where(SiteLine.host == host, SiteLine.block.in_(chunk))
                ):
                    counts.block_lines.setdefault(block, set()).add(line)
            for chunk in chunks(sorted(set(candidates)), 200):
                for line, page_id in session.execute(
                    select(SiteLine.line, SiteLine.page_id).where(
                        SiteLine.host == host, SiteLine.line.in_(chunk)
                    )
                ):
                    counts.candidates.setdefault(line, set()).add(page_id)
        return counts

    def site_boilerplate(self, host: str | None = None) -> list[SiteBoilerplate]:
        """What was learned per site (one site, or every site), for `monitor volatility`."""
        with self.session() as session:
            query = select(SiteBoilerplate).order_by(
                SiteBoilerplate.host, SiteBoilerplate.kind, SiteBoilerplate.id
            )
            if host is not None:
                query = query.where(SiteBoilerplate.host == host)
            return list(session.scalars(query))

    # --- listings ------------------------------------------------------------------

    def listed_links(self, target_ids: Iterable[int]) -> dict[int, dict[str, ListedLinkState]]:
        """Every link these listing targets ever showed, by target id and URL."""
        result: dict[int, dict[str, ListedLinkState]] = {}
        with self.session() as session:
            for chunk in chunks(list(target_ids), 500):
                for link, owner, role in session.execute(
                    select(ListedLink, Target.name, Page.role)
                    .outerjoin(Page, Page.id == ListedLink.page_id)
                    .outerjoin(Target, Target.id == Page.target_id)
                    .where(ListedLink.target_id.in_(chunk))
                ):
                    page = PageKey(owner, link.url) if link.page_id is not None else None
                    result.setdefault(link.target_id, {})[link.url] = ListedLinkState(
                        url=link.url,
                        last_listed_at=link.last_listed_at,
                        page=page,
                        page_id=link.page_id,
                        role=Role(role or Role.ARTICLE),
                        lastmod=link.lastmod,
                    )
        return result

    def listers(self, target_ids: Iterable[int]) -> dict[PageKey, list[str]]:
        """Pages of these targets that other targets' listings also watch: key -> names."""
        lister = aliased(Target)
        result: dict[PageKey, list[str]] = {}
        with self.session() as session:
            for chunk in chunks(list(target_ids), 500):
                for owner, url, name in session.execute(
                    select(Target.name, Page.url, lister.name)
                    .select_from(ListedLink)
                    .join(Page, Page.id == ListedLink.page_id)
                    .join(Target, Target.id == Page.target_id)
                    .join(lister, lister.id == ListedLink.target_id)
                    .where(Page.target_id.in_(chunk), ListedLink.target_id != Page.target_id)
                    .order_by(ListedLink.id)
                ):
                    result.setdefault(PageKey(owner, url), []).append(name)
        return result

    def pages_at(self, urls: Iterable[str]) -> dict[str, tuple[PageKey, int]]:
        """The page already watching each of these URLs (the oldest, when several do)."""
        found: dict[str, tuple[PageKey, int]] = {}
        with self.session() as session:
            for chunk in chunks(sorted(set(urls)), 500):
                for name, url, page_id in session.execute(
                    select(Target.name, Page.url, Page.id)
                    .join(Target, Target.id == Page.target_id)
                    .where(Page.url.in_(chunk))
                    .order_by(Page.id)
                ):
                    found.setdefault(url, (PageKey(name, url), page_id))
        return found

    # --- recording captures ------------------------------------------------------

    def write(self, plan: Plan) -> Written:
        """Write a recording plan in one transaction; returns the ids given to its rows.

        On any failure nothing of the plan is written (:class:`StorageError`).
        """
        with self.writing() as session:
            return write_plan(session, plan, self.compress)

    def previous_versions(self, version_ids: Iterable[int]) -> dict[int, StoredVersion]:
        """The versions a batch's decisions read (:func:`monitor.detect.plan.versions_needed`),
        by id, in one query per 500."""
        found: dict[int, StoredVersion] = {}
        with self.session() as session:
            for chunk in chunks(sorted(set(version_ids)), 500):
                for version_id, title, text, links, images in session.execute(
                    select(
                        Version.id, Version.title, Version.text, Version.links, Version.images
                    ).where(Version.id.in_(chunk))
                ):
                    found[version_id] = StoredVersion(
                        version_id,
                        title,
                        text,
                        [(link[0], link[1]) for link in links or ()],
                        [(image[0], image[1]) for image in images or ()],
                    )
        return found

    def recent_pages(
        self, hosts: Iterable[str], since: datetime
    ) -> list[tuple[int, str, str, int, str | None, str]]:
        """Pages of ``hosts`` (``host[:port]``) announced as new (an ``added`` event) and
        first seen since ``since``, active, with a version, that came from no other URL:
        ``(page id, target name, url, last version id, its title, its text)``, the newest
        first (at most 2,000)."""
        prefixes = [
            f"{scheme}://{host}/" for host in sorted(set(hosts)) for scheme in ("http", "https")
        ]
        if not prefixes:
            return []
        with self.session() as session:
            rows = session.execute(
                select(Page.id, Target.name, Page.url, Version.id, Version.title, Version.text)
                .join(Target, Target.id == Page.target_id)
                .join(Version, Version.id == Page.last_version_id)
                .where(
                    Page.created_at >= since,
                    Page.state == PageStatus.ACTIVE,
                    Page.moved_from_id.is_(None),
                    Page.role.in_((Role.PAGE, Role.ARTICLE)),
                    select(Change.id)
                    .where(Change.page_id == Page.id, Change.kind == EventKind.ADDED)
                    .exists(),
                    or_(*(Page.url.startswith(prefix, autoescape=True) for prefix in prefixes)),
                )
                .order_by(Page.created_at.desc())
                .limit(2000)
            ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def note_warc(self, locations: dict[int, str]) -> None:
        """Where each capture's WARC records were written (capture id -> file#offset)."""
        if not locations:
            return
        with self.writing() as session:
            session.execute(
                update(Capture),
                [{"id": capture_id, "warc_record": at} for capture_id, at in locations.items()],
            )

    def compress(self, body: bytes) -> tuple[str, bytes]:
        """A body as stored: zstd when that is smaller."""
        packed = self._compressor.compress(body)
        if len(packed) < len(body):
            return "zstd", packed
        return "none", body

    # --- reading -----------------------------------------------------------------

    def resolve(self, name_or_url: str) -> list[Page]:
        """Pages of the target named ``name_or_url``, or the page(s) with that URL."""
        with self.session() as session:
            target = session.scalar(select(Target).where(Target.name == name_or_url))
            if target is not None:
                own = list(
                    session.scalars(
                        select(Page).where(Page.target_id == target.id).order_by(Page.id)
                    )
                )
                # Then the pages of other targets this listing watches (one page per URL).
                shared = session.scalars(
                    select(Page)
                    .join(ListedLink, ListedLink.page_id == Page.id)
                    .where(ListedLink.target_id == target.id, Page.target_id != target.id)
                    .order_by(Page.id)
                )
                return own + list(shared)
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

    def page_by_id(self, page_id: int) -> Page | None:
        with self.session() as session:
            return session.get(Page, page_id)

    def page(self, name_or_url: str) -> Page:
        """The one page meant by a target name or URL (a listing target: its listing page)."""
        pages = self.resolve(name_or_url)
        return next((page for page in pages if page.role in (Role.PAGE, Role.LISTING)), pages[0])

    def versions(self, page_id: int, seqs: Collection[int] | None = None) -> list[VersionView]:
        """A page's versions in order (only those numbered ``seqs`` when given)."""
        query = (
            select(Version, Capture)
            .join(Capture, Capture.id == Version.capture_id)
            .where(Version.page_id == page_id)
            .order_by(Version.seq)
        )
        if seqs is not None:
            query = query.where(Version.seq.in_(list(seqs)))
        with self.session() as session:
            rows = session.execute(query).all()
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
