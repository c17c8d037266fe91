"""The recording plan: what a batch of observations means, as rows to write (pure).

:func:`plan_batch` takes a batch of observations, the pages' states, the contexts of
their targets (thresholds, watch terms, routes resolved from the config) and the
previous versions the decisions read, and returns a :class:`monitor.recording.Plan`:
captures, bodies, versions, events with significance and summary, deliveries, page
updates, learned noise and its notes, WARC records wanted. Nothing is read or written
here; the states given are copied, never advanced (the plan carries the new ones).
:func:`plan_stale` makes the error events of pages whose checks stopped through the same
event path.

Per observation: :func:`monitor.detect.events.decide` (new version? which event?), then
:func:`monitor.detect.significance.score`, :func:`monitor.detect.summary.summarize` and
the routes; after a new version, what changed like noise advances the page's volatility
streaks (:func:`monitor.detect.volatility.learn`); after a probe (a second fetch of a
new page seconds after the first), the lines that differed are learned as noise.

Why one module of this size: it is one pure function of a batch, whose steps (versions,
events with their significance and summaries, deliveries, listing marks, learned noise,
WARC records) read and advance the same page states in order.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from monitor.detect import noise, volatility
from monitor.detect import site_boilerplate as site
from monitor.detect.documents import document_title, file_name, metadata_changes
from monitor.detect.events import DEFAULT_CONTEXT, Context, Decision, decide, stale
from monitor.detect.observe import compared_lines
from monitor.detect.significance import score
from monitor.detect.summary import summarize
from monitor.recording import (
    CaptureRow,
    DeliveryRow,
    EventRow,
    NewPage,
    NoteRow,
    Plan,
    SiteLines,
    StreakReset,
    VersionRow,
    WarcCapture,
    placeholder,
)
from monitor.records import (
    Observation,
    PageKey,
    PageState,
    RecordedCapture,
    StoredVersion,
    channels_for,
    host_of,
)
from monitor.vocab import EventKind, Outcome, PageStatus, Purpose, QualityKind, Role

logger = logging.getLogger(__name__)

# Error pages are kept as evidence (a 404 or a block page says something) up to this size.
MAX_ERROR_BODY = 512 * 1024

#: Which captures are written as WARC: None (no archive), "changes" (those that made a
#: version or an event), "all" (every capture with an HTTP answer).
WarcPolicy = Literal["changes", "all"] | None


def versions_needed(
    observations: Sequence[Observation], states: Mapping[PageKey, PageState]
) -> set[int]:
    """The stored versions :func:`plan_batch` may read for this batch (the last version
    of each page that may get a new version, an event or learn from a probe), so the
    store loads them in one query. A page whose content is the same as its last
    version's, and whose state stays active, needs none."""
    seen: dict[PageKey, int] = {}
    for observation in observations:
        key = observation.fetch.key
        seen[key] = seen.get(key, 0) + 1
    wanted: set[int] = set()
    for observation in observations:
        fetch = observation.fetch
        state = states.get(fetch.key)
        if state is None or state.last_version_id is None or fetch.role == Role.PART:
            continue
        unchanged = observation.outcome_hint == "unchanged" or (
            observation.outcome_hint == "content"
            and observation.content_sha256 == state.last_content_sha256
        )
        if (
            unchanged
            and state.state == PageStatus.ACTIVE
            and fetch.purpose != Purpose.PROBE
            and seen[fetch.key] == 1
        ):
            continue
        wanted.add(state.last_version_id)
    return wanted


def plan_batch(
    observations: Sequence[Observation],
    states: Mapping[PageKey, PageState],
    contexts: Mapping[str, Context],
    previous: Mapping[int, StoredVersion],
    now: datetime,
    *,
    page_contexts: Mapping[PageKey, Context] | None = None,
    first_sights: Mapping[PageKey, Observation] | None = None,
    warc: WarcPolicy = None,
) -> Plan:
    """The plan of one batch of observations.

    ``contexts`` are by target name; ``page_contexts``, for pages several targets watch,
    win over them. ``previous``: the versions :func:`versions_needed` names, by id.
    ``first_sights``: the first observation of each new page, for the probes of this
    batch to learn from. The batch is decided in order, every observation first, then
    its rows, as one transaction would have seen it.
    """
    planner = _Planner(previous, now)
    plan = planner.plan
    work = planner.work_states(observations, states)
    planner.known = (work, states)
    decided: list[tuple[Observation, PageState, PageState, Decision, Context]] = []
    for observation in observations:
        key = observation.fetch.key
        state = work[key]
        context = (page_contexts or {}).get(key) or contexts.get(key.target, DEFAULT_CONTEXT)
        before = replace(state)
        decision = decide(observation, state, context, now)
        decided.append((observation, state, before, decision, context))
    planner.bodies(decided)
    for index, (observation, state, before, decision, context) in enumerate(decided):
        planner.capture(index, observation, state, before, decision, context)
    for index, (observation, state, *_rest) in enumerate(decided):
        if observation.fetch.purpose == Purpose.PROBE:
            first = (first_sights or {}).get(observation.fetch.key)
            if first is not None:
                last = planner.version(state.last_version_id)
                noise.probed(plan, state, first, observation, placeholder(index), last, now)
    if warc is not None:
        for index, ((observation, *_rest), recorded) in enumerate(
            zip(decided, plan.recorded, strict=True)
        ):
            wanted = warc == "all" or recorded.version_id is not None or recorded.event
            if recorded.status is not None and observation.body_sha256 and wanted:
                plan.warc.append(
                    WarcCapture(
                        capture=index,
                        target=observation.fetch.key.target,
                        page_url=observation.fetch.key.url,
                        body=observation.fetch.body,
                        version_seq=recorded.version_seq,
                    )
                )
    plan.states = work
    return plan


def plan_stale(
    pages: Iterable[tuple[PageKey, PageState]],
    limits: Mapping[str, float],
    contexts: Mapping[str, Context],
    previous: Mapping[int, StoredVersion],
    now: datetime,
) -> Plan:
    """The error events of pages not checked successfully within their target's limit
    (seconds, by target name): decided by :func:`monitor.detect.events.stale`, scored,
    summarised and routed like every other event."""
    planner = _Planner(previous, now)
    for key, given in pages:
        if key.target not in limits or given.page_id is None:
            continue
        state = replace(given)
        before = replace(given)
        decision = stale(state, limits[key.target], now)
        if decision is None:
            continue
        context = contexts.get(key.target, DEFAULT_CONTEXT)
        planner.plan.page_updates[given.page_id] = {"state": state.state}
        planner.plan.states[key] = state
        planner.event(key, state, before, decision, context, None, None, None)
    return planner.plan


class _Planner:
    """The plan being built, with the versions it reads (stored, or made by this plan)."""

    def __init__(self, previous: Mapping[int, StoredVersion], now: datetime) -> None:
        self.plan = Plan(made_at=now)
        self.previous = previous
        self.made: dict[int, StoredVersion] = {}  # versions of this plan, by placeholder
        self.now = now
        self.known: tuple[Mapping[PageKey, PageState], ...] = ()  # this batch's states first

    def version(self, version_id: int | None) -> StoredVersion | None:
        if version_id is None:
            return None
        return self.made.get(version_id) or self.previous.get(version_id)

    def work_states(
        self, observations: Sequence[Observation], states: Mapping[PageKey, PageState]
    ) -> dict[PageKey, PageState]:
        """Copies of the pages' states to advance (pages new to the store get a row)."""
        work: dict[PageKey, PageState] = {}
        for observation in observations:
            key = observation.fetch.key
            if key in work:
                continue
            state = replace(states[key])
            state.volatile_rules = dict(state.volatile_rules)
            if state.page_id is None:
                self.plan.pages.append(NewPage(key, state.target_id, state.role, self.now))
                state.page_id = placeholder(len(self.plan.pages) - 1)
            work[key] = state
        return work

    def bodies(
        self, decided: Sequence[tuple[Observation, PageState, PageState, Decision, Context]]
    ) -> None:
        """Bodies, once per sha256: always for a new version, an event (a restoration to
        the same content is evidence too: `monitor cite --event restored`) or an error
        page; never for a capture whose content was unchanged."""
        self.kept: list[bool] = []
        for observation, _state, _before, decision, _context in decided:
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
            self.kept.append(kept)
            if kept and observation.body_sha256:
                self.plan.blobs[observation.body_sha256] = body
                raw = observation.fetch.raw_body
                if raw is not None:
                    # A rendered page: the document as served is evidence beside the DOM.
                    self.plan.blobs[hashlib.sha256(raw).hexdigest()] = raw

    def capture(
        self,
        index: int,
        observation: Observation,
        state: PageState,
        before: PageState,
        decision: Decision,
        context: Context,
    ) -> None:
        """The rows of one decided observation: capture, version, event, page update,
        and what it teaches about the page's noise."""
        plan = self.plan
        fetch = observation.fetch
        assert state.page_id is not None
        capture_id = placeholder(index)
        plan.captures.append(
            CaptureRow(
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
                body_stored=self.kept[index],
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
                proxy=fetch.proxy,
                renderer=fetch.renderer,
                raw_body_sha256=hashlib.sha256(fetch.raw_body).hexdigest()
                if fetch.raw_body is not None
                else None,
                source=fetch.source,
                provenance=fetch.provenance,
            )
        )
        recorded = RecordedCapture(
            key=fetch.key,
            page_id=state.page_id,
            capture_id=capture_id,
            outcome=decision.outcome,
            status=fetch.status,
            error=fetch.error or observation.note,
            purpose=fetch.purpose,
        )
        plan.recorded.append(recorded)
        row = plan.page_updates.setdefault(state.page_id, {})
        if state.role == Role.ARTICLE:
            row["next_due_at"] = state.next_due_at  # aging articles; roots: the daemon
        row.update(
            last_checked_at=self.now,
            state=state.state,
            removal_pending=state.removal_pending,
            failing_since=state.failing_since,
            consecutive_failures=state.consecutive_failures,
        )
        state.last_checked_at = self.now
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
        if decision.outcome not in (Outcome.PROBE, Outcome.PART):
            self.metadata(observation, state, row, capture_id)
        previous = None
        if decision.new_version:
            previous_id = state.last_version_id
            seq = state.last_version_seq + 1
            plan.versions.append(
                VersionRow(
                    page_id=state.page_id,
                    capture_id=capture_id,
                    seq=seq,
                    captured_at=fetch.started_at,
                    content_sha256=observation.content_sha256 or "",
                    title=observation.title,
                    text=observation.text or "",
                    links=[list(link) for link in observation.links],
                    images=[list(image) for image in observation.images],
                )
            )
            version_id = placeholder(len(plan.versions) - 1)
            self.made[version_id] = StoredVersion(
                version_id,
                observation.title,
                observation.text or "",
                list(observation.links),
                list(observation.images),
            )
            if context.learn_site and state.role in (Role.PAGE, Role.ARTICLE):
                lines = (observation.text or "").splitlines()
                plan.site_lines.append(
                    SiteLines(
                        state.page_id, host_of(fetch.key.url), site.rows(lines, observation.keys)
                    )
                )
            previous = self.version(previous_id)
            state.last_version_id, state.last_version_seq = version_id, seq
            state.last_content_sha256 = observation.content_sha256
            if observation.content_sha256:
                state.recent_hashes = (*state.recent_hashes, observation.content_sha256)[-20:]
            recorded.version_id, recorded.version_seq = version_id, seq
            row.update(last_version_id=version_id)
        if decision.outcome in (Outcome.NEW, Outcome.FLIPFLOP, Outcome.UNCHANGED):
            row["compare_sha256"] = state.last_content_sha256
        if decision.event is not None:
            event = self.event(
                fetch.key, state, before, decision, context, observation, previous, capture_id
            )
            recorded.change_id = placeholder(len(plan.events) - 1)
            recorded.event = event.kind
            recorded.significance = event.significance
            recorded.summary = event.summary
            recorded.alert = bool(event.features.get("alert", True))
        # Learning comes after the event: the event is judged under the rules the
        # capture was compared with.
        if decision.outcome == Outcome.NEW and previous is not None and observation.compared:
            noise.observed(plan, state, previous, observation, context, capture_id, self.now)
            row["compare_sha256"] = state.last_content_sha256
        elif decision.outcome in (Outcome.UNCHANGED, Outcome.FLIPFLOP) and any(
            rule.streak and not rule.learned for rule in state.volatile_rules.values()
        ):
            # A capture where nothing changed breaks every streak.
            plan.volatility.append(StreakReset(state.page_id, None, self.now))
            state.volatile_rules = {
                key: rule for key, rule in state.volatile_rules.items() if rule.learned
            }

    def parent_of(self, observation: Observation | None) -> int | None:
        """The page an attachment's events and notes go on (None: not an attachment)."""
        parent = observation.fetch.parent if observation is not None else None
        found = [states[parent] for states in self.known if parent is not None and parent in states]
        return found[0].page_id if found else None

    def metadata(
        self, observation: Observation, state: PageState, row: dict[str, Any], capture_id: int
    ) -> None:
        """A document's metadata: kept with its page; a change of it is a note on the
        timeline (of the page it is attached to, for an attachment), never an event."""
        metadata = observation.metadata
        if metadata is None or metadata == state.document_meta:
            return
        if state.document_meta is not None:
            parent_id = self.parent_of(observation)
            attachment = observation.fetch.key.url if parent_id is not None else None
            summary = metadata_changes(state.document_meta, metadata, attachment)
            page_id = parent_id or state.page_id
            assert page_id is not None
            self.plan.notes.append(
                NoteRow(page_id, capture_id, self.now, "metadata", "document", [], summary)
            )
        state.document_meta = row["document_meta"] = dict(metadata)

    def event(
        self,
        key: PageKey,
        state: PageState,
        before: PageState,
        decision: Decision,
        context: Context,
        observation: Observation | None,
        previous: StoredVersion | None,
        capture_id: int | None,
    ) -> EventRow:
        """One event, with its significance and the features behind it, and its
        deliveries (the outbox: written in the same transaction, so no event lacks its
        alerts). ``observation`` is None for an event without a capture (a stale page)."""
        kind = decision.event or EventKind.CHANGED
        learned = state.volatility or volatility.NONE
        before_lines = (
            compared_lines(previous.text.splitlines(), (), learned, state.site_chrome or site.NONE)[
                0
            ]
            if previous
            else []
        )
        title_after = observation.title if observation is not None else None
        after_lines = (observation.compared if observation is not None else None) or []
        last = previous or self.version(state.last_version_id)
        title_before = previous.title if previous else None
        significance = score(
            kind,
            before=before_lines if kind in (EventKind.CHANGED, EventKind.RESTORED) else [],
            after=after_lines,
            title_before=title_before if previous else title_after,
            title_after=title_after,
            links_before=list(previous.links) if previous else [],
            links_after=observation.links if observation is not None else [],
            images_before=list(previous.images) if previous else [],
            images_after=observation.images if observation is not None else [],
            role=observation.fetch.role if observation is not None else state.role,
            url=key.url,
            watch_terms=context.watch_terms,
            extra=decision.features,
        )
        if kind in (EventKind.REMOVED, EventKind.ERROR, EventKind.MOVED):
            # The page's own title, not the "Page not found" of the error page.
            title = (last.title if last else None) or key.url
        else:
            title = title_after or (last.title if last else None) or key.url
        if observation is not None and observation.metadata is not None and not title_after:
            title = document_title(key.url, observation.metadata)
        # An attachment's events are its page's, and say which document changed.
        parent_id = self.parent_of(observation)
        if parent_id is not None:
            title = f"attachment {file_name(key.url)}"
            significance.features["attachment"] = key.url
        page_id = parent_id or state.page_id
        assert page_id is not None
        summary = summarize(kind, title, significance.features)
        # Below the target's minimum an event is kept for the record but not alerted.
        alert = significance.score >= context.min_significance
        significance.features["alert"] = alert
        event = EventRow(
            uid=str(uuid.uuid4()),
            page_id=page_id,
            kind=kind,
            detected_at=self.now,
            capture_id=capture_id,
            from_version_id=previous.id
            if previous
            else (
                before.last_version_id
                if kind
                in (
                    EventKind.REMOVED,
                    EventKind.ERROR,
                    EventKind.RESTORED,
                    EventKind.RECOVERED,
                    EventKind.MOVED,
                )
                else None
            ),
            to_version_id=state.last_version_id
            if decision.new_version or kind in (EventKind.RESTORED, EventKind.RECOVERED)
            else None,
            significance=significance.score,
            features=significance.features,
            summary=summary,
        )
        self.plan.events.append(event)
        if alert:
            change_id = placeholder(len(self.plan.events) - 1)
            for channel in channels_for(context.routes, kind, significance.score):
                self.plan.deliveries.append(DeliveryRow(change_id, channel, self.now))
        return event
