"""Site-wide boilerplate learned per host, and images as content, through the real pipeline.

A local site with several articles that share a promo block inside their content region:
what many pages of a site repeat is chrome, masked when comparing; what one page says is
news. And an image taken out of a statement is a change, shown as an image set-diff.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.check import run_check
from monitor.cli import main
from monitor.detect import site_boilerplate as site_chrome
from monitor.detect.site_boilerplate import SiteChrome, SiteCounts, host_of, learn
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.sites import LocalSite, Route

ARTICLE = """<!doctype html><html><head><meta charset="utf-8"><title>{title} - Embassy</title>
</head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a></nav>
<main><article class="news">
<h1>{title}</h1>
<p>{first}</p>
<p>{second}</p>
<ul class="documents"><li>A valid passport</li>{item}</ul>
<div class="teaser-box"><h3>Upcoming events</h3><p>{promo}</p></div>
<p>Follow the Embassy on Telegram</p>
</article></main>
<footer><p>Embassy of Example</p></footer></body></html>"""

TOPICS = [
    ("Visa applications", "students", "Vienna"),
    ("Consular fees", "pensioners", "Graz"),
    ("Passport renewal", "children", "Linz"),
    ("Elections abroad", "voters", "Salzburg"),
    ("Notarial services", "companies", "Innsbruck"),
]


def _article(
    number: int, promo: str, edit: str = "", item: str = "<li>Two photographs</li>"
) -> str:
    title, who, city = TOPICS[number]
    return ARTICLE.format(
        item=item,
        title=title,
        first=f"The Embassy informs {who} that {title.lower()} are handled in {city} this year.",
        second=f"Appointments for {who} are booked online; the {city} office answers mail{edit}.",
        promo=promo,
    )


def _serve(site: LocalSite, promo: str, promos: dict[int, str] | None = None) -> None:
    for number in range(len(TOPICS)):
        site.page(f"/news/{number}", _article(number, (promos or {}).get(number, promo)))


def _config(site: LocalSite, database: str, config_path: Path | None = None) -> object:
    targets = [
        {"name": f"news-{number}", "url": site.url(f"/news/{number}")}
        for number in range(len(TOPICS))
    ]
    config = make_config(database, targets)
    if config_path is not None:
        config_path.write_text(
            json.dumps({"database": database, "targets": targets, "fetch": {"delay": 0}})
        )
    return config


def _events(summary: object) -> list[tuple[str, str]]:
    return sorted(
        (item.key.target, item.event)
        for item in summary.outcomes  # type: ignore[attr-defined]
        if item.event
    )


def test_a_promo_block_on_every_page_is_site_chrome(database_url: str, site: LocalSite) -> None:
    _serve(site, "Culture week in Graz, 12-18 May")
    config = _config(site, database_url)
    store = Store(database_url)
    host = host_of(site.url("/"))
    first = run_check(config, store, config.targets)  # type: ignore[attr-defined]
    assert first.first_versions == 5 and not first.events

    learned = {(row.kind, row.value, row.pages) for row in store.site_boilerplate(host)}
    assert ("line", "Culture week in Graz, 12-18 May", 5) in learned
    assert ("line", "Follow the Embassy on Telegram", 5) in learned
    assert any(kind == "block" and "div.teaser-box" in value for kind, value, _n in learned)
    # Text of one page only is never chrome, nor is a sentence of prose.
    assert not any("informs" in value or "Appointments" in value for _k, value, _n in learned)

    # The promo changes on every page at once: no page changed.
    _serve(site, "Film festival in Linz, 2-9 June")
    promo = run_check(config, store, config.targets)  # type: ignore[attr-defined]
    assert _events(promo) == [] and promo.unchanged == 5, promo.outcomes
    # ... and the new promo text is chrome from now on.
    values = {row.value for row in store.site_boilerplate(host)}
    assert "Film festival in Linz, 2-9 June" in values
    assert run_check(config, store, config.targets).events == {}  # type: ignore[attr-defined]

    # A unique paragraph edit is news.
    site.page("/news/2", _article(2, "Film festival in Linz, 2-9 June", edit=" and phone calls"))
    edited = run_check(config, store, config.targets)  # type: ignore[attr-defined]
    assert _events(edited) == [("news-2", "changed")]

    # New text in the promo block of one page only is news of that page.
    _serve(site, "Film festival in Linz, 2-9 June", {1: "The consulate in Graz closes on Friday"})
    site.page("/news/2", _article(2, "Film festival in Linz, 2-9 June", edit=" and phone calls"))
    one = run_check(config, store, config.targets)  # type: ignore[attr-defined]
    assert _events(one) == [("news-1", "changed")]
    assert "The consulate in Graz closes on Friday" not in {
        row.value for row in store.site_boilerplate(host)
    }

    # A list item on every page is a fact, not chrome: one page dropping it is news.
    assert "Two photographs" not in {row.value for row in store.site_boilerplate(host)}
    site.page("/news/4", _article(4, "Film festival in Linz, 2-9 June", item=""))
    dropped = run_check(config, store, config.targets)  # type: ignore[attr-defined]
    assert _events(dropped) == [("news-4", "changed")]
    store.close()


def test_an_article_new_after_learning_is_compared_under_the_site_chrome(
    site: LocalSite, tmp_path: Path
) -> None:
    """An article a listing shows after the site's chrome was learned has its first
    version hashed without that chrome, as its next captures are: the next check finds
    it unchanged (not "changed" with no word changed)."""
    promo = "Culture week in Graz, 12-18 May"
    _serve(site, promo)
    served = itertools.count()

    def article(number: int) -> Callable[[], Route]:
        text = _article(number, promo)

        def answer() -> Route:
            # Other bytes on every request (a render stamp), the same text.
            return Route(body=f"{text}<!-- render {next(served)} -->".encode())

        return answer

    def listing(numbers: list[int]) -> str:
        items = "".join(f'<li><a href="/later/{n}">{TOPICS[n][0]}</a></li>' for n in numbers)
        return f"<html><body><main><h1>News</h1><ul>{items}</ul></main></body></html>"

    for number in (0, 1):
        site.routes[f"/later/{number}"] = article(number)
    site.page("/later/", listing([0]))
    database = f"sqlite:///{tmp_path / 'm.db'}"
    targets = [
        {"name": f"news-{number}", "url": site.url(f"/news/{number}")}
        for number in range(len(TOPICS))
    ]
    follow = {"pattern": r"/later/\d+$"}
    config = make_config(
        database, [*targets, {"name": "later", "url": site.url("/later/"), "follow": follow}]
    )
    store = Store(database)
    run_check(config, store, config.targets)
    assert store.site_boilerplate(host_of(site.url("/")))
    site.page("/later/", listing([1, 0]))
    found = run_check(config, store, config.targets)
    new = site.url("/later/1")
    events = {(item.key.url, item.event) for item in found.outcomes if item.event}
    assert (new, "added") in events, found.outcomes
    again = run_check(config, store, config.targets)
    assert [(item.key.url, item.event) for item in again.outcomes if item.event] == []
    assert [item.outcome for item in again.outcomes if item.key.url == new] == ["unchanged"]
    store.close()


def test_site_boilerplate_in_monitor_volatility_and_reset(site: LocalSite, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'm.db'}"
    config_path = tmp_path / "config.yaml"
    _serve(site, "Culture week in Graz, 12-18 May")
    config = _config(site, database, config_path)
    store = Store(database)
    run_check(config, store, config.targets)  # type: ignore[attr-defined]
    host = host_of(site.url("/"))
    runner = CliRunner()

    listed = runner.invoke(main, ["volatility", "--site", host, "-c", str(config_path)])
    assert listed.exit_code == 0, listed.output
    assert f"{host}:" in listed.output
    assert "line  on    5 pages  Culture week in Graz, 12-18 May" in listed.output
    as_json = runner.invoke(main, ["volatility", "--site", "all", "--json", "-c", str(config_path)])
    documents = json.loads(as_json.output)
    assert [document["site"] for document in documents] == [host]

    reset = runner.invoke(main, ["volatility", "--site", host, "--reset", "-c", str(config_path)])
    assert reset.exit_code == 0 and "forgot" in reset.output, reset.output
    assert store.site_boilerplate(host) == []
    # Forgetting re-bases every page: nothing changed, nothing is reported.
    assert run_check(config, store, config.targets).events == {}  # type: ignore[attr-defined]
    # ... and the promo is news again until it is learned anew.
    site.page("/news/0", _article(0, "Film festival in Linz, 2-9 June"))
    assert run_check(config, store, config.targets).events == {"changed": 1}  # type: ignore[attr-defined]

    both = runner.invoke(main, ["volatility", "news-0", "--site", host, "-c", str(config_path)])
    assert both.exit_code == 2 and "either TARGET or --site" in both.output
    store.close()


def test_site_learning_can_be_switched_off(site: LocalSite, tmp_path: Path) -> None:
    _serve(site, "Culture week in Graz, 12-18 May")
    config = _config(site, f"sqlite:///{tmp_path / 'm.db'}")
    data = config.model_dump(by_alias=True, exclude_defaults=True)  # type: ignore[attr-defined]
    data["detect"]["site_boilerplate_pages"] = 0
    from monitor import config as cfg

    config = cfg.parse(data, "test")
    store = Store(config.database)
    run_check(config, store, config.targets)
    assert store.site_boilerplate() == []
    _serve(site, "Film festival in Linz, 2-9 June")
    assert run_check(config, store, config.targets).events == {"changed": 5}
    store.close()


# --- learning, as a pure function --------------------------------------------------------


def test_only_lines_on_enough_pages_are_learned() -> None:
    pages: dict[int, list[tuple[str, str]]] = {
        page: [
            ("Follow us", "main/article/p"),
            (f"Unique line {page}", "main/article/p"),
            ("Promo", "article/div.promo/p"),
            ("Contact us", "main/article/div/p"),
        ]
        for page in range(10)
    }
    pages[10] = pages[11] = [("Rare line", "main/article/p")]
    counts = SiteCounts.of(pages)
    learned = learn(counts, SiteChrome(), min_pages=3, min_share=0.3)
    assert learned.lines == {"Follow us", "Promo", "Contact us"}
    # A block is chrome only when every line seen in it is (/article/p holds unique
    # lines), and when it is a widget with a name (/article/div/p is plain flow).
    assert learned.blocks == {"article/div.promo/p"}
    # 2 pages of 12 is under both thresholds; so is anything when learning is off.
    assert "Rare line" not in learned.lines
    assert not learn(counts, SiteChrome(), min_pages=0, min_share=0.3)
    # What is known is not learned again.
    assert not learn(counts, learned, min_pages=3, min_share=0.3)


def test_prose_is_never_site_chrome() -> None:
    banner = (
        "Due to the security situation the Embassy is closed until further notice and "
        "citizens are advised to leave the country"
    )
    counts = SiteCounts.of({page: [(banner, "div.banner/p")] for page in range(20)})
    assert not learn(counts, SiteChrome(), min_pages=3, min_share=0.3)
    assert site_chrome.rows([banner, "Print"], ["/p", "/p"]) == [(1, "Print", "/p")]
    # Nor are list items and table cells: facts many pages repeat (documents, fees).
    assert site_chrome.rows(["Passport", "72 EUR"], ["article/ul/li", "table/tr/td"]) == []
    compared = site_chrome.compare(
        [banner, "Follow us"], ["/div.banner/p", "/p"], SiteChrome(frozenset({"Follow us"}))
    )
    assert compared.lines == [banner]


@pytest.mark.parametrize(
    "url,host",
    [
        ("https://www.mfa.gov/en/news/1", "mfa.gov"),
        ("http://127.0.0.1:8080/a", "127.0.0.1:8080"),
        ("https://user@Consulate.Example.ORG/x", "consulate.example.org"),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


# --- images ----------------------------------------------------------------------------

STATEMENT = """<!doctype html><html><head><meta charset="utf-8"><title>Evacuation notice</title>
</head><body><main><article>
<h1>Evacuation notice</h1>
<p>Citizens in the northern districts are advised to leave by the routes shown below.</p>
<figure><img src="/img/minister.jpg?itok={token}" alt="The minister signing the order">
<figcaption>The minister signing the order on 3 March.</figcaption></figure>
{map}
<p>Buses leave from the central station every two hours until further notice.</p>
</article></main></body></html>"""
MAP = '<p><img src="/img/routes-map.png" alt="Map of evacuation routes"></p>'


def test_an_image_removed_from_a_statement_alerts_once(site: LocalSite, tmp_path: Path) -> None:
    site.page("/notice", STATEMENT.format(token="a1", map=MAP))
    database = f"sqlite:///{tmp_path / 'm.db'}"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        json.dumps(
            {
                "database": database,
                "fetch": {"delay": 0, "obey_robots": False},
                "targets": [{"name": "notice", "url": site.url("/notice")}],
            }
        )
    )
    config = make_config(database, [{"name": "notice", "url": site.url("/notice")}])
    store = Store(database)
    run_check(config, store, config.targets)
    version = store.versions(store.page("notice").id)[0]
    assert version.images == [
        [site.url("/img/minister.jpg?itok=a1"), "The minister signing the order"],
        [site.url("/img/routes-map.png"), "Map of evacuation routes"],
    ]

    # A new cache-busting token on the same picture is not a change.
    site.page("/notice", STATEMENT.format(token="b2", map=MAP))
    assert run_check(config, store, config.targets).events == {}

    # The map is taken out; the text is the same.
    site.page("/notice", STATEMENT.format(token="b2", map=""))
    removed = run_check(config, store, config.targets)
    events = [item for item in removed.outcomes if item.event]
    assert [item.event for item in events] == ["changed"]
    assert events[0].significance is not None and events[0].significance >= 0.5
    assert "image" in (events[0].summary or "")
    change = store.events(store.page("notice").id)[-1]
    assert change.features["images_removed"] == [
        [site.url("/img/routes-map.png"), "Map of evacuation routes"]
    ]
    assert "1 image(s) removed" in change.features["reasons"]
    # Once: the next check finds nothing new.
    assert run_check(config, store, config.targets).events == {}

    runner = CliRunner()
    text = runner.invoke(main, ["diff", "notice", "-c", str(config_path)])
    assert text.exit_code == 0, text.output
    assert f"images:\n- [Map of evacuation routes] <{site.url('/img/routes-map.png')}>" in (
        text.output
    )
    payload = json.loads(
        runner.invoke(main, ["diff", "notice", "--format", "json", "-c", str(config_path)]).output
    )
    assert payload["images"]["removed"] == [
        [site.url("/img/routes-map.png"), "Map of evacuation routes"]
    ]
    html = runner.invoke(main, ["diff", "notice", "--format", "html", "-c", str(config_path)])
    assert 'class="images-diff"' in html.output and "Map of evacuation routes" in html.output
    store.close()
