"""The Celery app every spike script starts workers with (evidence for docs/SCALING.md).

Environment (read at import, so the worker subprocesses see the same thing):
- SPIKE_BROKER: ``redis`` (db 9 on 127.0.0.1:6379) or ``amqp`` (RabbitMQ guest/guest), or a URL.
- SPIKE_QUEUE: the queue name (each script uses its own, so runs never mix).
- SPIKE_REACTOR: where the Twisted reactor starts in a worker:
  ``init``   in ``worker_process_init`` (once per pool child, after the fork) - the pattern;
  ``lazy``   on the first task (monitor.reactor.loop() starts it on first use);
  ``parent`` in the worker's main process at import, before the pool forks (a pitfall).
- SPIKE_VT: Redis visibility_timeout in seconds; SPIKE_RESTORE: ``fast`` makes kombu sweep
  the unacked index every second instead of its default (10 s interval x throttle 10).

Not product code: nothing in monitor/ imports this.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import redis
from celery import Celery, signals

logger = logging.getLogger(__name__)

BROKERS = {
    "redis": "redis://127.0.0.1:6379/9",
    "amqp": "amqp://guest:guest@127.0.0.1:5672//",
}
RESULTS = "redis://127.0.0.1:6379/10"
NOTES = "redis://127.0.0.1:6379/11"  # where tasks write what they saw (start times, pids)

broker_name = os.environ.get("SPIKE_BROKER", "redis")
broker_url = BROKERS.get(broker_name, broker_name)
queue = os.environ.get("SPIKE_QUEUE", "spike-celery")
reactor_mode = os.environ.get("SPIKE_REACTOR", "init")

transport: dict[str, Any] = {}
if broker_url.startswith("redis"):
    transport["visibility_timeout"] = int(os.environ.get("SPIKE_VT", "3600"))
    if os.environ.get("SPIKE_RESTORE") == "fast":
        transport["unacked_restore_interval"] = 1
        transport["unacked_restore_throttle"] = 1

app = Celery("spike", broker=broker_url, backend=RESULTS)
app.conf.update(
    task_default_queue=queue,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_transport_options=transport,
    result_expires=600,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    accept_content=["json"],
)

notes = redis.Redis.from_url(NOTES)


def note(key: str, **fields: Any) -> None:
    """Append one JSON-ish record to a Redis list the driving script reads."""
    import json

    notes.rpush(key, json.dumps(fields))


def _start_reactor(where: str) -> None:
    from monitor import reactor

    t0 = time.perf_counter()
    reactor.loop()
    logger.warning(
        "reactor started (%s) in pid %d in %.1f ms",
        where,
        os.getpid(),
        (time.perf_counter() - t0) * 1000,
    )


if reactor_mode == "parent" and os.environ.get("SPIKE_ROLE") == "worker":
    _start_reactor("parent, before fork")


@signals.worker_process_init.connect
def _reactor_per_child(**_: Any) -> None:
    if reactor_mode == "init":
        _start_reactor("worker_process_init")


_stores: dict[str, Any] = {}
_stores_lock = threading.Lock()


def _store(url: str) -> Any:
    from monitor.store import Store

    with _stores_lock:
        if url not in _stores:
            _stores[url] = Store(url)
        return _stores[url]


@app.task(name="spike.check")
def check(database: str, base: str, paths: list[str]) -> dict[str, Any]:
    """One check of a few pages of one local site through monitor.check.run_check."""
    from monitor import config as cfg
    from monitor import reactor
    from monitor.check import run_check

    started = time.perf_counter()
    config = cfg.parse(
        {
            "database": database,
            "fetch": {"delay": 0, "obey_robots": False, "retries": 1, "timeout": 5},
            "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
            "targets": [{"name": p.strip("/") or "home", "url": base + p} for p in paths],
        },
        "spike",
    )
    store = _store(database)
    crawl_started = time.perf_counter()
    summary = run_check(config, store, config.targets)
    done = time.perf_counter()
    thread = reactor._thread
    return {
        "pid": os.getpid(),
        "task_thread": threading.current_thread().name,
        "reactor_thread": thread.name if thread else None,
        "reactor_alive": bool(thread and thread.is_alive()),
        "checked": summary.checked,
        "errors": summary.errors,
        "setup_ms": (crawl_started - started) * 1000,
        "run_check_ms": (done - crawl_started) * 1000,
    }


@app.task(name="spike.noop")
def noop(key: str, sent_at: float) -> None:
    """A tiny task: records how long it waited between send and start."""
    notes.rpush(key, f"{time.time() - sent_at:.6f}")


@app.task(name="spike.hold", bind=True)
def hold(self: Any, key: str, seconds: float) -> None:
    """A long task that says where and when it started (for the redelivery timings)."""
    note(
        key,
        event="start",
        at=time.time(),
        pid=os.getpid(),
        host=socket.gethostname(),
        hostname=self.request.hostname,
        redelivered=bool((self.request.delivery_info or {}).get("redelivered")),
    )
    time.sleep(seconds)
    note(key, event="done", at=time.time(), pid=os.getpid(), hostname=self.request.hostname)


@app.task(name="spike.naive")
def naive(urls: list[str]) -> dict[str, Any]:
    """The naive way: a CrawlerProcess per task (what breaks without a shared reactor)."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    seen: list[int] = []

    class Pages(scrapy.Spider):
        name = "pages"
        start_urls = urls

        def parse(self, response: Any) -> None:
            seen.append(response.status)

    process = CrawlerProcess({"LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False})
    process.crawl(Pages)
    process.start()  # installs signal handlers; runs the reactor until the crawl ends
    return {"pid": os.getpid(), "fetched": len(seen)}
