"""One check cycle: sync targets, crawl their pages, record what was seen.

This is the main job, shared by ``monitor check``, ``monitor demo`` and the daemon.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from monitor import config as cfg
from monitor import extract, reactor
from monitor.crawl import Sink, crawl
from monitor.events import Context
from monitor.exceptions import StorageError
from monitor.models import utcnow
from monitor.notify import routing
from monitor.process import ProcessRules
from monitor.records import CheckSummary, Observation, PageKey, PageState, RecordedCapture
from monitor.store import Store
from spiders import ListingJob, PageJob

logger = logging.getLogger(__name__)


def rules_for(config: cfg.Config, target: cfg.Target) -> ProcessRules:
    """How a target's captures become content, from its config."""
    return ProcessRules(
        extract=extract.Rules(
            extractor=config.detect.extractor,
            selector=target.selector.expression if target.selector else None,
            exclude=tuple(selector.expression for selector in target.exclude),
        ),
        ignore=config.ignore_of(target),
        encoding=target.encoding,
    )


def run_check(
    config: cfg.Config,
    store: Store,
    targets: Sequence[cfg.Target],
    *,
    on_recorded: Callable[[RecordedCapture, Observation], None] | None = None,
) -> CheckSummary:
    """Check every page of ``targets`` once; returns the cycle's summary."""
    return reactor.run(lambda: check_async(config, store, targets, on_recorded=on_recorded))


def article_interval(follow: cfg.Follow, listing_every: float, age_seconds: float) -> float:
    """How often the daemon checks an article: often while new, less as it ages.

    >>> article_interval(cfg.Follow(pattern="x", article_every=600), 3600, 0)
    600.0
    >>> article_interval(cfg.Follow(pattern="x", article_every=600), 3600, 2 * 86400)
    1800.0
    """
    base = follow.article_every or listing_every
    return float(
        min(follow.article_max_every, base * (1 + follow.article_slowdown * age_seconds / 86400))
    )


async def check_async(
    config: cfg.Config,
    store: Store,
    targets: Sequence[cfg.Target],
    *,
    on_recorded: Callable[[RecordedCapture, Observation], None] | None = None,
    due_only: bool = False,
    timeout: float | None = None,
) -> CheckSummary:
    """The check cycle on the reactor's loop (the daemon calls this directly).

    ``due_only``: a listing's known articles are fetched only when their own, aging
    interval has passed (new articles always are). ``timeout``: the crawl is stopped
    after that long, and what it fetched so far is recorded.
    """
    started = utcnow()
    target_ids = store.sync_targets(targets)
    states = store.states(target_ids.values())
    rules = {target.name: rules_for(config, target) for target in targets}
    contexts: dict[str, Context] = {}
    page_jobs: list[PageJob] = []
    listing_jobs: list[ListingJob] = []
    by_target: dict[str, dict[PageKey, PageState]] = {}
    for key, state in states.items():
        by_target.setdefault(key.target, {})[key] = state
    for target in targets:
        obey = config.fetch.obey_robots if target.obey_robots is None else target.obey_robots
        mine = by_target.get(target.name, {})
        root = mine.get(PageKey(target.name, target.url))
        contexts[target.name] = Context(
            error_after=config.detect.error_after,
            flipflop_versions=config.detect.flipflop_versions,
            listing_established=bool(root and root.last_version_id is not None),
            watch_terms=config.detect.terms + target.watch_terms,
            volatile_after=config.detect.volatile_after,
            min_significance=target.min_significance,
            routes=routing.rules_for(config, target),
        )
        if target.follow is None:
            if root is not None:
                page_jobs.append(
                    PageJob(
                        key=PageKey(target.name, target.url),
                        role=root.role,
                        obey_robots=obey,
                        confirm=root.last_version_id is not None and root.state != "removed",
                        probe=root.last_version_id is None,
                        etag=root.etag if root.last_version_id else None,
                        last_modified=root.last_modified if root.last_version_id else None,
                    )
                )
            continue
        follow = target.follow
        articles = {key.url: state for key, state in mine.items() if state.role == "article"}
        if due_only:
            every = config.schedule_of(target).every or 3600.0
            articles = {
                url: state
                for url, state in articles.items()
                if state.next_due_at is None or state.next_due_at <= started
            }
            for state in articles.values():
                age = (started - (state.created_at or started)).total_seconds()
                state.next_due_at = started + timedelta(
                    seconds=article_interval(follow, every, age)
                )
        listing_jobs.append(
            ListingJob(
                target=target.name,
                url=target.url,
                links=follow.links.expression if follow.links else None,
                pattern=follow.pattern,
                next_page=follow.next_page.expression if follow.next_page else None,
                max_pages=follow.max_pages,
                same_domain=follow.same_domain,
                max_articles=follow.max_articles,
                known_articles=tuple(articles),
                articles_with_content=frozenset(
                    url
                    for url, state in articles.items()
                    if state.last_version_id is not None and state.state != "removed"
                ),
                obey_robots=obey,
            )
        )
    from monitor.evidence import archive_for

    sink = Sink(
        store,
        states,
        rules,
        target_ids,
        contexts=contexts,
        on_recorded=on_recorded,
        archive=archive_for(config.archive),
        archive_all=config.archive.all_captures,
    )
    logger.info("checking %d pages and %d listings", len(page_jobs), len(listing_jobs))
    await crawl(config.fetch, sink, page_jobs, listing_jobs, config.detect, timeout=timeout)
    sink.finish(started)
    if config.archive.save_page_now and sink.new_versions:
        from monitor.evidence import SavePageNow, save_versions

        client = SavePageNow.from_settings(config.archive)
        await asyncio.to_thread(save_versions, store, client, sink.new_versions)
    if sink.failures:
        raise StorageError("; ".join(dict.fromkeys(sink.failures)))
    return sink.summary
