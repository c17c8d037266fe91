"""The check's sink: where the crawl's fetches arrive, to be observed and recorded.

Each FetchResult goes through :class:`monitor.fetch.pipeline.RecordPipeline` into a
:class:`Sink`, which observes it (decode, extract, normalise) and records observations in
batches, one transaction each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.check import metrics
from monitor.check.record import DEFAULT_CONTEXT, Recorder
from monitor.detect import listing, site_boilerplate, volatility
from monitor.detect.events import Context, shared_context
from monitor.detect.listing import ListingPlan
from monitor.detect.observe import TargetRules, compared_lines, content_hash, observe
from monitor.exceptions import StorageError
from monitor.records import (
    CheckSummary,
    FetchResult,
    ListedLinkState,
    Observation,
    PageKey,
    PageState,
    RecordedCapture,
)
from monitor.storage.store import Store
from monitor.vocab import Purpose, Quality, Role

if TYPE_CHECKING:
    # mypy reads the repository's spiders/ as `spiders`; installed (and in an editable
    # install) it is monitor.spiders (pyproject.toml maps the folder).
    from spiders import ListingJob, PageJob
else:
    from monitor.spiders import ListingJob, PageJob


if TYPE_CHECKING:
    from monitor.evidence.warc import WarcArchive

logger = logging.getLogger(__name__)
# One line per check (target, outcome, status, URL, event, duration): its own logger, so
# it can be turned up or down on its own.
check_log = logging.getLogger("monitor.checks")


class Sink:
    """Turns FetchResults into recorded captures, batching the database writes.

    It also judges the links of each listing when the listing has been read (which are
    new, shared with another target, over ``max_articles``: :mod:`monitor.detect.listing`), and
    records them when the crawl is done.
    """

    def __init__(
        self,
        store: Store,
        states: dict[PageKey, PageState],
        rules: Mapping[str, TargetRules],
        target_ids: dict[str, int],
        *,
        contexts: dict[str, Context] | None = None,
        page_contexts: dict[PageKey, Context] | None = None,
        listed: dict[str, dict[str, ListedLinkState]] | None = None,
        archive: WarcArchive | None = None,
        archive_all: bool = False,
        batch_size: int = 200,
        batch_seconds: float = 2.0,
        on_recorded: Callable[[RecordedCapture, Observation], None] | None = None,
        on_planned: Callable[[int], None] | None = None,
        site_pages: int = 0,
        site_share: float = 0.3,
    ) -> None:
        self.store = store
        self.recorder = Recorder(store)
        self.states = states
        self.rules = rules
        self.target_ids = target_ids
        self.contexts = contexts or {}
        # Pages several targets watch: the context joining all of them (routes, terms).
        self.page_contexts = page_contexts if page_contexts is not None else {}
        # What each listing target showed before: listing name -> url -> link.
        self.listed = listed or {}
        self.archive = archive  # when WARC writing is on
        self.archive_all = archive_all
        self.new_versions: list[int] = []
        self._first_sight: dict[PageKey, Observation] = {}
        self._probes: list[Observation] = []
        self.batch_size = batch_size
        # A slow, polite check fills a batch slowly: what waited this long is recorded
        # anyway, so events are reported (and alerts queued) as they are found.
        self.batch_seconds = batch_seconds
        self._pending_since = 0.0
        self.on_recorded = on_recorded
        self.on_planned = on_planned
        self.summary = CheckSummary()
        self.plans: dict[str, ListingPlan] = {}
        self.listing_failed: set[str] = set()
        # New pages fetched in this check, by URL: a second listing showing the same new
        # link watches that page instead of making its own.
        self._claimed: dict[str, PageKey] = {}
        self._announce: set[PageKey] = set()
        self._page_ids: dict[PageKey, int] = {}
        self._pending: list[Observation] = []
        self.failures: list[str] = []
        # Site boilerplate (monitor.detect.site_boilerplate): learned at the end of the cycle from
        # the sites whose pages got new versions; captures whose only news may be a
        # site-wide change of a chrome block wait for it.
        self.site_pages = site_pages
        self.site_share = site_share
        self._sites: set[str] = set()
        self._deferred: list[Observation] = []
        self._chromes: dict[str, site_boilerplate.SiteChrome | None] = {}

    def state_for(self, key: PageKey, role: str) -> PageState:
        state = self.states.get(key)
        if state is None:
            state = PageState(page_id=None, target_id=self.target_ids[key.target], role=role)  # type: ignore[arg-type]
            state.announce_added = key in self._announce
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

    def plan_listing(self, job: ListingJob, links: list[tuple[str, str]]) -> list[PageJob]:
        """Judge a listing's links (all its pages read); returns the new pages to fetch."""
        urls = [url for url, _text in links]
        known = self.listed.get(job.target, {})
        unknown = [url for url in urls if url not in known or known[url].page is None]
        watched: dict[str, PageKey] = {}
        try:
            for url, (key, page_id) in self.store.pages_at(unknown).items():
                watched[url] = key
                self._page_ids[key] = page_id
        except StorageError as exc:
            logger.error("reading the pages behind %s's links failed: %s", job.target, exc)
            self.failures.append(str(exc))
            self.listing_failed.add(job.target)
            return []
        for url in unknown:
            if url in self._claimed:
                watched.setdefault(url, self._claimed[url])
        plan = listing.plan(job.target, urls, known, watched, job.max_articles)
        self.plans[job.target] = plan
        pages: list[PageJob] = []
        for link in plan.links:
            if link.page is None:
                continue
            if link.fetch:
                self._claimed[link.url] = link.page
                if link.announce:
                    self._announce.add(link.page)
                pages.append(PageJob(link.page, Role.ARTICLE, job.obey_robots, probe=True))
            elif link.page.target != job.target:
                self.watch(link.page, job.target)
        if pages and self.on_planned is not None:
            self.on_planned(len(pages))
        if plan.cut:
            self.summary.not_followed[job.target] = (plan.cut, job.max_articles)
            # Reported by the check's summary and `monitor status`; logged for the daemon.
            logger.info(
                "listing %s: %d article links not followed (follow.max_articles %d)",
                job.target,
                plan.cut,
                job.max_articles,
            )
        return pages

    def watch(self, key: PageKey, target: str) -> None:
        """``target`` watches the page ``key`` of another target: its events go to both."""
        mine = self.contexts.get(target)
        if mine is None:
            return
        current = self.page_contexts.get(key) or self.contexts.get(key.target, DEFAULT_CONTEXT)
        if all(rule in current.routes for rule in mine.routes) and set(mine.watch_terms) <= set(
            current.watch_terms
        ):
            return  # already watching (or nothing to add)
        self.page_contexts[key] = shared_context([current, mine])

    def accept(self, fetch: FetchResult) -> None:
        state = self.state_for(fetch.key, fetch.role)
        if fetch.role == Role.LISTING and fetch.article_links is None:
            self.listing_failed.add(fetch.key.target)
        try:
            observation = observe(fetch, self.rules[fetch.key.target].of(fetch.role), state)
        except Exception as exc:  # one bad page never stops the others
            logger.exception("processing %s failed", fetch.key.url)
            observation = Observation(
                fetch=fetch,
                body_sha256=None,
                quality=Quality.ERROR,
                outcome_hint="error",
                note=f"processing failed: {exc}",
            )
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
            # replaced everywhere) or news of this page; the end of the cycle tells which.
            self._deferred.append(observation)
            return
        self._pending.append(observation)
        if fetch.purpose == Purpose.PROBE:
            # Learned after the batch holding the first sight is recorded (see flush).
            self._probes.append(observation)
        if len(self._pending) == 1:
            self._pending_since = time.monotonic()
        if (
            len(self._pending) >= self.batch_size
            or time.monotonic() - self._pending_since >= self.batch_seconds
        ):
            self.flush()

    def _write_warc(self, recorded: list[RecordedCapture], batch: list[Observation]) -> None:
        """The exchanges of new versions and events (or of every capture) as WARC records."""
        from monitor.evidence import archive_recorded, wants_warc
        from monitor.exceptions import EvidenceError

        wanted = [
            (item.capture_id, observation.fetch.body)
            for item, observation in zip(recorded, batch, strict=True)
            if wants_warc(item, self.archive_all)
        ]
        if not wanted or self.archive is None:
            return
        try:
            archive_recorded(self.store, self.archive, wanted)
        except EvidenceError as exc:
            # The database has the capture and its body: WARC is a second copy.
            logger.error("writing WARC records failed: %s", exc)

    def _learn_from_probe(self, probe: Observation, capture_id: int | None = None) -> None:
        """Lines that differ between two fetches seconds apart are noise on this page."""
        first = self._first_sight.pop(probe.fetch.key, None)
        state = self.states.get(probe.fetch.key)
        if first is None or state is None or not probe.compared or not first.compared:
            return
        learned = volatility.differing(first.compared, probe.compared)
        if learned:
            logger.info(
                "learned %d volatile line(s) on %s",
                len(learned.signatures) + len(learned.after),
                probe.fetch.key.url,
            )
            try:
                self.recorder.learn_volatility(state, learned, "probe", first.text, capture_id)
            except StorageError as exc:
                logger.error("could not store what was learned on %s: %s", probe.fetch.key.url, exc)

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            recorded = self.recorder.record(
                batch, self.states, self.contexts, page_contexts=self.page_contexts
            )
        except StorageError as exc:
            logger.error("recording %d captures failed: %s", len(batch), exc)
            self.failures.append(str(exc))
            return
        for item, observation in zip(recorded, batch, strict=True):
            self.summary.add(item)
            fetch = observation.fetch
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
        self.new_versions.extend(item.version_id for item in recorded if item.version_id)
        if self.archive is not None:
            self._write_warc(recorded, batch)
        captures = {
            id(observation): item.capture_id
            for item, observation in zip(recorded, batch, strict=True)
        }
        probes, self._probes = self._probes, []
        for probe in probes:
            self._learn_from_probe(probe, captures.get(id(probe)))

    def finish(self, started: datetime) -> None:
        """Flush what is left, learn site boilerplate, record the captures that waited
        for it, and record which links each listing showed."""
        self.flush()
        if self.site_pages:
            self._learn_sites()
            deferred, self._deferred = self._deferred, []
            for observation in deferred:
                self._pending.append(self._recompared(observation))
            self.flush()
        for target, plan in self.plans.items():
            if target in self.listing_failed:
                continue
            known = self.listed.get(target, {})
            rows: list[tuple[str, int | None, bool]] = []
            for link in plan.links:
                page_id = None
                if link.page is not None:
                    state = self.states.get(link.page)
                    seen = known.get(link.url)
                    page_id = (
                        (state.page_id if state else None)
                        or (seen.page_id if seen else None)
                        or self._page_ids.get(link.page)
                    )
                if link.page is not None and page_id is None:
                    continue  # its page was never recorded (the crawl stopped): next time
                rows.append((link.url, page_id, link.announce))
            try:
                self.store.record_listing(self.target_ids[target], rows, started)
            except StorageError as exc:
                logger.error("recording the links of %s failed: %s", target, exc)
                self.failures.append(str(exc))

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

    def _learn_sites(self) -> None:
        """Learn what the sites touched in this cycle repeat on many pages (and re-base
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
            extra = waiting.get(host, {})
            try:
                counts = self.store.site_counts(
                    host, min_pages=self.site_pages, min_share=self.site_share, candidates=extra
                )
                known = self.store.site_chromes([host]).get(host, site_boilerplate.NONE)
                learned = site_boilerplate.learn(
                    counts, known, min_pages=self.site_pages, min_share=self.site_share, extra=extra
                )
                if not learned:
                    continue
                for line, pages in extra.items():
                    counts.line_pages[line] = len(counts.candidates.get(line, set()) | pages)
                self.store.add_site_chrome(host, learned, counts)
                self._chromes[host] = known.merged(learned)
                rebased = self.recorder.rebase_site(host, known.merged(learned), self.states)
            except StorageError as exc:
                logger.error("could not learn the boilerplate of %s: %s", host, exc)
                continue
            logger.info(
                "learned %d line(s) and %d block(s) of site boilerplate on %s (%d pages re-based)",
                len(learned.lines),
                len(learned.blocks),
                host,
                rebased,
            )
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
        observation.content_sha256 = content_hash(observation.title, compared, observation.images)
        return observation
