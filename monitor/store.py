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
from datetime import datetime
from typing import Any

import zstandard
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor import config as cfg
from monitor import db
from monitor.exceptions import StorageError, UnknownTargetError
from monitor.models import Blob, Capture, Change, Page, Target, Version, utcnow
from monitor.records import Observation, PageKey, PageState, RecordedCapture

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
        with self.session() as session, session.begin():
            existing = {
                row.name: row
                for row in session.scalars(
                    select(Target).where(Target.name.in_([t.name for t in targets]))
                )
            }
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
                elif (row.kind, row.url, list(row.tags), row.active) != (
                    target.kind,
                    target.url,
                    list(target.tags),
                    target.enabled,
                ):
                    row.kind, row.url, row.tags = target.kind, target.url, list(target.tags)
                    row.active, row.updated_at = target.enabled, now
                session.flush()
                ids[target.name] = row.id
                root_role = "listing" if target.kind == "listing" else "page"
                page = session.scalar(
                    select(Page).where(Page.target_id == row.id, Page.url == target.url)
                )
                if page is None:
                    session.add(
                        Page(target_id=row.id, url=target.url, role=root_role, created_at=now)
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
        states: dict[PageKey, PageState] = {}
        for page, target_name, seq, content_sha in rows:
            states[PageKey(target_name, page.url)] = PageState(
                page_id=page.id,
                target_id=page.target_id,
                role=page.role,  # type: ignore[arg-type]
                state=page.state,
                last_body_sha256=page.last_body_sha256,
                last_extract_key=page.last_extract_key,
                last_version_id=page.last_version_id,
                last_version_seq=seq or 0,
                last_content_sha256=content_sha,
                consecutive_failures=page.consecutive_failures,
            )
        return states

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
        self, observations: Sequence[Observation], states: dict[PageKey, PageState]
    ) -> list[RecordedCapture]:
        """Record a batch of observations in one transaction; updates ``states`` in place.

        A new version is made when the observation's content differs from the page's
        previous version; otherwise the capture is recorded as unchanged, without its body.
        """
        if not observations:
            return []
        with self.session() as session, session.begin():
            return self._record(session, observations, states)

    def _record(
        self,
        session: Session,
        observations: Sequence[Observation],
        states: dict[PageKey, PageState],
    ) -> list[RecordedCapture]:
        now = utcnow()
        touched = {obs.fetch.key for obs in observations}
        snapshot = {key: replace(states[key]) for key in touched}
        try:
            self._add_pages(session, observations, states, now)
            return self._write(session, self._plan(observations, states), now)
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
        # 1. Pages discovered in this batch (articles, further listing pages).
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

    @staticmethod
    def _plan(
        observations: Sequence[Observation], states: dict[PageKey, PageState]
    ) -> list[tuple[Observation, PageState, str, bool]]:
        # 2. Decide each observation's outcome, in order (a page may appear twice).
        planned: list[tuple[Observation, PageState, str, bool]] = []
        for observation in observations:
            state = states[observation.fetch.key]
            if observation.outcome_hint == "error":
                outcome = "low" if observation.quality == "low" else "error"
            elif observation.content_sha256 == state.last_content_sha256:
                outcome = "unchanged"
            else:
                outcome = "new"
                state.last_content_sha256 = observation.content_sha256
            fetch = observation.fetch
            keep_body = outcome == "new" or (
                outcome in ("error", "low") and 0 < len(fetch.body) <= MAX_ERROR_BODY
            )
            planned.append((observation, state, outcome, keep_body))
        return planned

    def _write(
        self,
        session: Session,
        planned: list[tuple[Observation, PageState, str, bool]],
        now: datetime,
    ) -> list[RecordedCapture]:
        # 3. Bodies, once per sha256.
        wanted = {
            obs.body_sha256: obs.fetch.body
            for obs, _s, _o, keep in planned
            if keep and obs.body_sha256
        }
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

        # 4. Captures.
        captures: list[Capture] = []
        for observation, state, outcome, keep_body in planned:
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
                    body_size=len(fetch.body) if fetch.status is not None else None,
                    body_sha256=observation.body_sha256,
                    body_stored=keep_body and observation.body_sha256 is not None,
                    encoding=observation.encoding,
                    content_sha256=observation.content_sha256,
                    quality=observation.quality,
                    outcome=outcome,
                    note=observation.note,
                )
            )
        session.add_all(captures)
        session.flush()

        # 5. Versions and their change events.
        results: list[RecordedCapture] = []
        page_updates: dict[int, dict[str, Any]] = {}
        versions: list[tuple[int, Version]] = []
        for index, (observation, state, outcome, _keep) in enumerate(planned):
            capture = captures[index]
            fetch = observation.fetch
            assert state.page_id is not None
            recorded = RecordedCapture(
                key=fetch.key,
                page_id=state.page_id,
                capture_id=capture.id,
                outcome=outcome,
                status=fetch.status,
                error=fetch.error or observation.note,
            )
            update_row = page_updates.setdefault(state.page_id, {"id": state.page_id})
            update_row["last_checked_at"] = now
            if outcome in ("new", "unchanged"):
                state.last_body_sha256 = observation.body_sha256
                state.last_extract_key = observation.extract_key
                state.consecutive_failures = 0
                update_row.update(
                    last_body_sha256=observation.body_sha256,
                    last_extract_key=observation.extract_key,
                    consecutive_failures=0,
                )
            else:
                state.consecutive_failures += 1
                update_row["consecutive_failures"] = state.consecutive_failures
            if outcome == "new":
                version = Version(
                    page_id=state.page_id,
                    capture_id=capture.id,
                    seq=0,  # filled below, in order
                    captured_at=fetch.started_at,
                    content_sha256=observation.content_sha256 or "",
                    title=observation.title,
                    text=observation.text or "",
                    links=[list(link) for link in observation.links],
                )
                versions.append((index, version))
            results.append(recorded)

        for index, version in versions:
            state = planned[index][1]
            previous_id = state.last_version_id
            version.seq = state.last_version_seq + 1
            session.add(version)
            session.flush()
            state.last_version_id, state.last_version_seq = version.id, version.seq
            recorded = results[index]
            recorded.version_id, recorded.version_seq = version.id, version.seq
            page_updates[version.page_id]["last_version_id"] = version.id
            if previous_id is not None:
                change = Change(
                    uid=str(uuid.uuid4()),
                    page_id=version.page_id,
                    kind="changed",
                    detected_at=now,
                    capture_id=version.capture_id,
                    from_version_id=previous_id,
                    to_version_id=version.id,
                )
                session.add(change)
                session.flush()
                recorded.change_id = change.id

        if page_updates:
            session.execute(update(Page), list(page_updates.values()))
        return results

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
