"""Pages whose text a script writes: a plain fetch says so; ``render: browser`` (Debian's
Chromium through scrapy-playwright) captures the text; a crashed browser gives errors,
never removals, and the next check recovers."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor import config as cfg
from monitor.check import run_check
from monitor.cli import main
from monitor.storage.models import Capture
from monitor.storage.store import Store
from monitor.web.app import running
from tests.proxies import HttpProxy
from tests.sites import LocalSite

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="Debian's chromium is needed"),
]

# The statement is written into the page by its script, 300 ms after it loads.
SCRIPTED = """<!doctype html><html><head><title>Statements</title></head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a></nav>
<main><article class="statement"></article></main>
<script>
setTimeout(function () {
  document.querySelector("article.statement").innerHTML =
    "<h1>On the talks in Geneva</h1><p>%s</p>";
}, 300);
</script></body></html>"""
AGREEMENTS = "and calls on all sides to respect the agreements."
FIRST = f"The ministry welcomes the resumption of the talks {AGREEMENTS}"
EDITED = f"The ministry regrets the suspension of the talks {AGREEMENTS}"


def _config(database: str, targets: list[dict[str, Any]], **sections: Any) -> cfg.Config:
    return cfg.parse(
        {
            "database": database,
            "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 10},
            "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
            "browser": {"navigation_timeout": "10s", **sections.pop("browser", {})},
            "targets": targets,
            **sections,
        },
        "test",
    )


def _rendered(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "render": "browser",
        "wait_for": "css:article.statement p",
        "wait_timeout": "8s",
        **extra,
    }


def _captures(store: Store, url: str) -> list[Capture]:
    with store.session() as session:
        return list(
            session.scalars(
                select(Capture).where(Capture.requested_url == url).order_by(Capture.id)
            )
        )


def _browsers() -> list[psutil.Process]:
    """Chromium's main processes started by this process (not its renderers)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name() and not any(
                arg.startswith("--type=") for arg in child.cmdline()
            ):
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_plain_fetch_says_the_text_is_written_by_a_script(site: LocalSite, tmp_path: Path) -> None:
    site.page("/statement", SCRIPTED % FIRST)
    config = _config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "plain", "url": site.url("/statement")}]
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    captured = _captures(store, site.url("/statement"))
    assert captured and all("render: browser" in (c.note or "") for c in captured)
    assert all(c.renderer is None for c in captured)
    store.close()

    # monitor add --dry-run shows the same suggestion, and adds the target rendered.
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"database: sqlite:///{tmp_path / 'm.db'}\ntargets: []\n")
    shown = CliRunner().invoke(
        main, ["add", site.url("/statement"), "--dry-run", "-c", str(config_file)]
    )
    assert shown.exit_code == 0, shown.output
    assert "note: the page's text seems to be written by JavaScript" in shown.output
    assert "render: browser" in shown.output
    added = CliRunner().invoke(
        main,
        [
            "add",
            site.url("/statement"),
            "--name",
            "rendered",
            "--render",
            "browser",
            "--wait-for",
            "css:article.statement p",
            "-c",
            str(config_file),
        ],
    )
    assert added.exit_code == 0, added.output
    assert FIRST in added.output and "note:" not in added.output
    target = cfg.load(config_file).targets[0]
    assert (target.render, target.wait_for) == ("browser", "css:article.statement p")


def test_rendered_page_is_captured_and_a_script_edit_alerts_once(
    site: LocalSite, tmp_path: Path
) -> None:
    site.page("/statement", SCRIPTED % FIRST)
    config = _config(
        f"sqlite:///{tmp_path / 'm.db'}", [_rendered("rendered", site.url("/statement"))]
    )
    store = Store(config.database)
    first = run_check(config, store, config.targets)
    assert (first.first_versions, first.errors) == (1, 0)
    page = store.page("rendered")
    (version,) = store.versions(page.id)
    assert FIRST in version.text
    capture = _captures(store, site.url("/statement"))[0]
    assert capture.renderer == "browser" and capture.note is None
    # The rendered DOM is the body; the document as served is kept beside it.
    served = (SCRIPTED % FIRST).encode()
    assert capture.raw_body_sha256 == hashlib.sha256(served).hexdigest()
    assert capture.body_stored and capture.body_sha256 != capture.raw_body_sha256
    assert store.body(capture.raw_body_sha256) == served
    rendered = store.body(capture.body_sha256 or "")
    assert f"<p>{FIRST}</p>".encode() in rendered

    again = run_check(config, store, config.targets)
    assert (again.unchanged, again.new_versions, again.events) == (1, 0, {})

    site.page("/statement", SCRIPTED % EDITED)
    edited = run_check(config, store, config.targets)
    assert edited.new_versions == 1 and edited.events == {"changed": 1}
    quiet = run_check(config, store, config.targets)
    assert quiet.events == {} and quiet.unchanged == 1
    assert [event.kind for event in store.events(page.id)] == ["changed"]
    assert "regrets the suspension" in store.versions(page.id)[-1].text
    assert _browsers() == []  # every browser closed with its crawl
    store.close()


def test_wait_that_never_comes_true_is_an_error_not_a_removal(
    site: LocalSite, tmp_path: Path
) -> None:
    site.page("/statement", SCRIPTED % FIRST)
    config = _config(
        f"sqlite:///{tmp_path / 'm.db'}", [_rendered("rendered", site.url("/statement"))]
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    site.page("/statement", (SCRIPTED % FIRST).replace("setTimeout", "void"))
    late = _config(
        config.database, [_rendered("rendered", site.url("/statement"), wait_timeout="1s")]
    )
    failed = run_check(late, store, late.targets)
    assert failed.errors == 1 and failed.events == {}
    capture = _captures(store, site.url("/statement"))[-1]
    assert capture.outcome == "error" and "the browser" in (capture.error or "")
    assert capture.renderer == "browser"
    store.close()


def test_browser_crash_gives_errors_then_recovery_and_no_removal(
    site: LocalSite, tmp_path: Path
) -> None:
    paths = [f"/statement-{n}" for n in range(3)]
    for path in paths:
        site.page(path, SCRIPTED % f"{FIRST} ({path})")
    config = _config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [_rendered(path.strip("/"), site.url(path)) for path in paths],
        browser={"concurrency": 1},
    )
    store = Store(config.database)
    first = run_check(config, store, config.targets)
    assert (first.first_versions, first.errors) == (3, 0)

    # Once the check has reached the site, kill every browser it launches until it ends
    # (one kill alone is survived: scrapy-playwright relaunches and retries the page).
    checking = threading.Event()
    killed: list[int] = []
    site.hits.clear()

    def killer() -> None:
        while not site.hits and checking.is_set():
            time.sleep(0.02)
        while checking.is_set():
            for browser in _browsers():
                try:
                    os.kill(browser.pid, signal.SIGKILL)
                    killed.append(browser.pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    checking.set()
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        crashed = run_check(config, store, config.targets)
    finally:
        checking.clear()
        thread.join(5)
    assert killed
    assert crashed.errors == 3 and crashed.events == {}
    for path in paths:
        capture = _captures(store, site.url(path))[-1]
        assert capture.outcome == "error" and capture.quality == "error"
        assert "browser" in (capture.error or "").lower()

    recovered = run_check(config, store, config.targets)
    assert (recovered.unchanged, recovered.errors, recovered.events) == (3, 0, {})
    for path in paths:
        page = store.page(path.strip("/"))
        assert page.state != "removed"
        assert [event.kind for event in store.events(page.id)] == []
    store.close()


def test_rendered_page_through_a_proxy_with_cookies(
    site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.page("/statement", SCRIPTED % FIRST)
    with HttpProxy(auth=("desk", "pw")) as proxy:
        monkeypatch.setenv("MONITOR_TEST_PROXY", f"http://desk:pw@127.0.0.1:{proxy.port}")
        monkeypatch.setenv("MONITOR_TEST_SESSION", "s3cret")
        config = _config(
            f"sqlite:///{tmp_path / 'm.db'}",
            [
                _rendered(
                    "rendered",
                    site.url("/statement"),
                    proxy_env="MONITOR_TEST_PROXY",
                    headers={"Accept-Language": "ru"},
                    cookies={"lang": "ru", "session": {"env": "MONITOR_TEST_SESSION"}},
                    user_agent="Mozilla/5.0 (monitor test)",
                )
            ],
        )
        store = Store(config.database)
        summary = run_check(config, store, config.targets)
    assert (summary.first_versions, summary.errors) == (1, 0)
    assert any(entry["target"] == site.url("/statement") for entry in proxy.seen)
    documents = [h for hit, h in zip(site.hits, site.headers, strict=True) if hit == "/statement"]
    assert documents
    for headers in documents:
        assert headers.get("Via") == "1.1 test-proxy"
        assert headers["Accept-Language"] == "ru"
        assert headers["User-Agent"] == "Mozilla/5.0 (monitor test)"
        assert "lang=ru" in headers.get("Cookie", "") and "session=s3cret" in headers["Cookie"]
    capture = _captures(store, site.url("/statement"))[0]
    assert capture.proxy == f"http://127.0.0.1:{proxy.port}"
    assert b"s3cret" not in (tmp_path / "m.db").read_bytes()
    # The capture page says how it was fetched: the proxy, and that a browser rendered it.
    with running(store) as base:
        url = f"{base}/pages/{capture.page_id}/captures/{capture.id}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            page = answer.read().decode()
    assert f"<code>http://127.0.0.1:{proxy.port}</code>" in page
    assert "by a browser: the body is the rendered page" in page
    assert capture.raw_body_sha256 in page and "s3cret" not in page
    store.close()
