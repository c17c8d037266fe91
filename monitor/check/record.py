"""Recording a batch: deciding what each observation means, then writing it.

This is the recording decision (new version? which event? how significant? to which
channels? what is noise?) and its writes, in one transaction per batch, moved out of
the store as it was so the store only stores. Issue 11, stage B, turns it into a pure
plan (``monitor.detect``) and a store that only writes plans.

Why one module of this size: it is the store's former recording code, moved out as it
was (issue 11, stage A) so that storage only stores; stage B turns it into a pure plan
in ``monitor.detect`` and a store that writes plans, which splits it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from monitor.detect import site_boilerplate as site
from monitor.detect import volatility
from monitor.detect.events import Context, Decision, decide
from monitor.detect.observe import compared_lines, stored_hash
from monitor.detect.significance import matching_terms, score
from monitor.detect.site_boilerplate import SiteChrome, host_of
from monitor.detect.summary import summarize
from monitor.detect.volatility import Rule, Volatility
from monitor.notify.routing import channels_for
from monitor.records import Observation, PageKey, PageState, RecordedCapture
from monitor.storage.models import (
    Blob,
    Capture,
    Change,
    Delivery,
    LearningNote,
    Page,
    SiteBoilerplate,
    SiteLine,
    Target,
    Version,
    VolatileLine,
)
from monitor.storage.store import Store, chunks, rule_of, samples
from monitor.timefmt import utcnow
from monitor.vocab import DeliveryStatus, EventKind, Outcome, PageStatus, QualityKind, Role

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT = Context()

# Error pages are kept as evidence (a 404 or a block page says something) up to this size.
MAX_ERROR_BODY = 512 * 1024


def queue_deliveries(session: Session, change: Change, channels: list[str], now: datetime) -> None:
    """The outbox rows of an event, one per channel, in the event's own transaction."""
    for channel in channels:
        session.add(
            Delivery(
                change_id=change.id,
                channel=channel,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )


class Recorder:
    """Decides and writes batches of observations, learned noise and stale errors."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record_stale(self, limits: dict[str, float], routes: dict[str, Any]) -> int:
        """An error event for each active page not checked successfully within its limit.

        ``limits``: seconds per target name (stale_factor x interval). Such a page is set
        to the error state, so its next good check reports it recovered.
        """

        now = utcnow()
        made = 0
        with self.store.session() as session, session.begin():
            rows = session.execute(
                select(Page, Target.name)
                .join(Target, Target.id == Page.target_id)
                .where(
                    Target.name.in_(list(limits)),
                    Target.active.is_(True),
                    Page.state == PageStatus.ACTIVE,
                    Page.role.in_([Role.PAGE, Role.LISTING]),
                    Page.last_checked_at.is_not(None),
                )
            ).all()
            for page, name in rows:
                limit = limits[name]
                since = page.failing_since if page.consecutive_failures else page.last_checked_at
                if since is None or (now - since).total_seconds() < limit:
                    continue
                page.state = PageStatus.ERROR
                summary = (
                    f"Error: {page.url} has not been checked successfully since "
                    f"{since:%Y-%m-%d %H:%M:%S}Z"
                )
                change = Change(
                    uid=str(uuid.uuid4()),
                    page_id=page.id,
                    kind=EventKind.ERROR,
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
                    session,
                    change,
                    channels_for(tuple(routes.get(name, ())), EventKind.ERROR, 0.4),
                    now,
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
        with self.store.session() as session, session.begin():
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
            row.samples = samples(rule)
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

    def reset_volatility(self, page_id: int) -> int:
        """Forget what was learned on a page; returns how many learned rules were removed.

        The page's compare hash is re-based on its last version with the built-in
        patterns only, so the next capture is compared without what was forgotten; a
        note on the timeline says so.
        """

        with self.store.session() as session, session.begin():
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
                    chrome = self.store.site_chromes([host_of(page.url)]).get(host_of(page.url))
                    page.compare_sha256 = stored_hash(
                        version.title, version.text, version.images, None, chrome
                    )
            if forgotten:
                self._note(session, page_id, None, "forgotten", "user", forgotten, utcnow())
            return len(forgotten)

    def _site_lines(
        self, session: Session, page_id: int, url: str, observation: Observation
    ) -> None:
        """Replace what a page contributes to site learning by its new version's lines."""
        session.execute(delete(SiteLine).where(SiteLine.page_id == page_id))
        lines = (observation.text or "").splitlines()
        host = host_of(url)
        entries = [
            {"host": host, "page_id": page_id, "position": p, "line": line, "block": block}
            for p, line, block in site.rows(lines, observation.keys)
        ]
        if entries:
            session.execute(SiteLine.__table__.insert(), entries)  # type: ignore[attr-defined]

    def reset_site(self, host: str) -> int:
        """Forget what was learned on a site and what it was learned from; learning starts
        again from its pages' next versions. Returns how many entries were forgotten."""
        with self.store.session() as session, session.begin():
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

        live = {
            state.page_id: state
            for key, state in (states or {}).items()
            if state.page_id is not None and host_of(key.url) == host
        }
        changed = 0
        with self.store.session() as session, session.begin():
            pages = [
                (page_id, url, version_id)
                for page_id, url, version_id in session.execute(
                    select(Page.id, Page.url, Page.last_version_id).where(
                        Page.last_version_id.is_not(None), Page.role.in_([Role.PAGE, Role.ARTICLE])
                    )
                )
                if host_of(url) == host
            ]
            volatilities = self._volatilities(session, [page_id for page_id, *_r in pages])
            updates = []
            for chunk in chunks(pages, 500):
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
        for chunk in chunks(page_ids, 500):
            for line in session.scalars(
                select(VolatileLine).where(
                    VolatileLine.page_id.in_(chunk), VolatileLine.learned.is_(True)
                )
            ):
                learned = found.get(line.page_id, volatility.NONE)
                found[line.page_id] = learned.merged(rule_of(line).volatility())
        return found

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
        with self.store.session() as session, session.begin():
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
        # Bodies, once per sha256: always for a new version, an event (a restoration to
        # the same content is evidence too: `monitor cite --event restored`) or an error
        # page; never for a capture whose content was unchanged.
        wanted: dict[str, bytes] = {}
        keep: list[bool] = []
        for observation, _state, _before, decision, _context in planned:
            body = observation.fetch.body
            kept = observation.body_sha256 is not None and (
                decision.new_version
                or decision.event is not None
                or (
                    decision.outcome
                    not in (Outcome.UNCHANGED, Outcome.FLIPFLOP, Outcome.PROBE, Outcome.PART)
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
                    compression, data = self.store.compress(body)
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
                    if observation.kind == QualityKind.OK
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
            if state.role == Role.ARTICLE:
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
                and decision.outcome not in (Outcome.PROBE, Outcome.PART)
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
                if context.learn_site and state.role in (Role.PAGE, Role.ARTICLE):
                    self._site_lines(session, state.page_id, fetch.key.url, observation)
                if previous_id is not None:
                    previous = session.get(Version, previous_id)
                state.last_version_id, state.last_version_seq = version.id, version.seq
                state.last_content_sha256 = observation.content_sha256
                if observation.content_sha256:
                    state.recent_hashes = (*state.recent_hashes, observation.content_sha256)[-20:]
                recorded.version_id, recorded.version_seq = version.id, version.seq
                row.update(last_version_id=version.id)
            if decision.outcome in (Outcome.NEW, Outcome.FLIPFLOP, Outcome.UNCHANGED):
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
            if decision.outcome == Outcome.NEW and previous is not None and observation.compared:
                self._observe_volatility(
                    session, state, previous, observation, context, now, capture.id
                )
                row["compare_sha256"] = state.last_content_sha256
            elif decision.outcome in (Outcome.UNCHANGED, Outcome.FLIPFLOP) and any(
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

        kind = decision.event or EventKind.CHANGED
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
            before=before_lines if kind in (EventKind.CHANGED, EventKind.RESTORED) else [],
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
        if kind in (EventKind.REMOVED, EventKind.ERROR):
            # The page's own title, not the "Page not found" of the error page.
            title = (last.title if last else None) or observation.fetch.key.url
        else:
            title = observation.title or (last.title if last else None) or observation.fetch.key.url
        summary = summarize(kind, title, significance.features)
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
                if kind
                in (EventKind.REMOVED, EventKind.ERROR, EventKind.RESTORED, EventKind.RECOVERED)
                else None
            ),
            to_version_id=state.last_version_id
            if decision.new_version or kind in (EventKind.RESTORED, EventKind.RECOVERED)
            else None,
            significance=significance.score,
            features=significance.features,
            summary=summary,
        )
        session.add(change)
        session.flush()
        if alert:
            # The outbox: written in this same transaction, so no event lacks its alerts.
            queue_deliveries(
                session, change, channels_for(context.routes, kind, significance.score), now
            )
            session.flush()
        return change
