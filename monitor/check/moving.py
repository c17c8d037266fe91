"""Moved pages in a check: which captures wait for the end of the check, and the moves
found among them (decided by :mod:`monitor.detect.moves`).

A confirmed removal may be a move, and the first version of a page announced as new may
be where a removed page went: both wait (in the writer) until the crawl is over. Then
each removed page's last version is matched against the pages first seen in this check
(announced as new or watched quietly); a match
makes the removal one ``moved`` event and the new page's first version no ``added``.
Pages of the same site announced as new (an ``added`` event) in an earlier check of
the last 30 days (:data:`ARRIVED_WITHIN`) are candidates too: a site that publishes the
new addresses before it retires the old ones moves its pages to URLs already watched. A
page that came from another URL is never a candidate again, and neither is a page the
monitor did not see appear (a configured target, a listing's article found on its first
check) nor one watched for longer: a sibling that was there all along and says nearly
the same (a duplicate) is not where a page went.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from monitor.detect import moves
from monitor.exceptions import StorageError
from monitor.records import Observation, PageKey, PageState
from monitor.storage.store import Store
from monitor.timefmt import utcnow
from monitor.vocab import PageStatus, Purpose, Role

logger = logging.getLogger(__name__)

#: A removed page may have moved to a page announced as new this long ago at most.
ARRIVED_WITHIN = timedelta(days=30)


def waits(observation: Observation, state: PageState, held: set[PageKey]) -> bool:
    """Whether a capture waits for the end of the check: a removal being confirmed (it
    may be a move), or the first sight of a page announced as new (it may be where a
    removed page went; ``held`` gets its key), and what follows it."""
    fetch = observation.fetch
    if fetch.key in held:
        return True
    if fetch.role not in (Role.PAGE, Role.ARTICLE):
        return False
    if (
        observation.outcome_hint == "error"
        and observation.removal
        and state.last_version_id is not None
        and state.state != PageStatus.REMOVED
        and (fetch.purpose == Purpose.CONFIRM or state.removal_pending)
    ):
        return True
    if (
        fetch.purpose == Purpose.CHECK
        and state.last_version_id is None
        and state.announce_added
        and observation.outcome_hint == "content"
    ):
        held.add(fetch.key)
        return True
    return False


def _recent(
    store: Store, departures: Sequence[moves.Seen], known: Sequence[moves.Seen]
) -> list[moves.Seen]:
    """Pages of the departures' sites announced as new in the last
    :data:`ARRIVED_WITHIN` (before this check): a site that publishes the new addresses
    before it retires the old ones moves its pages to URLs the monitor already watches."""
    if not departures:
        return []
    seen = {page.key for page in (*departures, *known)}
    try:
        rows = store.recent_pages(
            {moves.host(page.key.url) for page in departures}, utcnow() - ARRIVED_WITHIN
        )
    except StorageError as exc:
        logger.error("could not read the recent pages of the removed pages' sites: %s", exc)
        return []
    found = []
    for page_id, target, url, version_id, title, text in rows:
        key = PageKey(target, url)
        if key not in seen:
            seen.add(key)
            found.append(moves.Seen(key, page_id, version_id, title, text))
    return found


def find(
    store: Store,
    states: dict[PageKey, PageState],
    waiting: Sequence[Observation],
    held: set[PageKey],
    arrivals: Sequence[moves.Seen],
) -> list[moves.Move]:
    """The moves among the captures that waited; marks the states of both pages of each
    (``moved_to``, ``moved_from``) so that recording them decides a move."""
    removals = [observation for observation in waiting if observation.fetch.key not in held]
    if not removals:
        return []
    last = {states[o.fetch.key].last_version_id for o in removals}
    try:
        stored = store.previous_versions(v for v in last if v is not None)
    except StorageError as exc:
        logger.error("could not read the versions of removed pages: %s", exc)
        return []
    departures: list[moves.Seen] = []
    for observation in removals:
        key = observation.fetch.key
        state = states[key]
        version = stored.get(state.last_version_id or 0)
        if version is not None and all(d.key != key for d in departures):
            departures.append(
                moves.Seen(key, state.page_id, version.id, version.title, version.text)
            )
    candidates = list(arrivals)
    candidates.extend(
        moves.Seen(o.fetch.key, None, None, o.title, o.text or "")
        for o in waiting
        if o.fetch.key in held and o.fetch.purpose == Purpose.CHECK and o.outcome_hint == "content"
    )
    candidates.extend(_recent(store, departures, candidates))
    found = moves.match(departures, candidates)
    for move in found:
        states[move.old.key].moved_to = move.new.key.url
        if move.new.key in states:
            states[move.new.key].moved_from = move.old.key.url
    if found:
        logger.info("%d pages moved in this check", len(found))
    return found
