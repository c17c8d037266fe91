"""The recording plan: pure decisions as rows, written in one transaction by the store.

``plan_batch`` leaves the states it is given alone and carries the new ones; the store
gives the plan's rows their ids; stale errors go through the same event path (scored,
summarised, routed to the outbox) as every other event.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from monitor import config as cfg
from monitor.check.record import record
from monitor.check.stale import record_stale
from monitor.detect.events import Context
from monitor.detect.extract import Rules
from monitor.detect.observe import ProcessRules, observe
from monitor.detect.plan import plan_batch, plan_stale, versions_needed
from monitor.recording import placeholder
from monitor.records import FetchResult, PageKey, PageState, Route, StoredVersion
from monitor.storage.models import Change, Delivery, Page
from monitor.storage.store import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URL = "https://embassy.example/statement"
KEY = PageKey("embassy", URL)
HOOK = Route("hook", 0.0, frozenset({"changed", "removed", "error", "added", "restored"}))


def _observation(
    text: str, *, status: int = 200, key: PageKey = KEY, state: PageState | None = None
):  # type: ignore[no-untyped-def]
    html = f"<html><head><title>Statement</title></head><body><p>{text}</p></body></html>"
    fetch = FetchResult(
        key=key,
        role="page",  # type: ignore[arg-type]
        requested_url=key.url,
        started_at=T0,
        duration_ms=5.0,
        final_url=key.url,
        status=status,
        headers={"content-type": "text/html; charset=utf-8"},
        body=html.encode(),
    )
    return observe(fetch, ProcessRules(extract=Rules()), state)


def test_a_plan_leaves_the_states_given_alone_and_numbers_its_rows() -> None:
    state = PageState(
        page_id=7,
        target_id=1,
        role="page",  # type: ignore[arg-type]
        last_version_id=40,
        last_version_seq=3,
        last_content_sha256="old",
    )
    states = {KEY: state, PageKey("embassy", URL + "/new"): PageState(None, 1, "page")}  # type: ignore[arg-type]
    given = copy.deepcopy(states)
    batch = [
        _observation("The embassy is closed.", state=state),
        _observation("A new page.", key=PageKey("embassy", URL + "/new")),
    ]
    assert versions_needed(batch, states) == {40}
    previous = {40: StoredVersion(40, "Statement", "The embassy is open.")}
    plan = plan_batch(
        batch, states, {"embassy": Context(routes=(HOOK,))}, previous, T0, warc="changes"
    )
    assert states == given  # pure: nothing advanced in place
    assert [page.key.url for page in plan.pages] == [URL + "/new"]
    assert [capture.page_id for capture in plan.captures] == [7, placeholder(0)]
    assert [(v.page_id, v.capture_id, v.seq) for v in plan.versions] == [
        (7, placeholder(0), 4),
        (placeholder(0), placeholder(1), 1),
    ]
    (event,) = plan.events
    assert (event.kind, event.from_version_id, event.to_version_id) == (
        "changed",
        40,
        placeholder(0),
    )
    assert event.summary.startswith("Changed: Statement")
    assert [(d.change_id, d.channel) for d in plan.deliveries] == [(placeholder(0), "hook")]
    assert plan.page_updates[7]["last_version_id"] == placeholder(0)
    assert [warc.capture for warc in plan.warc] == [0, 1]
    assert plan.states[KEY].last_version_id == placeholder(0)
    assert plan.states[KEY].last_version_seq == 4


def test_the_store_writes_a_plan_and_the_states_get_its_ids(store: Store) -> None:
    target = cfg.parse({"targets": [{"name": "embassy", "url": URL}]}).targets[0]
    states = store.states(store.sync_targets([target]).values())
    other = PageKey("embassy", URL + "/annex")
    states[other] = PageState(None, states[KEY].target_id, "page")  # type: ignore[arg-type]
    recorded = record(
        store, [_observation("Open.", state=states[KEY]), _observation("Annex.", key=other)], states
    )
    assert all(item.capture_id > 0 and (item.version_id or 0) > 0 for item in recorded)
    assert states[other].page_id == recorded[1].page_id > 0
    assert states[KEY].last_version_id == recorded[0].version_id
    with store.session() as session:
        pages = {page.url: page for page in session.scalars(select(Page))}
    assert pages[URL].last_version_id == recorded[0].version_id
    assert pages[URL + "/annex"].id == recorded[1].page_id


def _stale_state(**changes: object) -> PageState:
    state = PageState(
        page_id=3,
        target_id=1,
        role="page",  # type: ignore[arg-type]
        last_version_id=9,
        last_checked_at=T0 - timedelta(hours=30),
    )
    return replace(state, **changes)  # type: ignore[arg-type]


def test_a_stale_page_gets_an_error_event_through_the_one_event_path() -> None:
    pages = [
        (KEY, _stale_state()),
        (PageKey("fresh", URL), _stale_state(last_checked_at=T0 - timedelta(hours=1))),
        (PageKey("broken", URL), _stale_state(state="error")),
    ]
    limits = {"embassy": 24 * 3600.0, "fresh": 24 * 3600.0, "broken": 24 * 3600.0}
    previous = {9: StoredVersion(9, "Consular notice", "Open.")}
    plan = plan_stale(pages, limits, {"embassy": Context(routes=(HOOK,))}, previous, T0)
    (event,) = plan.events
    assert (event.kind, event.significance, event.from_version_id) == ("error", 0.4, 9)
    assert event.features["how"] == "stale"
    assert event.features["reasons"] == ["not checked successfully for too long"]
    assert event.features["alert"] is True
    assert event.summary == (
        "Error: Consular notice has not been checked successfully since 2026-02-28 06:00:00Z"
    )
    assert [(d.change_id, d.channel) for d in plan.deliveries] == [(placeholder(0), "hook")]
    assert plan.page_updates == {3: {"state": "error"}}
    # Scored like any error event: a home page weighs less, a target's minimum applies.
    home = plan_stale(
        [(PageKey("embassy", "https://embassy.example/"), _stale_state())],
        limits,
        {"embassy": Context(routes=(HOOK,), min_significance=0.3)},
        previous,
        T0,
    )
    assert home.events[0].significance == 0.2 and home.deliveries == []


def test_record_stale_writes_the_event_and_its_deliveries_once(store: Store) -> None:
    config = cfg.parse(
        {
            "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}},
            "defaults": {"notify": ["hook"], "schedule": {"every": "1h"}},
            "daemon": {"stale_factor": 3},
            "targets": [{"name": "embassy", "url": URL}],
        }
    )
    states = store.states(store.sync_targets(config.targets).values())
    record(store, [_observation("Open.", state=states[KEY])], states)
    assert record_stale(config, store) == 0  # checked just now
    with store.session() as session, session.begin():
        session.execute(update(Page).values(last_checked_at=datetime.now(UTC) - timedelta(hours=4)))
    assert record_stale(config, store) == 1
    assert record_stale(config, store) == 0  # the page is in error now: once
    with store.session() as session:
        change = session.scalars(select(Change)).one()
        deliveries = session.scalars(select(Delivery)).all()
        page = session.scalars(select(Page)).one()
    assert (change.kind, change.significance, change.features["how"]) == ("error", 0.4, "stale")
    assert change.summary.startswith("Error: Statement has not been checked successfully since ")
    assert [(d.channel, d.status) for d in deliveries] == [("hook", "pending")]
    assert page.state == "error"
