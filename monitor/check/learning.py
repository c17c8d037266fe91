"""Learning that spans pages, written as plans: a site's boilerplate, and the resets.

* :func:`learn_site`: at the end of a check, what many pages of a site repeat (its
  chrome: :func:`monitor.detect.site_boilerplate.learn`) is stored and every page of the
  site re-based on it, in one transaction;
* :func:`reset_volatility` / :func:`reset_site`: ``monitor volatility --reset`` forgets
  what was learned on a page or a site and re-bases what depended on it, each in one
  transaction, with a note on the page's timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from monitor.detect import site_boilerplate
from monitor.detect.noise import learning_note, rebased
from monitor.detect.site_boilerplate import SiteChrome
from monitor.recording import ChromeRow, Plan
from monitor.records import PageKey, PageState, SiteCounts, host_of
from monitor.storage.store import Store, rule_of
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)


def learn_site(
    store: Store,
    host: str,
    extra: Mapping[str, set[int]],
    *,
    min_pages: int,
    min_share: float,
    states: dict[PageKey, PageState],
) -> SiteChrome | None:
    """Learn a site's chrome from what its pages' latest versions repeat (``extra``: new
    text in chrome blocks seen in this check, with the pages showing it); store it and
    re-base the site's pages (``states`` of the running check too). Returns the site's
    chrome now, or None when nothing new was learned."""
    counts = store.site_counts(host, min_pages=min_pages, min_share=min_share, candidates=extra)
    known = store.site_chromes([host]).get(host, site_boilerplate.NONE)
    learned = site_boilerplate.learn(
        counts, known, min_pages=min_pages, min_share=min_share, extra=extra
    )
    if not learned:
        return None
    for line, pages in extra.items():
        counts.line_pages[line] = len(counts.candidates.get(line, set()) | pages)
    chrome = known.merged(learned)
    plan = Plan()
    plan.chrome = chrome_rows(host, learned, counts, plan)
    hashes = _rebase(store, plan, host, chrome, states)
    store.write(plan)
    _apply(host, chrome, hashes, states)
    logger.info(
        "learned %d line(s) and %d block(s) of site boilerplate on %s (%d pages re-based)",
        len(learned.lines),
        len(learned.blocks),
        host,
        len(hashes),
    )
    return chrome


def chrome_rows(host: str, learned: SiteChrome, counts: SiteCounts, plan: Plan) -> list[ChromeRow]:
    """The rows of lines and blocks learned to be chrome on a site."""
    rows = [
        ChromeRow(host, "line", line, counts.line_pages.get(line, 0), plan.made_at)
        for line in sorted(learned.lines)
    ]
    rows += [
        ChromeRow(host, "block", block, counts.block_pages.get(block, 0), plan.made_at)
        for block in sorted(learned.blocks)
    ]
    return rows


def _rebase(
    store: Store,
    plan: Plan,
    host: str,
    chrome: SiteChrome,
    states: Mapping[PageKey, PageState] | None,
) -> dict[int, str]:
    """Re-compute the compare hash of every page of a site under its chrome now known
    (into ``plan``), so that the next capture of each is compared under the same rules;
    returns page id -> compare hash."""
    live = {
        state.page_id: state
        for key, state in (states or {}).items()
        if state.page_id is not None and host_of(key.url) == host
    }
    versions = store.host_versions(host)
    stored = store.learned_volatility(page_id for page_id, _version in versions)
    learned = {
        page_id: live[page_id].volatility if page_id in live else stored.get(page_id)
        for page_id, _version in versions
    }
    hashes = rebased(versions, learned, chrome)
    for page_id, compare in hashes.items():
        plan.page_updates[page_id] = {"compare_sha256": compare}
    return hashes


def _apply(
    host: str,
    chrome: SiteChrome,
    hashes: Mapping[int, str],
    states: Mapping[PageKey, PageState] | None,
) -> None:
    """The running check's states, once the re-basing is written."""
    for key, state in (states or {}).items():
        if host_of(key.url) != host:
            continue
        state.site_chrome = chrome
        if state.page_id is not None and state.page_id in hashes:
            state.last_content_sha256 = hashes[state.page_id]


def reset_volatility(store: Store, page_id: int) -> int:
    """Forget what was learned on a page; returns how many learned rules were removed.

    The page's compare hash is re-based on its last version with the built-in patterns
    only, so the next capture is compared without what was forgotten; a note on the
    timeline says so.
    """
    forgotten = [rule_of(line) for line in store.volatile_lines(page_id) if line.learned]
    plan = Plan(forget_rules=[page_id])
    page = store.page_by_id(page_id)
    if page is not None and page.last_version_id is not None:
        versions = store.previous_versions([page.last_version_id])
        if page.last_version_id in versions:
            chrome = store.site_chromes([host_of(page.url)]).get(host_of(page.url))
            hashes = rebased([(page_id, versions[page.last_version_id])], {}, chrome)
            plan.page_updates[page_id] = {"compare_sha256": hashes[page_id]}
    if forgotten:
        plan.notes.append(learning_note(page_id, None, "forgotten", "user", forgotten, utcnow()))
    store.write(plan)
    return len(forgotten)


def reset_site(store: Store, host: str) -> int:
    """Forget what was learned on a site and what it was learned from; learning starts
    again from its pages' next versions. Returns how many entries were forgotten."""
    forgotten = len(store.site_boilerplate(host))
    plan = Plan(forget_sites=[host])
    _rebase(store, plan, host, SiteChrome(), None)
    store.write(plan)
    return forgotten
