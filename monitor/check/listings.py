"""What the listings of one check showed, and the pages their links bring in.

The crawl asks (on the reactor's thread) which of a listing's links to fetch
(:meth:`Listings.plan`, decided by :func:`monitor.detect.listing.plan`); the writer reads
(on its own thread) which new pages are announced and, at the end, which links each
listing showed (:meth:`Listings.marks`). Both sides go through one lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.detect import listing
from monitor.detect.events import DEFAULT_CONTEXT, Context, shared_context
from monitor.detect.listing import ListingPlan
from monitor.recording import ListingMarks
from monitor.records import ListedLinkState, PageKey, PageState
from monitor.vocab import Role

if TYPE_CHECKING:
    # mypy reads the repository's spiders/ as `spiders`; installed (and in an editable
    # install) it is monitor.spiders (pyproject.toml maps the folder).
    from spiders import ListingJob, PageJob
else:
    from monitor.spiders import ListingJob, PageJob

logger = logging.getLogger(__name__)


class Listings:
    """The listings of one check: their plans, the new pages they claimed, the pages of
    other targets they watch (whose events go to them too)."""

    def __init__(
        self,
        listed: Mapping[str, Mapping[str, ListedLinkState]],
        contexts: Mapping[str, Context],
        page_contexts: dict[PageKey, Context],
    ) -> None:
        # What each listing target showed before: listing name -> url -> link.
        self.listed = listed
        self.contexts = contexts
        self._page_contexts = page_contexts
        self._lock = threading.Lock()
        self.plans: dict[str, ListingPlan] = {}
        self.failed: set[str] = set()
        self.failures: list[str] = []
        # Listings whose links were cut by follow.max_articles: name -> (cut, limit).
        self.not_followed: dict[str, tuple[int, int]] = {}
        # New pages fetched in this check, by URL: a second listing showing the same new
        # link watches that page instead of making its own.
        self._claimed: dict[str, PageKey] = {}
        self._announce: set[PageKey] = set()
        self._page_ids: dict[PageKey, int] = {}
        # The lastmod dates each listing's sources gave: listing name -> url -> date.
        self.dates: dict[str, dict[str, str]] = {}

    def unknown(self, job: ListingJob, urls: list[str]) -> list[str]:
        """The links of a listing not followed before (their page is looked up)."""
        known = self.listed.get(job.target, {})
        return [url for url in urls if url not in known or known[url].page is None]

    def fail(self, target: str, reason: str | None = None) -> None:
        """A listing could not be read completely: its links are not recorded."""
        with self._lock:
            self.failed.add(target)
            if reason:
                self.failures.append(reason)

    def plan(
        self,
        job: ListingJob,
        urls: list[str],
        unknown: list[str],
        watching: Mapping[str, tuple[PageKey, int]],
        dates: Mapping[str, str] | None = None,
    ) -> list[PageJob]:
        """Judge a listing's links (all its pages read); returns the new pages to fetch.
        ``watching``: the page already watching each unknown link, by URL; ``dates``: the
        lastmod its sitemaps or feeds gave links (a moved one: its page is checked now)."""
        with self._lock:
            known = self.listed.get(job.target, {})
            watched: dict[str, PageKey] = {}
            for url, (key, page_id) in watching.items():
                watched[url] = key
                self._page_ids[key] = page_id
            for url in unknown:
                if url in self._claimed:
                    watched.setdefault(url, self._claimed[url])
            plan = listing.plan(
                job.target,
                urls,
                known,
                watched,
                job.max_articles,
                window=not job.sources,
                dates=dates,
            )
            self.plans[job.target] = plan
            if dates:
                self.dates[job.target] = dict(dates)
            pages: list[PageJob] = []
            hinted = 0
            for link in plan.links:
                if link.page is None:
                    continue
                if link.hinted and link.page.target == job.target:
                    # Its lastmod moved: checked now, not when its schedule says (a page
                    # fetched anyway in this check is fetched once: the spider knows).
                    hinted += 1
                    pages.append(PageJob(link.page, Role.ARTICLE, job.obey_robots, confirm=True))
                    continue
                if link.fetch:
                    self._claimed[link.url] = link.page
                    if link.announce:
                        self._announce.add(link.page)
                    pages.append(
                        PageJob(
                            link.page,
                            Role.ARTICLE,
                            job.obey_robots,
                            probe=True,
                            attachments=job.attachments,
                            region=job.attachments_in,
                        )
                    )
                elif link.page.target != job.target:
                    self._watch(link.page, job.target)
            if plan.cut:
                self.not_followed[job.target] = (plan.cut, job.max_articles)
        if hinted:
            logger.info("listing %s: %d pages checked early (lastmod moved)", job.target, hinted)
        if plan.cut:
            # Reported by the check's summary and `monitor status`; logged for the daemon.
            logger.info(
                "listing %s: %d article links not followed (follow.max_articles %d)",
                job.target,
                plan.cut,
                job.max_articles,
            )
        return pages

    def _watch(self, key: PageKey, target: str) -> None:
        """``target`` watches the page ``key`` of another target: its events go to both."""
        mine = self.contexts.get(target)
        if mine is None:
            return
        current = self._page_contexts.get(key) or self.contexts.get(key.target, DEFAULT_CONTEXT)
        if all(rule in current.routes for rule in mine.routes) and set(mine.watch_terms) <= set(
            current.watch_terms
        ):
            return  # already watching (or nothing to add)
        self._page_contexts[key] = shared_context([current, mine])

    def announced(self, key: PageKey) -> bool:
        """Whether a new page was found as a link new to every target (reported added)."""
        with self._lock:
            return key in self._announce

    def page_contexts(self) -> dict[PageKey, Context]:
        """The contexts of pages several targets watch, as they are now."""
        with self._lock:
            return dict(self._page_contexts)

    def marks(
        self, states: Mapping[PageKey, PageState], target_ids: Mapping[str, int], when: datetime
    ) -> list[ListingMarks]:
        """The links each listing read completely showed, with the page watching each."""
        marks: list[ListingMarks] = []
        with self._lock:
            for target, plan in self.plans.items():
                if target in self.failed:
                    continue
                known = self.listed.get(target, {})
                rows: list[tuple[str, int | None, bool]] = []
                for link in plan.links:
                    page_id = None
                    if link.page is not None:
                        state = states.get(link.page)
                        seen = known.get(link.url)
                        page_id = (
                            (state.page_id if state else None)
                            or (seen.page_id if seen else None)
                            or self._page_ids.get(link.page)
                        )
                    if link.page is not None and page_id is None:
                        continue  # its page was never recorded (the crawl stopped): next time
                    rows.append((link.url, page_id, link.announce))
                if rows:
                    dates = self.dates.get(target, {})
                    marks.append(
                        ListingMarks(
                            target_ids[target],
                            rows,
                            when,
                            {url: dates[url] for url, _id, _new in rows if url in dates},
                        )
                    )
        return marks
