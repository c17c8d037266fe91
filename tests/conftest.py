"""Shared fixtures: databases (SQLite and PostgreSQL), local sites, configs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor import config as cfg
from monitor.records import FetchResult, PageKey
from monitor.storage.store import Store
from monitor.vocab import Role
from tests.sites import LocalSite

POSTGRES_ADMIN = os.environ.get(
    "MONITOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> str | None:
    try:
        import psycopg

        url = POSTGRES_ADMIN.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as exc:  # the reason is shown in the skip message
        return str(exc)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _postgres_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    return POSTGRES_ADMIN


def _create_postgres_database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def _drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend; the same tests run on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    admin = request.getfixturevalue("postgres_server")
    url, name = _create_postgres_database(admin)
    try:
        yield url
    finally:
        _drop_postgres_database(admin, name)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def site() -> Iterator[LocalSite]:
    local = LocalSite().start()
    try:
        yield local
    finally:
        local.stop()


def page_fetch(
    url: str, body: bytes, *, status: int = 200, content_type: str = "text/html"
) -> FetchResult:
    """A page of target ``t`` fetched once, as a spider hands it over (for observing it
    without a crawl)."""
    return FetchResult(
        key=PageKey("t", url),
        role=Role.PAGE,
        requested_url=url,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_ms=1.0,
        final_url=url,
        status=status,
        headers={"content-type": content_type},
        body=body,
    )


def make_config(database: str, targets: list[dict[str, Any]], **fetch: Any) -> cfg.Config:
    """A config for tests: no politeness delay, robots.txt off unless asked."""
    fetch_settings = {"delay": 0, "obey_robots": False, "retries": 1, "timeout": 5, **fetch}
    detect = {"probe_delay": 0.1, "confirm_removal_after": 0.1}
    return cfg.parse(
        {"database": database, "fetch": fetch_settings, "detect": detect, "targets": targets},
        "test",
    )
