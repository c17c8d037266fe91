"""The check's writer: a thread that turns the crawl's fetches into recorded captures.

The reactor's thread only fetches: every FetchResult is put on the writer's queue
(:class:`monitor.check.sink.Sink`). The writer, in its own thread, observes each fetch
through a :class:`monitor.check.processor.Processor`, gathers observations in batches and
records each batch (:func:`monitor.check.record.record_batch`: plan, then one
transaction), then writes the batch's WARC records from memory. When the crawl is done it
learns site boilerplate, records the captures that waited for it and which links each
listing showed, and asks for Save Page Now copies. Database writes, fsync and parsing
never run on the reactor's loop, so a big page or a slow disk stalls no crawl.

The writer owns the pages' states while it runs; its sessions come from the store's
engine, created on the main thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.check import metrics, moving
from monitor.check.learning import learn_site
from monitor.check.listings import Listings
from monitor.check.processor import InlineProcessor, Processor
from monitor.check.record import record_batch
from monitor.detect import moves, site_boilerplate, volatility
from monitor.detect.events import Context
from monitor.detect.observe import TargetRules, compared_lines, content_hash, observe
from monitor.exceptions import EvidenceError, StorageError
from monitor.recording import Plan, Written
from monitor.records import CheckSummary, FetchResult, Observation, PageKey, PageState
from monitor.storage.store import Store
from monitor.vocab import Purpose, Role

if TYPE_CHECKING:
    from monitor.evidence.spn import SavePageNow
    from monitor.evidence.warc import WarcArchive
    from monitor.records import RecordedCapture

logger = logging.getLogger(__name__)
# One line per check (target, outcome, status, URL, event, duration): its own logger, so
# it can be turned up or down on its own.
check_log = logging.getLogger("monitor.checks")

_FLUSH = object()
_CLOSE = object()
_WAKE = object()  # observations became ready (a processor that works elsewhere)


class Writer:
    """Observes and records the fetches of one check in its own thread.

    :meth:`put` and :meth:`flush` may be called from any thread; :meth:`close` ends the
    check (the rest is recorded, learned and archived) and :attr:`done` then holds its
    summary.
    """

    def __init__(
        self,
        store: Store,
        states: dict[PageKey, PageState],
        rules: Mapping[str, TargetRules],
        target_ids: dict[str, int],
        listings: Listings,
        *,
        started: datetime,
        contexts: Mapping[str, Context] | None = None,
        archive: WarcArchive | None = None,
        archive_all: bool = False,
        save_page_now: SavePageNow | None = None,
        batch_size: int = 100,
        batch_seconds: float = 2.0,
        on_recorded: Callable[[RecordedCapture, Observation], None] | None = None,
        site_pages: int = 0,
        site_share: float = 0.3,
        processor: Processor | None = None,
        max_inflight: int = 64,
    ) -> None:
        self.store = store
        self.states = states
        self.rules = rules
        self.target_ids = target_ids
        self.listings = listings
        self.started = started
        self.contexts = contexts or {}
        self.archive = archive  # when WARC writing is on
        self.archive_all = archive_all
        self.save_page_now = save_page_now
        self.batch_size = batch_size
        # A slow, polite check fills a batch slowly: what waited this long is recorded
        # anyway, so events are reported (and alerts queued) as they are found.
        self.batch_seconds = batch_seconds
        self._pending_since = 0.0
        self.on_recorded = on_recorded
        self.processor: Processor = processor or InlineProcessor()
        self.processor.bind(self._wake)
        # Fetches being observed before the writer waits for the oldest: the crawl's
        # back-pressure (Sink.high_water) then holds with a processor that works elsewhere.
        self.max_inflight = max_inflight
        self.summary = CheckSummary()
        self.failures: list[str] = []
        self.new_versions: list[int] = []
        self.done: Future[CheckSummary] = Future()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._waiting = 0  # fetches put and not yet taken (read by the crawl's side)
        self._count = threading.Lock()
        self._inflight: deque[Future[Observation]] = deque()
        self._pending: list[Observation] = []
        self._first_sight: dict[PageKey, Observation] = {}
        # Site boilerplate (monitor.detect.site_boilerplate): learned at the end of the
        # check from the sites whose pages got new versions; captures whose only news may
        # be a site-wide change of a chrome block wait for it.
        self.site_pages = site_pages
        self.site_share = site_share
        self._sites: set[str] = set()
        self._deferred: list[Observation] = []
        self._chromes: dict[str, site_boilerplate.SiteChrome | None] = {}
        # Moved pages (monitor.detect.moves): confirmed removals and the first versions of
        # pages announced as new wait for the end of the check, when each removal is
        # matched against the pages that got a version in this check (``_arrivals``).
        self._move_waiting: list[Observation] = []
        self._move_keys: set[PageKey] = set()
        self._arrivals: list[moves.Seen] = []
        self._thread = threading.Thread(target=self._run, name="monitor-writer", daemon=True)

    # --- any thread ----------------------------------------------------------------

    def start(self) -> Writer:
        self._thread.start()
        return self

    def put(self, fetch: FetchResult) -> None:
        with self._count:
            self._waiting += 1
        self._queue.put(fetch)

    def flush(self) -> None:
        """Record what is pending now (a spider closed)."""
        self._queue.put(_FLUSH)

    def close(self) -> None:
        """The crawl is over: record the rest, learn, archive; then :attr:`done`."""
        self._queue.put(_CLOSE)

    def _wake(self) -> None:
        self._queue.put(_WAKE)

    @property
    def backlog(self) -> int:
        """Fetches handed over and not taken up yet."""
        return self._waiting

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- the writer's thread -------------------------------------------------------

    def _run(self) -> None:
        # Running: a check cancelled while it waits for the writer lets it finish its
        # writing (what was fetched is kept), instead of cancelling its result.
        self.done.set_running_or_notify_cancel()
        try:
            while True:
                if self._inflight and self._queue.empty():
                    self.processor.flush()  # nothing else to take: observe what waits
                try:
                    item = self._queue.get(timeout=self._patience())
                except queue.Empty:
                    # Nothing came for a while: record what waits (a slow, polite crawl).
                    self._drain(wait=False)
                    self._flush()
                    continue
                if item is _CLOSE:
                    self._drain()
                    self._finish()
                    break
                if item is _FLUSH:
                    self._drain()
                    self._flush()
                    continue
                if item is _WAKE:
                    self._drain(wait=False)
                    continue
                assert isinstance(item, FetchResult)
                with self._count:
                    self._waiting -= 1
                self._inflight.append(self._submit(item))
                self._drain(wait=False)
                if len(self._inflight) > self.max_inflight:
                    self.processor.flush()
                    while len(self._inflight) > self.max_inflight // 2:
                        self._accept(self._inflight.popleft().result())
        except BaseException as exc:  # the check must hear of it, not hang
            logger.exception("the check's writer failed")
            self.done.set_exception(exc)
            return
        finally:
            self.processor.close()
        self.summary.not_followed.update(self.listings.not_followed)
        self.failures.extend(self.listings.failures)
        self.done.set_result(self.summary)

    def _submit(self, fetch: FetchResult) -> Future[Observation]:
        state = self.state_for(fetch.key, fetch.role)
        if fetch.role == Role.LISTING and fetch.article_links is None:
            self.listings.fail(fetch.key.target)
        return self.processor.submit(fetch, self.rules[fetch.key.target].of(fetch.role), state)

    def _drain(self, wait: bool = True) -> None:
        """Take the observations that are ready, in the order their fetches came."""
        if wait:
            self.processor.flush()
        while self._inflight and (wait or self._inflight[0].done()):
            self._accept(self._inflight.popleft().result())

    def state_for(self, key: PageKey, role: Role) -> PageState:
        state = self.states.get(key)
        if state is None:
            state = PageState(page_id=None, target_id=self.target_ids[key.target], role=role)
            state.announce_added = self.listings.announced(key)
            # A page new to the monitor is compared under its site's chrome from its first
            # version on, like the site's other pages (else its next capture differs).
            state.site_chrome = self._site_chrome(key.url)
            self.states[key] = state
            self.summary.discovered += 1
        return state

    def _site_chrome(self, url: str) -> site_boilerplate.SiteChrome | None:
        """What is known to be chrome on the site of ``url`` (read once per check)."""
        host = site_boilerplate.host_of(url)
        if host not in self._chromes:
            try:
                self._chromes[host] = self.store.site_chromes([host]).get(host)
            except StorageError as exc:
                logger.error("could not read the boilerplate of %s: %s", host, exc)
                self._chromes[host] = None
        return self._chromes[host]

    def _accept(self, observation: Observation) -> None:
        fetch = observation.fetch
        state = self.states[fetch.key]
        if moving.waits(observation, state, self._move_keys):
            self._move_waiting.append(observation)
            return
        if (
            fetch.purpose == Purpose.CHECK
            and state.last_version_id is None
            and observation.compared
        ):
            self._first_sight[fetch.key] = observation
        if (
            fetch.purpose == Purpose.CHECK
            and observation.outcome_hint == "content"
            and state.last_version_id is not None
            and state.last_extract_key not in (None, observation.extract_key)
            and observation.content_sha256 != state.last_content_sha256
        ):
            self._rebase_on_new_rules(observation, state)
        if (
            self.site_pages
            and observation.chrome_candidates
            and fetch.purpose == Purpose.CHECK
            and state.last_version_id is not None
            and observation.content_sha256 != state.last_content_sha256
        ):
            # New text in a block that is chrome on this site: a site-wide change (a promo
            # replaced everywhere) or news of this page; the end of the check tells which.
            self._deferred.append(observation)
            return
        self._pending.append(observation)
        if len(self._pending) == 1:
            self._pending_since = time.monotonic()
        if (
            len(self._pending) >= self.batch_size
            or time.monotonic() - self._pending_since >= self.batch_seconds
        ):
            self._flush()

    def _patience(self) -> float | None:
        """How long the writer waits for the next fetch before recording what is pending
        (forever when nothing is; observations that become ready wake the writer)."""
        if not self._pending:
            return None
        return max(0.05, self.batch_seconds - (time.monotonic() - self._pending_since))

    def _rebase_on_new_rules(self, observation: Observation, state: PageState) -> None:
        """The extraction rules changed since the last version (a new monitor release, a
        new selector or exclude): its content under the new rules, from its stored body, is
        what this capture is compared with, so a change of rules is never a change of the
        page."""
        fetch = observation.fetch
        try:
            previous = self.store.version_fetch(state.last_version_id or 0)
        except StorageError as exc:
            logger.error("could not read the last version of %s: %s", fetch.key.url, exc)
            return
        if previous is None:
            return
        previous.role = fetch.role
        again = observe(
            previous,
            self.rules[fetch.key.target].of(fetch.role),
            replace(state, content_region=observation.region, last_body_sha256=None),
        )
        if again.outcome_hint == "content" and again.content_sha256:
            logger.info("extraction rules changed for %s: compared anew", fetch.key.url)
            state.last_content_sha256 = again.content_sha256

    def _flush(self, adjust: Callable[[Plan], object] | None = None) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        probes = {o.fetch.key for o in batch if o.fetch.purpose == Purpose.PROBE}
        try:
            plan, written = record_batch(
                self.store,
                batch,
                self.states,
                self.contexts,
                page_contexts=self.listings.page_contexts(),
                first_sights={
                    key: self._first_sight[key] for key in probes & set(self._first_sight)
                },
                warc=("all" if self.archive_all else "changes") if self.archive else None,
                adjust=adjust,
            )
        except StorageError as exc:
            logger.error("recording %d captures failed: %s", len(batch), exc)
            self.failures.append(str(exc))
            return
        except Exception as exc:  # one bad batch never stops the others
            logger.exception("recording %d captures failed", len(batch))
            self.failures.append(f"recording {len(batch)} captures failed: {exc!r}")
            return
        for key in probes:
            self._first_sight.pop(key, None)
        for item, observation in zip(plan.recorded, batch, strict=True):
            self.summary.add(item)
            fetch = observation.fetch
            if (
                item.version_id
                and item.version_seq == 1
                and fetch.role in (Role.PAGE, Role.ARTICLE)
                and observation.text
            ):
                # A page first seen in this check may be where a removed page went (a
                # watched page that changed is not: near-duplicate pages of one site
                # edited while another goes would be false moves).
                self._arrivals.append(
                    moves.Seen(
                        fetch.key,
                        item.page_id,
                        item.version_id,
                        observation.title,
                        observation.text,
                    )
                )
            if self.site_pages and item.version_id and fetch.role in (Role.PAGE, Role.ARTICLE):
                self._sites.add(site_boilerplate.host_of(fetch.key.url))
            metrics.record_check(item.outcome, fetch.duration_ms, item.event)
            check_log.info(
                "%s %s %s %s%s",
                fetch.key.target,
                item.outcome,
                item.status or "-",
                fetch.key.url,
                f" [{item.event}]" if item.event else "",
                extra={
                    "target": fetch.key.target,
                    "url": fetch.key.url,
                    "status": item.status,
                    "outcome": item.outcome,
                    "event": item.event,
                    "duration_ms": round(fetch.duration_ms, 1),
                    "purpose": fetch.purpose,
                },
            )
            if self.on_recorded is not None:
                self.on_recorded(item, observation)
        self.new_versions.extend(item.version_id for item in plan.recorded if item.version_id)
        if self.archive is not None and plan.warc:
            self._write_warc(plan, written)

    def _write_warc(self, plan: Plan, written: Written) -> None:
        """The exchanges of new versions and events (or of every capture) as WARC records,
        from the bodies in memory; their locations noted on the captures."""
        from monitor.evidence import archive_plan

        assert self.archive is not None
        try:
            locations = archive_plan(self.archive, plan, written)
            self.store.note_warc(locations)
        except (EvidenceError, StorageError) as exc:
            # The database has the capture and its body: WARC is a second copy, left
            # for later (the capture's warc_record stays empty).
            logger.error("writing WARC records failed: %s", exc)

    def _finish(self) -> None:
        """Flush what is left, learn site boilerplate, record the captures that waited
        for it, and record which links each listing showed."""
        self._flush()
        if self.site_pages:
            self._learn_sites()
            deferred, self._deferred = self._deferred, []
            for observation in deferred:
                self._pending.append(self._recompared(observation))
            self._flush()
        self._settle_moves()
        marks = self.listings.marks(self.states, self.target_ids, self.started)
        if marks:
            try:
                self.store.write(Plan(listings=marks))
            except StorageError as exc:
                logger.error("recording the links of the listings failed: %s", exc)
                self.failures.append(str(exc))
        if self.save_page_now is not None and self.new_versions:
            from monitor.evidence import save_versions

            save_versions(self.store, self.save_page_now, self.new_versions)

    def _settle_moves(self) -> None:
        """Record the captures that waited for the end of the check, a confirmed removal
        whose content is now at another URL of its site as one ``moved`` event."""
        waiting, self._move_waiting = self._move_waiting, []
        if not waiting:
            return
        found = moving.find(self.store, self.states, waiting, self._move_keys, self._arrivals)
        self._pending.extend(waiting)
        self._flush(adjust=(lambda plan: moves.apply(plan, found)) if found else None)
        self._move_keys.clear()

    def _learn_sites(self) -> None:
        """Learn what the sites touched in this check repeat on many pages (and re-base
        their pages' compare hashes when something was learned)."""
        waiting: dict[str, dict[str, set[int]]] = {}
        for observation in self._deferred:
            key = observation.fetch.key
            state = self.states.get(key)
            if state is None or state.page_id is None:
                continue
            host = site_boilerplate.host_of(key.url)
            for line in observation.chrome_candidates:
                waiting.setdefault(host, {}).setdefault(line, set()).add(state.page_id)
        for host in sorted(self._sites | set(waiting)):
            try:
                chrome = learn_site(
                    self.store,
                    host,
                    waiting.get(host, {}),
                    min_pages=self.site_pages,
                    min_share=self.site_share,
                    states=self.states,
                )
            except StorageError as exc:
                logger.error("could not learn the boilerplate of %s: %s", host, exc)
                continue
            if chrome is not None:
                self._chromes[host] = chrome
        self._sites.clear()

    def _recompared(self, observation: Observation) -> Observation:
        """A capture that waited for site learning, compared under what is known now: its
        candidate lines are chrome if learned, else news of this page."""
        state = self.states[observation.fetch.key]
        lines = (observation.text or "").splitlines()
        compared, _candidates = compared_lines(
            lines,
            observation.keys,
            state.volatility or volatility.NONE,
            state.site_chrome or site_boilerplate.NONE,
        )
        observation.compared = compared
        observation.chrome_candidates = ()
        observation.content_sha256 = content_hash(
            observation.title, compared, observation.images, observation.links
        )
        return observation
