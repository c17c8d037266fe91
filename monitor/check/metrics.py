"""Prometheus metrics of the daemon: checks, failures, changes, deliveries, durations.

Off by default; ``daemon.metrics.enabled`` serves them on 127.0.0.1 (``/metrics``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram, start_http_server

if TYPE_CHECKING:
    from monitor.notify.outbox import Report

logger = logging.getLogger(__name__)

CHECKS = Counter("monitor_checks_total", "Pages checked, by outcome.", ["outcome"])
EVENTS = Counter("monitor_events_total", "Events detected, by kind.", ["kind"])
DELIVERIES = Counter("monitor_deliveries_total", "Alert deliveries, by result.", ["result"])
FETCH_SECONDS = Histogram(
    "monitor_fetch_seconds",
    "Time to fetch a page.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LATENESS = Histogram(
    "monitor_schedule_lateness_seconds",
    "How late checks start after they were due.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)


def serve(host: str, port: int) -> None:
    start_http_server(port, addr=host)
    logger.info("Prometheus metrics on http://%s:%d/metrics", host, port)


def record_check(outcome: str, duration_ms: float, event: str | None) -> None:
    CHECKS.labels(outcome=outcome).inc()
    if duration_ms:
        FETCH_SECONDS.observe(duration_ms / 1000)
    if event:
        EVENTS.labels(kind=event).inc()


def record_deliveries(report: Report) -> None:
    for result, count in (("sent", report.sent), ("failed", report.failed), ("dead", report.dead)):
        if count:
            DELIVERIES.labels(result=result).inc(count)
