"""Listings through real parts: a local news site, real Scrapy checks, SQLite and PostgreSQL.

Articles have their own region rules; an article is ``added`` only when its link is new to
every target; a URL watched by several targets is fetched, recorded and alerted once; and
``follow.max_articles`` bounds what a listing fetches and watches.
"""

from __future__ import annotations

import doctest
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from monitor import config as cfg
from monitor.check import run_check
from monitor.cli import main
from monitor.detect import events, listing
from monitor.history import recent_events
from monitor.notify.outbox import Outbox
from monitor.records import CheckSummary, ListedLinkState, PageKey
from monitor.storage.models import Capture, Change, Delivery, ListedLink, Page
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.receivers import WebhookReceiver
from tests.sites import LocalSite, Route

ARTICLE = """<html><head><title>{title}</title></head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/contacts">Contacts</a></nav>
<header><p>Embassy of Example in Testland</p></header>
<main><article><h1>{title}</h1>
<div class="body"><p>{body}</p><p class="share">Share: X Facebook</p></div>
</article></main>
<aside class="related"><p>{aside}</p></aside>
<footer><p>1 Example Street, Testland. Opening hours 9:00 to 17:00.</p></footer>
</body></html>"""

LISTING = """<html><head><title>{title}</title></head><body>
<nav><a href="/">Home</a> <a href="/contacts">Contacts</a></nav>
<main><h1>{title}</h1><ul class="news-list">{items}</ul></main>
<footer><p>1 Example Street, Testland.</p></footer></body></html>"""


def article_body(number: int) -> str:
    return (
        f"The embassy informs citizens about consular matter number {number}. Applications "
        f"are accepted on weekdays, and documents must be presented in person at the "
        f"consular section with a valid passport."
    )


class Articles:
    """Article pages of a local site: ``/news/<n>``, each with its own text."""

    def __init__(self, site: LocalSite) -> None:
        self.site = site
        self.text: dict[int, str] = {}
        self.aside: dict[int, str] = {}

    def path(self, number: int) -> str:
        return f"/news/{number}"

    def url(self, number: int) -> str:
        return self.site.url(self.path(number))

    def publish(self, number: int, body: str | None = None, aside: str = "Related: visas") -> None:
        self.text[number] = body or article_body(number)
        self.aside[number] = aside
        self.serve(number)

    def serve(self, number: int) -> None:
        self.site.page(
            self.path(number),
            ARTICLE.format(
                title=f"Notice {number}", body=self.text[number], aside=self.aside[number]
            ),
        )

    def edit(self, number: int, body: str | None = None, aside: str | None = None) -> None:
        if body is not None:
            self.text[number] = body
        if aside is not None:
            self.aside[number] = aside
        self.serve(number)

    def remove(self, number: int) -> None:
        self.site.routes.pop(self.path(number), None)

    def hits(self, number: int) -> int:
        return self.site.hits.count(self.path(number))


class Listing:
    """A listing page on the site: the first ``window`` of its articles, newest first."""

    def __init__(self, site: LocalSite, path: str, numbers: list[int], window: int = 5) -> None:
        self.site, self.path, self.numbers, self.window = site, path, list(numbers), window
        site.routes[path] = lambda: Route(body=self.html().encode())

    def html(self) -> str:
        items = "".join(
            f'<li><a href="/news/{n}">Notice {n}</a></li>' for n in self.numbers[: self.window]
        )
        return LISTING.format(title="News", items=items)

    @property
    def url(self) -> str:
        return self.site.url(self.path)


def listing_target(name: str, listing: Listing, **follow: Any) -> dict[str, Any]:
    return {
        "name": name,
        "url": listing.url,
        "selector": "css:ul.news-list",
        "follow": {"links": "css:ul.news-list a", "pattern": r"/news/\d+$", **follow},
    }


def events_of(summary: CheckSummary) -> list[tuple[str, str]]:
    return sorted((item.event, item.key.url) for item in summary.outcomes if item.event)


def check(config: cfg.Config, database_url: str) -> CheckSummary:
    """One check by a fresh Store, as a new `monitor check` process would make it."""
    store = Store(database_url)
    try:
        return run_check(config, store, config.targets)
    finally:
        store.close()


@pytest.fixture
def articles(site: LocalSite) -> Articles:
    return Articles(site)


# --- the pure judgement of a listing's links -------------------------------------------

THEN = datetime(2026, 1, 1, tzinfo=UTC)
EARLIER = datetime(2025, 12, 1, tzinfo=UTC)


def _known(shown: str, *, earlier: str = "", unfollowed: str = "") -> dict[str, ListedLinkState]:
    """Links listed last time (``shown``), before that (``earlier``), or not followed."""
    known = {u: ListedLinkState(u, THEN, PageKey("news", u)) for u in shown}
    known.update({u: ListedLinkState(u, EARLIER, PageKey("news", u)) for u in earlier})
    known.update({u: ListedLinkState(u, THEN) for u in unfollowed})
    return known


@pytest.mark.parametrize(
    "case,known,shown,watched,limit,fates",
    [
        ("first check", {}, "abc", "", 500, "iii"),
        ("first check over the limit", {}, "abcd", "", 2, "iicc"),
        ("new on top, one pushed off", _known("abcde"), "nabcd", "", 500, "Nllll"),
        ("three removed, three move up", _known("abcde"), "adefg", "", 500, "lllss"),
        ("removed and published at once", _known("abcde"), "nadef", "", 500, "Nllls"),
        ("appended to a complete list", _known("abc"), "abcd", "", 500, "lllN"),
        ("none of last time in view", _known("abc"), "xyz", "", 500, "NNN"),
        ("an old article listed again", _known("abc", earlier="z"), "zabc", "", 500, "llll"),
        ("watched by another target", _known("abc"), "pabc", "p", 500, "Slll"),
        ("shared links cost no room", _known("abc"), "pnabc", "p", 4, "SNlll"),
        ("at the limit", _known("abc"), "nabc", "", 3, "clll"),
        ("limit raised", _known("ab", unfollowed="cd"), "abcd", "", 500, "llrr"),
        ("cut links are not new", _known("ab", unfollowed="cd"), "abcdn", "", 3, "llrcc"),
    ],
)
def test_plan(
    case: str,
    known: dict[str, ListedLinkState],
    shown: str,
    watched: str,
    limit: int,
    fates: str,
) -> None:
    letters = {"listed": "l", "resumed": "r", "shared": "S", "initial": "i", "new": "N"}
    letters |= {"surfaced": "s", "cut": "c"}
    others = {u: PageKey("statement", u) for u in watched}
    result = listing.plan("news", list(shown), known, others, limit)
    assert "".join(letters[link.fate] for link in result.links) == fates, case


def test_doctests() -> None:
    assert doctest.testmod(listing).failed == 0
    assert doctest.testmod(events).failed == 0


# --- item 2: articles have their own region rules --------------------------------------


def test_listing_selector_applies_to_the_listing_only(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    """The listing's `selector` matches nothing on an article: articles are extracted
    automatically, and a new article is reported `added`."""
    for number in range(1, 6):
        articles.publish(number)
    news = Listing(site, "/news/", [5, 4, 3, 2, 1])
    config = make_config(database_url, [listing_target("news", news)])

    first = check(config, database_url)
    assert events_of(first) == []
    assert first.errors == 0, [item.error for item in first.outcomes if item.error]
    assert first.first_versions == 6  # the listing and its five articles

    articles.publish(6)
    news.numbers.insert(0, 6)
    second = check(config, database_url)
    assert second.errors == 0
    assert events_of(second) == [("added", articles.url(6)), ("changed", news.url)]

    store = Store(database_url)
    page = store.page(articles.url(6))
    (version,) = store.versions(page.id)
    assert article_body(6) in version.text
    assert "Embassy of Example in Testland" not in version.text  # page chrome left out
    store.close()


def test_follow_selector_and_exclude_apply_to_articles(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    for number in (1, 2):
        articles.publish(number)
    news = Listing(site, "/news/", [2, 1])
    target = listing_target("news", news, selector="css:div.body", exclude=["css:.share"])
    config = make_config(database_url, [target])
    assert events_of(check(config, database_url)) == []

    store = Store(database_url)
    (version,) = store.versions(store.page(articles.url(1)).id)
    assert version.text == article_body(1)  # the region only: no headline, share line, aside
    store.close()

    articles.edit(1, aside="Related: passports and a new road map")
    articles.edit(2, body="The consular section is closed until further notice.")
    summary = check(config, database_url)
    assert summary.errors == 0
    assert events_of(summary) == [("changed", articles.url(2))]


# --- item 3: no false `added` when old articles surface -------------------------------


def test_old_articles_moving_up_are_not_added(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    """Ten articles, five on page 1: removing three brings three old ones into view,
    quietly; a new article is `added`; an article dropped and listed again is not."""
    for number in range(1, 11):
        articles.publish(number)
    news = Listing(site, "/news/", list(range(10, 0, -1)))
    config = make_config(database_url, [listing_target("news", news)])
    assert events_of(check(config, database_url)) == [], "a first check reports no events"

    for number in (9, 8, 7):
        articles.remove(number)
        news.numbers.remove(number)
    summary = check(config, database_url)
    assert ("added", articles.url(5)) not in events_of(summary)
    assert summary.events == {"removed": 3, "changed": 1}, events_of(summary)
    assert summary.first_versions == 3  # 5, 4 and 3 are watched from now on, quietly

    articles.publish(11)
    news.numbers.insert(0, 11)
    assert events_of(check(config, database_url)) == [
        ("added", articles.url(11)),
        ("changed", news.url),
    ]

    # Two new articles push 3 and 4 off page 1; when the new ones go, 4 and 3 come back.
    for number in (12, 13):
        articles.publish(number)
        news.numbers.insert(0, number)
    assert check(config, database_url).events == {"added": 2, "changed": 1}
    for number in (13, 12):
        articles.remove(number)
        news.numbers.remove(number)
    summary = check(config, database_url)
    # The listing is back to a version it had: a flip-flop, not a change.
    assert summary.events == {"removed": 2}, events_of(summary)

    store = Store(database_url)
    with store.session() as session:
        added = session.scalar(select(func.count()).where(Change.kind == "added"))
    assert added == 3
    store.close()


def test_a_new_article_whose_first_fetch_failed_is_added_when_it_answers(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    for number in (1, 2):
        articles.publish(number)
    news = Listing(site, "/news/", [2, 1])
    config = make_config(database_url, [listing_target("news", news)])
    check(config, database_url)

    news.numbers.insert(0, 3)
    site.routes[articles.path(3)] = Route(status=503, body=b"busy")
    assert check(config, database_url).events == {"changed": 1}
    articles.publish(3)
    assert events_of(check(config, database_url)) == [("added", articles.url(3))]


# --- item 4: one URL watched by several targets ---------------------------------------


@pytest.fixture
def hooks() -> Iterator[tuple[WebhookReceiver, WebhookReceiver]]:
    first, second = WebhookReceiver(), WebhookReceiver()
    yield first, second
    first.stop()
    second.stop()


def _routed(
    database_url: str,
    targets: list[dict[str, Any]],
    hooks: tuple[WebhookReceiver, WebhookReceiver],
) -> cfg.Config:
    return cfg.parse(
        {
            "database": database_url,
            "fetch": {"delay": 0, "obey_robots": False, "retries": 1, "timeout": 5},
            "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
            "channels": {
                "desk": {"type": "webhook", "url": hooks[0].url},
                "archive": {"type": "webhook", "url": hooks[1].url},
            },
            "outbox": {"backoff": "1s", "flush_timeout": "10s"},
            "targets": targets,
        },
        "test",
    )


def _payloads(hook: WebhookReceiver) -> list[tuple[str, str]]:
    return sorted(
        (event["event"], event["url"])
        for event in (json.loads(request.body) for request in hook.requests)
    )


@pytest.mark.parametrize("channels", ["different", "same"])
def test_an_article_that_is_also_a_target_is_fetched_and_alerted_once(
    channels: str,
    site: LocalSite,
    articles: Articles,
    hooks: tuple[WebhookReceiver, WebhookReceiver],
    database_url: str,
) -> None:
    for number in (1, 2, 3):
        articles.publish(number)
    news = Listing(site, "/news/", [3, 2, 1])
    statement = {"name": "statement", "url": articles.url(2), "notify": ["desk"]}
    listing = {**listing_target("news", news), "notify": ["archive"]}
    if channels == "same":
        listing["notify"] = ["desk"]
    config = _routed(database_url, [statement, listing], hooks)

    check(config, database_url)
    before = articles.hits(2)
    summary = check(config, database_url)
    assert articles.hits(2) - before == 1, "fetched once per cycle"
    assert summary.events == {}

    articles.edit(2, body="The consular section is closed until further notice.")
    before = articles.hits(2)
    summary = check(config, database_url)
    assert articles.hits(2) - before == 1
    assert events_of(summary) == [("changed", articles.url(2))]

    store = Store(database_url)
    Outbox(store, config).deliver(timeout=10)
    with store.session() as session:
        pages = session.scalar(select(func.count()).where(Page.url == articles.url(2)))
        channels_sent = sorted(session.scalars(select(Delivery.channel)))
    assert pages == 1, "one page, one history"
    if channels == "different":
        assert channels_sent == ["archive", "desk"]
        assert _payloads(hooks[0]) == _payloads(hooks[1]) == [("changed", articles.url(2))]
    else:
        assert channels_sent == ["desk"]
        assert _payloads(hooks[0]) == [("changed", articles.url(2))]
        assert hooks[1].requests == []

    # Either target's history (and feed) shows the page's versions and events.
    for name in ("statement", "news"):
        feed = recent_events(store, target=name)
        assert [(e.kind, e.url, e.target) for e in feed if e.kind == "changed"] == [
            ("changed", articles.url(2), "statement")
        ], name
    runner = CliRunner()
    for name in ("statement", "news"):
        result = runner.invoke(main, ["history", name, "--json", "--db", database_url])
        assert result.exit_code == 0, result.output
        shown = {page["url"]: page for page in json.loads(result.output)["pages"]}
        assert [v["seq"] for v in shown[articles.url(2)]["versions"]] == [1, 2], name

    # Checking either target alone checks the page once, alerting both targets' channels.
    for name in ("news", "statement"):
        sent = [len(hook.requests) for hook in hooks]
        articles.edit(2, body=f"The consular section reopens; checked with {name}.")
        before = articles.hits(2)
        summary = run_check(config, store, config.select((name,)))
        assert articles.hits(2) - before == 1
        assert events_of(summary) == [("changed", articles.url(2))]
        Outbox(store, config).deliver(timeout=10)
        grew = [len(hook.requests) - count for hook, count in zip(hooks, sent, strict=True)]
        assert grew == ([1, 1] if channels == "different" else [1, 0]), name
    store.close()


def test_two_listings_sharing_articles_fetch_and_alert_once(
    site: LocalSite,
    articles: Articles,
    hooks: tuple[WebhookReceiver, WebhookReceiver],
    database_url: str,
) -> None:
    for number in (1, 2, 3, 4):
        articles.publish(number)
    news = Listing(site, "/news/", [4, 3, 2, 1])
    visas = Listing(site, "/topics/visas/", [3, 1])
    targets = [
        {**listing_target("news", news), "notify": ["desk"]},
        {**listing_target("visas", visas), "notify": ["archive"]},
    ]
    config = _routed(database_url, targets, hooks)
    first = check(config, database_url)
    assert first.events == {}
    assert articles.hits(3) == 2  # fetched once, and probed once as a new page

    # A new article on both listings: one fetch (and its probe), one `added`, both desks.
    articles.publish(5)
    news.numbers.insert(0, 5)
    visas.numbers.insert(0, 5)
    summary = check(config, database_url)
    assert articles.hits(5) == 2
    assert sorted(events_of(summary)) == [
        ("added", articles.url(5)),
        ("changed", news.url),
        ("changed", visas.url),
    ]
    before = {number: articles.hits(number) for number in (1, 3, 5)}
    articles.edit(1, body="Visa applications are suspended from Monday.")
    summary = check(config, database_url)
    assert {n: articles.hits(n) - before[n] for n in before} == {1: 1, 3: 1, 5: 1}
    assert events_of(summary) == [("changed", articles.url(1))]

    store = Store(database_url)
    Outbox(store, config).deliver(timeout=10)
    expected = [("added", articles.url(5)), ("changed", articles.url(1))]
    assert [e for e in _payloads(hooks[0]) if e[1] != news.url] == sorted(expected)
    assert [e for e in _payloads(hooks[1]) if e[1] != visas.url] == sorted(expected)
    with store.session() as session:
        shared = session.scalar(select(func.count()).where(Page.url == articles.url(1)))
    assert shared == 1
    store.close()


def test_a_listed_article_made_its_own_target_keeps_its_history(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    for number in (1, 2):
        articles.publish(number)
    news = Listing(site, "/news/", [2, 1])
    listing = listing_target("news", news)
    check(make_config(database_url, [listing]), database_url)

    config = make_config(database_url, [listing, {"name": "notice", "url": articles.url(1)}])
    before = articles.hits(1)
    summary = check(config, database_url)
    assert articles.hits(1) - before == 1
    assert summary.events == {} and summary.first_versions == 0

    store = Store(database_url)
    (notice,) = store.resolve("notice")
    assert notice.role == "page" and len(store.versions(notice.id)) == 1
    assert notice.id in {page.id for page in store.resolve("news")}
    store.close()


# --- issue 17 item 5: follow.max_articles is enforced --------------------------------


def test_max_articles_bounds_requests_and_pages(site: LocalSite, tmp_path: Path) -> None:
    links = "".join(f'<li><a href="/a/{n}">Article {n}</a></li>' for n in range(2000))
    site.page("/big/", LISTING.format(title="Archive", items=links))
    for n in range(2000):
        site.page(f"/a/{n}", ARTICLE.format(title=f"A{n}", body=article_body(n), aside=""))
    database = f"sqlite:///{tmp_path / 'big.db'}"
    config = {
        "database": database,
        "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
        "detect": {"probe_delay": 0.05, "confirm_removal_after": 0.05},
        "targets": [
            {
                "name": "archive",
                "url": site.url("/big/"),
                "follow": {"links": "css:ul.news-list a", "max_articles": 50},
            }
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    runner = CliRunner()

    def article_requests() -> tuple[int, int]:
        fetched = [hit for hit in site.hits if hit.startswith("/a/")]
        return len(set(fetched)), len(fetched)

    result = runner.invoke(main, ["check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "listing archive: 1,950 article links not followed (max_articles 50)" in result.output
    distinct, total = article_requests()
    assert distinct == 50 and total <= 100  # each new page is probed once
    assert sorted(hit for hit in set(site.hits) if hit.startswith("/a/")) == sorted(
        f"/a/{n}"
        for n in range(50)  # the first links of the listing
    )

    result = runner.invoke(main, ["check", "-c", str(path)])
    assert "1,950 article links not followed" in result.output
    assert article_requests()[0] == 50
    assert article_requests()[1] <= 150  # the second check fetches the 50 once each

    status = runner.invoke(main, ["status", "-c", str(path)])
    assert "listing archive: 1,950 article links not followed (max_articles 50)" in status.output
    document = json.loads(runner.invoke(main, ["status", "--json", "-c", str(path)]).output)
    assert document["not_followed"] == [{"target": "archive", "links": 1950, "max_articles": 50}]

    store = Store(database)
    with store.session() as session:
        pages = session.scalar(select(func.count()).select_from(Page))
        links_seen = session.scalar(select(func.count()).select_from(ListedLink))
        captures = session.scalar(select(func.count()).select_from(Capture))
    store.close()
    assert pages == 51 and links_seen == 2000
    assert captures <= 1 + 100 + 1 + 50


def test_raising_max_articles_follows_the_rest_quietly(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    for number in range(1, 9):
        articles.publish(number)
    news = Listing(site, "/news/", list(range(8, 0, -1)), window=8)
    small = make_config(database_url, [listing_target("news", news, max_articles=3)])
    summary = check(small, database_url)
    assert summary.not_followed == {"news": (5, 3)}
    assert [articles.hits(n) for n in range(1, 9)] == [0, 0, 0, 0, 0, 2, 2, 2]

    # Links seen but not followed are not new: raising the limit follows them quietly.
    large = make_config(database_url, [listing_target("news", news, max_articles=100)])
    summary = check(large, database_url)
    assert summary.not_followed == {}
    # No `added`; the listing's own content is its first max_articles links: it grew.
    assert events_of(summary) == [("changed", news.url)] and summary.first_versions == 5


def test_migration_remembers_the_articles_of_existing_listings(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    """A database from before listed_links: its listings' articles are known after the
    upgrade, so the next check adds nothing."""
    from alembic import command

    from monitor.storage import db

    for number in (1, 2, 3):
        articles.publish(number)
    news = Listing(site, "/news/", [3, 2, 1])
    config = make_config(database_url, [listing_target("news", news)])
    check(config, database_url)

    store = Store(database_url)
    alembic = db.alembic_config(store.engine)
    command.downgrade(alembic, "0005")
    command.upgrade(alembic, "head")
    with store.session() as session:
        rows = session.execute(select(ListedLink.url, ListedLink.page_id, ListedLink.announce))
        remembered = {url: (page_id is not None, announce) for url, page_id, announce in rows}
    store.close()
    assert remembered == {articles.url(n): (True, False) for n in (1, 2, 3)}

    news.numbers.remove(3)
    articles.remove(3)
    news.numbers.append(0)  # an older article moves up into view
    articles.publish(0)
    assert check(config, database_url).events == {"removed": 1, "changed": 1}


def test_the_daemon_checks_a_shared_page_on_its_owners_schedule(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    """In the daemon (targets checked in batches, on their own schedules) a page that a
    listing shares with a page target is fetched by the page target's checks only."""
    from monitor.check import check_async
    from monitor.fetch import reactor

    for number in (1, 2):
        articles.publish(number)
    news = Listing(site, "/news/", [2, 1])
    config = make_config(
        database_url, [listing_target("news", news), {"name": "notice", "url": articles.url(1)}]
    )
    check(config, database_url)
    store = Store(database_url)
    try:
        for name, fetched in (("news", 0), ("notice", 1)):
            before = articles.hits(1)
            chosen = config.select((name,))
            reactor.run(lambda chosen=chosen: check_async(config, store, chosen, due_only=True))
            assert articles.hits(1) - before == fetched, name
    finally:
        store.close()


ROTATING = """<html><head><title>News</title></head><body>
<nav><a href="/">Home</a> <a href="/news/{nav}">Top story</a></nav>
<main><h1>News</h1><ul class="news-list">{items}</ul>
<section class="related-news"><h2>Most read</h2><a href="/news/{related}">Notice</a></section>
</main></body></html>"""


@pytest.mark.parametrize("selector", [None, "css:ul.news-list"])
def test_links_outside_the_listing_region_are_never_added(
    site: LocalSite, articles: Articles, tmp_path: Path, selector: str | None
) -> None:
    """Old articles rotating through a 'Most read' block or the menu are not articles of
    the listing: with no `links` rule they are left out (page chrome and related blocks),
    and with the listing's `selector` only its region is read."""
    for number in range(1, 21):
        articles.publish(number)
    turn = iter(range(1, 10))
    site.routes["/news/"] = lambda: Route(
        body=ROTATING.format(
            items="".join(f'<li><a href="/news/{n}">Notice {n}</a></li>' for n in (20, 19, 18)),
            nav=next(turn),
            related=10 + next(turn),
        ).encode()
    )
    target: dict[str, Any] = {
        "name": "news",
        "url": site.url("/news/"),
        "follow": {"pattern": r"/news/\d+$"},
    }
    if selector:
        target["selector"] = selector
    config = make_config(f"sqlite:///{tmp_path / 'm.db'}", [target])
    for _ in range(3):
        summary = check(config, config.database)
        assert [event for event in events_of(summary) if event[0] == "added"] == []
    store = Store(config.database)
    watched = {page.url for page in store.resolve("news")} - {site.url("/news/")}
    store.close()
    assert watched == {articles.url(n) for n in (20, 19, 18)}
