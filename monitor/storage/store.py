"""The capture store: the one place that reads and writes the database.

Writes come in batches, each one transaction: a process killed mid-batch leaves the
database as it was before the batch, never a capture without its version or a version
without its body.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

import zstandard
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased, sessionmaker

from monitor import config as cfg
from monitor.detect import volatility
from monitor.detect.events import Context, Decision, decide
from monitor.detect.site_boilerplate import SiteChrome, SiteCounts, host_of
from monitor.detect.volatility import Rule, Volatility
from monitor.exceptions import StorageError, UnknownTargetError
from monitor.records import (
    FetchResult,
    ListedLinkState,
    Observation,
    PageKey,
    PageState,
    RecordedCapture,
)
from monitor.storage import db
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
    Target,
    Version,
    VolatileLine,
    utcnow,
)

DEFAULT_CONTEXT = Context()


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


def _samples(rule: Rule) -> dict[str, Any] | None:
    if rule.kind != "after" or not (rule.seen or rule.known):
        return None
    return {"seen": sorted(rule.seen), "known": sorted(rule.known)}


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
            missing = [t for t in targets if (ids[t.name], t.url) not in roots]
            # A URL that a listing already watches as one of its articles becomes the new
            # target's own page, history included: one page per URL, fetched once.
            adoptable: dict[str, Page] = {}
            if any(t.kind == "page" for t in missing):
                for chunk in _chunks([t.url for t in missing if t.kind == "page"], 500):
                    for page in session.scalars(
                        select(Page)
                        .where(Page.url.in_(chunk), Page.role == "article")
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
                    adopted.target_id, adopted.role = ids[target.name], "page"
                    continue
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
            for chunk in _chunks(extra, 500):
                rows += [
                    row
                    for row in session.execute(query.where(Page.id.in_(chunk))).all()
                    if row[0].id not in seen
                ]
            page_ids = [page.id for page, *_rest in rows]
            unversioned = [page.id for page, *_rest in rows if page.last_version_id is None]
            announced: set[int] = set()
            for chunk in _chunks(unversioned, 500):
                announced.update(
                    session.scalars(
                        select(ListedLink.page_id).where(
                            ListedLink.page_id.in_(chunk), ListedLink.announce.is_(True)
                        )
                    )
                )
            recent: dict[int, list[str]] = {}
            rules: dict[int, dict[tuple[str, str], Rule]] = {}
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
                    rule = rule_of(line)
                    rules.setdefault(line.page_id, {})[rule.key] = rule
        chrome = self.site_chromes({host_of(page.url) for page, *_rest in rows})
        states: dict[PageKey, PageState] = {}
        for page, target_name, seq, content_sha in rows:
            page_rules = rules.get(page.id, {})
            learned = volatility.NONE
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
                next_due_at=page.next_due_at,
                created_at=page.created_at,
                recent_hashes=tuple(recent.get(page.id, ())[-20:]),
                volatility=learned,
                volatile_rules=page_rules,
                announce_added=page.id in announced,
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
        self,
        state: PageState,
        learned: Volatility,
        source: str,
        last_text: str | None,
        capture_id: int | None = None,
    ) -> None:
        """Store what was learned to be volatile on a page, and re-base its compare hash.

        The last version's text is re-masked with the new knowledge, so the next capture
        is compared under the same rules as the version it is compared with. A note on
        the page's timeline says what was learned.
        """
        from monitor.detect.observe import stored_hash

        if not learned or state.page_id is None:
            return
        now = utcnow()
        current = state.volatility or volatility.NONE
        merged = current.merged(learned)
        rules: list[Rule] = [
            Rule("signature", value, learned=True)
            for value in sorted(learned.signatures - current.signatures)
        ]
        for before, after in sorted(learned.after):
            lines = frozenset(
                line for b, a, line in learned.known if (b, a) == (before, after)
            ) - frozenset(line for b, a, line in current.known if (b, a) == (before, after))
            if (before, after) in current.after and not lines:
                continue
            previous = state.volatile_rules.get(("after", volatility.block_key(before, after)))
            known = lines | (previous.known if previous is not None else frozenset())
            rules.append(Rule("after", volatility.block_key(before, after), 0, True, known=known))
        if not rules:
            return
        with self.session() as session, session.begin():
            self._save_rules(session, state, rules, source, now)
            self._note(session, state.page_id, capture_id, "learned", source, rules, now)
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

    @staticmethod
    def _save_rules(
        session: Session, state: PageState, rules: Sequence[Rule], source: str, now: datetime
    ) -> None:
        """Insert or update the rows of these rules (one per page, kind and value)."""
        assert state.page_id is not None
        for rule in rules:
            row = session.scalar(
                select(VolatileLine).where(
                    VolatileLine.page_id == state.page_id,
                    VolatileLine.kind == rule.kind,
                    VolatileLine.value == rule.value,
                )
            )
            if row is None:
                row = VolatileLine(
                    page_id=state.page_id,
                    kind=rule.kind,
                    value=rule.value,
                    lines=1 if rule.kind == "signature" else 0,
                    source=source,
                    created_at=now,
                )
                session.add(row)
            elif rule.learned and not row.learned:
                row.source = source
            row.streak, row.learned, row.updated_at = rule.streak, rule.learned, now
            row.samples = _samples(rule)
            if rule.kind == "after":
                row.lines = len(rule.known)
            state.volatile_rules[rule.key] = rule

    @staticmethod
    def _note(
        session: Session,
        page_id: int,
        capture_id: int | None,
        action: str,
        source: str,
        rules: Sequence[Rule],
        now: datetime,
        lines: dict[tuple[str, str], tuple[str, ...]] | None = None,
    ) -> None:
        """A note on the page's timeline: what was learned (or forgotten), and from what."""
        session.add(
            LearningNote(
                page_id=page_id,
                capture_id=capture_id,
                noted_at=now,
                action=action,
                source=source,
                rules=[volatility.rule_json(rule, (lines or {}).get(rule.key)) for rule in rules],
                summary=volatility.describe(action, source, rules, lines),
            )
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

    def learning_notes(self, page_id: int) -> list[LearningNote]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(LearningNote)
                    .where(LearningNote.page_id == page_id)
                    .order_by(LearningNote.noted_at, LearningNote.id)
                )
            )

    def reset_volatility(self, page_id: int) -> int:
        """Forget what was learned on a page; returns how many learned rules were removed.

        The page's compare hash is re-based on its last version with the built-in
        patterns only, so the next capture is compared without what was forgotten; a
        note on the timeline says so.
        """
        from sqlalchemy import delete

        from monitor.detect.observe import stored_hash

        with self.session() as session, session.begin():
            forgotten = [
                rule_of(line)
                for line in session.scalars(
                    select(VolatileLine).where(
                        VolatileLine.page_id == page_id, VolatileLine.learned.is_(True)
                    )
                )
            ]
            session.execute(delete(VolatileLine).where(VolatileLine.page_id == page_id))
            page = session.get(Page, page_id)
            if page is not None and page.last_version_id is not None:
                version = session.get(Version, page.last_version_id)
                if version is not None:
                    chrome = self.site_chromes([host_of(page.url)]).get(host_of(page.url))
                    page.compare_sha256 = stored_hash(
                        version.title, version.text, version.images, None, chrome
                    )
            if forgotten:
                self._note(session, page_id, None, "forgotten", "user", forgotten, utcnow())
            return len(forgotten)

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
        from monitor.detect.site_boilerplate import threshold

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

        from monitor.detect.site_boilerplate import rows

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
        from monitor.detect.observe import stored_hash

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
        found: dict[int, Volatility] = {}
        for chunk in _chunks(page_ids, 500):
            for line in session.scalars(
                select(VolatileLine).where(
                    VolatileLine.page_id.in_(chunk), VolatileLine.learned.is_(True)
                )
            ):
                learned = found.get(line.page_id, volatility.NONE)
                found[line.page_id] = learned.merged(rule_of(line).volatility())
        return found

    # --- listings ------------------------------------------------------------------

    def listed_links(self, target_ids: Iterable[int]) -> dict[int, dict[str, ListedLinkState]]:
        """Every link these listing targets ever showed, by target id and URL."""
        result: dict[int, dict[str, ListedLinkState]] = {}
        with self.session() as session:
            for chunk in _chunks(list(target_ids), 500):
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
                        role=role or "article",  # type: ignore[arg-type]
                    )
        return result

    def listers(self, target_ids: Iterable[int]) -> dict[PageKey, list[str]]:
        """Pages of these targets that other targets' listings also watch: key -> names."""
        lister = aliased(Target)
        result: dict[PageKey, list[str]] = {}
        with self.session() as session:
            for chunk in _chunks(list(target_ids), 500):
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
            for chunk in _chunks(sorted(set(urls)), 500):
                for name, url, page_id in session.execute(
                    select(Target.name, Page.url, Page.id)
                    .join(Target, Target.id == Page.target_id)
                    .where(Page.url.in_(chunk))
                    .order_by(Page.id)
                ):
                    found.setdefault(url, (PageKey(name, url), page_id))
        return found

    def record_listing(
        self, target_id: int, links: Sequence[tuple[str, int | None, bool]], when: datetime
    ) -> None:
        """Record the links a listing showed at ``when``: (url, watching page id, announce).

        A link seen for the first time gets its row; a known one its new time, and its
        page once it is followed. Links not given keep what they had.
        """
        if not links:
            return
        with self.session() as session, session.begin():
            existing: dict[str, ListedLink] = {}
            for chunk in _chunks([url for url, _page, _announce in links], 500):
                existing.update(
                    (row.url, row)
                    for row in session.scalars(
                        select(ListedLink).where(
                            ListedLink.target_id == target_id, ListedLink.url.in_(chunk)
                        )
                    )
                )
            updates: list[dict[str, Any]] = []
            for url, page_id, announce in links:
                row = existing.get(url)
                if row is None:
                    session.add(
                        ListedLink(
                            target_id=target_id,
                            url=url,
                            page_id=page_id,
                            first_listed_at=when,
                            last_listed_at=when,
                            announce=announce,
                        )
                    )
                    continue
                values: dict[str, Any] = {"id": row.id, "last_listed_at": when}
                if row.page_id is None and page_id is not None:
                    values.update(page_id=page_id, announce=announce)
                updates.append(values)
            if updates:
                session.execute(update(ListedLink), updates)
            followed = [page_id for _url, page_id, _announce in links if page_id is not None]
            for chunk in _chunks(followed, 500):
                session.execute(
                    update(Page)
                    .where(Page.target_id == target_id, Page.id.in_(chunk))
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
        contexts: Mapping[str, Context] | None = None,
        *,
        page_contexts: Mapping[PageKey, Context] | None = None,
    ) -> list[RecordedCapture]:
        """Record a batch of observations in one transaction; updates ``states`` in place.

        Each observation is decided by :func:`monitor.detect.events.decide` (new version or not,
        which event), then its capture, body, version and event rows are written. On any
        failure the whole batch rolls back, in the database and in ``states``.
        ``contexts`` are by target name; ``page_contexts``, for pages several targets
        watch, win over them.
        """
        if not observations:
            return []
        with self.session() as session, session.begin():
            return self._record(session, observations, states, contexts or {}, page_contexts or {})

    def _record(
        self,
        session: Session,
        observations: Sequence[Observation],
        states: dict[PageKey, PageState],
        contexts: Mapping[str, Context],
        page_contexts: Mapping[PageKey, Context],
    ) -> list[RecordedCapture]:
        now = utcnow()
        touched = {obs.fetch.key for obs in observations}
        snapshot = {key: replace(states[key]) for key in touched}
        try:
            self._add_pages(session, observations, states, now)
            planned = []
            for observation in observations:
                state = states[observation.fetch.key]
                key = observation.fetch.key
                context = page_contexts.get(key) or contexts.get(key.target, DEFAULT_CONTEXT)
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
            # Learning comes after the event: the event is judged under the rules the
            # capture was compared with.
            if decision.outcome == "new" and previous is not None and observation.compared:
                self._observe_volatility(
                    session, state, previous, observation, context, now, capture.id
                )
                row["compare_sha256"] = state.last_content_sha256
            elif decision.outcome in ("unchanged", "flipflop") and any(
                rule.streak and not rule.learned for rule in state.volatile_rules.values()
            ):
                # A capture where nothing changed breaks every streak.
                session.execute(
                    update(VolatileLine)
                    .where(VolatileLine.page_id == state.page_id, VolatileLine.learned.is_(False))
                    .values(streak=0, samples=None, updated_at=now)
                )
                state.volatile_rules = {
                    key: rule for key, rule in state.volatile_rules.items() if rule.learned
                }
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
        capture_id: int,
    ) -> None:
        """Advance the page's streaks with a new version; learn only what looks like noise.

        The decision is :func:`monitor.detect.volatility.learn` (counters and timestamps, date
        widgets, blocks rotating among lines they showed before; never new words). What is
        learned is written with a note on the page's timeline, and the page's compare hash
        is re-based so the next capture is judged without it.
        """
        from monitor.detect import site_boilerplate as site
        from monitor.detect.observe import compared_lines, stored_hash
        from monitor.detect.significance import matching_terms

        learned_before = state.volatility or volatility.NONE
        before_lines = compared_lines(
            previous.text.splitlines(), (), learned_before, state.site_chrome or site.NONE
        )[0]
        watch = context.watch_terms

        def is_prose(line: str) -> bool:
            # A line naming a watch term is a statement, however short.
            return volatility.is_statement(line) or bool(matching_terms(watch, line))

        learning = volatility.learn(
            before_lines,
            observation.compared or [],
            state.volatile_rules,
            context.volatile_after,
            is_prose,
        )
        if learning.broken:
            for key in learning.broken:
                state.volatile_rules.pop(key, None)
            session.execute(
                update(VolatileLine)
                .where(VolatileLine.page_id == state.page_id, VolatileLine.learned.is_(False))
                .where(VolatileLine.value.in_([value for _kind, value in learning.broken]))
                .values(streak=0, samples=None, updated_at=now)
            )
        self._save_rules(session, state, learning.rules, "observed", now)
        new = learning.volatility
        if not new:
            return
        merged = learned_before.merged(new)
        state.volatility = merged
        state.last_content_sha256 = stored_hash(
            observation.title,
            observation.text or "",
            observation.images,
            merged,
            state.site_chrome,
        )
        assert state.page_id is not None
        extended = {rule.key: lines for rule, lines in learning.extended}
        self._note(
            session,
            state.page_id,
            capture_id,
            "learned",
            "observed",
            [*learning.learned, *(rule for rule, _lines in learning.extended)],
            now,
            extended,
        )
        logger.info(
            "learned %d volatile rule(s) on page %s from its last captures",
            len(learning.learned) + len(learning.extended),
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
        from monitor.detect import site_boilerplate as site
        from monitor.detect.observe import compared_lines
        from monitor.detect.significance import score

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
