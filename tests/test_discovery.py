"""Discovery through real parts: sitemaps (index, gzip, robots.txt) and feeds as a listing's
source of pages, on a local site, with real Scrapy checks, SQLite and PostgreSQL.

A URL new in a sitemap or feed is ``added`` once (never one already known); a ``lastmod``
that moves gets its page checked now; a URL that leaves the sitemap is only remembered
as no longer listed; big sitemaps are streamed.
"""

from __future__ import annotations

import doctest
import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from monitor import config as cfg
from monitor.check import check_async
from monitor.check import cycle as check_cycle
from monitor.detect import listing
from monitor.fetch import reactor
from monitor.storage.models import ListedLink, Page
from monitor.storage.store import Store
from spiders import sources
from spiders.sources import feed_entries, sitemap_entries
from tests.conftest import make_config
from tests.sites import LocalSite, Route
from tests.test_listings import Articles, check, events_of

HOME = """<html><head><title>Embassy of Example</title></head><body>
<main><h1>Embassy of Example in Testland</h1><p>Welcome to the embassy's website.</p></main>
</body></html>"""


class Sources:
    """A site's sitemaps and feed: robots.txt names a sitemap index, which names a gzipped
    sitemap of news and a plain one of other pages; an Atom feed lists recent news."""

    def __init__(self, site: LocalSite, articles: Articles) -> None:
        self.site, self.articles = site, articles
        self.news: dict[int, str] = {}  # number -> lastmod, in the gzipped sitemap
        self.feed: list[int] = []
        self.pages = ["/about", "/contacts"]
        site.page("/", HOME)
        site.routes["/robots.txt"] = Route(
            body=b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap_index.xml\n",
            headers={"Content-Type": "text/plain"},
        )
        site.routes["/sitemap_index.xml"] = Route(
            body=(
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{site.url('/sitemap-news.xml.gz')}</loc></sitemap>"
                "<sitemap><loc>/sitemap-pages.xml</loc></sitemap></sitemapindex>"
            ).encode(),
            headers={"Content-Type": "application/xml"},
        )
        site.routes["/sitemap-news.xml.gz"] = lambda: Route(
            body=gzip.compress(self._urlset(self.news)),
            headers={"Content-Type": "application/gzip"},
        )
        site.routes["/sitemap-pages.xml"] = lambda: Route(
            body=self._urlset({}, self.pages), headers={"Content-Type": "text/xml"}
        )
        site.routes["/feed.atom"] = lambda: Route(
            body=self._atom(), headers={"Content-Type": "application/atom+xml"}
        )

    def _urlset(self, news: dict[int, str], paths: list[str] | None = None) -> bytes:
        rows = [
            f"<url><loc>{self.articles.url(n)}</loc><lastmod>{when}</lastmod></url>"
            for n, when in news.items()
        ]
        rows += [f"<url><loc>{self.site.url(path)}</loc></url>" for path in paths or []]
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(rows)
            + "</urlset>"
        ).encode()

    def _atom(self) -> bytes:
        entries = "".join(
            f"<entry><title>Notice {n}</title><id>urn:n:{n}</id>"
            f'<link rel="alternate" href="/news/{n}"/><updated>2026-01-0{n % 9 + 1}T10:00:00Z'
            "</updated></entry>"
            for n in self.feed
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>News</title><link href="/"/>{entries}</feed>'
        ).encode()

    def publish(self, number: int, lastmod: str = "2026-01-01", *, in_sitemap: bool = True) -> None:
        self.articles.publish(number)
        if in_sitemap:
            self.news[number] = lastmod


def target(site: LocalSite, **follow: Any) -> dict[str, Any]:
    return {"name": "embassy", "url": site.url("/"), "follow": {"pattern": r"/news/\d+$", **follow}}


@pytest.fixture
def articles(site: LocalSite) -> Articles:
    return Articles(site)


@pytest.fixture
def maps(site: LocalSite, articles: Articles) -> Sources:
    return Sources(site, articles)


def _article_pages(database_url: str) -> set[str]:
    store = Store(database_url)
    try:
        with store.session() as session:
            return set(session.scalars(select(Page.url).where(Page.role == "article")))
    finally:
        store.close()


def test_doctests() -> None:
    assert doctest.testmod(sources).failed == 0
    assert doctest.testmod(listing).failed == 0
    assert doctest.testmod(check_cycle).failed == 0


def test_sitemap_index_gzip_sitemap_and_feed_find_pages_and_new_urls_are_added_once(
    site: LocalSite, articles: Articles, maps: Sources, database_url: str
) -> None:
    for number in (1, 2, 3):
        maps.publish(number)
    maps.feed = [3]
    maps.publish(7, in_sitemap=False)  # only in the feed
    maps.feed.append(7)
    config = make_config(
        database_url, [target(site, sitemap="robots", feed=site.url("/feed.atom"))]
    )
    first = check(config, database_url)
    assert events_of(first) == []  # a listing's first check watches quietly
    # The index was followed to both sitemaps, the gzipped one read; /about is filtered out
    # by the pattern; the feed's article joined the sitemap's.
    assert _article_pages(database_url) == {articles.url(n) for n in (1, 2, 3, 7)}
    assert {"/robots.txt", "/sitemap_index.xml", "/sitemap-news.xml.gz", "/feed.atom"} <= set(
        site.hits
    )

    maps.publish(4)  # a new URL in the gzipped sitemap
    maps.publish(8, in_sitemap=False)
    maps.feed = [8, 3]  # a new URL in the feed; 7 left the feed (still in no sitemap)
    second = check(config, database_url)
    # (The listing's own page, the set of its links, changed: as with any listing.)
    assert events_of(second) == [
        ("added", articles.url(4)),
        ("added", articles.url(8)),
        ("changed", site.url("/")),
    ]

    # 2 leaves the sitemap: no event of its own, still watched, its link remembered as not
    # listed now (and gone from the listing's links, like an article leaving a listing).
    del maps.news[2]
    third = check(config, database_url)
    assert events_of(third) == [("changed", site.url("/"))]
    assert articles.url(2) in {item.key.url for item in third.outcomes}
    store = Store(database_url)
    try:
        with store.session() as session:
            listed = dict(
                (row[0], row[1])
                for row in session.execute(select(ListedLink.url, ListedLink.last_listed_at))
            )
    finally:
        store.close()
    assert listed[articles.url(2)] < listed[articles.url(1)]
    # ... and coming back is never "added".
    maps.publish(2)
    assert [kind for kind, _url in events_of(check(config, database_url))] in ([], ["changed"])


def test_a_url_known_to_another_target_is_not_added(
    site: LocalSite, articles: Articles, maps: Sources, database_url: str
) -> None:
    maps.publish(1)
    articles.publish(5)
    config = make_config(
        database_url,
        [
            target(site, sitemap=site.url("/sitemap_index.xml")),
            {"name": "n5", "url": articles.url(5)},
        ],
    )
    check(config, database_url)
    maps.news[5] = "2026-01-05"
    assert ("added", articles.url(5)) not in events_of(check(config, database_url))


def test_a_moved_lastmod_checks_its_page_now(
    site: LocalSite, articles: Articles, maps: Sources, database_url: str
) -> None:
    """In the daemon, articles are checked on their own schedule; a lastmod that moves in
    the sitemap makes the check fetch that page now, not when it is due."""
    for number in (1, 2, 3):
        maps.publish(number, "2026-01-01")
    config = make_config(database_url, [target(site, sitemap=site.url("/sitemap_index.xml"))])
    check(config, database_url)
    store = Store(database_url)
    later = datetime.now(UTC) + timedelta(days=3)
    try:
        with store.session() as session, session.begin():
            session.execute(update(Page).where(Page.role == "article").values(next_due_at=later))

        def daemon_check() -> Any:
            return reactor.run(lambda: check_async(config, store, config.targets, due_only=True))

        before = {n: articles.hits(n) for n in (1, 2, 3)}
        daemon_check()
        assert {n: articles.hits(n) - before[n] for n in (1, 2, 3)} == {1: 0, 2: 0, 3: 0}

        articles.edit(2, body="The consular section is closed until further notice.")
        maps.news[2] = "2026-01-09T08:00:00+00:00"
        before = {n: articles.hits(n) for n in (1, 2, 3)}
        summary = daemon_check()
        fetched = {n: articles.hits(n) - before[n] for n in (1, 2, 3)}
        assert fetched[1] == 0 and fetched[3] == 0 and fetched[2] >= 1
        assert events_of(summary) == [("changed", articles.url(2))]
        with store.session() as session:
            lastmod = session.scalar(
                select(ListedLink.lastmod).where(ListedLink.url == articles.url(2))
            )
        assert lastmod == "2026-01-09T08:00:00+00:00"
        # The same date again is no hint.
        before = {n: articles.hits(n) for n in (1, 2, 3)}
        daemon_check()
        assert articles.hits(2) == before[2]
    finally:
        store.close()


def test_a_missing_sitemap_leaves_the_listing_incomplete_and_nothing_is_dropped(
    site: LocalSite, articles: Articles, maps: Sources, tmp_path: Any
) -> None:
    database_url = f"sqlite:///{tmp_path / 'm.db'}"
    maps.publish(1)
    maps.publish(2)
    config = make_config(database_url, [target(site, sitemap=site.url("/sitemap_index.xml"))])
    check(config, database_url)
    site.routes.pop("/sitemap-news.xml.gz")
    summary = check(config, database_url)
    assert events_of(summary) == []
    store = Store(database_url)
    try:
        with store.session() as session:
            times = set(session.scalars(select(ListedLink.last_listed_at)))
    finally:
        store.close()
    assert len(times) == 1  # no link marked as left: the listing was not read completely


def test_config_rejects_links_with_a_sitemap_and_names_the_key() -> None:
    with pytest.raises(Exception, match="follow"):
        cfg.parse(
            {
                "targets": [
                    {
                        "name": "x",
                        "url": "http://127.0.0.1/",
                        "follow": {"sitemap": "robots", "links": "css:a"},
                    }
                ]
            },
            "test",
        )
    with pytest.raises(Exception, match="sitemap"):
        cfg.parse(
            {
                "targets": [
                    {"name": "x", "url": "http://127.0.0.1/", "follow": {"sitemap": "ftp:x"}}
                ]
            },
            "test",
        )
    parsed = cfg.parse(
        {"targets": [{"name": "x", "url": "http://127.0.0.1/", "follow": {"feed": "http://a/f"}}]},
        "test",
    )
    assert parsed.targets[0].kind == "listing"


# --- reading sources ------------------------------------------------------------------


def test_rss_and_rdf_feeds() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>
    <link>https://e.org/</link>
    <item><title>One</title><link>https://e.org/n/1</link><pubDate>Mon, 02 Jan 2026</pubDate>
    </item><item><title>Two</title><guid>https://e.org/n/2</guid></item>
    <item><title>No link</title><guid isPermaLink="false">x1</guid></item></channel></rss>"""
    found = [(e.url, e.title, e.lastmod) for e in feed_entries(rss, "https://e.org/rss")]
    assert found == [
        ("https://e.org/n/1", "One", "Mon, 02 Jan 2026"),
        ("https://e.org/n/2", "Two", None),
    ]
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
    <item><title>A</title><link>/a</link><dc:date>2026-01-01</dc:date></item></rdf:RDF>"""
    assert [(e.url, e.lastmod) for e in feed_entries(rdf, "https://e.org/")] == [
        ("https://e.org/a", "2026-01-01")
    ]


def test_a_big_gzipped_sitemap_is_streamed_whole() -> None:
    rows = "".join(f"<url><loc>https://e.org/p/{n}</loc></url>" for n in range(50_000))
    body = gzip.compress(
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'.encode()
    )
    count = 0
    last = None
    for entry in sitemap_entries(body, "https://e.org/"):
        count += 1
        last = entry.url
    assert (count, last) == (50_000, "https://e.org/p/49999")


def test_broken_xml_and_entities_are_refused() -> None:
    with pytest.raises(ValueError, match="XML"):
        list(sitemap_entries(b"<urlset><url><loc>x</loc></url>", "https://e.org/"))
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<urlset><url><loc>https://e.org/&x;</loc></url></urlset>"
    )
    urls = [entry.url for entry in sitemap_entries(evil, "https://e.org/")]
    assert all("root:" not in url for url in urls)
