"""End to end: real local HTTP server, real Scrapy spiders, real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from monitor.check import run_check
from monitor.storage.models import Capture
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.sites import LocalSite, Route

STATEMENT = """<!doctype html><html><head><title>{title}</title></head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a></nav>
<article><h1>{title}</h1><p class="date">15 december / 2022</p>
<p>{body}</p></article></body></html>"""


def _statement(title: str, body: str) -> str:
    return STATEMENT.format(title=title, body=body)


def test_rounds_first_unchanged_edited_404(site: LocalSite, database_url: str) -> None:
    site.page("/statement", _statement("On security guarantees", "We remind you of some facts."))
    site.page("/notice", _statement("Consular notice", "The consular section is open."))
    config = make_config(
        database_url,
        [
            {"name": "statement", "url": site.url("/statement")},
            {"name": "notice", "url": site.url("/notice")},
            {"name": "gone", "url": site.url("/gone")},
        ],
    )
    store = Store(config.database)

    first = run_check(config, store, config.targets)
    assert (first.checked, first.first_versions, first.errors) == (3, 2, 1)

    second = run_check(config, store, config.targets)
    assert (second.unchanged, second.new_versions, second.errors) == (2, 0, 1)
    assert store.counts()["versions"] == 2

    site.page("/statement", _statement("On security guarantees", "We remind you of other facts."))
    third = run_check(config, store, config.targets)
    assert (third.unchanged, third.new_versions) == (1, 1)
    versions = store.versions(store.page("statement").id)
    assert [v.seq for v in versions] == [1, 2]
    assert "other facts" in versions[-1].text

    with store.session() as session:
        gone = session.scalars(
            select(Capture).where(Capture.requested_url == site.url("/gone"))
        ).all()
    assert len(gone) == 3 and all(c.status == 404 and c.outcome == "error" for c in gone)
    counts = store.counts()
    # 3 checks of 3 pages, plus the probe of each new page that answered (2).
    assert counts["captures"] == 11
    store.close()


def test_windows_1251_pages_decode(site: LocalSite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    russian = "Заявление МИД России о гарантиях безопасности"
    html = _statement(russian, "Посольство напоминает о фактах.")
    # Declared in the header only; declared in <meta> only; declared nowhere.
    site.page("/header", html.encode("cp1251"), content_type="text/html; charset=windows-1251")
    meta = html.replace("<head>", '<head><meta charset="windows-1251">')
    site.page("/meta", meta.encode("cp1251"), content_type="text/html")
    site.page("/none", html.encode("cp1251"), content_type="text/html")
    # Mislabelled: windows-1251 bytes served as UTF-8.
    site.page("/wrong", html.encode("cp1251"), content_type="text/html; charset=utf-8")
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [
            {"name": name, "url": site.url(f"/{name}")}
            for name in ("header", "meta", "none", "wrong")
        ]
        + [{"name": "forced", "url": site.url("/none"), "encoding": "windows-1251"}],
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    for name in ("header", "meta", "none", "wrong", "forced"):
        version = store.versions(store.page(name).id)[0]
        assert version.title == russian, name
        assert "Посольство напоминает" in version.text, name


def test_redirect_chain_and_headers_recorded(site: LocalSite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site.routes["/old"] = Route(status=301, headers={"Location": "/new"})
    site.page(
        "/new",
        _statement("Moved", "Here now."),
        **{"Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT"},
    )
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "moved", "url": site.url("/old")}]
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    capture = store.captures(store.page("moved").id)[0]
    assert capture.requested_url == site.url("/old")
    assert capture.final_url == site.url("/new")
    assert capture.redirects == [{"url": site.url("/old"), "status": 301}]
    assert capture.headers["last-modified"] == "Wed, 21 Oct 2026 07:28:00 GMT"


@pytest.mark.slow
def test_bad_input_is_an_error_not_a_crash(site: LocalSite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site.page("/ok", _statement("Fine", "Still here."))
    site.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    site.routes["/slow"] = Route(body=b"<p>late</p>", delay=3)
    site.routes["/huge"] = Route(body=b"<p>" + b"x" * 300_000 + b"</p>")
    site.page("/binary", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, content_type="image/png")
    site.page("/broken", b"<html><body><p>Unclosed <b>tags <div><p>still text")
    site.page("/empty", b"")
    site.routes["/truncated"] = Route(body=b"<html><p>half", length=5000)
    site.routes["/error"] = Route(status=503, body=b"busy")
    names = ["ok", "loop", "slow", "huge", "binary", "broken", "empty", "truncated", "error"]
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [{"name": n, "url": site.url(f"/{n}")} for n in names],
        timeout=1,
        max_body_size="100KB",
        retries=0,
    )
    store = Store(config.database)
    summary = run_check(config, store, config.targets)
    assert summary.checked == len(names)
    by_url = {item.key.url: item for item in summary.outcomes if item.purpose == "check"}
    assert by_url[site.url("/ok")].outcome == "new"
    assert by_url[site.url("/broken")].outcome == "new"
    expectations = {
        "loop": "redirect",
        "slow": "timed out",
        "huge": "max_body_size",
        "binary": "not text",
        "empty": "empty",
        "truncated": "",
        "error": "HTTP 503",
    }
    for name, words in expectations.items():
        item = by_url[site.url(f"/{name}")]
        assert item.outcome in ("error", "low"), (name, item)
        assert item.version_id is None
        assert words.lower() in (item.error or "").lower(), (name, item.error)
    assert store.counts()["versions"] == 2


def test_error_then_recovered_once(site: LocalSite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site.page("/notice", _statement("Consular notice", "Open on Monday."))
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [{"name": "notice", "url": site.url("/notice")}],
        retries=0,
    )
    config = config.model_copy(
        update={"detect": config.detect.model_copy(update={"error_after": 0.0})}
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    site.routes["/notice"] = Route(status=503, body=b"<h1>Service Unavailable</h1>")
    assert run_check(config, store, config.targets).events == {"error": 1}
    assert run_check(config, store, config.targets).events == {}  # one alert, not one per check
    site.page("/notice", _statement("Consular notice", "Open on Monday."))
    assert run_check(config, store, config.targets).events == {"recovered": 1}


def test_transient_failures_are_never_changes_or_removals(site: LocalSite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site.page("/notice", _statement("Consular notice", "Open on Monday."))
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [{"name": "notice", "url": site.url("/notice")}],
        retries=0,
        timeout=1,
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    for route in (
        Route(status=503),
        Route(status=500),
        Route(body=b"x", delay=2),
        Route(status=429),
        Route(status=200, body=b""),
    ):
        site.routes["/notice"] = route
        assert run_check(config, store, config.targets).events == {}
    site.page("/notice", _statement("Consular notice", "Open on Monday."))
    summary = run_check(config, store, config.targets)
    assert summary.events == {} and summary.unchanged == 1


@pytest.mark.parametrize("private_first", [True, False])
def test_robots_txt_is_obeyed_by_default(tmp_path, private_first: bool) -> None:  # type: ignore[no-untyped-def]
    """Every page of the crawl is judged by robots.txt, not only the first one that waited
    for it (Scrapy's own middleware let the others through: monitor.fetch.robots)."""
    from monitor.demo.site import DemoSite

    with DemoSite() as demo:
        demo.start()
        private = [
            {"name": f"private-{n}", "url": demo.base_url + f"/private/report-{n}.html"}
            for n in range(3)
        ]
        allowed = [{"name": "allowed", "url": demo.urls()["trade-round-table"]}]
        config = make_config(
            f"sqlite:///{tmp_path / 'm.db'}",
            private + allowed if private_first else allowed + private,
            obey_robots=True,
        )
        store = Store(config.database)
        summary = run_check(config, store, config.targets)
        by_url = {item.key.url: item for item in summary.outcomes if item.purpose == "check"}
        for n in range(3):
            refused = by_url[demo.base_url + f"/private/report-{n}.html"]
            assert refused.outcome == "error" and "robots.txt" in (refused.error or "")
        assert by_url[demo.urls()["trade-round-table"]].outcome == "new"
        assert all(not path.startswith("/private/") for _method, path in demo.request_log)
        assert ("GET", "/robots.txt") in demo.request_log


def test_min_significance_keeps_quiet_events_out_of_alerts(site: LocalSite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site.page("/notice", _statement("Consular notice", "Reception from 9.00 to 12.00."))
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [{"name": "notice", "url": site.url("/notice"), "min_significance": 0.5}],
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    # A figures-only edit scores low: recorded as a change, but not alerted.
    site.page("/notice", _statement("Consular notice", "Reception from 9.30 to 12.30."))
    quiet = run_check(config, store, config.targets)
    assert quiet.events == {} and quiet.quiet_events == 1
    assert [e.kind for e in store.events(store.page("notice").id)] == ["changed"]
    # Removing the page scores high: alerted.
    site.routes["/notice"] = Route(status=404, body=b"gone")
    assert run_check(config, store, config.targets).events == {"removed": 1}


def test_warc_written_for_new_versions_and_events(site: LocalSite, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner
    from warcio.archiveiterator import ArchiveIterator

    from monitor.cli import main

    site.page("/notice", _statement("Consular notice", "Open on Monday."))
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "notice", "url": site.url("/notice")}]
    )
    config = config.model_copy(
        update={"archive": config.archive.model_copy(update={"warc_dir": str(tmp_path / "warc")})}
    )
    store = Store(config.database)
    run_check(config, store, config.targets)  # v1 (and its probe: not archived)
    run_check(config, store, config.targets)  # unchanged: not archived by default
    site.page("/notice", _statement("Consular notice", "Closed on Monday."))
    run_check(config, store, config.targets)  # v2
    with store.session() as session:
        archived = session.scalars(select(Capture).where(Capture.warc_record.is_not(None))).all()
    assert [c.outcome for c in archived] == ["new", "new"]
    uris = []
    for path in sorted((tmp_path / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            uris += [
                r.rec_headers.get_header("WARC-Target-URI")
                for r in ArchiveIterator(stream)
                if r.rec_type == "response"
            ]
    assert uris == [site.url("/notice")] * 2
    result = CliRunner().invoke(
        main, ["verify", "--db", config.database, "--warc-dir", str(tmp_path / "warc")]
    )
    assert result.exit_code == 0, result.output and "no problems" in result.output
