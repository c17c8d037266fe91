"""Discovery through real parts: sitemaps (index, gzip, robots.txt) and feeds as a listing's
source of pages, on a local site, with real Scrapy checks, SQLite and PostgreSQL.

A URL new in a sitemap or feed is ``added`` once (never one already known); a ``lastmod``
that moves gets its page checked now; a URL that leaves the sitemap is only remembered
as no longer listed; big sitemaps are streamed.
"""

from __future__ import annotations

import doctest
import gzip
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from monitor import config as cfg
from monitor.check import check_async
from monitor.check import cycle as check_cycle
from monitor.detect import listing
from monitor.fetch import reactor
from monitor.storage.models import Change, ListedLink, Page
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


# --- moved pages -------------------------------------------------------------------------


class Reorganised:
    """A site of 22 statements listed in a sitemap; ``reorganise`` moves 20 of them under
    /en/ (one edited on the way) and really removes the other two."""

    def __init__(self, site: LocalSite, articles: Articles) -> None:
        self.site, self.articles = site, articles
        self.paths = {n: f"/news/{n}" for n in range(1, 23)}
        site.page("/", HOME)
        site.routes["/sitemap.xml"] = lambda: Route(
            body=(
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                + "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in self.paths.values())
                + "</urlset>"
            ).encode(),
            headers={"Content-Type": "application/xml"},
        )
        for number in self.paths:
            articles.publish(number, body=self.body(number))

    @staticmethod
    def body(number: int) -> str:
        topics = ["visa", "passport", "elections", "consular", "trade", "culture", "travel"]
        topic = topics[number % len(topics)]
        return (
            f"Statement {number} of the embassy on {topic} matters. The embassy informs "
            f"citizens that from the {number}th of March applications about {topic} are "
            f"accepted only by appointment, and that decision number {number * 37} of the "
            "ministry applies to every request made after that date."
        )

    def reorganise(self) -> None:
        for number in range(1, 23):
            self.site.routes.pop(f"/news/{number}")
        self.paths = {n: f"/en/news/{n}" for n in range(1, 21)}
        for number in range(1, 21):
            body = self.body(number)
            if number == 20:
                body = body.replace("only by appointment", "without an appointment")
            self.site.page(
                f"/en/news/{number}",
                self.articles_html(number, body),
            )

    def articles_html(self, number: int, body: str) -> str:
        from tests.test_listings import ARTICLE

        return ARTICLE.format(title=f"Notice {number}", body=body, aside="Related: visas")


def test_a_page_gone_to_an_address_watched_since_an_earlier_check_has_moved(
    site: LocalSite, articles: Articles, database_url: str
) -> None:
    """The site publishes the new addresses first (they are ``added``), and retires the
    old ones a check later: each old page has ``moved`` to its new address, not gone."""
    reorganised = Reorganised(site, articles)
    config = cfg.parse(
        {
            "database": database_url,
            "fetch": {"delay": 0, "obey_robots": False, "retries": 1, "timeout": 5},
            "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
            "targets": [target(site, sitemap=site.url("/sitemap.xml"))],
        },
        "test",
    )
    check(config, database_url)
    # Three statements published again under /en/ (one edited), the old ones still up.
    new_paths = {n: f"/en/news/{n}" for n in (1, 2, 3)}
    for number, path in new_paths.items():
        body = reorganised.body(number)
        if number == 3:
            body = body.replace("only by appointment", "without an appointment")
        site.page(path, reorganised.articles_html(number, body))
    reorganised.paths = {**reorganised.paths, **{100 + n: p for n, p in new_paths.items()}}
    listing = site.url("/")  # its own change (its set of links) is beside the point here

    def of_articles(summary: Any) -> list[tuple[str, str]]:
        return [(kind, url) for kind, url in events_of(summary) if url != listing]

    second = check(config, database_url)
    assert of_articles(second) == sorted(("added", site.url(p)) for p in new_paths.values())
    # A check later the old addresses answer 404 and leave the sitemap; 4 really goes.
    for number in (1, 2, 3, 4):
        site.routes.pop(f"/news/{number}")
        reorganised.paths.pop(number)
    third = check(config, database_url)
    assert of_articles(third) == sorted(
        [("moved", articles.url(n)) for n in (1, 2, 3)] + [("removed", articles.url(4))]
    )
    store = Store(database_url)
    try:
        with store.session() as session:
            pages = {page.url: page for page in session.scalars(select(Page))}
            moved = {
                pages_by_id.url: change
                for change in session.scalars(select(Change).where(Change.kind == "moved"))
                for pages_by_id in [session.get(Page, change.page_id)]
                if pages_by_id is not None
            }
    finally:
        store.close()
    for number, path in new_paths.items():
        old, new = pages[articles.url(number)], pages[site.url(path)]
        assert old.moved_to_id == new.id and new.moved_from_id == old.id
        change = moved[articles.url(number)]
        assert change.features["moved_to"] == site.url(path)
        assert change.to_version_id == new.last_version_id
        assert change.features["edited"] is (number == 3)


def test_a_reorganisation_is_moves_with_one_summary_alert_and_real_removals(
    site: LocalSite, articles: Articles, database_url: str, tmp_path: Path
) -> None:
    import json

    from monitor.notify.outbox import Outbox
    from monitor.storage.models import Change, Delivery
    from tests.receivers import WebhookReceiver

    reorganised = Reorganised(site, articles)
    hook = WebhookReceiver()
    try:
        config = cfg.parse(
            {
                "database": database_url,
                "fetch": {"delay": 0, "obey_robots": False, "retries": 1, "timeout": 5},
                "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
                "channels": {"desk": {"type": "webhook", "url": hook.url}},
                "defaults": {"notify": ["desk"]},
                "outbox": {"backoff": "1s", "flush_timeout": "10s"},
                "targets": [target(site, sitemap=site.url("/sitemap.xml"))],
            },
            "test",
        )
        check(config, database_url)
        reorganised.reorganise()
        summary = check(config, database_url)
        kinds = [kind for kind, _url in events_of(summary)]
        assert kinds.count("moved") == 20, events_of(summary)
        assert kinds.count("removed") == 2 and "added" not in kinds
        removed = sorted(url for kind, url in events_of(summary) if kind == "removed")
        assert removed == sorted(articles.url(n) for n in (21, 22))

        store = Store(database_url)
        try:
            Outbox(store, config).deliver(timeout=10)
            with store.session() as session:
                moved = session.scalars(select(Change).where(Change.kind == "moved")).all()
                pages = {page.id: page for page in session.scalars(select(Page))}
                delivered = session.execute(
                    select(Change.kind).join(Delivery, Delivery.change_id == Change.id)
                ).all()
        finally:
            store.close()
        # Each move: old page -> new page, linked both ways, to the new page's version.
        by_old = {pages[change.page_id].url: change for change in moved}
        assert sorted(by_old) == sorted(articles.url(n) for n in range(1, 21))
        for number in range(1, 21):
            change = by_old[articles.url(number)]
            old = pages[change.page_id]
            new = pages[old.moved_to_id or 0]
            assert new.url == site.url(f"/en/news/{number}") and new.moved_from_id == old.id
            assert change.features["moved_to"] == new.url
            assert change.to_version_id is not None and change.from_version_id is not None
            assert change.features["edited"] is (number == 20)
        # One summary alert for the 20 moves, one alert per real removal (and the sitemap
        # listing's own change, its set of links, as for any listing).
        assert sorted(kind for (kind,) in delivered) == ["changed", "moved", "removed", "removed"]
        payloads = [json.loads(request.body) for request in hook.requests]
        summary_alert = [p for p in payloads if p["event"] == "moved"]
        assert len(summary_alert) == 1
        assert "20 pages moved" in summary_alert[0]["summary"]
        edited = by_old[articles.url(20)]
        assert "(with edits)" in edited.summary

        # History follows the page: the new URL shows where it came from and the move.
        from click.testing import CliRunner

        from monitor.cli import main

        new_url = site.url("/en/news/20")
        runner = CliRunner()
        shown = runner.invoke(main, ["history", new_url, "--db", database_url])
        assert shown.exit_code == 0, shown.output
        assert f"moved here from {articles.url(20)}" in shown.output
        assert "moved" in shown.output and "(with edits)" in shown.output
        old_shown = runner.invoke(main, ["history", articles.url(20), "--db", database_url])
        assert f"moved to {new_url}" in old_shown.output
        # The web page of the new URL says where it came from, and shows the move.
        from monitor.web.app import running
        from tests.test_web import get

        web_store = Store(database_url)
        try:
            with running(web_store) as base:
                html = get(f"{base}/pages/{new.id}").text
        finally:
            web_store.close()
        assert "Moved from" in html and articles.url(20) in html and "event-moved" in html
        # A move is cited from its new URL: the old version, the removal, the new version.
        bundle = tmp_path / "moved-bundle"
        cited = runner.invoke(
            main, ["cite", new_url, "--event", "moved", "-o", str(bundle), "--db", database_url]
        )
        assert cited.exit_code == 0, cited.output
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["change"]["kind"] == "moved"
        assert [(c["role"], c["page_url"]) for c in manifest["captures"]] == [
            ("before", articles.url(20)),
            ("removal", articles.url(20)),
            ("moved", new_url),
        ]
        diff = (bundle / "diff.html").read_text()
        assert "without" in diff and "only by" in diff
        verified = subprocess.run(
            [sys.executable, str(bundle / "verify_bundle.py"), str(bundle)],
            capture_output=True,
            text=True,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        hook.stop()
