"""`monitor run` as a real subprocess, with second-scale intervals, against a local site
that changes, delivering to a local webhook receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from monitor.storage.models import Capture, Change, Page
from monitor.storage.store import Store
from tests.receivers import WebhookReceiver
from tests.sites import LocalSite, Route

pytestmark = pytest.mark.slow


def _page(title: str, body: str) -> str:
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{body}</p></article></body></html>"
    )


def _write(path: Path, database: str, targets: list[dict[str, Any]], hook: str | None) -> None:
    config: dict[str, Any] = {
        "database": database,
        "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 3},
        "detect": {"probe_delay": 0.2, "confirm_removal_after": 0.2},
        "defaults": {"schedule": {"every": "1s"}},
        "daemon": {
            "tick": 0.2,
            "heartbeat": 1,
            "outbox_interval": 0.5,
            "spread_overdue": 0.5,
            "grace": 5,
        },
        "outbox": {"backoff": "1s", "claim_timeout": "2s"},
        "targets": targets,
    }
    if hook:
        config["channels"] = {"hook": {"type": "webhook", "url": hook}}
        config["defaults"]["notify"] = ["hook"]
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(config: Path) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _until(condition: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _events(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(Change.kind).order_by(Change.id)))


def _captures(store: Store, url: str) -> int:
    with store.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Capture)
                .join(Page, Page.id == Capture.page_id)
                .where(Page.url == url)
            )
            or 0
        )


def test_daemon_detects_edits_and_removals_and_stops_on_sigterm(
    site: LocalSite, tmp_path: Path, daemon: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    receiver = WebhookReceiver()
    try:
        site.page("/statement", _page("Statement", "The embassy is open."))
        database = f"sqlite:///{tmp_path / 'd.db'}"
        config = tmp_path / "config.yaml"
        _write(
            config, database, [{"name": "statement", "url": site.url("/statement")}], receiver.url
        )
        process = daemon(config)
        store = Store(database)
        _until(lambda: _captures(store, site.url("/statement")) >= 3, timeout=90)  # start-up
        site.page("/statement", _page("Statement", "The embassy is closed."))
        _until(lambda: "changed" in _events(store))
        site.routes.pop("/statement")
        _until(lambda: "removed" in _events(store))
        received = _until(
            lambda: (
                [json.loads(r.body)["event"] for r in receiver.requests]
                if len(receiver.requests) >= 2
                else None
            )
        )
        assert received == ["changed", "removed"]
        assert _events(store).count("removed") == 1
        status = subprocess.run(
            [sys.executable, "-m", "monitor", "status", "--db", database],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "daemon: running" in status.stdout
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert time.monotonic() - started < 10
        status = subprocess.run(
            [sys.executable, "-m", "monitor", "status", "--db", database],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "daemon: stopped" in status.stdout
    finally:
        receiver.stop()


def test_sighup_adds_a_target_and_pauses_a_removed_one(
    site: LocalSite, tmp_path: Path, daemon: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    site.page("/a", _page("A", "first"))
    site.page("/b", _page("B", "second"))
    database = f"sqlite:///{tmp_path / 'd.db'}"
    config = tmp_path / "config.yaml"
    _write(config, database, [{"name": "a", "url": site.url("/a")}], None)
    process = daemon(config)
    store = Store(database)
    _until(lambda: _captures(store, site.url("/a")) >= 2)
    assert _captures(store, site.url("/b")) == 0
    _write(config, database, [{"name": "b", "url": site.url("/b")}], None)
    process.send_signal(signal.SIGHUP)
    _until(lambda: _captures(store, site.url("/b")) >= 2)
    a_before = _captures(store, site.url("/a"))
    time.sleep(2)
    assert _captures(store, site.url("/a")) == a_before  # paused, history kept
    assert len(store.versions(store.page("a").id)) == 1


def test_second_daemon_on_the_same_database_is_refused(
    site: LocalSite, tmp_path: Path, daemon: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    site.page("/a", _page("A", "first"))
    database = f"sqlite:///{tmp_path / 'd.db'}"
    config = tmp_path / "config.yaml"
    _write(config, database, [{"name": "a", "url": site.url("/a")}], None)
    daemon(config)
    store = Store(database)
    _until(lambda: _captures(store, site.url("/a")) >= 1)
    second = daemon(config)
    output, _ = second.communicate(timeout=90)  # start-up on a loaded machine
    assert second.returncode == 1
    assert b"another `monitor run` is using this database" in output


def test_a_hanging_server_does_not_delay_the_others(
    site: LocalSite, tmp_path: Path, daemon: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    site.routes["/slow"] = Route(body=b"<p>late</p>", delay=10)
    site.page("/fast", _page("Fast", "quick"))
    database = f"sqlite:///{tmp_path / 'd.db'}"
    config = tmp_path / "config.yaml"
    _write(
        config,
        database,
        [{"name": "slow", "url": site.url("/slow")}, {"name": "fast", "url": site.url("/fast")}],
        None,
    )
    daemon(config)
    store = Store(database)
    _until(lambda: _captures(store, site.url("/fast")) >= 1)
    first = time.monotonic()
    _until(lambda: _captures(store, site.url("/fast")) >= 5, timeout=10)
    assert time.monotonic() - first < 8  # the fast page keeps its 1 s rhythm
    _until(lambda: _captures(store, site.url("/slow")) >= 1, timeout=15)  # the timeout fires
    with store.session() as session:
        error = session.scalar(
            select(Capture.error).join(Page).where(Page.url == site.url("/slow"))
        )
    assert error and "timed out" in error


def test_sigkill_then_restart_loses_and_duplicates_nothing(
    site: LocalSite, tmp_path: Path, daemon: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    receiver = WebhookReceiver()
    try:
        site.page("/a", _page("A", "first"))
        database = f"sqlite:///{tmp_path / 'd.db'}"
        config = tmp_path / "config.yaml"
        _write(config, database, [{"name": "a", "url": site.url("/a")}], receiver.url)
        process = daemon(config)
        store = Store(database)
        _until(lambda: _captures(store, site.url("/a")) >= 2)
        receiver.delay = 3  # the alert will be in flight when the daemon is killed
        site.page("/a", _page("A", "second"))
        _until(lambda: receiver.requests)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        receiver.delay = 0
        site.page("/a", _page("A", "third"))
        time.sleep(3.5)  # the dead holder's heartbeat goes stale (3 heartbeats)
        restarted = daemon(config)
        _until(lambda: _events(store).count("changed") >= 2, timeout=60)
        _until(lambda: len({json.loads(r.body)["id"] for r in receiver.requests}) >= 2, timeout=30)
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(15) == 0
    finally:
        receiver.stop()
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert len(set(ids)) == _events(store).count("changed") == 2
    assert all(ids.count(i) <= 2 for i in set(ids))  # the in-flight one at most once more
    with store.session() as session:  # nothing half-written: every version has its capture
        assert session.scalar(select(func.count()).select_from(Capture)) > 0
