"""Headers, cookies, a proxy and a User-Agent per target and in ``defaults``: what the
site and the proxy see, and what a capture records (never a secret)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor import config as cfg
from monitor.check import run_check
from monitor.cli import main
from monitor.storage.models import Capture
from monitor.storage.store import Store
from tests.proxies import HttpProxy, Socks5Proxy
from tests.sites import LocalSite

PAGE = """<!doctype html><html><head><title>{title}</title></head><body>
<article><h1>{title}</h1><p>The ministry states its position on the talks held today,
and recalls the agreements reached by both sides last year.</p></article></body></html>"""


def _config(database: str, targets: list[dict[str, Any]], **sections: Any) -> cfg.Config:
    return cfg.parse(
        {
            "database": database,
            "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
            "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
            "targets": targets,
            **sections,
        },
        "test",
    )


def _captures(store: Store, url: str) -> list[Capture]:
    with store.session() as session:
        return list(
            session.scalars(
                select(Capture).where(Capture.requested_url == url).order_by(Capture.id)
            )
        )


def _seen(site: LocalSite, path: str) -> list[dict[str, str]]:
    return [headers for hit, headers in zip(site.hits, site.headers, strict=True) if hit == path]


def test_headers_cookies_and_user_agent_arrive_and_secrets_are_not_recorded(
    site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_TEST_SESSION", "s3cret-session-value")
    site.page("/ru", PAGE.format(title="Заявление"))
    site.page("/plain", PAGE.format(title="Statement"))
    config = _config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [
            {
                "name": "ru",
                "url": site.url("/ru"),
                "headers": {"Accept-Language": "ru", "X-Desk": "osint"},
                "cookies": {"lang": "ru", "session": {"env": "MONITOR_TEST_SESSION"}},
                "user_agent": "Mozilla/5.0 (test) Chrome/126.0",
            },
            {"name": "plain", "url": site.url("/plain")},
        ],
        defaults={"headers": {"X-Desk": "newsroom", "X-Project": "monitor"}},
    )
    store = Store(config.database)
    summary = run_check(config, store, config.targets)
    assert summary.errors == 0
    ru, plain = _seen(site, "/ru"), _seen(site, "/plain")
    assert ru and plain
    for headers in ru:  # the check and the probe of the new page
        assert headers["Accept-Language"] == "ru"
        assert headers["X-Desk"] == "osint"  # the target's own wins over defaults
        assert headers["X-Project"] == "monitor"  # defaults merged in
        assert headers["Cookie"] == "lang=ru; session=s3cret-session-value"
        assert headers["User-Agent"] == "Mozilla/5.0 (test) Chrome/126.0"
    for headers in plain:
        assert headers["X-Desk"] == "newsroom"
        assert "Cookie" not in headers
        assert headers["User-Agent"].startswith("monitor/")
        assert headers["Accept-Language"] == "en"  # Scrapy's default, untouched
    recorded = _captures(store, site.url("/ru"))[0]
    assert recorded.request_headers is not None
    assert recorded.request_headers["cookie"] == "lang=ru; session=<env MONITOR_TEST_SESSION>"
    assert recorded.request_headers["accept-language"] == "ru"
    assert recorded.proxy is None
    database = (tmp_path / "m.db").read_bytes()
    assert b"s3cret-session-value" not in database
    store.close()


def test_cookies_are_not_sent_on_to_another_host(
    site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_TEST_SESSION", "s3cret")
    other = site.base.replace("127.0.0.1", "localhost")
    site.page("/jump", "", status=302, Location=f"{other}/landing")
    site.page("/landing", PAGE.format(title="Landing"))
    config = _config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [
            {
                "name": "jump",
                "url": site.url("/jump"),
                "headers": {"Accept-Language": "ru", "X-Token": {"env": "MONITOR_TEST_SESSION"}},
                "cookies": {"session": {"env": "MONITOR_TEST_SESSION"}},
            }
        ],
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    first = _seen(site, "/jump")[0]
    assert first["Cookie"] == "session=s3cret" and first["X-Token"] == "s3cret"
    landed = _seen(site, "/landing")[0]
    assert "Cookie" not in landed and "X-Token" not in landed
    assert landed["Accept-Language"] == "ru"  # not a secret: kept
    store.close()


def test_http_proxy_sees_the_targets_requests_and_captures_record_it(
    site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.page("/via", PAGE.format(title="Through the proxy"))
    site.page("/direct", PAGE.format(title="Direct"))
    with HttpProxy(auth=("desk", "pr0xy-pass")) as proxy:
        monkeypatch.setenv("MONITOR_TEST_PROXY", f"http://desk:pr0xy-pass@127.0.0.1:{proxy.port}")
        config = _config(
            f"sqlite:///{tmp_path / 'm.db'}",
            [
                {
                    "name": "via",
                    "url": site.url("/via"),
                    "proxy_env": "MONITOR_TEST_PROXY",
                    "headers": {"Accept-Language": "ru"},
                    "obey_robots": True,
                },
            ],
        )
        direct = _config(
            f"sqlite:///{tmp_path / 'm.db'}", [{"name": "direct", "url": site.url("/direct")}]
        )
        store = Store(config.database)
        summary = run_check(config, store, config.targets)
        run_check(direct, store, direct.targets)
    assert summary.errors == 0 and summary.first_versions == 1
    forwarded = [entry["target"] for entry in proxy.seen]
    # The target's pages and the site's robots.txt, never the other target's page.
    assert set(forwarded) == {site.url("/via"), site.url("/robots.txt")}
    assert site.hits.count("/robots.txt") == 1
    robots = _seen(site, "/robots.txt")[0]
    assert robots.get("Via") == "1.1 test-proxy" and robots["Accept-Language"] == "ru"
    assert all(entry["authorization"] for entry in proxy.seen)
    via = _seen(site, "/via")
    assert via and all(h.get("Via") == "1.1 test-proxy" for h in via)
    assert all("Proxy-Authorization" not in h and h["Accept-Language"] == "ru" for h in via)
    assert all("Via" not in h for h in _seen(site, "/direct"))
    captured = _captures(store, site.url("/via"))
    assert captured and {c.proxy for c in captured} == {f"http://127.0.0.1:{proxy.port}"}
    assert all("proxy-authorization" not in (c.request_headers or {}) for c in captured)
    assert {c.proxy for c in _captures(store, site.url("/direct"))} == {None}
    assert b"pr0xy-pass" not in (tmp_path / "m.db").read_bytes()
    store.close()

    # The capture says which proxy it went through: monitor show, as JSON and as text.
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"database: sqlite:///{tmp_path / 'm.db'}\ntargets:\n"
        f"  - name: via\n    url: {site.url('/via')}\n    proxy_env: MONITOR_TEST_PROXY\n"
    )
    shown = CliRunner().invoke(main, ["show", "via", "-c", str(config_file)])
    assert shown.exit_code == 0, shown.output
    assert f"proxy      http://127.0.0.1:{proxy.port}" in shown.output
    assert "pr0xy-pass" not in shown.output
    capture_id = captured[0].id
    as_json = CliRunner().invoke(
        main, ["show", "via", "--capture", str(capture_id), "--json", "-c", str(config_file)]
    )
    assert as_json.exit_code == 0, as_json.output
    assert f'"proxy": "http://127.0.0.1:{proxy.port}"' in as_json.output


def test_wrong_proxy_credentials_are_an_error_not_the_page(
    site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.page("/via", PAGE.format(title="Through the proxy"))
    with HttpProxy(auth=("desk", "right")) as proxy:
        monkeypatch.setenv("MONITOR_TEST_PROXY", f"http://desk:wrong@127.0.0.1:{proxy.port}")
        config = _config(
            f"sqlite:///{tmp_path / 'm.db'}",
            [{"name": "via", "url": site.url("/via"), "proxy_env": "MONITOR_TEST_PROXY"}],
        )
        store = Store(config.database)
        summary = run_check(config, store, config.targets)
    assert summary.errors == 1 and summary.first_versions == 0
    assert site.hits == []
    (capture,) = _captures(store, site.url("/via"))
    assert capture.status == 407 and capture.outcome == "error"
    store.close()


def test_socks5_proxy_with_credentials(
    site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.page("/socks", PAGE.format(title="Through SOCKS"))
    with Socks5Proxy(auth=("desk", "s0cks")) as socks:
        monkeypatch.setenv("MONITOR_TEST_SOCKS", f"socks5://desk:s0cks@127.0.0.1:{socks.port}")
        config = _config(
            f"sqlite:///{tmp_path / 'm.db'}",
            [
                {
                    "name": "socks",
                    "url": site.url("/socks"),
                    "proxy_env": "MONITOR_TEST_SOCKS",
                    "headers": {"Accept-Language": "uk"},
                }
            ],
        )
        store = Store(config.database)
        summary = run_check(config, store, config.targets)
    assert summary.errors == 0 and summary.first_versions == 1
    port = site.base.rsplit(":", 1)[1]
    assert socks.seen and all(
        entry == {"user": "desk", "command": 1, "target": f"127.0.0.1:{port}"}
        for entry in socks.seen
    )
    assert all(h["Accept-Language"] == "uk" for h in _seen(site, "/socks"))
    captured = _captures(store, site.url("/socks"))
    assert {c.proxy for c in captured} == {f"socks5://127.0.0.1:{socks.port}"}
    store.close()


def test_options_for_merges_defaults_and_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.fetch.options import options_for

    monkeypatch.setenv("MONITOR_TEST_PROXY", "http://u:p4ss@10.1.2.3:3128")
    monkeypatch.setenv("MONITOR_TEST_TOKEN", "t0ken")
    config = cfg.parse(
        {
            "defaults": {
                "proxy_env": "MONITOR_TEST_PROXY",
                "cookies": {"consent": "1"},
                "user_agent": "UA/1",
            },
            "targets": [
                {
                    "name": "a",
                    "url": "https://example.org/",
                    "headers": {"Authorization": {"env": "MONITOR_TEST_TOKEN"}},
                },
                {"name": "b", "url": "https://example.org/b", "user_agent": "UA/2"},
            ],
        }
    )
    a, b = (options_for(config, target) for target in config.targets)
    assert a.proxy == "http://u:p4ss@10.1.2.3:3128" and a.proxy_label == "http://10.1.2.3:3128"
    assert a.headers == (("authorization", "t0ken"),) and a.cookie_header == "consent=1"
    assert a.user_agent == "UA/1" and b.user_agent == "UA/2"
    assert "p4ss" not in repr(a) and "t0ken" not in str(a.redact({"authorization": "t0ken"}))
    assert a.redact({"proxy-authorization": "Basic x", "accept": "*/*"}) == {"accept": "*/*"}
    bare = cfg.parse({"targets": [{"name": "c", "url": "https://example.org/c"}]})
    assert not options_for(bare, bare.targets[0])  # no options: requests as before


def test_browser_batches_bound_pages_and_contexts() -> None:
    from monitor.fetch.browser import batches

    browser = cfg.Browser(restart_after=3, max_contexts=2)
    items = ["a1", "a2", "b1", "c1", "a3", "a4", "a5", "a6"]
    chosen = batches(items, lambda item: item[0], browser)
    assert chosen == [["a1", "a2", "b1"], ["c1", "a3", "a4"], ["a5", "a6"]]
    for batch in chosen:
        assert len(batch) <= 3 and len({item[0] for item in batch}) <= 2
    assert batches([], lambda item: item, browser) == []


def test_browser_context_names_hide_proxy_and_cookies() -> None:
    from monitor.fetch.browser import context_of
    from monitor.records import FetchOptions

    options = FetchOptions(
        cookies=(("session", "s3cret"),), proxy="http://desk:pw@127.0.0.1:3128", render=True
    )
    name, kwargs = context_of(options, "https://example.org/news")
    assert "s3cret" not in name and "pw" not in name and name.startswith("monitor-")
    assert kwargs["proxy"] == {
        "server": "http://127.0.0.1:3128",
        "username": "desk",
        "password": "pw",
    }
    assert kwargs["storage_state"]["cookies"] == [
        {"name": "session", "value": "s3cret", "domain": "example.org", "path": "/"}
    ]
    assert context_of(FetchOptions(render=True), "https://example.org/")[0] == "monitor"
    other, _ = context_of(options, "https://example.com/news")
    assert other != name  # cookies belong to their host
