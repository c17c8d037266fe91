"""Helpers shared by the spike scripts: a scratch PostgreSQL database, a local site, stats."""

from __future__ import annotations

import contextlib
import statistics
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"

PAGE = """<!doctype html><html><head><title>Statement {n}</title></head><body>
<nav><a href="/">Home</a></nav><article><h1>Statement {n}</h1>
<p>The embassy reminds you of fact number {n}.</p></article></body></html>"""


@contextlib.contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def local_site(pages: int) -> Iterator[tuple[str, list[str]]]:
    """tests/sites.py LocalSite serving ``pages`` small statements; yields (base, paths).

    SPIKE_DELAY (seconds) makes every answer wait, as a slow official site does.
    """
    import os

    from tests.sites import LocalSite, Route

    site = LocalSite()
    delay = float(os.environ.get("SPIKE_DELAY", "0"))
    paths = [f"/statement-{n}" for n in range(pages)]
    for n, path in enumerate(paths):
        site.page(path, PAGE.format(n=n))
        route = site.routes[path]
        assert isinstance(route, Route)
        route.delay = delay
    site.start()
    try:
        yield site.base, paths
    finally:
        site.stop()


def describe(values: list[float]) -> str:
    """median / p90 / max of a list of milliseconds, as text."""
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered):.1f}, p90 {p90:.1f}, max {ordered[-1]:.1f}"


def cleanup(app: object, queue: str) -> None:
    """Delete a spike queue and (Redis) its unacknowledged copies, leaving the broker clean."""
    import json

    import redis

    conf = app.conf  # type: ignore[attr-defined]
    with app.connection_for_write() as connection:  # type: ignore[attr-defined]
        try:
            connection.default_channel.queue_delete(queue)
        except Exception as exc:  # the queue may never have been declared
            print(f"  (queue delete: {exc})")
    if str(conf.broker_url).startswith("redis"):
        client = redis.Redis.from_url(conf.broker_url)
        for tag, raw in client.hgetall("unacked").items():
            if json.loads(raw)[2] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        for key in [*client.scan_iter(f"{queue}*"), *client.scan_iter(f"_kombu.binding*{queue}")]:
            client.delete(key)
