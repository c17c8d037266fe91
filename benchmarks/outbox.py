"""Alert delivery: 1,000 webhook events and 1,000 e-mails, and the outbox's cost per event.

    python benchmarks/outbox.py [--events 1000]

1. Records N "changed" events through the real store, once with no channel routed and
   once with one channel routed: the difference is the cost of writing the outbox
   (a delivery row per event, in the event's own transaction).
2. Delivers N webhook events to a local HTTP receiver (a separate process) and N
   e-mails to a local SMTP server (aiosmtpd, a separate process) through the real
   outbox, and prints events per second. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import config as cfg
from monitor.check.record import record
from monitor.detect.events import Context
from monitor.detect.extract import Rules
from monitor.detect.observe import ProcessRules, observe
from monitor.notify.outbox import Outbox
from monitor.notify.routing import Rule
from monitor.records import FetchResult, PageKey
from monitor.storage.store import Store

RULES = ProcessRules(extract=Rules(extractor="text"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_receiver(port: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _smtp_server(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    Controller(Handler(), hostname="127.0.0.1", port=port).start()
    while True:
        time.sleep(3600)


def _wait(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def _html(index: int, edit: int) -> bytes:
    return (
        f"<html><head><title>Statement {index}</title></head><body><article>"
        f"<h1>Statement {index}</h1><p>Paragraph one of statement {index}.</p>"
        f"<p>Revision {edit}: the embassy {'confirms' if edit else 'denies'} it.</p>"
        "</article></body></html>"
    ).encode()


def record_events(store: Store, count: int, routes: tuple[Rule, ...]) -> float:
    """Record ``count`` pages twice (v1, then an edit): returns seconds for the edits."""
    target = cfg.parse({"targets": [{"name": "bench", "url": "http://127.0.0.1/0"}]}).targets[0]
    ids = store.sync_targets([target])
    states = store.states(ids.values())
    context = Context(routes=routes, flipflop_versions=0)
    timings = 0.0
    for edit in (0, 1):
        observations = []
        for index in range(count):
            key = PageKey("bench", f"http://127.0.0.1/{index}")
            state = states.get(key)
            if state is None:
                from monitor.records import PageState

                state = PageState(page_id=None, target_id=ids["bench"], role="page")
                states[key] = state
            body = _html(index, edit)
            fetch = FetchResult(
                key=key,
                role="page",
                requested_url=key.url,
                started_at=datetime.now(UTC),
                duration_ms=1.0,
                final_url=key.url,
                status=200,
                headers={"content-type": "text/html"},
                body=body,
            )
            observations.append(observe(fetch, RULES, state))
        started = time.perf_counter()
        for start in range(0, count, 200):
            record(store, observations[start : start + 200], states, {"bench": context})
        if edit == 1:
            timings = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    n = args.events
    folder = Path(tempfile.mkdtemp(prefix="monitor-outbox-bench-"))
    http_port, smtp_port = _free_port(), _free_port()
    context = multiprocessing.get_context("spawn")
    servers = [
        context.Process(target=_http_receiver, args=(http_port,), daemon=True),
        context.Process(target=_smtp_server, args=(smtp_port,), daemon=True),
    ]
    for server in servers:
        server.start()
    try:
        _wait(http_port)
        _wait(smtp_port)
        channels = {
            "hook": {"type": "webhook", "url": f"http://127.0.0.1:{http_port}/hook"},
            "mail": {
                "type": "email",
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "none",
                "from": "m@example.org",
                "to": "d@example.org",
            },
        }
        rows = []
        base = Store(f"sqlite:///{folder / 'none.db'}")
        without = record_events(base, n, ())
        for name in ("hook", "mail"):
            config = cfg.parse(
                {
                    "database": f"sqlite:///{folder / (name + '.db')}",
                    "channels": {name: channels[name]},
                }
            )
            store = Store(config.database)
            with_outbox = record_events(store, n, (Rule(name, 0.0, frozenset({"changed"})),))
            started = time.perf_counter()
            report = Outbox(store, config).deliver(timeout=600)
            elapsed = time.perf_counter() - started
            rows.append((name, report.sent, elapsed, with_outbox))
        print(f"{n} events per channel; receivers in separate processes on 127.0.0.1")
        print(
            f"recording {n} changed events (versions, events, significance), no channel: "
            f"{without * 1000 / n:.2f} ms/event"
        )
        for name, sent, elapsed, with_outbox in rows:
            kind = "webhook POSTs" if name == "hook" else "SMTP messages"
            added = (with_outbox - without) * 1000 / n
            print(
                f"{kind:14}: {sent} delivered in {elapsed:.2f} s = {sent / elapsed:.0f}/s; "
                f"outbox write cost: +{added:.3f} ms/event "
                f"({with_outbox * 1000 / n:.2f} ms/event with the delivery row)"
            )
        digest = hashlib.sha256(str(rows).encode()).hexdigest()[:8]
        print(f"(run {digest}; database files in {folder})")
    finally:
        for server in servers:
            server.terminate()


if __name__ == "__main__":
    main()
