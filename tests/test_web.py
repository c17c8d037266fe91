"""monitor serve: pages, feeds and the JSON API, served by uvicorn, on a history made by
the real pipeline (local site, real checks); the browser tests drive Debian's Chromium.

Hostile content is content: the local site serves a page with scripts, event handlers,
``javascript:`` links and markup in its title and text; every view, feed and API answer
must show it as text, and in the browser no captured script may ever run.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest

from monitor.check import run_check
from monitor.config import Config
from monitor.exceptions import ConfigError
from monitor.storage.store import Store
from monitor.web.app import PAGE_CSP, SNAPSHOT_CSP, WebSettings, running
from monitor.web.openapi import document
from tests.conftest import make_config
from tests.sites import LocalSite

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-output" / "screenshots"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/contacts">Contacts</a></nav>
<article><h1>{heading}</h1><p class="date">3 March 2026</p>
{body}
</article>
<footer><p>Embassy of Example in Testland</p></footer></body></html>"""

#: What a captured script would do if it ever ran: say so in every way a test can see.
EXECUTED = "EXECUTED"
HOSTILE_TITLE = "Notice <script>document.title='EXECUTED'</script> & <b>bold</b>"


def _hostile(beacon: str, sentence: str) -> str:
    run = (
        f"document.title='{EXECUTED}';console.log('{EXECUTED}');"
        f"try{{alert('{EXECUTED}')}}catch(e){{}};new Image().src='{beacon}';"
    )
    body = f"""<script>{run}</script>
<p>Visitors must <b onmouseover="{run}">read</b> this: &lt;script&gt;alert('text')&lt;/script&gt;
is only text, and so is <code>&lt;img src=x onerror=alert(1)&gt;</code>.</p>
<p>{sentence}</p>
<p><img src="x" onerror="{run}"> <svg onload="{run}"></svg></p>
<p><a href="javascript:{run}">Click for details</a> and
<a href="https://example.org/rules">the rules</a>.</p>
<iframe srcdoc="<script>{run}</script>"></iframe>
<form action="javascript:{run}"><button>Send</button></form>"""
    return PAGE.format(title=HOSTILE_TITLE, heading="Hostile notice", body=body)


def _statement(day: str, extra: str = "", link: bool = True) -> str:
    body = (
        f"<p>The consular section accepts visa applications on {day}.</p>"
        "<p>Bring your passport and two photographs.</p>"
        f"<p>{extra}</p>"
        + (
            '<p><a href="/visa-form">Visa application form</a></p>'
            '<p><img src="/img/form.png" alt="Visa form preview"></p>'
            if link
            else ""
        )
    )
    return PAGE.format(title="On visa applications", heading="On visa applications", body=body)


def _notice(text: str) -> str:
    return PAGE.format(
        title="Consular notice", heading="Consular notice", body=f"<p>{text}</p><p>Thank you.</p>"
    )


@dataclass
class History:
    """A database with a few pages checked over several rounds by the real pipeline."""

    site: LocalSite
    config: Config
    store: Store
    database: str
    pages: dict[str, int] = field(default_factory=dict)


def build_history(site: LocalSite, database: str) -> History:
    """statement: v1, v2 (edited, a link removed), removed (404), restored (v3);
    notice: v1; hostile: v1, v2 (its text edited)."""
    beacon = site.url("/beacon")
    site.page("/beacon", "", content_type="image/gif")
    site.page("/statement", _statement("Monday"))
    site.page("/notice", _notice("The consular section is closed on 8 March."))
    site.page("/hostile", _hostile(beacon, "The first version of the hostile notice."))
    config = make_config(
        database,
        [
            {"name": "statement", "url": site.url("/statement"), "tags": ["ministry", "visa"]},
            {"name": "notice", "url": site.url("/notice"), "tags": ["consular"]},
            {"name": "hostile", "url": site.url("/hostile"), "tags": ["consular"]},
        ],
    )
    store = Store(database)
    run_check(config, store, config.targets)
    site.page("/statement", _statement("Tuesday", "Applications are suspended.", link=False))
    site.page(
        "/hostile", _hostile(beacon, "The <em>second</em> version &lt;b&gt;changed&lt;/b&gt;.")
    )
    run_check(config, store, config.targets)
    del site.routes["/statement"]
    run_check(config, store, config.targets)
    site.page("/statement", _statement("Wednesday", "Applications resume in April."))
    run_check(config, store, config.targets)
    history = History(site, config, store, database)
    history.pages = {name: store.page(name).id for name in ("statement", "notice", "hostile")}
    site.hits.clear()
    return history


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    site = LocalSite().start()
    path = tmp_path_factory.mktemp("web") / "web.db"
    made = build_history(site, f"sqlite:///{path}")
    try:
        yield made
    finally:
        made.store.close()
        site.stop()


@pytest.fixture(scope="module")
def server(history: History) -> Iterator[str]:
    with running(history.store) as base:
        yield base


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def get(url: str, headers: dict[str, str] | None = None) -> Answer:
    """A GET that does not follow redirects and returns errors as answers."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return Answer(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        answer = Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
        error.close()
        return answer


# --------------------------------------------------------------------------------------
# Pages


def test_the_history_was_made_by_the_pipeline(history: History) -> None:
    kinds = [e.kind for e in history.store.events(history.pages["statement"])]
    assert kinds == ["changed", "removed", "restored"]
    assert [v.seq for v in history.store.versions(history.pages["hostile"])] == [1, 2]


def test_dashboard_lists_every_target_with_its_state(history: History, server: str) -> None:
    answer = get(server + "/")
    assert answer.status == 200
    page = answer.text
    for name in ("statement", "notice", "hostile"):
        assert f'href="/pages/{history.pages[name]}">{name}</a>' in page
    assert "restored" in page  # the statement's last event
    consular = get(server + "/?tag=consular").text
    assert ">notice</a>" in consular and ">statement</a>" not in consular
    site = history.site.base.split("//")[1]
    assert ">statement</a>" in get(f"{server}/?site={site}").text
    assert "No targets match" in get(server + "/?status=failing").text
    assert ">hostile</a>" in get(server + "/?q=host").text


def test_target_redirects_to_its_page(history: History, server: str) -> None:
    answer = get(server + "/targets/statement")
    assert answer.status == 303
    assert answer.headers["location"] == f"/pages/{history.pages['statement']}"
    assert get(server + "/targets/nothing").status == 404


def test_timeline_shows_removed_and_restored_with_reasons(history: History, server: str) -> None:
    page = get(f"{server}/pages/{history.pages['statement']}").text
    for kind in ("changed", "removed", "restored"):
        assert f'class="event event-{kind}">{kind}</span>' in page
    assert "link(s) removed" in page  # a reason behind the score
    assert "with new content" in page  # restored, and how
    statement = history.pages["statement"]
    assert f'href="/pages/{statement}/diff/1/2"' in page
    assert f'href="/pages/{statement}/diff/2/3"' in page
    assert get(f"{server}/pages/99999").status == 404


def test_diff_page_views_and_navigation(history: History, server: str) -> None:
    statement = history.pages["statement"]
    base = f"{server}/pages/{statement}/diff/1/2"
    inline = get(base)
    assert inline.status == 200
    assert "<del>Monday</del>" in inline.text and "<ins>Tuesday</ins>" in inline.text
    assert 'class="diff-links"' in inline.text and "Visa application form" in inline.text
    assert 'class="images-diff"' in inline.text and "Visa form preview" in inline.text
    assert 'rel="next"' in inline.text and f"/pages/{statement}/diff/2/3" in inline.text
    side = get(base + "?view=side-by-side")
    assert '<table class="diff-sbs">' in side.text
    assert "<del>Monday</del>" in side.text
    assert 'class="skip"' not in get(base + "?full=1").text
    later = get(f"{server}/pages/{statement}/diff/2/3")
    assert 'rel="prev"' in later.text and f"/pages/{statement}/diff/1/2" in later.text
    latest = get(f"{server}/pages/{statement}/diff")
    assert latest.status == 303 and latest.headers["location"].endswith("/diff/2/3")
    chosen = get(f"{server}/pages/{statement}/diff?from=1&to=3&view=side-by-side")
    assert chosen.headers["location"] == f"/pages/{statement}/diff/1/3?view=side-by-side"
    assert get(f"{server}/pages/{statement}/diff/1/9").status == 404
    assert get(base + "?view=nonsense").status == 400


def test_snapshot_is_sandboxed_with_headers_and_hashes(history: History, server: str) -> None:
    hostile = history.pages["hostile"]
    version = history.store.versions(hostile)[0]
    page = get(f"{server}/pages/{hostile}/versions/1")
    assert page.status == 200
    frame = re.search(r"<iframe[^>]*>", page.text)
    assert frame is not None
    assert re.search(r"\ssandbox[\s>]", frame.group()) and "allow-scripts" not in frame.group()
    assert version.body_sha256 and version.body_sha256 in page.text
    assert version.content_sha256 in page.text
    assert "content-type" in page.text  # the response headers
    raw = get(f"{server}/pages/{hostile}/versions/1/raw")
    assert raw.headers["content-security-policy"] == SNAPSHOT_CSP
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert raw.body == history.store.body(version.body_sha256)  # the exact bytes
    download = get(f"{server}/pages/{hostile}/versions/1/raw?download=1")
    assert download.headers["content-disposition"].startswith("attachment;")


def test_every_page_forbids_scripts(history: History, server: str) -> None:
    for path in ("/", "/search?q=visa", f"/pages/{history.pages['statement']}"):
        answer = get(server + path)
        assert answer.headers["content-security-policy"] == PAGE_CSP
        assert "script-src" not in PAGE_CSP and "default-src 'none'" in PAGE_CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert "<script" not in answer.text


def test_search_page(history: History, server: str) -> None:
    page = get(server + "/search?q=suspended").text
    assert "<mark>suspended</mark>" in page
    assert "not in the current version" in page  # v2 said it, v3 does not
    phrase = get(server + "/search?q=%22visa+applications%22&tag=visa").text
    assert f'href="/pages/{history.pages["statement"]}"' in phrase
    assert "No version matches" in get(server + "/search?q=visa&tag=consular").text
    bad = get(server + "/search?q=%2D%2D%2D")
    assert bad.status == 400 and "nothing to search for" in bad.text


HOSTILE_VIEWS = [
    "/",
    "/?activity=week&days=90",
    "/pages/{hostile}",
    "/pages/{hostile}/diff/1/2",
    "/pages/{hostile}/diff/1/2?view=side-by-side",
    "/pages/{hostile}/diff/1/2?full=1",
    "/pages/{hostile}/versions/2",
    "/pages/{hostile}/versions/2?view=text",
    "/pages/{hostile}/versions/2?view=source",
    "/search?q=hostile",
    "/search?q=script",
]


def _assert_inert(page: str, shown: bool = True) -> None:
    """No markup from a capture reaches the page: no script, handler or javascript: URL,
    no frame, and the only SVG is the monitor's own pictures; but it is there, as text."""
    assert "<script" not in page.lower()
    assert not re.search(r"<[^>]+\son\w+\s*=", page, re.IGNORECASE)
    assert not re.search(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", page, re.IGNORECASE)
    assert "<iframe srcdoc" not in page and "<b>" not in page
    svgs = re.findall(r"<svg\b[^>]*>", page, re.IGNORECASE)
    assert all(tag.startswith('<svg class="chart chart-') for tag in svgs), svgs
    assert ("&lt;script&gt;" in page) == shown


@pytest.mark.parametrize("path", HOSTILE_VIEWS)
def test_hostile_content_is_text_in_every_view(history: History, server: str, path: str) -> None:
    _assert_inert(get(server + path.format(hostile=history.pages["hostile"])).text)


# --------------------------------------------------------------------------------------
# A listing among many targets: natural order, pages of 100, the activity filter,
# article titles, the pictures

ARTICLE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><nav><a href="/">Home</a> <a href="/news/">News</a></nav>
<article><h1>{title}</h1><p>{body}</p><p>Issued by the consular section.</p></article>
<footer><p>Embassy of Example in Testland</p></footer></body></html>"""
NEWS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>News</title></head><body>
<nav><a href="/">Home</a></nav><main><h1>News</h1><ul class="news-list">{items}</ul></main>
<footer><p>Embassy of Example in Testland</p></footer></body></html>"""
#: The listing's articles: number -> title (7 is hostile: markup and script in its title).
BULLETINS = {1: "Bulletin 1", 2: "Bulletin 2", 3: "Bulletin 3", 7: HOSTILE_TITLE, 10: "Bulletin 10"}
#: Targets configured besides the listing (never checked): more than a dashboard page.
FILLERS = 104


@dataclass
class Newsroom:
    """A listing whose article 2 was removed, 3 edited, 7 (hostile) edited and 11 added,
    among 107 other targets (bulletin-1, bulletin-2, bulletin-10 and fillers)."""

    site: LocalSite
    store: Store
    database: str
    listing: int  # the listing's page id
    articles: dict[int, int]  # article number -> page id


def _publish(site: LocalSite, numbers: list[int], bodies: dict[int, str]) -> None:
    items = "".join(
        f'<li><a href="/news/{n}">{html_escape(BULLETINS.get(n, f"Bulletin {n}"))}</a></li>'
        for n in numbers
    )
    site.page("/news/", NEWS_PAGE.format(items=items))
    for number in numbers:
        site.page(
            f"/news/{number}",
            ARTICLE_PAGE.format(
                title=BULLETINS.get(number, f"Bulletin {number}"),
                body=bodies.get(
                    number, f"The consular section publishes bulletin number {number}."
                ),
            ),
        )


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsroom]:
    site = LocalSite().start()
    database = f"sqlite:///{tmp_path_factory.mktemp('newsroom') / 'news.db'}"
    listing = {
        "name": "news",
        "url": site.url("/news/"),
        "tags": ["consular"],
        "selector": "css:ul.news-list",
        "follow": {"links": "css:ul.news-list a", "pattern": r"/news/\d+$"},
    }
    others = [
        {"name": name, "url": site.url(f"/{name}"), "tags": ["bulletin"]}
        for name in ("bulletin-10", "bulletin-2", "bulletin-1")
    ] + [
        {"name": f"filler-{n}", "url": site.url(f"/filler/{n}"), "tags": ["filler"]}
        for n in range(FILLERS)
    ]
    config = make_config(database, [listing, *others])
    store = Store(database)
    numbers = [10, 7, 3, 2, 1]
    _publish(site, numbers, {})
    run_check(config, store, config.targets[:1])
    store.sync_targets(config.targets)  # the others: configured, never checked
    numbers.remove(2)
    del site.routes["/news/2"]
    numbers.insert(0, 11)
    edits = {
        3: "The consular section publishes an amended bulletin number 3.",
        7: "The <em>amended</em> hostile bulletin &lt;b&gt;edited&lt;/b&gt;.",
    }
    _publish(site, numbers, edits)
    summary = run_check(config, store, config.targets[:1])
    assert summary.events.get("removed") == 1 and summary.events.get("added") == 1, summary.events
    assert summary.events.get("changed", 0) >= 2, summary.events
    pages = {page.url: page.id for page in store.resolve("news")}
    made = Newsroom(
        site,
        store,
        database,
        pages[site.url("/news/")],
        {n: pages[site.url(f"/news/{n}")] for n in (1, 2, 3, 7, 10, 11)},
    )
    try:
        yield made
    finally:
        store.close()
        site.stop()


@pytest.fixture(scope="module")
def newsroom_server(newsroom: Newsroom) -> Iterator[str]:
    with running(newsroom.store) as base:
        yield base


def _target_names(page: str) -> list[str]:
    return re.findall(r'<td class="target">\s*(?:<a href="[^"]*">)?([^<\n]+)', page)


def test_dashboard_in_natural_order_a_hundred_a_page(newsroom_server: str) -> None:
    first = get(newsroom_server + "/").text
    names = _target_names(first)
    assert len(names) == 100
    assert names[:3] == ["bulletin-1", "bulletin-2", "bulletin-10"]  # not 1, 10, 2
    assert names[3:6] == ["filler-0", "filler-1", "filler-2"]
    assert "filler-9" in names and names.index("filler-9") < names.index("filler-10")
    assert "1–100 of 108" in first and 'rel="next" href="/?page=2"' in first
    second = get(newsroom_server + "/?page=2").text
    assert _target_names(second) == [f"filler-{n}" for n in range(97, FILLERS)] + ["news"]
    assert 'rel="prev" href="/"' in second and "101–108 of 108" in second
    assert _target_names(get(newsroom_server + "/?page=99").text)[-1] == "news"  # the last
    # Filters carry over to the other pages, and the page count follows them.
    tagged = get(newsroom_server + "/?tag=filler&sort=name").text
    assert 'href="/?tag=filler&amp;sort=name&amp;page=2"' in tagged
    assert len(_target_names(get(newsroom_server + "/?tag=bulletin").text)) == 3
    assert 'class="pager"' not in get(newsroom_server + "/?tag=bulletin").text
    assert get(newsroom_server + "/?page=x").status == 400


def test_removed_filter_finds_the_article_inside_a_listing(
    newsroom: Newsroom, newsroom_server: str
) -> None:
    everything = get(newsroom_server + "/").text
    # The listing is fine ("ok") but says that one of its articles is removed.
    assert everything.count("1 removed</a>") == 0  # not on the first page: news is 108th
    news = get(newsroom_server + "/?q=news").text
    assert 'class="badge status-ok">ok</span>' in news and ">1 removed</a>" in news
    removed = get(newsroom_server + "/?activity=removed").text
    assert _target_names(removed) == ["news"]
    removed_article = newsroom.articles[2]
    assert f'<a href="/pages/{removed_article}">Bulletin 2</a>' in removed  # its title
    assert '<span class="event event-removed">removed</span>' in removed
    # Changed recently: the listing (its articles changed today); never-checked targets not.
    recent = get(newsroom_server + "/?activity=day").text
    assert _target_names(recent) == ["news"]
    assert f'<a href="/pages/{newsroom.articles[3]}">Bulletin 3</a>' in recent
    assert f'<a href="/pages/{newsroom.articles[11]}">Bulletin 11</a>' in recent
    assert get(newsroom_server + "/?activity=nonsense").status == 400


def test_dashboard_strips_say_what_they_show(newsroom_server: str) -> None:
    page = get(newsroom_server + "/?q=news&days=90").text
    svg = re.search(r'<svg class="chart chart-strip"[^>]*>.*?</svg>', page, re.S)
    assert svg is not None
    label = re.search(r'aria-label="([^"]+)"', svg.group()).group(1)  # type: ignore[union-attr]
    # Two articles and the listing edited, one article removed, one added: all today.
    assert label.startswith("5 events in the last 90 days (1 removed, 1 added, 3 changed)")
    assert 'role="img"' in svg.group() and "<title>Events per day of news" in svg.group()
    assert f"<desc>{label}</desc>" in svg.group()
    assert svg.group().count('<rect class="k-removed n3"') == 1  # one day: the most notable
    quiet = get(newsroom_server + "/?q=filler-0").text
    assert 'aria-label="No event in the last 30 days."' in quiet
    assert get(newsroom_server + "/?days=7").status == 400


def test_listing_shows_article_titles_and_articles_per_day(
    newsroom: Newsroom, newsroom_server: str
) -> None:
    page = get(f"{newsroom_server}/pages/{newsroom.listing}").text
    assert f'<a href="/pages/{newsroom.articles[10]}">Bulletin 10</a>' in page
    assert "&lt;script&gt;" in page  # the hostile article's title, as text
    bars = re.search(r'<svg class="chart chart-bars"[^>]*>.*?</svg>', page, re.S)
    assert bars is not None
    assert "articles: 1 added, 1 removed, 2 edited, 0 restored" in page  # the sentence
    assert page.count('<g class="bar">') == 1  # one day with articles: today
    assert "<th>Added</th><th>Removed</th><th>Edited</th><th>Restored</th>" in page
    ninety = get(f"{newsroom_server}/pages/{newsroom.listing}?days=90").text
    assert "last 90 days" in ninety and "In the last 90 days" in ninety
    # An article's own page has no listing picture, but its time axis.
    article = get(f"{newsroom_server}/pages/{newsroom.articles[2]}").text
    assert "chart-bars" not in article and "chart-axis" in article
    assert "still removed" in article


def test_timeline_axis_shows_versions_events_and_the_removal_gap(
    history: History, server: str
) -> None:
    statement = history.pages["statement"]
    page = get(f"{server}/pages/{statement}").text
    svg = re.search(r'<svg class="chart chart-axis"[^>]*>.*?</svg>', page, re.S)
    assert svg is not None
    drawn = svg.group()
    assert drawn.count('<circle class="version"') == 3
    for seq in (1, 2, 3):
        assert f'<a href="/pages/{statement}/versions/{seq}">' in drawn
    assert drawn.count('<g class="gap gap-removed">') == 1  # removed, then restored
    for kind in ("changed", "removed", "restored"):
        assert f'class="mark k-{kind}"' in drawn
    assert "3 versions from" in page and "removed 1 time." in page
    assert "<th>Gap</th><th>From</th><th>To</th><th>How long</th>" in page
    assert 'role="img"' in drawn and "<desc>3 versions from" in drawn


def test_api_targets_activity_filter(newsroom: Newsroom, newsroom_server: str) -> None:
    listed = get(newsroom_server + "/api/targets").json()["targets"]
    assert [t["name"] for t in listed[:3]] == ["bulletin-1", "bulletin-2", "bulletin-10"]
    removed = get(newsroom_server + "/api/targets?activity=removed").json()
    errors = list(_validator(_response_schema("/api/targets")).iter_errors(removed))
    assert not errors
    assert [t["name"] for t in removed["targets"]] == ["news"]
    assert removed["targets"][0]["removed_pages"] == 1
    recent = get(newsroom_server + "/api/targets?activity=week").json()["targets"]
    assert [t["name"] for t in recent] == ["news"]
    bad = get(newsroom_server + "/api/targets?activity=nonsense")
    assert bad.status == 400
    _validator({"$ref": "#/components/schemas/Error"}).validate(bad.json())


#: Views of the newsroom, and whether the hostile article's title is in them.
HOSTILE_NEWSROOM_VIEWS = [
    ("/?activity=day", True),
    ("/?activity=week&days=90", True),
    ("/?activity=removed&days=90", False),
    ("/?q=news", False),
    ("/pages/{listing}", True),
    ("/pages/{listing}?days=90", True),
    ("/pages/{hostile}", True),
]


@pytest.mark.parametrize("path,shown", HOSTILE_NEWSROOM_VIEWS)
def test_hostile_titles_are_text_in_the_new_views(
    newsroom: Newsroom, newsroom_server: str, path: str, shown: bool
) -> None:
    url = path.format(listing=newsroom.listing, hostile=newsroom.articles[7])
    _assert_inert(get(newsroom_server + url).text, shown=shown)


# --------------------------------------------------------------------------------------
# Feeds


def _parse_feed(body: bytes) -> Any:
    import feedparser

    root = ET.fromstring(body)  # well-formed XML
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id and parsed.feed.title and parsed.feed.updated
    for entry in parsed.entries:
        assert entry.id.startswith("urn:uuid:") and entry.title and entry.updated and entry.link
    return parsed


def test_feeds_parse_and_hold_the_events(history: History, server: str) -> None:
    everything = get(server + "/feeds/events.atom")
    assert everything.headers["content-type"].startswith("application/atom+xml")
    parsed = _parse_feed(everything.body)
    assert len(parsed.entries) == sum(len(history.store.events(p)) for p in history.pages.values())
    removed = next(e for e in parsed.entries if e.title.startswith("Removed"))
    assert removed.link.endswith(f"/pages/{history.pages['statement']}")
    changed = next(e for e in parsed.entries if "visa" in e.title.lower() and "Changed" in e.title)
    assert changed.link.endswith(f"/pages/{history.pages['statement']}/diff/1/2")
    # The diff in colour: the styles are in the elements (and survive feedparser's
    # sanitising, as they would a feed reader's), one line of context around it.
    content = changed.content[0].value
    assert re.search(r'<del style="[^"]*background-color: ?#f7a8a4[^"]*">Monday</del>', content)
    assert re.search(r'<ins style="[^"]*background-color: ?#9be3aa[^"]*">Tuesday</ins>', content)
    assert re.search(r'<div[^>]*style="[^"]*background-color: ?#d7f5dd[^"]*">', content)
    assert "Bring your passport and two photographs." in content  # context
    assert b"<style" not in everything.body  # nothing a reader would drop

    statement = _parse_feed(get(server + "/feeds/targets/statement.atom").body)
    assert [e.tags[0].term for e in statement.entries] == ["restored", "removed", "changed"]
    consular = _parse_feed(get(server + "/feeds/tags/consular.atom").body)
    assert {e.link.split("/pages/")[1].split("/")[0] for e in consular.entries} == {
        str(history.pages["hostile"])
    }
    assert _parse_feed(get(server + "/feeds/tags/nothing.atom").body).entries == []
    assert get(server + "/feeds/targets/nothing.atom").status == 404


def test_hostile_content_is_text_in_feeds(history: History, server: str) -> None:
    body = get(server + "/feeds/targets/hostile.atom").body
    assert b"<script" not in body.lower()
    entry = _parse_feed(body).entries[0]
    html = entry.content[0].value  # the HTML a feed reader renders
    assert "<script" not in html.lower() and "<b>" not in html
    assert "&lt;b&gt;changed&lt;/b&gt;" in html or "&lt;b&gt;" in html


# --------------------------------------------------------------------------------------
# The JSON API


def _validator(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    doc = document()
    return Draft202012Validator({**schema, "components": doc["components"]})


def _response_schema(template: str) -> dict[str, Any]:
    operation = document()["paths"][template]["get"]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


def test_openapi_document_is_valid_and_committed(server: str) -> None:
    from openapi_spec_validator import validate

    doc = document()
    validate(doc)
    assert get(server + "/api/openapi.json").json() == doc
    committed = json.loads((ROOT / "schemas" / "openapi.json").read_text())
    assert committed == doc, "regenerate: python -m monitor.web.openapi > schemas/openapi.json"


def _api_calls(history: History) -> list[tuple[str, str]]:
    statement, hostile = history.pages["statement"], history.pages["hostile"]
    return [
        ("/api/targets", "/api/targets"),
        ("/api/targets", "/api/targets?tag=consular&status=ok"),
        ("/api/targets/{name}", "/api/targets/statement"),
        ("/api/pages/{page_id}", f"/api/pages/{statement}"),
        ("/api/pages/{page_id}", f"/api/pages/{hostile}"),
        ("/api/pages/{page_id}/versions", f"/api/pages/{statement}/versions"),
        ("/api/pages/{page_id}/versions/{seq}", f"/api/pages/{hostile}/versions/2"),
        ("/api/pages/{page_id}/diff/{from}/{to}", f"/api/pages/{statement}/diff/1/2"),
        ("/api/pages/{page_id}/diff/{from}/{to}", f"/api/pages/{hostile}/diff/1/2"),
        ("/api/changes", "/api/changes"),
        ("/api/changes", "/api/changes?target=statement&kind=removed&kind=restored"),
        ("/api/changes", "/api/changes?tag=consular&limit=1"),
        ("/api/search", "/api/search?q=visa"),
        ("/api/search", "/api/search?q=script&target=hostile"),
    ]


def test_api_answers_fit_the_openapi_document(history: History, server: str) -> None:
    for template, path in _api_calls(history):
        answer = get(server + path)
        assert answer.status == 200, (path, answer.text)
        assert answer.headers["content-type"] == "application/json"
        errors = list(_validator(_response_schema(template)).iter_errors(answer.json()))
        assert not errors, (path, [e.message for e in errors[:3]])


def test_api_errors_fit_the_openapi_document(history: History, server: str) -> None:
    error_schema = {"$ref": "#/components/schemas/Error"}
    for path, status in (
        ("/api/pages/99999", 404),
        (f"/api/pages/{history.pages['statement']}/versions/42", 404),
        ("/api/targets/nothing", 404),
        ("/api/search", 400),
        ("/api/changes?limit=0", 400),
        ("/api/changes?since=yesterday", 400),
    ):
        answer = get(server + path)
        assert answer.status == status, path
        _validator(error_schema).validate(answer.json())


def test_api_content(history: History, server: str) -> None:
    statement = history.pages["statement"]
    changes = get(f"{server}/api/changes?target=statement").json()["changes"]
    assert [c["event"] for c in changes] == ["restored", "removed", "changed"]
    assert changes[-1]["from_version"] == 1 and changes[-1]["to_version"] == 2
    assert changes[-1]["significance"]["reasons"]
    diff = get(f"{server}/api/pages/{statement}/diff/1/2").json()
    assert diff["diff"]["stats"]["words_added"] >= 1
    assert [pair[1] for pair in diff["links"]["removed"]] == ["Visa application form"]
    assert [pair[1] for pair in diff["images"]["removed"]] == ["Visa form preview"]
    found = get(server + "/api/search?q=suspended").json()
    assert found["pages"][0]["versions"] == [2] and found["pages"][0]["current"] is False


def test_hostile_content_is_text_in_the_api(history: History, server: str) -> None:
    hostile = history.pages["hostile"]
    answer = get(f"{server}/api/pages/{hostile}/versions/2")
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    version = answer.json()
    assert version["title"] == HOSTILE_TITLE  # the exact text, not markup
    assert "<script>alert('text')</script>" in version["text"]
    # javascript: links are not links the monitor follows or records.
    assert [url for url, _text in version["links"]] == ["https://example.org/rules"]


# --------------------------------------------------------------------------------------
# Access


def test_binding_beyond_loopback_needs_a_secret() -> None:
    with pytest.raises(ConfigError, match="MONITOR_WEB_TOKEN"):
        WebSettings(host="0.0.0.0").check()
    WebSettings(host="0.0.0.0", token="t").check()
    WebSettings(host="::1").check()
    WebSettings(host="localhost").check()


def test_token_and_password(history: History) -> None:
    settings = WebSettings(host="0.0.0.0", token="s3cret-token", password="pass word")
    with running(history.store, settings) as base:
        assert get(base + "/").status == 401
        assert "basic" in get(base + "/").headers["www-authenticate"].lower()
        assert get(base + "/api/targets", {"Authorization": "Bearer wrong"}).status == 401
        assert get(base + "/api/targets", {"Authorization": "Bearer s3cret-token"}).status == 200
        for secret in ("pass word", "s3cret-token"):
            basic = base64.b64encode(f"anyone:{secret}".encode()).decode()
            assert get(base + "/", {"Authorization": f"Basic {basic}"}).status == 200
        wrong = base64.b64encode(b"anyone:nope").decode()
        assert get(base + "/feeds/events.atom", {"Authorization": f"Basic {wrong}"}).status == 401


# --------------------------------------------------------------------------------------
# In a real browser


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM) or shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watched:
    """A browser tab that records every sign of a script running: dialogs, uncaught
    script errors, console messages (``messages``; a captured script logs EXECUTED)."""

    page: Any
    signs: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def executed(self) -> list[str]:
        return self.signs + [m for m in self.messages if EXECUTED in m]


@pytest.fixture
def tab(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watched = Watched(page)

    def on_dialog(dialog: Any) -> None:
        watched.signs.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: watched.messages.append(message.text))
    page.on("pageerror", lambda error: watched.signs.append(f"page error: {error}"))
    try:
        yield watched
    finally:
        context.close()


def _shot(tab: Watched, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.slow
def test_browser_review_journey(history: History, server: str, tab: Watched) -> None:
    page = tab.page
    page.goto(server + "/")
    assert page.title() == "Dashboard · monitor"
    assert page.locator("table.targets tbody tr").count() == 3
    _shot(tab, "dashboard")

    page.select_option("select[name=tag]", "visa")
    page.click("form.filters button")
    assert page.locator("table.targets tbody tr").count() == 1

    page.click("td.target a")  # follow the target
    assert page.url.endswith(f"/pages/{history.pages['statement']}")
    assert page.locator("li.entry").count() == 4  # v3 restored, removed, v2 changed, v1
    assert page.locator("li.kind-removed .event-removed").count() == 1
    assert "link(s) removed" in page.locator("ol.timeline").inner_text()
    _shot(tab, "timeline")

    page.select_option("select[name=from]", "1")
    page.select_option("select[name=to]", "2")
    page.click("form.compare button")  # a diff between two versions, at its stable URL
    assert page.url.endswith(f"/pages/{history.pages['statement']}/diff/1/2")
    assert page.locator(".diff del", has_text="Monday").count() == 1
    assert page.locator(".diff ins", has_text="Tuesday").count() == 1
    assert "Visa application form" in page.locator("aside.diff-links").inner_text()
    _shot(tab, "diff-inline")

    page.click("a.view-side-by-side")
    assert "view=side-by-side" in page.url
    assert page.locator("table.diff-sbs td.old del", has_text="Monday").count() == 1
    assert page.locator("table.diff-sbs td.new ins", has_text="Tuesday").count() == 1
    _shot(tab, "diff-side-by-side")

    page.click("a.full-text")
    assert "full=1" in page.url and page.locator(".skip").count() == 0
    page.click("a.next")
    assert "/diff/2/3" in page.url and "view=side-by-side" in page.url

    page.fill("header input[name=q]", '"visa applications"')
    page.press("header input[name=q]", "Enter")
    assert "/search" in page.url
    results = page.locator("ol.results li.result")
    assert results.count() == 1
    assert results.first.locator("mark").first.inner_text().lower() == "visa"
    _shot(tab, "search")
    assert tab.signs == [] and tab.messages == []  # our own pages: not a single complaint


def _assert_nothing_ran(tab: Watched, history: History, where: str) -> None:
    page = tab.page
    assert tab.executed == [], where
    assert page.title() != EXECUTED, where
    for frame in page.frames:
        try:
            title = frame.title()
        except Exception:  # a sandboxed frame may refuse evaluation: nothing ran there either
            continue
        assert title != EXECUTED, where
    assert "/beacon" not in history.site.hits, where


@pytest.mark.slow
def test_browser_no_captured_script_ever_runs(history: History, server: str, tab: Watched) -> None:
    hostile = history.pages["hostile"]
    views = [path.format(hostile=hostile) for path in HOSTILE_VIEWS] + [
        f"/pages/{hostile}/versions/1",
        f"/pages/{hostile}/versions/2/raw",  # even opened on its own
        "/feeds/targets/hostile.atom",
        f"/api/pages/{hostile}/versions/2",
    ]
    for path in views:
        tab.page.goto(server + path)
        tab.page.wait_for_load_state("load")
        if path.endswith("/versions/1"):
            frame = tab.page.frame_locator("iframe.snapshot-frame")
            assert frame.locator("h1").inner_text() == "Hostile notice"  # it did render
            frame.locator("a", has_text="Click for details").click()  # javascript: link
            frame.locator("b", has_text="read").hover()  # onmouseover
            tab.page.wait_for_timeout(200)
            _shot(tab, "snapshot-hostile")
        _assert_nothing_ran(tab, history, path)
    tab.page.goto(f"{server}/pages/{hostile}/diff/1/2")
    assert "<script>alert('text')</script>" in tab.page.locator(".diff").inner_text()
    _shot(tab, "diff-hostile")
    _assert_nothing_ran(tab, history, "diff")

    # The detectors work: the original page, opened from its own site, runs its scripts.
    tab.page.goto(history.site.url("/hostile"))
    tab.page.wait_for_function(f"document.title === '{EXECUTED}'", timeout=5000)
    assert any(EXECUTED in sign for sign in tab.executed)


DESKTOP = {"width": 1400, "height": 1000}
#: A phone's viewport (CSS pixels), as Chromium emulates one.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}

_SBS_GEOMETRY = """() => {
  const table = document.querySelector('table.diff-sbs');
  const box = (element) => element.getBoundingClientRect();
  const changed = [...table.querySelectorAll('tbody tr')].find(
    (row) => row.querySelector('td.old.change') && row.querySelector('td.new.change'));
  const cells = [...changed.cells].map((cell) => {
    const b = box(cell);
    return {cls: cell.className, left: b.left, top: b.top, width: b.width, bottom: b.bottom};
  });
  return {
    table: box(table).width,
    viewport: window.innerWidth,
    scroll: document.documentElement.scrollWidth,
    cells: cells,
  };
}"""


def _sbs_geometry(browser: Any, load: Any, shot: str, phone: bool) -> dict[str, Any]:
    context = browser.new_context(**(PHONE if phone else {"viewport": DESKTOP}))
    try:
        page = context.new_page()
        load(page)
        geometry: dict[str, Any] = page.evaluate(_SBS_GEOMETRY)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
    finally:
        context.close()
    return geometry


def _assert_texts_get_the_width(geometry: dict[str, Any], phone: bool) -> None:
    numbers = [c for c in geometry["cells"] if c["cls"] == "num"]
    texts = [c for c in geometry["cells"] if c["cls"] != "num"]
    assert len(numbers) == 2 and len(texts) == 2, geometry
    assert geometry["scroll"] <= geometry["viewport"], geometry  # no sideways scrolling
    if not phone:
        for number in numbers:
            assert number["width"] <= 60, geometry  # about 3 rem, not a quarter of the table
        for text in texts:
            assert text["width"] >= 0.4 * geometry["table"], geometry
        assert texts[0]["top"] == texts[1]["top"]  # side by side: one row
        return
    assert geometry["viewport"] == PHONE["viewport"]["width"]  # type: ignore[index]
    old, new = texts
    for text in (old, new):
        assert text["width"] >= 0.75 * geometry["viewport"], geometry
    assert new["top"] >= old["bottom"] - 1, geometry  # the new line under the old one


@pytest.mark.slow
@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_browser_side_by_side_gives_the_texts_the_width(
    history: History, server: str, browser: Any, phone: bool
) -> None:
    """The line-number columns are narrow at a desktop's width; on a phone the old and
    new lines stack, each with the width of the screen, and nothing scrolls sideways:
    on the web's diff page and on the page `monitor diff --format side-by-side` writes."""
    from click.testing import CliRunner

    from monitor.cli import main

    device = "phone" if phone else "desktop"
    url = f"{server}/pages/{history.pages['statement']}/diff/1/2?view=side-by-side"
    web = _sbs_geometry(browser, lambda page: page.goto(url), f"sbs-web-{device}", phone)
    _assert_texts_get_the_width(web, phone)

    written = CliRunner().invoke(
        main,
        ["diff", "statement", "1", "2", "--format", "side-by-side", "--db", history.database],
    )
    assert written.exit_code == 0, written.output
    cli = _sbs_geometry(
        browser, lambda page: page.set_content(written.output), f"sbs-cli-{device}", phone
    )
    _assert_texts_get_the_width(cli, phone)


_BOXES = """(selector) => [...document.querySelectorAll(selector)].map((element) => {
  const b = element.getBoundingClientRect();
  return {left: b.left, top: b.top, width: b.width, height: b.height};
})"""
_SCROLL = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@pytest.mark.slow
@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_browser_pictures(
    history: History,
    server: str,
    newsroom: Newsroom,
    newsroom_server: str,
    browser: Any,
    phone: bool,
) -> None:
    """The pictures render (sizes from the page), are named for assistive technology, run
    no script, and fit a phone's width."""
    device = "phone" if phone else "desktop"
    context = browser.new_context(**(PHONE if phone else {"viewport": DESKTOP}))
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: problems.append(message.text))

        page.goto(newsroom_server + "/?activity=day&days=30")
        strip = page.get_by_role("img", name=re.compile(r"^5 events in the last 30 days"))
        assert strip.count() == 1
        [box] = page.evaluate(_BOXES, "svg.chart-strip")
        assert 170 <= box["width"] <= 190 and 12 <= box["height"] <= 20, box
        [cell] = page.evaluate(_BOXES, "svg.chart-strip rect.k-removed")
        assert 4 <= cell["width"] <= 7 and cell["left"] > box["left"] + box["width"] - 8, cell
        assert page.locator("ul.notable li").count() >= 3
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-activity-{device}.png"), full_page=True)
        scroll, width = page.evaluate(_SCROLL)
        assert scroll <= width, (scroll, width)
        page.goto(newsroom_server + "/")  # a hundred targets, never checked, a page of them
        scroll, width = page.evaluate(_SCROLL)
        assert scroll <= width, (scroll, width)
        assert page.locator("nav.pager a[rel=next]").count() == 2  # above and below
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-pages-{device}.png"))

        page.goto(f"{newsroom_server}/pages/{newsroom.listing}")
        bars = page.get_by_role("img", name=re.compile(r"^In the last 30 days, articles: 1 added"))
        assert bars.count() == 1
        [chart] = page.evaluate(_BOXES, "svg.chart-bars")
        assert chart["width"] >= (300 if phone else 600), chart
        drawn = page.evaluate(_BOXES, "svg.chart-bars g.bar rect")
        assert len(drawn) == 3 and all(r["height"] > 5 for r in drawn), (
            drawn
        )  # added/edited/removed
        page.locator("details.chart-table summary").click()
        assert page.locator("details.chart-table td").first.is_visible()
        page.screenshot(path=str(SCREENSHOTS / f"listing-{device}.png"), full_page=True)
        scroll, width = page.evaluate(_SCROLL)
        assert scroll <= width, (scroll, width)

        page.goto(f"{server}/pages/{history.pages['statement']}")
        axis = page.get_by_role("img", name=re.compile(r"^3 versions from .*removed 1 time"))
        assert axis.count() == 1
        [line] = page.evaluate(_BOXES, "svg.chart-axis")
        assert line["width"] >= (340 if phone else 900), line
        dots = page.evaluate(_BOXES, "svg.chart-axis circle.version")
        gap = page.evaluate(_BOXES, "svg.chart-axis .gap-removed rect")
        assert len(dots) == 3 and len(gap) == 1
        assert all(line["left"] <= d["left"] <= line["left"] + line["width"] for d in dots)
        assert dots[0]["left"] < gap[0]["left"] < dots[2]["left"]  # removed after v2, before v3
        page.screenshot(path=str(SCREENSHOTS / f"timeline-axis-{device}.png"), full_page=True)
        scroll, width = page.evaluate(_SCROLL)
        assert scroll <= width, (scroll, width)
        assert problems == []  # no script, no error: pictures are markup
        # A version's dot is a link (the snapshot it opens may log what its CSP refused).
        page.locator("svg.chart-axis a").nth(2).click()
        assert page.url.endswith(f"/pages/{history.pages['statement']}/versions/3")
    finally:
        context.close()


@pytest.mark.slow
def test_browser_feed_entry_is_in_colour(history: History, server: str, browser: Any) -> None:
    """A feed entry's HTML, as a reader shows it (no stylesheet of ours): coloured."""
    parsed = _parse_feed(get(server + "/feeds/targets/statement.atom").body)
    changed = next(e for e in parsed.entries if e.tags[0].term == "changed")
    context = browser.new_context(viewport={"width": 800, "height": 500})
    try:
        page = context.new_page()
        page.set_content(f"<!doctype html><body>{changed.content[0].value}</body>")
        colours = page.evaluate(
            """() => ['del', 'ins', '.line.change', '.line.insert'].map(
                (s) => getComputedStyle(document.querySelector(s)).backgroundColor)"""
        )
        page.screenshot(path=str(SCREENSHOTS / "feed-entry.png"))
    finally:
        context.close()
    assert colours == [
        "rgb(247, 168, 164)",  # a removed word
        "rgb(155, 227, 170)",  # an added word
        "rgba(0, 0, 0, 0)",  # an edited line: its words carry the colour
        "rgb(215, 245, 221)",  # an added line
    ]


@pytest.mark.slow
def test_browser_no_captured_script_runs_in_the_new_views(
    newsroom: Newsroom, newsroom_server: str, tab: Watched
) -> None:
    """The dashboard's lists of pages, the listing's titles and pictures, the axis: the
    hostile article's title is there as text, and nothing of it runs."""
    for path, _shown in HOSTILE_NEWSROOM_VIEWS:
        url = path.format(listing=newsroom.listing, hostile=newsroom.articles[7])
        tab.page.goto(newsroom_server + url)
        tab.page.wait_for_load_state("load")
        for svg in tab.page.locator("svg.chart").all():
            svg.hover()  # a handler on a picture would fire now
        assert tab.executed == [] and tab.page.title() != EXECUTED, url
    tab.page.goto(newsroom_server + "/?activity=day")
    assert "<script>" in tab.page.locator("ul.notable").inner_text()  # shown, as text


def test_a_removal_links_to_the_capture_that_showed_it(history: History, server: str) -> None:
    """The removal row of the timeline names the status and links to its capture: the
    404 as served (status, headers, body in a sandbox)."""
    import re as _re

    page_id = history.pages["statement"]
    removal = next(e for e in history.store.events(page_id) if e.kind == "removed")
    timeline = get(f"{server}/pages/{page_id}").text
    link = f"/pages/{page_id}/captures/{removal.capture_id}"
    assert f'href="{link}"' in timeline
    assert _re.search(r"HTTP 404 · <a href=\"" + _re.escape(link), timeline)
    capture = get(server + link)
    assert capture.status == 200
    assert "HTTP 404" in capture.text and "content-type" in capture.text
    assert f'src="{link}/raw"' in capture.text and "sandbox" in capture.text
    raw = get(server + link + "/raw")
    assert raw.status == 200 and b"Not Found" in raw.body
    assert "sandbox" in raw.headers["content-security-policy"]
    # Another page's capture id is not this page's capture.
    other = history.pages["notice"]
    assert get(f"{server}/pages/{other}/captures/{removal.capture_id}").status == 404
