"""Alerts through real parts: a local SMTP server (aiosmtpd), a local webhook receiver,
events produced by real checks of a local site, and faults injected for real."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from referencing import Registry, Resource
from sqlalchemy import select

from monitor import config as cfg
from monitor.check import run_check
from monitor.cli import main
from monitor.exceptions import ConfigError
from monitor.notify import contract
from monitor.notify import payload as payload_module
from monitor.notify.outbox import Outbox
from monitor.notify.webhook import verify
from monitor.storage.models import Delivery, DeliveryAttempt
from monitor.storage.store import Store
from monitor.timefmt import utcnow
from tests.receivers import SmtpServer, WebhookReceiver, free_port
from tests.sites import LocalSite

ROOT = Path(__file__).resolve().parents[1]
EVENT_SCHEMA = json.loads((ROOT / "schemas" / "webhook-event.v1.json").read_text())
DIGEST_SCHEMA = json.loads((ROOT / "schemas" / "webhook-digest.v1.json").read_text())
REGISTRY = Registry().with_resources(
    [
        ("webhook-event.v1.json", Resource.from_contents(EVENT_SCHEMA)),
        (EVENT_SCHEMA["$id"], Resource.from_contents(EVENT_SCHEMA)),
    ]
)


def _validate(payload: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(
        schema, registry=REGISTRY, format_checker=jsonschema.FormatChecker()
    ).validate(payload)
    # The models the schema is generated from accept it too (and nothing more).
    model = contract.Event if schema is EVENT_SCHEMA else contract.Digest
    model.model_validate(payload)


def test_published_webhook_schemas_are_generated_from_the_models() -> None:
    for name, text in contract.documents().items():
        committed = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert committed == text, f"regenerate: python -m monitor.notify.contract ({name})"
    jsonschema.Draft202012Validator.check_schema(EVENT_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(DIGEST_SCHEMA)
    # The synthetic event of `monitor notify test` is a valid payload.
    _validate(payload_module.test_event(), EVENT_SCHEMA)
    # An unknown field is refused: receivers can rely on the documented shape.
    with pytest.raises(jsonschema.ValidationError):
        _validate({**payload_module.test_event(), "extra": 1}, EVENT_SCHEMA)


def _page(title: str, body: str) -> str:
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{body}</p><p><a href='/visa'>Visa rules</a></p></article></body></html>"
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.stop()


def _config(tmp_path: Path, site: LocalSite, channels: dict[str, Any], **extra: Any) -> cfg.Config:
    data: dict[str, Any] = {
        "database": f"sqlite:///{tmp_path / 'alerts.db'}",
        "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
        "detect": {"probe_delay": 0.05, "confirm_removal_after": 0.05},
        "channels": channels,
        "defaults": {"notify": list(channels)},
        "outbox": {"backoff": "1s", "claim_timeout": "1s", "flush_timeout": "20s"},
        "public_url": "http://127.0.0.1:8080",
        "targets": [{"name": "statement", "url": site.url("/statement"), "tags": ["mfa"]}],
    }
    data.update(extra)
    return cfg.parse(data, "test")


def _one_change(
    site: LocalSite, config: cfg.Config, title: str = "On security guarantees"
) -> Store:
    site.page("/statement", _page(title, "We remind you of some facts."))
    store = Store(config.database)
    run_check(config, store, config.targets)
    site.page("/statement", _page(title, "We remind you of other facts."))
    summary = run_check(config, store, config.targets)
    assert summary.events == {"changed": 1}
    return store


def _deliveries(store: Store) -> list[Delivery]:
    with store.session() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def _attempts(store: Store) -> list[DeliveryAttempt]:
    with store.session() as session:
        return list(session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))


def test_webhook_event_is_signed_and_matches_the_schema(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret-value")
    config = _config(
        tmp_path,
        site,
        {
            "hook": {
                "type": "webhook",
                "url": receiver.url,
                "secret_env": "TEST_HOOK_SECRET",
                "headers": {"X-Team": "osint"},
            }
        },
    )
    store = _one_change(site, config)
    report = Outbox(store, config).deliver(timeout=10)
    assert (report.sent, report.messages, report.pending) == (1, 1, 0)
    [request] = receiver.requests
    payload = json.loads(request.body)
    _validate(payload, EVENT_SCHEMA)
    assert payload["event"] == "changed" and payload["target"] == "statement"
    # Word-level: the one word that changed, and the unified diff of the lines.
    assert (payload["diff"]["added"], payload["diff"]["removed"]) == ("other", "some")
    assert "+We remind you of other facts." in payload["diff"]["unified"]
    assert payload["from_version"]["seq"] == 1 and payload["to_version"]["seq"] == 2
    assert payload["history_url"].startswith("http://127.0.0.1:8080/pages/")
    headers = request.headers
    assert headers["x-monitor-event"] == "changed"
    assert headers["x-monitor-event-id"] == payload["id"]
    assert headers["x-team"] == "osint"
    assert verify(
        "s3cret-value", headers["x-monitor-timestamp"], request.body, headers["x-monitor-signature"]
    )
    assert not verify(
        "wrong", headers["x-monitor-timestamp"], request.body, headers["x-monitor-signature"]
    )
    [attempt] = _attempts(store)
    assert (attempt.outcome, attempt.detail) == ("sent", "HTTP 200: ok")


def test_email_is_multipart_and_keeps_cyrillic_and_devanagari(
    site: LocalSite, tmp_path: Path
) -> None:
    smtp = SmtpServer().start()
    try:
        config = _config(
            tmp_path,
            site,
            {
                "desk": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "none",
                    "from": "monitor@example.org",
                    "to": ["desk@example.org", "editor@example.org"],
                }
            },
        )
        title = "О гарантиях безопасности: सुरक्षा गारंटी"
        store = _one_change(site, config, title=title)
        report = Outbox(store, config).deliver(timeout=10)
        assert report.sent == 1, report.details
    finally:
        smtp.stop()
    [message] = smtp.messages
    assert smtp.envelopes[0][1] == ["desk@example.org", "editor@example.org"]
    assert message["Subject"] == f"Changed: {title} — 127.0.0.1:{site.server.server_port}"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert title in text.get_content() and "other facts" in text.get_content()
    html_text = html.get_content()
    assert title in html_text and re.search(r'<ins style="[^"]+">other</ins>', html_text)
    assert "Significance" in html_text and "/pages/" in html_text
    assert "SMTP accepted" in _attempts(store)[0].detail


def _email_channel(smtp: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "host": "127.0.0.1",
        "port": smtp.port,
        "security": "none",
        "from": "Monitor <monitor@example.org>",
        "to": ["desk@example.org"],
        **extra,
    }


def test_email_reads_as_a_person_expects(site: LocalSite, tmp_path: Path) -> None:
    """Through a real SMTP server: the subject names the site once, times have their UTC
    offset (in the channel's time zone), the link goes to this change's diff, the text
    part has no ">From", and the HTML part's styles are in its elements."""
    smtp = SmtpServer().start()
    try:
        config = _config(
            tmp_path,
            site,
            {
                "desk": _email_channel(smtp, timezone="Asia/Kolkata"),
                "wire": _email_channel(smtp, to=["wire@example.org"]),
            },
        )
        title = "Consular bulletin 12 — Embassy of Examplestan in Testland"
        store = _one_change(site, config, title=title)
        report = Outbox(store, config).deliver(timeout=10)
        assert report.sent == 2, report.details
    finally:
        smtp.stop()
    page_id = store.page("statement").id
    host = f"127.0.0.1:{site.server.server_port}"
    by_recipient = {rcpts[0]: n for n, (_sender, rcpts) in enumerate(smtp.envelopes)}
    for recipient, zone in (("desk@example.org", "IST (UTC+05:30)"), ("wire@example.org", "")):
        number = by_recipient[recipient]
        message, raw = smtp.messages[number], smtp.raw[number]
        assert smtp.envelopes[number][0] == "monitor@example.org"
        # The site once: the title's "— Embassy of ..." suffix gives way to the host.
        assert message["Subject"] == f"Changed: Consular bulletin 12 — {host}"
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        text = text.replace("\r\n", "\n")
        assert b"\n>From " not in raw and ">From" not in text  # no mbox-style mangling
        assert "\nFrom version: v1 captured " in text  # a line starting "From ", as written
        detected = re.search(r"Detected: +(.+)", text).group(1)  # type: ignore[union-attr]
        if zone:
            assert re.fullmatch(
                r"\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d " + re.escape(zone), detected
            )
        else:
            assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC\+00:00", detected)
        diff_url = f"http://127.0.0.1:8080/pages/{page_id}/diff/1/2"
        assert f"This change:  {diff_url}\n" in text
        assert f"History:      http://127.0.0.1:8080/pages/{page_id}\n" in text
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert "<style" not in html  # mail clients drop it: the rules are in the elements
        assert re.search(r'<ins style="[^"]*background-color: #9be3aa[^"]*">other</ins>', html)
        assert re.search(r'<del style="[^"]*background-color: #f7a8a4[^"]*">some</del>', html)
        assert re.search(r'<div class="line change" [^>]*style="[^"]*white-space: pre-wrap', html)
        assert f'<a href="{diff_url}" style="' in html
        assert (zone or "UTC+00:00") in html


def test_email_timezone_must_be_a_zone(tmp_path: Path, site: LocalSite) -> None:
    smtp = SmtpServer()
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        _config(tmp_path, site, {"desk": _email_channel(smtp, timezone="Mars/Olympus")})


def test_removal_email_links_to_the_event(site: LocalSite, tmp_path: Path) -> None:
    smtp = SmtpServer().start()
    try:
        config = _config(tmp_path, site, {"desk": _email_channel(smtp)})
        store = _one_change(site, config)
        del site.routes["/statement"]
        assert run_check(config, store, config.targets).events == {"removed": 1}
        report = Outbox(store, config).deliver(timeout=10)
        assert report.sent == 2, report.details
    finally:
        smtp.stop()
    removal = next(m for m in smtp.messages if m["Subject"].startswith("Removed"))
    text = removal.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    event_id = removal["X-Monitor-Event-Id"]
    page_id = store.page("statement").id
    assert f"This change:  http://127.0.0.1:8080/pages/{page_id}#event-{event_id}" in text


def test_webhook_500_retries_with_backoff_then_succeeds(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    receiver.answers = [500, 503]
    config = _config(tmp_path, site, {"hook": {"type": "webhook", "url": receiver.url}})
    store = _one_change(site, config)
    outbox = Outbox(store, config)
    first = outbox.deliver(timeout=10)
    assert (first.sent, first.failed) == (0, 1)
    [delivery] = _deliveries(store)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at > utcnow()  # backed off, not retried at once
    assert outbox.deliver(timeout=10).messages == 0  # not due yet
    later = Outbox(store, config, clock=lambda: utcnow() + timedelta(hours=1))
    assert later.deliver(timeout=10).failed == 1  # the 503
    assert (
        Outbox(store, config, clock=lambda: utcnow() + timedelta(hours=3)).deliver(timeout=10).sent
        == 1
    )
    assert [a.detail for a in _attempts(store)] == [
        "HTTP 500: nope",
        "HTTP 503: nope",
        "HTTP 200: ok",
    ]
    ids = {json.loads(r.body)["id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # one event, one id, three tries


def test_webhook_404_is_dead_shown_by_status_and_can_be_resent(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    receiver.answers = [404]
    config = _config(tmp_path, site, {"hook": {"type": "webhook", "url": receiver.url}})
    store = _one_change(site, config)
    report = Outbox(store, config).deliver(timeout=10)
    assert report.dead == 1 and report.sent == 0  # a 404 is never "delivered"
    runner = CliRunner()
    status = runner.invoke(main, ["status", "--db", config.database])
    assert (
        status.exit_code == 1 and "DEAD delivery" in status.output and "HTTP 404" in status.output
    )
    retry = runner.invoke(main, ["notify", "retry", "--db", config.database])
    assert "1 dead delivery queued again" in retry.output
    assert Outbox(store, config).deliver(timeout=10).sent == 1
    assert runner.invoke(main, ["status", "--db", config.database]).exit_code == 0


def test_timeout_is_retried(site: LocalSite, receiver: WebhookReceiver, tmp_path: Path) -> None:
    receiver.answers = [("sleep", 1.5)]
    config = _config(
        tmp_path, site, {"hook": {"type": "webhook", "url": receiver.url, "timeout": 0.5}}
    )
    store = _one_change(site, config)
    assert Outbox(store, config).deliver(timeout=10).failed == 1
    assert "timed out" in _attempts(store)[0].detail.lower()
    later = Outbox(store, config, clock=lambda: utcnow() + timedelta(hours=1))
    assert later.deliver(timeout=10).sent == 1


def test_smtp_down_then_up(site: LocalSite, tmp_path: Path) -> None:
    port = free_port()
    config = _config(
        tmp_path,
        site,
        {
            "desk": {
                "type": "email",
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "from": "monitor@example.org",
                "to": "desk@example.org",
                "timeout": 3,
            }
        },
    )
    store = _one_change(site, config)
    down = Outbox(store, config).deliver(timeout=10)
    assert down.failed == 1 and "Connection" in _attempts(store)[0].detail
    smtp = SmtpServer(port).start()
    try:
        later = Outbox(store, config, clock=lambda: utcnow() + timedelta(hours=1))
        assert later.deliver(timeout=10).sent == 1
    finally:
        smtp.stop()
    assert len(smtp.messages) == 1


def test_smtp_5xx_is_permanent(site: LocalSite, tmp_path: Path) -> None:
    smtp = SmtpServer(reject=lambda envelope: "550 5.7.1 Relaying denied").start()
    try:
        config = _config(
            tmp_path,
            site,
            {
                "desk": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "none",
                    "from": "monitor@example.org",
                    "to": "desk@example.org",
                }
            },
        )
        store = _one_change(site, config)
        assert Outbox(store, config).deliver(timeout=10).dead == 1
    finally:
        smtp.stop()
    assert _attempts(store)[0].detail.startswith("SMTP 550")


def test_a_hanging_channel_does_not_delay_the_others(site: LocalSite, tmp_path: Path) -> None:
    slow, fast = WebhookReceiver(delay=3), WebhookReceiver()
    try:
        config = _config(
            tmp_path,
            site,
            {
                "slow": {"type": "webhook", "url": slow.url, "timeout": 5},
                "fast": {"type": "webhook", "url": fast.url},
            },
        )
        store = _one_change(site, config)
        started = time.monotonic()
        Outbox(store, config).deliver(timeout=10)
        assert fast.requests and fast.requests[0].at - started < 1.0
        assert slow.requests
    finally:
        slow.stop()
        fast.stop()
    assert {d.channel: d.status for d in _deliveries(store)} == {"slow": "sent", "fast": "sent"}


def test_digest_sends_one_message_for_all_events(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    site.page("/a", _page("Notice A", "First text."))
    site.page("/b", _page("Notice B", "First text."))
    config = _config(
        tmp_path,
        site,
        {"hook": {"type": "webhook", "url": receiver.url, "digest": "cycle"}},
        targets=[{"name": "a", "url": site.url("/a")}, {"name": "b", "url": site.url("/b")}],
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    site.page("/a", _page("Notice A", "Second text."))
    site.page("/b", _page("Notice B", "Second text."))
    assert run_check(config, store, config.targets).events == {"changed": 2}
    report = Outbox(store, config).deliver(timeout=10)
    assert (report.sent, report.messages) == (2, 1)
    [request] = receiver.requests
    payload = json.loads(request.body)
    _validate(payload, DIGEST_SCHEMA)
    assert payload["count"] == 2 and request.headers["x-monitor-event"] == "digest"
    assert {e["target"] for e in payload["events"]} == {"a", "b"}


def test_routes_pick_channels_by_tag_kind_and_significance(site: LocalSite, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        site,
        {
            "all": {"type": "webhook", "url": "http://127.0.0.1:9/a"},
            "removals": {"type": "webhook", "url": "http://127.0.0.1:9/b"},
            "other-tag": {"type": "webhook", "url": "http://127.0.0.1:9/c"},
        },
        defaults={"notify": ["all"]},
        routes=[
            {"tags": ["mfa"], "channels": ["removals"], "events": ["removed"]},
            {"tags": ["embassy"], "channels": ["other-tag"]},
        ],
    )
    store = _one_change(site, config)
    assert [d.channel for d in _deliveries(store)] == ["all"]  # a change: not a removal
    site.routes.pop("/statement")
    assert run_check(config, store, config.targets).events == {"removed": 1}
    assert [d.channel for d in _deliveries(store)] == ["all", "all", "removals"]


def test_monitor_check_delivers_before_it_exits(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    config = _config(tmp_path, site, {"hook": {"type": "webhook", "url": receiver.url}})
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(config.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    )
    site.page("/statement", _page("Statement", "One."))
    runner = CliRunner()
    runner.invoke(main, ["check", "-c", str(path)])
    site.page("/statement", _page("Statement", "Two."))
    result = runner.invoke(main, ["check", "-c", str(path)])
    assert "alerts: 1 alert(s) delivered in 1 message(s)" in result.output, result.output
    assert len(receiver.requests) == 1


def test_notify_test_reports_the_answer(receiver: WebhookReceiver, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"channels": {"hook": {"type": "webhook", "url": receiver.url}}})
    )
    result = CliRunner().invoke(main, ["notify", "test", "hook", "-c", str(path)])
    assert result.exit_code == 0 and "hook: sent: HTTP 200: ok" in result.output
    _validate(json.loads(receiver.requests[0].body), EVENT_SCHEMA)
    receiver.answers = [404]
    failed = CliRunner().invoke(main, ["notify", "test", "hook", "-c", str(path)])
    assert failed.exit_code == 1 and "FAILED: HTTP 404" in failed.output


def test_apprise_channel_posts_through_apprise(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("apprise")
    port = receiver.server.server_port
    monkeypatch.setenv("TEST_APPRISE_URLS", f"json://127.0.0.1:{port}/apprise")
    config = _config(tmp_path, site, {"chat": {"type": "apprise", "urls_env": "TEST_APPRISE_URLS"}})
    store = _one_change(site, config)
    assert Outbox(store, config).deliver(timeout=20).sent == 1
    body = json.loads(receiver.requests[0].body)
    assert body["title"].startswith("Changed: On security guarantees")
    assert "other facts" in body["message"]


@pytest.mark.slow
def test_killed_mid_delivery_then_restarted_loses_nothing(site: LocalSite, tmp_path: Path) -> None:
    """SIGKILL the sender while a POST is in flight; a restart delivers every event, the
    in-flight one at most once more, with the same id."""
    receiver = WebhookReceiver(delay=1.0)
    try:
        site.page("/a", _page("A", "one"))
        site.page("/b", _page("B", "one"))
        site.page("/c", _page("C", "one"))
        config = _config(
            tmp_path,
            site,
            {"hook": {"type": "webhook", "url": receiver.url, "timeout": 10}},
            targets=[{"name": n, "url": site.url(f"/{n}")} for n in "abc"],
        )
        store = Store(config.database)
        run_check(config, store, config.targets)
        for name in "abc":
            site.page(f"/{name}", _page(name.upper(), "two"))
        assert run_check(config, store, config.targets).events == {"changed": 3}
        path = tmp_path / "config.yaml"
        path.write_text(
            yaml.safe_dump(config.model_dump(mode="json", by_alias=True, exclude_defaults=True))
        )
        command = [sys.executable, "-m", "monitor", "notify", "send", "-c", str(path)]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        receiver.wait_for(1, timeout=20)
        time.sleep(0.3)  # the first POST is in flight (the receiver answers after 1 s)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)  # reaps it and closes its pipes
        in_flight = {json.loads(r.body)["id"] for r in receiver.requests}
        assert in_flight and len(in_flight) < 3
        time.sleep(1.2)  # outbox.claim_timeout: the dead process's claim expires
        receiver.delay = 0
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert finished.returncode == 0, finished.stderr
    finally:
        receiver.stop()
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert len(set(ids)) == 3, "every event delivered"
    for event_id in set(ids):
        assert ids.count(event_id) <= 2
        if ids.count(event_id) == 2:
            assert event_id in in_flight, "only the one in flight may come twice"
    assert all(d.status == "sent" for d in _deliveries(store))
