"""One check cycle: sync targets, crawl their pages, record what was seen.

This is the main job, shared by ``monitor check``, ``monitor demo`` and the daemon.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor import config as cfg
from monitor.check.listings import Listings
from monitor.check.pool import PoolProcessor, workers_for
from monitor.check.sink import Sink
from monitor.check.writer import Writer
from monitor.detect import extract
from monitor.detect.events import DEFAULT_CONTEXT, Context, shared_context
from monitor.detect.observe import ProcessRules, TargetRules
from monitor.exceptions import StorageError
from monitor.fetch import reactor
from monitor.fetch.options import options_for
from monitor.fetch.robots import RobotsCache
from monitor.fetch.runner import crawl
from monitor.notify import routing
from monitor.records import (
    CheckSummary,
    FetchOptions,
    ListedLinkState,
    Observation,
    PageKey,
    PageState,
    RecordedCapture,
)
from monitor.storage.store import Store
from monitor.timefmt import utcnow
from monitor.vocab import PageStatus, Role

if TYPE_CHECKING:
    # mypy reads the repository's spiders/ as `spiders`; installed (and in an editable
    # install) it is monitor.spiders (pyproject.toml maps the folder).
    from spiders import ListingJob, PageJob
    from spiders.sources import Source
else:
    from monitor.spiders import ListingJob, PageJob
    from monitor.spiders.sources import Source

logger = logging.getLogger(__name__)


def rules_for(config: cfg.Config, target: cfg.Target, role: Role = Role.PAGE) -> ProcessRules:
    """How a target's captures of pages in ``role`` become content, from its config.

    A listing's articles have their own region rules (``follow.selector`` and
    ``follow.exclude``; automatic extraction when absent); the target's ``selector`` and
    ``exclude`` are those of its own page (a listing's listing pages).
    """
    if role == Role.ARTICLE and target.follow is not None:
        selector, exclude = target.follow.selector, target.follow.exclude
    else:
        selector, exclude = target.selector, target.exclude
    return ProcessRules(
        extract=extract.Rules(
            extractor=config.detect.extractor,
            selector=selector.value if selector else None,
            exclude=tuple(item.value for item in exclude),
        ),
        ignore=config.ignore_of(target),
        encoding=target.encoding,
    )


def target_rules(config: cfg.Config, target: cfg.Target) -> TargetRules:
    """A target's process rules for each role of its pages."""
    articles = rules_for(config, target, Role.ARTICLE) if target.follow is not None else None
    return TargetRules(pages=rules_for(config, target), articles=articles)


def context_for(config: cfg.Config, target: cfg.Target) -> Context:
    """The settings events of a target's pages depend on, with its alert routing."""
    return Context(
        error_after=config.detect.error_after,
        flipflop_versions=config.detect.flipflop_versions,
        watch_terms=config.detect.terms + target.watch_terms,
        volatile_after=config.detect.volatile_after,
        min_significance=target.min_significance,
        routes=routing.rules_for(config, target),
        learn_site=config.detect.site_boilerplate_pages > 0,
    )


def run_check(
    config: cfg.Config,
    store: Store,
    targets: Sequence[cfg.Target],
    *,
    on_recorded: Callable[[RecordedCapture, Observation], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> CheckSummary:
    """Check every page of ``targets`` once; returns the cycle's summary.

    ``on_recorded`` is called with each capture as it is recorded (in the writer's
    thread), ``on_planned`` with the number of pages added to the plan: those known at
    the start, then each listing's new articles (``monitor check`` shows its progress
    with them).
    """
    return reactor.run(
        lambda: check_async(config, store, targets, on_recorded=on_recorded, on_planned=on_planned)
    )


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


def sources_of(follow: cfg.Follow) -> tuple[Source, ...]:
    """The sitemaps and feeds a listing reads its articles from (none: its page's links).

    >>> sources_of(cfg.Follow(sitemap="robots", feed="https://e.org/feed"))
    (Source(kind='robots', url='robots'), Source(kind='feed', url='https://e.org/feed'))
    """
    found: list[Source] = []
    if follow.sitemap == "robots":
        found.append(Source("robots", "robots"))
    elif follow.sitemap is not None:
        found.append(Source("sitemap", follow.sitemap))
    if follow.feed is not None:
        found.append(Source("feed", follow.feed))
    return tuple(found)


def shared_contexts(
    configured: Mapping[str, cfg.Target],
    contexts: Mapping[str, Context],
    listers: Mapping[PageKey, list[str]],
    links: Mapping[str, Mapping[str, ListedLinkState]],
) -> dict[PageKey, Context]:
    """The context of each page several targets watch: its owner's, joined with that of
    every enabled listing listing it (so its events go to each of their channels once).

    ``listers``: pages of the checked targets listed by other targets; ``links``: what
    each checked listing lists (some of it pages of other targets).
    """
    watchers = {key: [key.target, *names] for key, names in listers.items()}
    for listing_name, known in links.items():
        for link in known.values():
            if link.page is not None and link.page.target != listing_name:
                watchers.setdefault(link.page, [link.page.target]).append(listing_name)
    result: dict[PageKey, Context] = {}
    for key, names in watchers.items():
        chosen = [
            contexts[name]
            for name in dict.fromkeys(names)
            if name in contexts and (name == key.target or configured[name].enabled)
        ]
        if len(chosen) > 1 or key.target not in contexts:
            result[key] = shared_context(chosen or [DEFAULT_CONTEXT])
    return result


@dataclass
class Prepared:
    """What a check needs before it crawls, read from the config and the database."""

    started: datetime
    target_ids: dict[str, int]
    states: dict[PageKey, PageState]
    rules: dict[str, TargetRules]
    contexts: dict[str, Context]
    page_contexts: dict[PageKey, Context]
    links: dict[str, dict[str, ListedLinkState]]
    page_jobs: list[PageJob] = field(default_factory=list)
    listing_jobs: list[ListingJob] = field(default_factory=list)
    # Request options (headers, cookies, proxy, rendering) of the targets that have any.
    options: dict[str, FetchOptions] = field(default_factory=dict)


def prepare(
    config: cfg.Config, store: Store, targets: Sequence[cfg.Target], *, due_only: bool = False
) -> Prepared:
    """Sync the targets, read the pages' states and what listings showed, and make the
    crawl's jobs (in a worker thread: the database is never read on the reactor's loop)."""
    started = utcnow()
    target_ids = store.sync_targets(targets)
    configured = {target.name: target for target in config.targets}
    checked = {target.name for target in targets}
    listings = [target for target in targets if target.follow is not None]
    listed = store.listed_links(target_ids[target.name] for target in listings)
    links = {target.name: listed.get(target_ids[target.name], {}) for target in listings}
    # Pages of other targets that these listings list: fetched once, under their owner.
    elsewhere = {
        link.page_id
        for known in links.values()
        for link in known.values()
        if link.page is not None and link.page.target not in checked and link.page_id
    }
    states = store.states(target_ids.values(), pages=elsewhere)
    by_target: dict[str, dict[PageKey, PageState]] = {}
    for key, state in states.items():
        by_target.setdefault(key.target, {})[key] = state
    rules: dict[str, TargetRules] = {}
    contexts: dict[str, Context] = {}
    listers = store.listers(target_ids.values())
    owners = {key.target for key in states} | {name for names in listers.values() for name in names}
    # Targets with the same settings share one rules and one context object (each holds
    # the watch terms and routes: ~2 KB a target, 5 MB for 2,000 targets otherwise).
    same_rules: dict[TargetRules, TargetRules] = {}
    same_context: dict[Context, Context] = {}
    for name in checked | owners:
        target = configured.get(name)
        if target is not None:
            made_rules = target_rules(config, target)
            rules[name] = same_rules.setdefault(made_rules, made_rules)
            made_context = context_for(config, target)
            contexts[name] = same_context.setdefault(made_context, made_context)
    page_contexts = shared_contexts(configured, contexts, listers, links)

    page_jobs: list[PageJob] = []
    listing_jobs: list[ListingJob] = []
    covered: set[PageKey] = set()
    for target in targets:
        obey = config.fetch.obey_robots if target.obey_robots is None else target.obey_robots
        mine = by_target.get(target.name, {})
        root = mine.get(PageKey(target.name, target.url))
        if target.follow is None:
            # A page with attachments is fetched whole: a 304 would not show its links.
            conditional = not (
                target.attachments and any(state.role == Role.ATTACHMENT for state in mine.values())
            )
            if root is not None:
                covered.add(PageKey(target.name, target.url))
                page_jobs.append(
                    PageJob(
                        key=PageKey(target.name, target.url),
                        role=root.role,
                        obey_robots=obey,
                        confirm=root.last_version_id is not None
                        and root.state != PageStatus.REMOVED,
                        probe=root.last_version_id is None,
                        etag=root.etag if root.last_version_id and conditional else None,
                        last_modified=root.last_modified
                        if root.last_version_id and conditional
                        else None,
                        attachments=target.attachments,
                        region=target.selector.value if target.selector else None,
                    )
                )
        else:
            covered.update(key for key, state in mine.items() if state.role == Role.ARTICLE)
    for target in listings:
        obey = config.fetch.obey_robots if target.obey_robots is None else target.obey_robots
        follow = target.follow
        assert follow is not None
        mine = by_target.get(target.name, {})
        articles = {key: state for key, state in mine.items() if state.role == Role.ARTICLE}
        for link in links[target.name].values():
            shared = link.page
            if shared is None or shared.target == target.name or shared in covered:
                continue
            if link.role in (Role.LISTING, Role.PART):
                continue  # another listing's own pages: read by that listing only
            owner = configured.get(shared.target)
            if due_only and owner is not None and owner.enabled:
                continue  # the daemon checks it on its owner's schedule
            if shared in states:
                articles[shared] = states[shared]
                if shared.target not in rules:
                    # Its owner left the config: the page is this listing's article now.
                    articles_only = rules[target.name].of(Role.ARTICLE)
                    rules[shared.target] = TargetRules(articles_only, articles_only)
        covered.update(articles)
        if due_only:
            every = config.schedule_of(target).every or 3600.0
            articles = {
                key: state
                for key, state in articles.items()
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
                links=follow.links.value if follow.links else None,
                region=target.selector.value if target.selector else None,
                exclude=tuple(selector.value for selector in target.exclude),
                pattern=follow.pattern,
                next_page=follow.next_page.value if follow.next_page else None,
                max_pages=follow.max_pages,
                same_domain=follow.same_domain,
                max_articles=follow.max_articles,
                pages=tuple(
                    PageJob(
                        key=key,
                        role=state.role,
                        obey_robots=obey,
                        confirm=state.last_version_id is not None
                        and state.state != PageStatus.REMOVED,
                        probe=state.last_version_id is None,
                        attachments=target.attachments and state.role == Role.ARTICLE,
                        region=follow.selector.value if follow.selector else None,
                    )
                    for key, state in articles.items()
                ),
                obey_robots=obey,
                attachments=target.attachments,
                attachments_in=follow.selector.value if follow.selector else None,
                sources=sources_of(follow),
            )
        )
    options = {}
    for name in checked | owners:
        target = configured.get(name)
        chosen = options_for(config, target) if target is not None else None
        if chosen:
            options[name] = chosen
    return Prepared(
        started,
        target_ids,
        states,
        rules,
        contexts,
        page_contexts,
        links,
        page_jobs,
        listing_jobs,
        options,
    )


async def check_async(
    config: cfg.Config,
    store: Store,
    targets: Sequence[cfg.Target],
    *,
    on_recorded: Callable[[RecordedCapture, Observation], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
    due_only: bool = False,
    timeout: float | None = None,
    robots: RobotsCache | None = None,
) -> CheckSummary:
    """The check cycle, awaited on the reactor's loop (the daemon calls this directly).

    The loop only crawls: the setup runs in a worker thread, and the fetches are
    observed and recorded by the check's writer thread (:mod:`monitor.check.writer`).
    ``due_only``: a listing's known articles are fetched only when their own, aging
    interval has passed (new articles always are). ``timeout``: the crawl is stopped
    after that long, and what it fetched so far is recorded. ``robots``: where the
    crawls share robots.txt with other checks (a cluster's workers).
    """
    ready = await asyncio.to_thread(prepare, config, store, targets, due_only=due_only)
    from monitor.evidence import SavePageNow, archive_for

    listings = Listings(ready.links, ready.contexts, ready.page_contexts)
    planned = len(ready.page_jobs) + sum(1 + len(job.pages) for job in ready.listing_jobs)
    workers = workers_for(planned)
    processor = PoolProcessor(workers) if workers else None
    writer = Writer(
        store,
        ready.states,
        ready.rules,
        ready.target_ids,
        listings,
        started=ready.started,
        contexts=ready.contexts,
        on_recorded=on_recorded,
        archive=archive_for(config.archive),
        archive_all=config.archive.all_captures,
        save_page_now=SavePageNow.from_settings(config.archive)
        if config.archive.save_page_now
        else None,
        site_pages=config.detect.site_boilerplate_pages,
        site_share=config.detect.site_boilerplate_share,
        processor=processor,
    ).start()
    sink = Sink(writer, store, listings, on_planned=on_planned)
    logger.info("checking %d pages and %d listings", len(ready.page_jobs), len(ready.listing_jobs))
    if on_planned is not None:
        on_planned(planned)
    try:
        await crawl(
            config.fetch,
            sink,
            ready.page_jobs,
            ready.listing_jobs,
            config.detect,
            timeout=timeout,
            allow_private=frozenset(t.name for t in config.targets if config.private_allowed(t)),
            options=ready.options,
            browser=config.browser,
            robots=robots,
        )
    finally:
        # Cancelled or not, what was fetched is recorded.
        writer.close()
    summary = await asyncio.wrap_future(writer.done)
    if writer.failures:
        raise StorageError("; ".join(dict.fromkeys(writer.failures)))
    return summary
