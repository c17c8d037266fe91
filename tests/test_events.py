"""The event state machine on sequences of observations (events.yaml)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.detect.events import Context, Decision, decide
from monitor.records import FetchResult, Observation, PageKey, PageState

DATA = Path(__file__).parent / "data" / "detection"
SEQUENCES = yaml.safe_load((DATA / "events.yaml").read_text())
URL = "https://embassy.example/en/news/visa-rules/"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

# What each failure the sequences name looks like once processed: (status, quality, kind).
FAILURES: dict[str, tuple[int | None, str, str]] = {
    "404": (404, "error", "not_found"),
    "410": (410, "error", "gone"),
    "soft404": (200, "error", "soft_404"),
    "home": (200, "error", "redirect_home"),
    "503": (503, "error", "server_error"),
    "timeout": (None, "error", "network"),
    "blocked": (403, "low", "blocked"),
}


def _hash(letter: str) -> str:
    return hashlib.sha256(f"content {letter}".encode()).hexdigest()


def observation(
    see: str, *, role: str = "page", purpose: str = "check", at: datetime = T0
) -> Observation:
    """An observation as process.observe would make it, for a fetch that got ``see``."""
    fetch = FetchResult(
        key=PageKey("embassy", URL),
        role=role,  # type: ignore[arg-type]
        requested_url=URL,
        started_at=at,
        duration_ms=120.0,
        purpose=purpose,  # type: ignore[arg-type]
    )
    if see in FAILURES:
        status, quality, kind = FAILURES[see]
        fetch.status = status
        if status is None:
            fetch.error, fetch.error_kind = "timed out after 30s", kind
        else:
            fetch.final_url = "https://embassy.example/" if see == "home" else URL
            fetch.body = b"<html>failure</html>"
        return Observation(
            fetch=fetch,
            body_sha256=None if status is None else hashlib.sha256(fetch.body).hexdigest(),
            quality=quality,  # type: ignore[arg-type]
            outcome_hint="error",
            kind=kind,
            note=f"{kind} ({see})",
        )
    fetch.status, fetch.final_url = 200, URL
    fetch.body = f"<html><p>content {see}</p></html>".encode()
    return Observation(
        fetch=fetch,
        body_sha256=hashlib.sha256(fetch.body).hexdigest(),
        quality="ok",
        outcome_hint="content",
        title="Visa rules",
        text=f"content {see}",
        compared=[f"content {see}"],
        content_sha256=_hash(see),
    )


def advance(state: PageState, observed: Observation, decision: Decision) -> None:
    """What the store does after a decision: a new version becomes the last one."""
    if decision.new_version:
        state.last_version_id = (state.last_version_id or 0) + 1
        state.last_version_seq += 1
        state.last_content_sha256 = observed.content_sha256
        assert observed.content_sha256 is not None
        state.recent_hashes = (*state.recent_hashes, observed.content_sha256)[-20:]


def _ids(sequence: dict[str, Any]) -> str:
    return str(sequence["name"])


@pytest.mark.parametrize("sequence", SEQUENCES, ids=_ids)
def test_sequence(sequence: dict[str, Any]) -> None:
    context = Context(**sequence.get("context", {}))
    state = PageState(
        page_id=1, target_id=1, role=sequence.get("role", "page"), **sequence.get("page", {})
    )
    for index, step in enumerate(sequence["steps"]):
        at = T0 + timedelta(hours=step.get("at", index))
        observed = observation(
            str(step["see"]),
            role=step.get("role", state.role),
            purpose=step.get("purpose", "check"),
            at=at,
        )
        decision = decide(observed, state, context, at)
        where = f"step {index} ({step['see']})"
        outcome, event = step["expect"]
        assert (decision.outcome, decision.event) == (outcome, event), where
        assert decision.new_version is step.get("new_version", outcome == "new"), where
        if "state" in step:
            assert state.state == step["state"], where
        if "features" in step:
            expected = step["features"]
            assert {key: decision.features.get(key) for key in expected} == expected, where
            if expected == {}:
                assert decision.features == {}, where
        advance(state, observed, decision)


def test_probe_and_part_leave_the_state_untouched() -> None:
    state = PageState(page_id=1, target_id=1, role="page")
    context = Context()
    first = observation("A")
    advance(state, first, decide(first, state, context, T0))
    state.removal_pending, state.consecutive_failures = True, 1
    saved = replace(state)
    for observed in (
        observation("B", purpose="probe"),
        observation("404", purpose="probe"),
        observation("B", role="part"),
        observation("503", role="part"),
    ):
        decide(observed, state, context, T0)
        assert state == saved


def test_failures_are_counted_and_reset_by_content() -> None:
    state = PageState(page_id=1, target_id=1, role="page")
    context = Context()
    first = observation("A")
    advance(state, first, decide(first, state, context, T0))
    for hour, see in enumerate(["503", "timeout", "404"], start=1):
        decide(observation(see), state, context, T0 + timedelta(hours=hour))
    assert state.consecutive_failures == 3
    assert state.failing_since == T0 + timedelta(hours=1)
    assert state.removal_pending
    decide(observation("A"), state, context, T0 + timedelta(hours=4))
    assert (state.consecutive_failures, state.failing_since, state.removal_pending) == (
        0,
        None,
        False,
    )


def test_error_event_reports_since_when_and_how_often() -> None:
    state = PageState(page_id=1, target_id=1, role="page")
    context = Context(error_after=3600)
    first = observation("A")
    advance(state, first, decide(first, state, context, T0))
    decide(observation("503"), state, context, T0 + timedelta(minutes=30))
    decision = decide(observation("503"), state, context, T0 + timedelta(minutes=90))
    assert decision.event == "error"
    assert decision.features == {
        "how": "server_error",
        "reason": "server_error (503)",
        "failing_since": (T0 + timedelta(minutes=30)).isoformat(),
        "failures": 2,
    }
