"""Capture quality end to end: what a page has become is judged before its content.

Real local server, real Scrapy fetches through ``run_check``, real SQLite (issue 10,
items 1, 5, 6, 7 and 11): soft removals of selector targets, block pages known by their
headers, redirects to another site, late mojibake and meta refreshes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.check import run_check
from monitor.records import CheckSummary
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.sites import LocalSite, Route

PAGE = """<!doctype html><html><head><title>{title}</title>{head}</head><body>
<header class="site-header"><a href="/">Embassy of Example</a></header>
<nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/contacts/">Contacts</a></nav>
<div class="breadcrumb"><a href="/">Home</a> / <a href="/news/">News</a></div>
<main>{main}</main>
<footer>Embassy of Example, 12 Park Road. Telephone +43 1 712 12 29.</footer>
{tail}</body></html>"""

PARAGRAPHS = (
    "The embassy informs that visa applications are received on weekdays from 9 to 12 "
    "at the consular section, by appointment only.",
    "Applicants bring a valid passport, two photographs and the completed form; the fee "
    "is paid at the visa centre and is not refunded if the visa is refused.",
    "Processing takes ten working days. Urgent applications are accepted in documented "
    "humanitarian cases and are processed within three working days.",
)


def page(title: str, main: str, *, head: str = "", tail: str = "") -> str:
    return PAGE.format(title=title, main=main, head=head, tail=tail)


def article(title: str = "Visa rules", paragraphs: tuple[str, ...] = PARAGRAPHS, **kw: str) -> str:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    main = (
        f'<article class="statement"><h1>{title}</h1><p class="date">15 May 2024</p>'
        f"{body}</article>"
    )
    return page(f"{title} - Embassy of Example", main, **kw)


HOME = page(
    "Embassy of Example",
    '<section class="welcome"><h1>Welcome</h1><p>Welcome to the website of the Embassy of '
    'Example.</p><ul class="news-list"><li><a href="/news/2024/visas">Visa rules</a></li>'
    '<li><a href="/news/2024/hours">Opening hours</a></li></ul></section>',
)
SECTION = page(
    "News - Embassy of Example",
    '<section class="news"><h1>News</h1><ul class="news-list">'
    '<li><a href="/news/2024/visas">Visa rules</a></li>'
    '<li><a href="/news/2024/hours">Opening hours</a></li></ul></section>',
)
NOT_FOUND = page(
    "Page not found - Embassy of Example",
    '<div class="error"><h1>Page not found</h1><p><a href="/">Go to the home page</a></p></div>',
)
MESSAGE = page(
    "Embassy of Example",
    '<div class="message"><h2>Sorry</h2><p>The page you requested cannot be found. It may '
    "have been moved or deleted.</p></div>",
)
ARTICLE_PATH = "/news/2024/visas"


def _config(tmp_path: Path, targets: list[dict[str, Any]]) -> Any:
    return make_config(f"sqlite:///{tmp_path / 'm.db'}", targets)


def _events(summary: CheckSummary) -> dict[str, list[str]]:
    """Events of a check by target name (confirming fetches included)."""
    found: dict[str, list[str]] = {}
    for item in summary.outcomes:
        if item.event:
            found.setdefault(item.key.target, []).append(item.event)
    return found


def _outcomes(summary: CheckSummary, target: str) -> list[tuple[str, str]]:
    return [(item.purpose, item.outcome) for item in summary.outcomes if item.key.target == target]


# --- item 1: a selector target still reports soft removals -----------------------------

REMOVALS: dict[str, Route] = {
    "redirect-home": Route(status=302, headers={"Location": "/"}),
    "redirect-section": Route(status=302, headers={"Location": "/news/"}),
    "soft-404-title": Route(body=NOT_FOUND.encode()),
    "not-found-message": Route(body=MESSAGE.encode()),
}


@pytest.mark.parametrize("removal", list(REMOVALS))
def test_selector_target_reports_a_soft_removal_after_confirmation(
    removal: str, site: LocalSite, tmp_path: Path
) -> None:
    site.page("/", HOME)
    site.page("/news/", SECTION)
    site.page(ARTICLE_PATH, article())
    url = site.url(ARTICLE_PATH)
    config = _config(tmp_path, [{"name": "visas", "url": url, "selector": "css:article.statement"}])
    store = Store(config.database)
    assert run_check(config, store, config.targets).first_versions == 1

    site.routes[ARTICLE_PATH] = REMOVALS[removal]
    second = run_check(config, store, config.targets)
    # The check fetch is a suspicion, the confirming fetch in the same run the removal.
    assert _outcomes(second, "visas") == [("check", "suspect"), ("confirm", "removed")]
    assert _events(second) == {"visas": ["removed"]}
    page_id = store.page("visas").id
    [event] = store.events(page_id)
    assert event.kind == "removed" and "target problem" not in event.summary
    assert not any("target problem" in (c.note or "") for c in store.captures(page_id))

    third = run_check(config, store, config.targets)
    assert _events(third) == {}, "a removal is reported once"
    assert _outcomes(third, "visas") == [("check", "gone")]
    store.close()


def test_selector_lost_on_a_live_page_is_a_target_problem(site: LocalSite, tmp_path: Path) -> None:
    site.page(ARTICLE_PATH, article())
    url = site.url(ARTICLE_PATH)
    config = _config(tmp_path, [{"name": "visas", "url": url, "selector": "css:article.statement"}])
    store = Store(config.database)
    run_check(config, store, config.targets)

    # A redesign: the same statement, but the selector's class is gone.
    site.page(ARTICLE_PATH, article().replace('class="statement"', 'class="news-item"'))
    for _ in range(2):
        summary = run_check(config, store, config.targets)
        assert _events(summary) == {}
        assert _outcomes(summary, "visas") == [("check", "error")], "no confirming fetch"
    page = store.page("visas")
    assert page.state == "active"
    notes = [c.note or "" for c in store.captures(page.id)[:2]]
    assert all(note.startswith("selector: target problem") for note in notes), notes
    store.close()


def test_selector_target_block_page_is_low_not_a_target_problem(
    site: LocalSite, tmp_path: Path
) -> None:
    site.page(ARTICLE_PATH, article())
    url = site.url(ARTICLE_PATH)
    config = _config(tmp_path, [{"name": "visas", "url": url, "selector": "css:article.statement"}])
    store = Store(config.database)
    run_check(config, store, config.targets)
    site.page(
        ARTICLE_PATH,
        "<html><head><title>Attention Required! | Cloudflare</title></head><body>"
        "<h1>Sorry, you have been blocked</h1><p>Ray ID: 8a1b2c3d4e5f</p></body></html>",
        status=403,
        server="cloudflare",
    )
    summary = run_check(config, store, config.targets)
    assert _outcomes(summary, "visas") == [("check", "low")]
    [capture] = store.captures(store.page("visas").id, limit=1)
    assert capture.note is not None and capture.note.startswith("blocked:"), capture.note
    store.close()


# --- item 5: block and challenge pages known by headers and status ---------------------

BLOCKS: dict[str, tuple[int, dict[str, str], str]] = {
    # name: (status, headers, body)
    "aws-waf-202": (
        202,
        {"x-amzn-waf-action": "challenge"},
        "<html><head><title>JavaScript is disabled</title>"
        '<script src="https://a.token.awswaf.com/a/challenge.js"></script></head>'
        "<body><noscript><h1>JavaScript is disabled</h1>In order to continue, you need to "
        "verify that you're not a robot by solving a CAPTCHA puzzle.</noscript></body></html>",
    ),
    "aws-waf-405-header-only": (405, {"x-amzn-waf-action": "captcha"}, "<html></html>"),
    "cloudflare-mitigated": (
        403,
        {"cf-mitigated": "challenge", "server": "cloudflare"},
        "<html><head><title>embassy</title></head><body><div id='x'></div></body></html>",
    ),
    "cloudflare-503-script": (
        503,
        {"server": "cloudflare", "cf-ray": "8a1b2c3d4e5f-VIE"},
        "<html><head><title>embassy</title></head><body>"
        "<script>window._cf_chl_opt={cvId:'3'}</script></body></html>",
    ),
    "akamai": (
        403,
        {"server": "AkamaiGHost"},
        "<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>"
        "You don't have permission to access this server.<p>Reference #18.5e2c1002.17</p>"
        "</body></html>",
    ),
    "imperva": (
        200,
        {"x-iinfo": "10-12345678-0 0NNN", "set-cookie": "incap_ses_1_2=abc; path=/"},
        "<html><head><meta name='robots' content='noindex'></head><body>"
        "<iframe src='/_Incapsula_Resource?CWUDNSAI=9'></iframe></body></html>",
    ),
    "sucuri": (
        403,
        {"x-sucuri-block": "BBC006", "server": "Sucuri/Cloudproxy"},
        "<html><head><title>Sucuri WebSite Firewall - Access Denied</title></head>"
        "<body><h1>Access Denied - Sucuri Website Firewall</h1></body></html>",
    ),
    "ddos-guard": (
        200,
        {"server": "ddos-guard"},
        "<html><head><title>DDoS-Guard</title>"
        "<script src='/.well-known/ddos-guard/check?context=free_splash'></script></head>"
        "<body></body></html>",
    ),
    "challenge-429": (
        429,
        {},
        "<html><head><title>One more step</title></head><body><p>Please complete the "
        "security check to access the site.</p><div class='g-recaptcha'></div></body></html>",
    ),
    "javascript-required": (
        200,
        {},
        "<html><head><title>Embassy of Example</title></head><body>"
        "<p>Please enable JavaScript to view this page.</p></body></html>",
    ),
}


def test_block_pages_are_low_quality_and_the_return_is_no_change(
    site: LocalSite, tmp_path: Path
) -> None:
    """Each signal: no version, no event, learned state untouched; the page's return is
    no change. Every target is a real article first (a version and a learned region)."""
    for name in BLOCKS:
        site.page(f"/news/{name}", article(tail="<!-- round 1 -->"))
    config = _config(
        tmp_path, [{"name": name, "url": site.url(f"/news/{name}")} for name in BLOCKS]
    )
    store = Store(config.database)
    first = run_check(config, store, config.targets)
    assert first.first_versions == len(BLOCKS)
    learned = {}
    for name in BLOCKS:
        page = store.page(name)
        assert page.content_region, name
        learned[name] = (page.content_region, page.last_body_sha256, page.compare_sha256)

    for name, (status, headers, body) in BLOCKS.items():
        site.routes[f"/news/{name}"] = Route(
            status=status, body=body.encode(), headers={"Content-Type": "text/html", **headers}
        )
    blocked = run_check(config, store, config.targets)
    assert _events(blocked) == {}
    for name in BLOCKS:
        assert _outcomes(blocked, name) == [("check", "low")], name
        page = store.page(name)
        assert (page.content_region, page.last_body_sha256, page.compare_sha256) == learned[name], (
            f"{name}: a low capture changed what was learned"
        )
        assert page.state == "active" and not page.removal_pending, name
        [capture] = store.captures(page.id, limit=1)
        assert capture.quality == "low" and (capture.note or "").startswith("blocked:"), (
            name,
            capture.note,
        )
    assert store.counts()["versions"] == len(BLOCKS)

    # The real page comes back, in fresh bytes (no raw-body fast path): no change.
    for name in BLOCKS:
        site.page(f"/news/{name}", article(tail="<!-- round 3 -->"))
    back = run_check(config, store, config.targets)
    assert _events(back) == {}
    for name in BLOCKS:
        assert _outcomes(back, name) == [("check", "unchanged")], name
    assert store.counts()["versions"] == len(BLOCKS)
    store.close()


# --- item 6: a redirect to another host ------------------------------------------------

PORTAL = page(
    "Access restricted",
    "<div class='notice'><h1>Access restricted</h1><p>Access to this resource has been "
    "restricted by decision of the authorities.</p></div>",
)


def test_redirect_to_another_hosts_root_is_not_a_removal(site: LocalSite, tmp_path: Path) -> None:
    # "localhost" is another host name for the same local server: another site.
    other = f"http://localhost:{site.server.server_port}"
    site.page("/portal-home/", PORTAL)
    site.page("/news/blocked", article())
    site.page("/news/moved", article())
    site.page("/news/home", article())
    config = _config(
        tmp_path,
        [
            {"name": "blocked", "url": site.url("/news/blocked")},
            {"name": "moved", "url": site.url("/news/moved")},
            {"name": "home", "url": site.url("/news/home")},
        ],
    )
    store = Store(config.database)
    run_check(config, store, config.targets)

    # To a block portal at the other host's root; to the same article on the other host;
    # to the other host's home page, which is content.
    site.routes["/"] = Route(body=PORTAL.encode())
    site.routes["/news/blocked"] = Route(status=302, headers={"Location": f"{other}/"})
    site.routes["/news/moved"] = Route(status=301, headers={"Location": f"{other}/news/visas"})
    site.page("/news/visas", article())
    site.routes["/news/home"] = Route(status=302, headers={"Location": f"{other}/en/"})
    site.page("/en/", HOME)
    for _ in range(2):
        summary = run_check(config, store, config.targets)
        events = _events(summary)
        assert not any("removed" in kinds for kinds in events.values()), events
        assert _outcomes(summary, "blocked") == [("check", "low")]
        assert _outcomes(summary, "moved") == [("check", "unchanged")]
    assert events == {}
    [capture] = store.captures(store.page("blocked").id, limit=1)
    assert capture.final_url == f"{other}/"
    assert capture.redirects == [{"url": site.url("/news/blocked"), "status": 302}]
    [moved] = store.captures(store.page("moved").id, limit=1)
    assert moved.final_url == f"{other}/news/visas"
    assert moved.note == f"served by another site after a redirect: {other}/news/visas"
    # The other host's home page is what the URL serves now: a change, not a removal.
    home_events = [event.kind for event in store.events(store.page("home").id)]
    assert home_events == ["changed"]
    store.close()


# --- item 7: a charset-only difference never alerts, wherever it starts ---------------

# The first non-ASCII character comes after 25,000 characters of plain ASCII.
FILLER = "".join(
    f"<p>Paragraph {n}: the embassy lists its consular services and opening hours here.</p>"
    for n in range(360)
)
LATE = (
    "<p>The Nation’s energy — a statement on café opening hours.</p>"
    "<p>Naïve résumé — «quoted» façade.</p>" * 4
)
CHARSET_PAGE = (
    "<!doctype html><html><head><title>Energy statement</title>{meta}</head><body>"
    "<main><article><h1>Energy statement</h1>" + FILLER + LATE + "</article></main></body></html>"
)


def _utf8(meta: str = '<meta charset="utf-8">') -> bytes:
    return CHARSET_PAGE.format(meta=meta).encode("utf-8")


def _double_encoded(codec: str) -> bytes:
    """UTF-8 read as ``codec`` upstream and served again as UTF-8: mojibake in the bytes."""
    text = CHARSET_PAGE.format(meta='<meta charset="utf-8">')
    garbled = text.encode("utf-8").decode(codec, errors="strict")
    return garbled.encode("utf-8")


CHARSET_VARIANTS: dict[str, tuple[bytes, str]] = {
    # name: (the broken body, its Content-Type)
    "mojibake-cp1252": (_double_encoded("cp1252"), "text/html; charset=utf-8"),
    "mojibake-latin1": (_double_encoded("latin-1"), "text/html; charset=utf-8"),
    "utf8-declared-cp1252": (_utf8('<meta charset="windows-1252">'), "text/html"),
    "utf8-header-latin1": (_utf8(""), "text/html; charset=iso-8859-1"),
    "cp1252-declared-utf8": (
        CHARSET_PAGE.format(meta="").encode("cp1252"),
        "text/html; charset=utf-8",
    ),
    "cp1252-undeclared-after-64k": (
        CHARSET_PAGE.replace(FILLER, FILLER * 3).format(meta="").encode("cp1252"),
        "text/html",
    ),
}


def test_late_mojibake_fixed_or_broken_is_no_change(site: LocalSite, tmp_path: Path) -> None:
    assert CHARSET_PAGE.index("’") > 25_000
    for name in CHARSET_VARIANTS:
        body = _utf8()
        if name == "cp1252-undeclared-after-64k":
            assert CHARSET_PAGE.replace(FILLER, FILLER * 3).index("’") > 65_536
            body = CHARSET_PAGE.replace(FILLER, FILLER * 3).format(meta="").encode("utf-8")
        site.page(f"/{name}", body)
    config = _config(tmp_path, [{"name": n, "url": site.url(f"/{n}")} for n in CHARSET_VARIANTS])
    store = Store(config.database)
    run_check(config, store, config.targets)
    correct = {name: site.routes[f"/{name}"] for name in CHARSET_VARIANTS}

    for name, (body, content_type) in CHARSET_VARIANTS.items():
        site.page(f"/{name}", body, content_type=content_type)  # broken
    broken = run_check(config, store, config.targets)
    site.routes.update(correct)  # fixed again
    fixed = run_check(config, store, config.targets)

    for summary in (broken, fixed):
        assert _events(summary) == {}
        for name in CHARSET_VARIANTS:
            assert _outcomes(summary, name) == [("check", "unchanged")], name
    for name in CHARSET_VARIANTS:
        [version] = store.versions(store.page(name).id)
        # (normalised: typographic quotes and dashes become ASCII)
        assert "Nation's energy - a statement on café" in version.text, name
        assert "Naïve résumé" in version.text, name
        assert "â" not in version.text and "Ã" not in version.text, name
    store.close()


# --- item 11: meta refresh -------------------------------------------------------------


def test_meta_refresh_is_recorded_or_followed_like_a_redirect(
    site: LocalSite, tmp_path: Path
) -> None:
    other = f"http://localhost:{site.server.server_port}"
    slow = f'<meta http-equiv="refresh" content="60; url={other}/elsewhere">'
    site.page("/", HOME)
    site.page("/news/delayed", article(head=slow))
    site.page(
        "/news/instant-away", article(head=f'<meta http-equiv="refresh" content="0;url={other}/x">')
    )
    site.page("/news/visas", article())
    site.page("/news/instant-moved", article())
    site.page("/news/instant-home", article())
    config = _config(
        tmp_path,
        [
            {"name": name, "url": site.url(f"/news/{name}")}
            for name in ("delayed", "instant-away", "instant-moved", "instant-home")
        ],
    )
    store = Store(config.database)
    first = run_check(config, store, config.targets)
    assert first.first_versions == 4 and first.errors == 0
    delayed = store.page("delayed")
    [capture] = store.captures(delayed.id, limit=1)
    assert capture.final_url == site.url("/news/delayed") and capture.redirects == []
    assert capture.note == f"meta refresh after 60 s to {other}/elsewhere (not followed)"
    [away] = store.captures(store.page("instant-away").id, limit=1)
    assert away.note == f"meta refresh after 0 s to {other}/x (not followed)"
    assert "/elsewhere" not in site.hits and "/x" not in site.hits

    # The page with the slow refresh is compared as content.
    edited = (*PARAGRAPHS[:2], "Processing now takes fifteen working days.")
    site.page("/news/delayed", article(paragraphs=edited, head=slow))
    # An immediate refresh on the same site: to another article, and to the home page.
    moved = '<meta http-equiv="refresh" content="0; url=/news/visas">'
    site.page("/news/instant-moved", f"<html><head>{moved}</head><body></body></html>")
    home = "<html><head><meta http-equiv='Refresh' content='0;URL=/'></head></html>"
    site.page("/news/instant-home", home)
    second = run_check(config, store, config.targets)
    assert _events(second) == {"delayed": ["changed"], "instant-home": ["removed"]}
    assert _outcomes(second, "instant-moved") == [("check", "unchanged")]
    [followed] = store.captures(store.page("instant-moved").id, limit=1)
    assert followed.requested_url == site.url("/news/instant-moved")
    assert followed.final_url == site.url("/news/visas")
    assert followed.redirects == [
        {"url": site.url("/news/instant-moved"), "status": "meta refresh"}
    ]
    [gone] = store.captures(store.page("instant-home").id, limit=1)
    assert gone.final_url == site.url("/") and gone.outcome == "removed"
    store.close()


@pytest.mark.slow
def test_embassy_site_with_selectors_reports_every_removal(tmp_path: Path) -> None:
    """The simulated embassy site, each article its own target with a selector (both of
    the site's article layouts): the events a perfect monitor reports, soft removals
    included. A page first published in round 1 is a first version there, not "added"."""
    from monitor import config as cfg
    from monitor.demo.site import EXPECTED, ROUNDS, DemoSite

    with DemoSite() as demo:
        demo.start()
        urls = {name: url for name, url in demo.urls().items() if name not in ("home", "news")}
        config = cfg.parse(
            {
                "database": f"sqlite:///{tmp_path / 'site.db'}",
                "fetch": {"delay": 0, "retries": 1, "timeout": 10, "obey_robots": False},
                "detect": {"confirm_removal_after": 0.2, "probe_delay": 0.2},
                "targets": [
                    {"name": name, "url": url, "selector": "css:article.news, article.news-article"}
                    for name, url in urls.items()
                ],
            },
            "test",
        )
        store = Store(config.database)
        wrong = []
        for number in range(ROUNDS):
            demo.set_round(number)
            detected = _events(run_check(config, store, config.targets))
            if number == 0:
                continue
            for name in urls:
                expected = EXPECTED[number][name]
                expected = "unchanged" if expected == "added" else expected
                got = "+".join(detected.get(name, [])) or "unchanged"
                if got != expected:
                    wrong.append(f"round {number}: {name}: expected {expected}, detected {got}")
        removals = sum(1 for r in EXPECTED.values() for event in r.values() if event == "removed")
        store.close()
    assert removals >= 3
    assert not wrong, "\n".join(wrong)
