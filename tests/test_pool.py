"""Observing in worker processes (monitor/check/pool.py) gives what observing inline gives.

* the same observations as :func:`monitor.check.processor.process`, in submission order,
  for pages of every kind (content, selector, not found, empty, binary, a listing);
* a worker that dies loses nothing: its fetches are observed in the check instead;
* a whole check of the detection fixture site, round by round, records the same
  outcomes, events and versions with a worker process as without.
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from monitor import config as cfg
from monitor.check import run_check
from monitor.check.pool import WORKERS_VARIABLE, PoolProcessor, workers_for
from monitor.check.processor import process
from monitor.detect import extract
from monitor.detect.observe import ProcessRules
from monitor.records import FetchResult, PageState
from monitor.selector import Selector
from monitor.storage.store import Store
from monitor.vocab import Role
from tests.conftest import page_fetch
from tests.detection_site import ROUNDS, STATEMENTS, DetectionSite

PAGE = (
    "<html><head><title>Statement {n}</title></head><body><nav>Menu</nav>"
    "<article class='statement'><h1>Statement {n}</h1><p>Views: {n}000</p>"
    "<p>The Embassy continues to follow the situation closely, day {n}.</p>"
    "<ul><li>one</li><li>two {n}</li></ul></article><footer>Contact</footer></body></html>"
)


def _fetch(n: int, body: bytes, status: int = 200, content_type: str = "text/html") -> FetchResult:
    return page_fetch(
        f"http://127.0.0.1:1/page/{n}.html", body, status=status, content_type=content_type
    )


def _cases() -> list[tuple[FetchResult, ProcessRules, PageState | None]]:
    plain = ProcessRules(extract.Rules(extractor="text"), ignore=(r"Views: [0-9]+",))
    selected = ProcessRules(
        extract.Rules(selector=Selector.parse("css:article.statement")), ignore=(r"Views: [0-9]+",)
    )
    missing = ProcessRules(extract.Rules(selector=Selector.parse("css:.nowhere")))
    state = PageState(page_id=1, target_id=1, role=Role.PAGE, last_content_sha256="x" * 64)
    cases: list[tuple[FetchResult, ProcessRules, PageState | None]] = []
    for n in range(40):
        body = PAGE.format(n=n).encode()
        rules = (plain, selected, missing, ProcessRules(extract.Rules()))[n % 4]
        cases.append((_fetch(n, body), rules, state if n % 3 else None))
    cases.append((_fetch(100, b"<html><body><h1>Not found</h1></body></html>", 404), plain, state))
    cases.append((_fetch(101, b""), plain, None))
    cases.append((_fetch(102, bytes(range(256)) * 40, content_type="image/png"), plain, None))
    return cases


def test_the_pool_observes_as_the_check_does_in_order() -> None:
    cases = _cases()
    expected = [process(fetch, rules, state) for fetch, rules, state in cases]
    pool = PoolProcessor(2, chunk_size=3)
    try:
        futures = [pool.submit(fetch, rules, state) for fetch, rules, state in cases]
        pool.flush()
        got = [future.result(timeout=60) for future in futures]
    finally:
        pool.close()
    assert got == expected
    assert all(g.fetch is fetch for g, (fetch, _r, _s) in zip(got, cases, strict=True))
    assert {g.outcome_hint for g in got} == {"content", "error"}


def test_a_dead_worker_loses_no_fetch() -> None:
    cases = _cases()
    expected = [process(fetch, rules, state) for fetch, rules, state in cases]
    pool = PoolProcessor(1, chunk_size=4)
    try:
        half = len(cases) // 2
        futures = [pool.submit(fetch, rules, state) for fetch, rules, state in cases[:half]]
        pool.flush()
        futures[0].result(timeout=60)
        os.kill(pool._workers[0].process.pid, signal.SIGKILL)
        futures += [pool.submit(fetch, rules, state) for fetch, rules, state in cases[half:]]
        pool.flush()
        got = [future.result(timeout=60) for future in futures]
    finally:
        pool.close()
    assert got == expected


def test_same_bytes_take_the_fast_path_without_a_worker() -> None:
    fetch, rules, _state = _cases()[1]
    state = PageState(
        page_id=1,
        target_id=1,
        role=Role.PAGE,
        last_body_sha256=hashlib.sha256(fetch.body).hexdigest(),
        last_extract_key=rules.key,
        last_content_sha256="c" * 64,
    )
    pool = PoolProcessor(1)
    try:
        future = pool.submit(fetch, rules, state)
        assert future.done() and pool._workers == []  # no process started for it
        assert future.result() == process(fetch, rules, state)
        assert future.result().outcome_hint == "unchanged"
    finally:
        pool.close()


def test_workers_for_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    assert workers_for(10) == 0  # a small check observes inline
    assert workers_for(1000) >= 1
    monkeypatch.setenv(WORKERS_VARIABLE, "0")
    assert workers_for(1000) == 0
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    assert workers_for(1) == 2


def _config(site: DetectionSite, database: str) -> cfg.Config:
    targets: list[dict[str, Any]] = [{"name": n, "url": site.url(n)} for n in STATEMENTS]
    targets.append(
        {
            "name": "news",
            "url": site.base + "/en/news/",
            "follow": {"pattern": r"/en/news/a\d+\.html$", "max_pages": 1},
        }
    )
    return cfg.parse(
        {
            "database": database,
            "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
            "detect": {"probe_delay": 0.2, "confirm_removal_after": 0.2},
            "targets": targets,
        },
        "pool",
    )


def _rounds(tmp_path: Path, workers: str, monkeypatch: pytest.MonkeyPatch) -> list[list[tuple]]:
    """Every round's outcomes (page, purpose, outcome, event, version number)."""
    monkeypatch.setenv(WORKERS_VARIABLE, workers)
    rounds: list[list[tuple]] = []
    with DetectionSite() as site:
        config = _config(site, f"sqlite:///{tmp_path / f'pool-{workers}.db'}")
        store = Store(config.database)
        for number in range(ROUNDS):
            site.set_round(number)
            summary = run_check(config, store, config.targets)
            rounds.append(
                sorted(
                    (
                        item.key.url.rpartition("/")[2],
                        str(item.purpose),
                        str(item.outcome),
                        str(item.event),
                        item.version_seq,
                    )
                    for item in summary.outcomes
                )
            )
        store.close()
    return rounds


@pytest.mark.slow
def test_a_check_with_a_worker_process_records_what_one_without_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = _rounds(tmp_path, "0", monkeypatch)
    pooled = _rounds(tmp_path, "1", monkeypatch)
    assert any(event != "None" for rnd in inline for *_x, event, _v in rnd)
    assert pooled == inline
