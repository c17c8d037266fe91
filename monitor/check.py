"""One check cycle: sync targets, crawl their pages, record what was seen.

This is the main job, shared by ``monitor check``, ``monitor demo`` and the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from monitor import config as cfg
from monitor import extract, reactor
from monitor.crawl import Sink, crawl
from monitor.models import utcnow
from monitor.process import ProcessRules
from monitor.records import CheckSummary, Observation, RecordedCapture
from monitor.store import Store
from spiders import ListingJob, PageJob

logger = logging.getLogger(__name__)


def rules_for(config: cfg.Config, target: cfg.Target) -> ProcessRules:
    """How a target's captures become content, from its config."""
    return ProcessRules(
        extract=extract.Rules(
            extractor="text",
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
    started = utcnow()
    target_ids = store.sync_targets(targets)
    states = store.states(target_ids.values())
    rules = {target.name: rules_for(config, target) for target in targets}
    sink = Sink(store, states, rules, target_ids, on_recorded=on_recorded)

    page_jobs: list[PageJob] = []
    listing_jobs: list[ListingJob] = []
    for target in targets:
        obey = config.fetch.obey_robots if target.obey_robots is None else target.obey_robots
        if target.follow is None:
            for key, state in states.items():
                if key.target == target.name and key.url == target.url:
                    page_jobs.append(PageJob(key=key, role=state.role, obey_robots=obey))
            continue
        follow = target.follow
        known = tuple(
            key.url
            for key, state in states.items()
            if key.target == target.name and state.role == "article" and state.state != "gone"
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
                known_articles=known,
                obey_robots=obey,
            )
        )

    logger.info("checking %d pages and %d listings", len(page_jobs), len(listing_jobs))
    reactor.run(lambda: crawl(config.fetch, sink, page_jobs, listing_jobs))
    sink.finish(started)
    if sink.failures:
        from monitor.exceptions import StorageError

        raise StorageError("; ".join(dict.fromkeys(sink.failures)))
    return sink.summary
