"""The waiting parts of a check overlap with the rest of it.

A removal's confirming fetch waits ``confirm_removal_after`` and a new page's noise
probe waits ``probe_delay``; both wait beside the crawl, not after it: a page found
removed early in a long crawl is confirmed while the other pages are still fetched, and
the probes of the first new pages are fetched before the last pages' first fetches.
Checked by the order of the requests the site saw (not by timing).
"""

from __future__ import annotations

import pytest

from monitor import config as cfg
from monitor.check import run_check
from monitor.storage.store import Store
from tests.sites import LocalSite, Route

PAGES = 12
SLOW = 0.25  # each answer takes this long: the crawl (one request at a time) >= 3 s
WAIT = 0.6  # confirm_removal_after and probe_delay


def _page(number: int) -> Route:
    body = (
        f"<html><head><title>Statement {number}</title></head><body><article>"
        f"<h1>Statement {number}</h1><p>The Embassy informs citizens of item {number}.</p>"
        "</article></body></html>"
    ).encode()
    return Route(body=body, delay=SLOW)


def _config(site: LocalSite, database: str) -> cfg.Config:
    return cfg.parse(
        {
            "database": database,
            "fetch": {
                "delay": 0,
                "obey_robots": False,
                "retries": 0,
                "timeout": 10,
                "concurrency": 1,
                "per_domain_concurrency": 1,
            },
            "detect": {"probe_delay": WAIT, "confirm_removal_after": WAIT},
            "targets": [
                {"name": f"p{number:02d}", "url": site.url(f"/p{number:02d}")}
                for number in range(PAGES)
            ],
        },
        "overlap",
    )


def _second_fetches_overlap(hits: list[str], path: str) -> bool:
    """Whether ``path``'s second request came before the crawl's last first request of
    another page."""
    mine = [index for index, hit in enumerate(hits) if hit == path]
    assert len(mine) == 2, (path, hits)
    firsts = [index for index, hit in enumerate(hits) if hit != path and hit not in hits[:index]]
    return mine[1] < firsts[-1]


@pytest.mark.slow
def test_probes_and_confirmations_wait_beside_the_crawl(site: LocalSite, database_url: str) -> None:
    for number in range(PAGES):
        site.routes[f"/p{number:02d}"] = _page(number)
    config = _config(site, database_url)
    store = Store(config.database)

    first = run_check(config, store, config.targets)
    assert first.first_versions == PAGES
    hits = list(site.hits)
    assert len(hits) == 2 * PAGES  # every new page probed once
    early = hits[0]
    assert _second_fetches_overlap(hits, early), hits

    # The page fetched first is removed: its confirmation is fetched mid-crawl.
    site.hits.clear()
    site.routes[early] = Route(
        status=404, body=b"<html><title>Not Found</title><h1>Not Found</h1></html>", delay=SLOW
    )
    second = run_check(config, store, config.targets)
    hits = list(site.hits)
    assert hits[0] == early, hits  # the same order as before
    assert _second_fetches_overlap(hits, early), hits
    assert second.events.get("removed") == 1
    store.close()
