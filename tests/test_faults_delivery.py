"""Delivery under faults (issue 17, items 2, 7, 8, 9, 17): a webhook that redirects, a
receiver that hangs or drips one byte a second, a slow channel beside the mail, SIGTERM
while a send hangs; backoff within its cap; `cite -o` into a missing folder.

Real parts throughout: local receivers (tests/receivers.py), aiosmtpd, the `monitor`
command as a subprocess where time or signals are what is tested. Time bounds are
generous for a loaded machine; the behaviour they replace took a minute or more.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from monitor import config as cfg
from monitor.check import run_check
from monitor.notify import outbox as outbox_module
from monitor.notify.outbox import Outbox, backoff_delay
from monitor.storage.models import Change, Delivery, DeliveryAttempt
from monitor.storage.store import Store
from monitor.timefmt import utcnow
from tests.receivers import (
    RedirectingReceiver,
    SlowReceiver,
    SmtpServer,
    WebhookReceiver,
)
from tests.sites import LocalSite, Route


def _page(body: str) -> str:
    return (
        "<html><head><title>Statement</title></head><body><article><h1>Statement</h1>"
        f"<p>{body}</p></article></body></html>"
    )


def _config_data(
    database: str, site: LocalSite, channels: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "database": database,
        "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
        "detect": {"probe_delay": 0.05, "confirm_removal_after": 0.05},
        "channels": channels,
        "defaults": {"notify": list(channels)},
        "outbox": {"backoff": "1s", "claim_timeout": "2m", "flush_timeout": "3s"},
        "targets": [{"name": "statement", "url": site.url("/statement")}],
    }
    data.update(extra)
    return data


def _one_change(site: LocalSite, config: cfg.Config) -> Store:
    site.page("/statement", _page("The embassy is open."))
    store = Store(config.database)
    run_check(config, store, config.targets)
    site.page("/statement", _page("The embassy is closed until further notice."))
    assert run_check(config, store, config.targets).events == {"changed": 1}
    return store


def _deliveries(store: Store) -> list[Delivery]:
    with store.session() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def _attempts(store: Store) -> list[DeliveryAttempt]:
    with store.session() as session:
        return list(session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))


def _monitor(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


# --- item 2: a redirecting webhook ------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirecting_webhook_is_a_failure_with_its_location(
    site: LocalSite, tmp_path: Path, status: int
) -> None:
    receiver = RedirectingReceiver(status=status)
    try:
        database = f"sqlite:///{tmp_path / 'r.db'}"
        config = cfg.parse(
            _config_data(database, site, {"hook": {"type": "webhook", "url": receiver.url}}),
            "test",
        )
        store = _one_change(site, config)
        report = Outbox(store, config).deliver(timeout=10)
    finally:
        receiver.stop()
    assert (report.sent, report.dead) == (0, 1)
    # The POST arrived once; no GET followed it (that GET's 200 was the old "sent").
    assert len(receiver.posts) == 1 and receiver.gets == []
    [delivery] = _deliveries(store)
    assert delivery.status == "dead"
    assert f"{receiver.base}/landed" in (delivery.last_error or "")
    status_out = _monitor("status", "--db", database).stdout
    line = next(line for line in status_out.splitlines() if "DEAD delivery" in line)
    assert f"HTTP {status} redirect to {receiver.base}/landed" in line


# --- item 17: backoff within its cap ---------------------------------------------------


def test_backoff_jitter_stays_within_max_backoff() -> None:
    for attempts in range(1, 40):
        for pick in (lambda low, high: low, lambda low, high: high):
            delay = backoff_delay(attempts, 3.0, 4.0, uniform=pick)
            assert 0 < delay <= 4.0
    # Still jittered below the cap: not every retry at the same second.
    assert backoff_delay(10, 3.0, 4.0, uniform=lambda low, high: low) == 2.0


def test_outbox_never_waits_longer_than_max_backoff(
    site: LocalSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module.random, "uniform", lambda low, high: high)
    receiver = WebhookReceiver(default=503)
    try:
        data = _config_data(
            f"sqlite:///{tmp_path / 'b.db'}",
            site,
            {"hook": {"type": "webhook", "url": receiver.url}},
        )
        data["outbox"] = {"backoff": "3s", "max_backoff": "4s", "max_attempts": 10}
        config = cfg.parse(data, "test")
        store = _one_change(site, config)
        shift = timedelta()
        for _ in range(5):
            now = utcnow() + shift
            assert Outbox(store, config, clock=lambda now=now: now).deliver(timeout=10).failed == 1
            [delivery] = _deliveries(store)
            wait = (delivery.next_attempt_at - now).total_seconds()
            assert 0 < wait <= 4.0, wait
            shift += timedelta(seconds=5)
    finally:
        receiver.stop()


# --- item 17: cite into a missing folder ------------------------------------------------


def test_cite_refuses_a_missing_parent_folder(site: LocalSite, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'c.db'}"
    config = cfg.parse(_config_data(database, site, {}), "test")
    _one_change(site, config)
    missing = tmp_path / "nonexistent" / "dir"
    for extra in ((), ("--zip",)):
        result = _monitor(
            "cite", "statement", "1", "2", "--db", database, "-o", str(missing / "b"), *extra
        )
        assert result.returncode != 0
        assert f"the folder {missing} does not exist" in result.stderr + result.stdout
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "nonexistent").exists()
    made = _monitor("cite", "statement", "1", "2", "--db", database, "-o", str(tmp_path / "b"))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "b" / "manifest.json").exists()


# --- item 7: every send has a total deadline --------------------------------------------


def _timed_lines(
    process: subprocess.Popen[str],
) -> tuple[list[tuple[float, str]], threading.Thread]:
    """Read the process's output as it comes, each line with when it came."""
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


@pytest.mark.slow
def test_check_exits_within_the_flush_timeout_with_hanging_and_dripping_receivers(
    site: LocalSite, tmp_path: Path
) -> None:
    hanging, dripping = SlowReceiver("hang"), SlowReceiver("drip", interval=1.0)
    smtp = SmtpServer().start()
    try:
        database = f"sqlite:///{tmp_path / 'f.db'}"
        channels = {
            # The hanging receiver's channel waits a minute; the dripping one's timeout
            # was per read: 1 byte a second never tripped it.
            "hang": {"type": "webhook", "url": hanging.url, "timeout": 60},
            "drip": {"type": "webhook", "url": dripping.url, "timeout": 5},
            "desk": {
                "type": "email",
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "none",
                "from": "monitor@example.org",
                "to": "desk@example.org",
            },
        }
        data = _config_data(database, site, channels)
        data["outbox"]["flush_timeout"] = "3s"
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data))
        site.page("/statement", _page("The embassy is open."))
        assert _monitor("check", "-c", str(path), "--no-notify").returncode == 0
        site.page("/statement", _page("The embassy is closed until further notice."))
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "check", "-c", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        lines, reader = _timed_lines(process)
        try:
            process.wait(45)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            ended = time.monotonic()
            reader.join(10)  # the reader takes the last lines
            assert process.stdout is not None
            process.stdout.close()
        summary_at = next(at for at, line in lines if line.startswith("checked "))
        flushing = ended - summary_at
        print(f"flush took {flushing:.2f}s after the summary (flush_timeout 3s)")
        assert process.returncode == 0, lines
        assert flushing < 3.0 + 1.0 + 1.0, flushing  # flush_timeout + 1 s, + 1 s of slack
        assert len(hanging.requests) == 1 and len(dripping.requests) == 1
        assert len(smtp.messages) == 1
    finally:
        hanging.stop()
        dripping.stop()
        smtp.stop()
    store = Store(database)
    status = {d.channel: d.status for d in _deliveries(store)}
    assert status == {"hang": "pending", "drip": "pending", "desk": "sent"}
    details = {a.delivery_id: a.detail for a in _attempts(store)}
    cut = [d for d in _deliveries(store) if d.channel in ("hang", "drip")]
    # Each cut send is a failed attempt with its reason, left in the outbox to retry.
    for delivery in cut:
        assert delivery.claimed_at is None
        assert "no complete answer within" in details[delivery.id]


def test_a_send_that_drips_is_cut_at_the_channel_timeout(site: LocalSite, tmp_path: Path) -> None:
    dripping = SlowReceiver("drip", interval=0.5)
    try:
        config = cfg.parse(
            _config_data(
                f"sqlite:///{tmp_path / 'd.db'}",
                site,
                {"drip": {"type": "webhook", "url": dripping.url, "timeout": 1.5}},
            ),
            "test",
        )
        store = _one_change(site, config)
        started = time.monotonic()
        report = Outbox(store, config).deliver(timeout=None)
        took = time.monotonic() - started
    finally:
        dripping.stop()
    assert report.failed == 1
    assert took < 1.5 + 2.0, took
    assert "no complete answer within 1.5s" in _attempts(store)[0].detail


def test_an_smtp_server_that_drips_is_cut_at_the_channel_timeout(
    site: LocalSite, tmp_path: Path
) -> None:
    dripping = SlowReceiver("drip", interval=0.5, smtp=True)
    port = int(dripping.url.split(":")[2].split("/")[0])
    try:
        mail = {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from": "monitor@example.org",
            "to": "desk@example.org",
            "timeout": 2,
        }
        config = cfg.parse(
            _config_data(f"sqlite:///{tmp_path / 's.db'}", site, {"desk": mail}), "test"
        )
        store = _one_change(site, config)
        started = time.monotonic()
        report = Outbox(store, config).deliver(timeout=None)
        took = time.monotonic() - started
    finally:
        dripping.stop()
    assert len(dripping.requests) == 1
    assert report.failed == 1
    assert took < 2 + 2.0, took
    assert "no complete answer within 2.0s" in _attempts(store)[0].detail


# --- items 8, 9, 17: the daemon: independent channels, SIGTERM ----------------------------


def _daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "-v", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )


def _until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _changes(store: Store) -> list[Change]:
    with store.session() as session:
        return list(session.scalars(select(Change).where(Change.kind == "changed")))


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.slow
def test_daemon_channels_are_independent_and_sigterm_releases_unsent_alerts(
    site: LocalSite, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    hanging = SlowReceiver("hang")
    smtp = SmtpServer().start()
    receiver = WebhookReceiver()
    try:
        database = f"sqlite:///{tmp_path / 'daemon.db'}"
        mail = {
            "type": "email",
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "from": "monitor@example.org",
            "to": "desk@example.org",
        }
        data = _config_data(
            database,
            site,
            {"hook": {"type": "webhook", "url": hanging.url, "timeout": 120}, "mail": mail},
        )
        data["defaults"]["schedule"] = {"every": "1s"}
        data["daemon"] = {
            "tick": 0.2,
            "heartbeat": 1,
            "outbox_interval": 0.3,
            "spread_overdue": 0.3,
            "grace": 2,
        }
        data["outbox"] = {"backoff": "1s", "claim_timeout": "10m", "flush_timeout": "2s"}
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(data))
        site.page("/statement", _page("The embassy is open."))
        process = _daemon(config, tmp_path / "first.log")
        processes.append(process)
        store = Store(database)

        # The first change: the webhook hangs on it (for two minutes, if let).
        _until(lambda: site.hits.count("/statement") >= 2)
        site.page("/statement", _page("The embassy is closed until further notice."))
        _until(lambda: len(smtp.messages) >= 1)
        _until(lambda: len(hanging.requests) >= 1)
        # The second change: its mail goes out while the webhook still hangs.
        site.page("/statement", _page("The embassy is closed; call the hotline."))
        _until(lambda: len(_changes(store)) >= 2)
        detected = time.monotonic()
        _until(lambda: len(smtp.messages) >= 2, timeout=60)
        mail_delay = time.monotonic() - detected
        print(f"second mail {mail_delay:.2f}s after its event was recorded")
        assert mail_delay < 6.0, mail_delay  # outbox_interval 0.3 s; the hook hangs 120 s
        assert len(hanging.requests) == 1  # still on the first one

        # SIGTERM while the webhook hangs: out within grace + flush (+ slack).
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(40)
        stop_took = time.monotonic() - stopping
        print(f"SIGTERM to exit: {stop_took:.2f}s (grace 2s + flush 2s)")
        log = (tmp_path / "first.log").read_text()
        assert code == 0, log[-3000:]
        assert stop_took < 2 + 2 + 5, stop_took
        assert log.rstrip().splitlines()[-1].endswith("stopped"), log[-2000:]
        assert "never retrieved" not in log
        hook = [d for d in _deliveries(store) if d.channel == "hook"]
        assert len(hook) == 2
        # Released, unsent, not counted as a failed try: due at the next start.
        assert all(d.status == "pending" and d.claimed_at is None for d in hook), [
            (d.status, d.claimed_at) for d in hook
        ]
        assert all(d.attempts == 0 for d in hook)

        # The next start sends them at once (the claim timeout is ten minutes), and a
        # SIGTERM while a fetch hangs stops cleanly too.
        data["channels"]["hook"] = {"type": "webhook", "url": receiver.url}
        data["targets"].append({"name": "slow", "url": site.url("/slow")})
        data["fetch"]["timeout"] = 60
        site.routes["/slow"] = Route(body=_page("Slow.").encode(), delay=60)
        config.write_text(yaml.safe_dump(data))
        again = _daemon(config, tmp_path / "second.log")
        processes.append(again)
        started = time.monotonic()
        _until(lambda: len(receiver.requests) >= 2, timeout=30)
        print(f"released alerts sent {time.monotonic() - started:.2f}s after the restart")
        _until(lambda: "/slow" in site.hits)
        time.sleep(0.5)
        stopping = time.monotonic()
        again.send_signal(signal.SIGTERM)
        code = again.wait(40)
        stop_took = time.monotonic() - stopping
        print(f"SIGTERM with a hanging fetch to exit: {stop_took:.2f}s")
        log = (tmp_path / "second.log").read_text()
        assert code == 0, log[-3000:]
        assert stop_took < 2 + 2 + 5, stop_took
        assert "never retrieved" not in log, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        assert re.search(r"stopped\s*$", log), log[-2000:]
    finally:
        hanging.stop()
        smtp.stop()
        receiver.stop()
        site.routes.pop("/slow", None)


# --- item 10: WARC records written later, marked so ----------------------------------------


def test_verify_lists_versions_without_warc_and_repair_writes_them(
    site: LocalSite, tmp_path: Path
) -> None:
    from warcio.archiveiterator import ArchiveIterator

    from monitor.evidence.warc import warc_date
    from monitor.storage.models import Capture, Version

    database = f"sqlite:///{tmp_path / 'w.db'}"
    warc = tmp_path / "warc"
    data = _config_data(database, site, {}, archive={"warc_dir": str(warc)})
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data))
    site.page("/statement", _page("The embassy is open."))
    assert _monitor("check", "-c", str(config)).returncode == 0
    assert _monitor("verify", "-c", str(config)).returncode == 0

    # The WARC folder cannot be written during the next check (read-only; as root,
    # where modes do not stop writes, a file stands in its place).
    away = tmp_path / "warc.away"
    if os.geteuid() != 0:
        warc.chmod(0o555)
    else:
        warc.rename(away)
        warc.write_text("not a folder")
    try:
        site.page("/statement", _page("The embassy is closed until further notice."))
        checked = _monitor("check", "-c", str(config))
        assert "1 new versions" in checked.stdout, checked.stdout + checked.stderr
    finally:
        if os.geteuid() != 0:
            warc.chmod(0o755)
        else:
            warc.unlink()
            away.rename(warc)

    store = Store(database)
    with store.session() as session:
        capture = session.scalars(
            select(Capture).join(Version, Version.capture_id == Capture.id).where(Version.seq == 2)
        ).one()
    assert capture.warc_record is None
    listed = _monitor("verify", "-c", str(config))
    assert listed.returncode == 1
    expected = (
        f"version 2 of {site.url('/statement')} (capture {capture.id} at "
        f"{warc_date(capture.started_at)}): no WARC record"
    )
    assert expected in listed.stdout, listed.stdout

    before = utcnow()
    repaired = _monitor("verify", "-c", str(config), "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"written: version 2 of {site.url('/statement')}" in repaired.stdout
    assert repaired.stdout.rstrip().endswith("no problems")
    assert _monitor("verify", "-c", str(config), "--repair").stdout.count("written:") == 0

    with store.session() as session:
        location = session.get(Capture, capture.id).warc_record  # type: ignore[union-attr]
    assert location is not None
    filename, _, offset = location.rpartition("#")
    with open(warc / filename, "rb") as stream:
        records = list(
            (record.rec_type, record.rec_headers, record.content_stream().read())
            for record in ArchiveIterator(stream)
        )
    info = records[0]
    assert info[0] == "warcinfo" and b"after the fact" in info[2]
    response = next(headers for kind, headers, _ in records if kind == "response")
    # The capture's own time stays the WARC-Date; when it was written is said beside it.
    assert response.get_header("WARC-Date") == warc_date(capture.started_at)
    written = response.get_header("Monitor-Written-Date")
    assert written is not None and written >= warc_date(before)[:19]
    metadata = next(body for kind, _, body in records if kind == "metadata")
    assert b"written-later: " in metadata
    assert int(offset) > 0
