"""Learning what changes on every visit: from the probe of a new page, and over captures."""

from __future__ import annotations

import itertools
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from monitor import config as cfg
from monitor.check import run_check
from monitor.cli import main
from monitor.storage.store import Store
from monitor.web.app import running
from tests.conftest import make_config
from tests.receivers import WebhookReceiver
from tests.sites import LocalSite, Route

ARTICLE = """<html><head><title>Notice on the visa regime</title></head><body>
<article><h1>Notice on the visa regime</h1>
<p>The Embassy informs that visa applications are accepted on weekdays.</p>
<p>{noise}</p>
<p>Applicants must present a valid passport and two photographs.</p>
</article></body></html>"""


def test_probe_learns_per_request_noise(site: LocalSite, tmp_path: Path) -> None:
    counter = itertools.count(1000)

    def page() -> Route:
        token = f"Reference {next(counter) * 7919} issued for this view"
        return Route(body=ARTICLE.format(noise=token).encode())

    site.routes["/notice"] = page
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "notice", "url": site.url("/notice")}]
    )
    store = Store(config.database)
    first = run_check(config, store, config.targets)
    assert first.first_versions == 1
    # The probe fetched it twice and learned the reference line's shape.
    learned = store.volatile_lines(store.page("notice").id)
    assert [(line.kind, line.source, line.learned) for line in learned] == [
        ("signature", "probe", True)
    ]
    for _ in range(3):
        again = run_check(config, store, config.targets)
        assert again.unchanged == 1 and not again.events, again.outcomes


def _notes(store: Store, name: str) -> list[tuple[str, str]]:
    return [(note.action, note.source) for note in store.learning_notes(store.page(name).id)]


def test_probe_learning_is_noted_on_the_timeline(site: LocalSite, tmp_path: Path) -> None:
    counter = itertools.count(1000)
    site.routes["/notice"] = lambda: Route(
        body=ARTICLE.format(noise=f"Reference {next(counter) * 7919} issued for this view").encode()
    )
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "notice", "url": site.url("/notice")}]
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    assert _notes(store, "notice") == [("learned", "probe")]
    [note] = store.learning_notes(store.page("notice").id)
    assert note.capture_id is not None
    assert "the digits of “Reference # issued for this view”" in note.summary
    # The web UI's timeline and the API show it, as a note that was not alerted.
    page_id = store.page("notice").id
    with running(store) as base:
        with urllib.request.urlopen(f"{base}/pages/{page_id}", timeout=10) as answer:
            html = answer.read().decode()
        with urllib.request.urlopen(f"{base}/api/pages/{page_id}", timeout=10) as answer:
            api = json.loads(answer.read())
    assert '<span class="event event-learned">learned</span>' in html
    assert "a note: recorded, not alerted" in html
    assert "Reference # issued for this view" in html
    assert [(n["note"], n["source"], n["alerted"]) for n in api["learning_notes"]] == [
        ("learned", "probe", False)
    ]
    assert api["changes"] == []


STATEMENT = """<html><head><title>Statement on the situation</title></head><body>
<article><h1>Statement on the situation</h1>
<p>The Embassy follows the situation in the country closely.</p>
<p>Citizens are asked to keep their documents with them at all times.</p>
{extra}<p>{last}</p>
</article></body></html>"""

EDITS = [
    "Consular services continue as usual.",
    "Consular services are limited to urgent cases this week.",
    "Citizens are advised to register their stay online.",
    "Flights to the capital are delayed because of the weather.",
    "THE EMBASSY IS CLOSED until further notice.",
    "Evacuation advisory: leave the country by any means available.",
]


def _config_file(tmp_path: Path, site: LocalSite, receiver: WebhookReceiver) -> Path:
    """The example config's way: a webhook channel and min_significance 0.2."""
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'learning.db'}",
                "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
                "detect": {"probe_delay": 0.05, "confirm_removal_after": 0.05},
                "channels": {"desk": {"type": "webhook", "url": receiver.url}},
                "defaults": {"notify": ["desk"]},
                "outbox": {"flush_timeout": "20s"},
                "targets": [
                    {"name": "statement", "url": site.url("/statement"), "min_significance": 0.2}
                ],
            }
        )
    )
    return path


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.stop()


def test_genuine_edits_in_a_row_are_never_learned_as_noise(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    """Issue 17 item 1: five genuine edits at the end of a statement, one per check, each
    a version and an alert; nothing learned, so nothing is hidden."""
    config = _config_file(tmp_path, site, receiver)
    runner = CliRunner()
    site.page("/statement", STATEMENT.format(extra="", last=EDITS[0]))
    first = runner.invoke(main, ["check", "-c", str(config)])
    assert first.exit_code == 0, first.output
    for number, edit in enumerate(EDITS[1:], start=1):
        site.page("/statement", STATEMENT.format(extra="", last=edit))
        result = runner.invoke(main, ["check", "-c", str(config)])
        assert result.exit_code == 0, result.output
        assert "1 new versions" in result.output, (number, result.output)
        assert len(receiver.wait_for(number)) == number, result.output
    payloads = [json.loads(request.body) for request in receiver.requests]
    assert [p["event"] for p in payloads] == ["changed"] * 5
    assert [p["diff"]["added"] for p in payloads] == EDITS[1:]
    store = Store(yaml.safe_load(config.read_text())["database"])
    page = store.page("statement")
    assert [event.kind for event in store.events(page.id)] == ["changed"] * 5
    assert all(event.features["alert"] for event in store.events(page.id))
    assert [line.learned for line in store.volatile_lines(page.id)] == [False]
    assert store.learning_notes(page.id) == []


def test_a_counter_is_learned_and_ignored_and_the_user_sees_it(
    site: LocalSite, tmp_path: Path
) -> None:
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "statement", "url": site.url("/statement")}]
    )
    store = Store(config.database)

    def show(online: int, last: str = EDITS[0]) -> None:
        extra = f"<p>Online now: {online}</p>\n"
        site.page("/statement", STATEMENT.format(extra=extra, last=last))

    show(57)
    run_check(config, store, config.targets)
    outcomes = []
    for online in (63, 71, 80, 95, 102):
        show(online)
        summary = run_check(config, store, config.targets)
        outcomes.append([item.event for item in summary.outcomes if item.purpose == "check"])
    # Three changes in a row (quiet: a counter scores low), then learned and ignored.
    assert outcomes == [["changed"], ["changed"], ["changed"], [None], [None]]
    page = store.page("statement")
    learned = [(line.kind, line.value) for line in store.volatile_lines(page.id) if line.learned]
    assert learned == [("signature", "Online now: #")]
    assert _notes(store, "statement") == [("learned", "observed")]
    # A real edit is still a change.
    show(110, EDITS[4])
    assert run_check(config, store, config.targets).events == {"changed": 1}

    runner = CliRunner()
    status = runner.invoke(main, ["status", "--db", config.database])
    assert "learned noise: 1 rule(s)" in status.output, status.output
    as_json = json.loads(runner.invoke(main, ["status", "--json", "--db", config.database]).output)
    assert as_json["targets"][0]["learned_noise_rules"] == 1
    history = runner.invoke(main, ["history", "statement", "--db", config.database])
    assert "learned" in history.output and "Online now: #" in history.output, history.output
    assert "[not alerted]" in history.output
    notes = json.loads(
        runner.invoke(main, ["history", "statement", "--json", "--db", config.database]).output
    )["pages"][0]["learning_notes"]
    assert [(n["note"], n["source"], n["alerted"]) for n in notes] == [
        ("learned", "observed", False)
    ]

    # Reset: forgotten, noted, and the page re-based on its last version.
    shown = runner.invoke(main, ["volatility", "statement", "--db", config.database])
    assert "the digits of “Online now: #”" in shown.output, shown.output
    reset = runner.invoke(main, ["volatility", "statement", "--reset", "--db", config.database])
    assert "forgot 1 learned rule(s)" in reset.output, reset.output
    assert store.volatile_lines(page.id) == []
    assert _notes(store, "statement") == [("learned", "observed"), ("forgotten", "user")]
    history = runner.invoke(main, ["history", "statement", "--db", config.database])
    assert "forgotten" in history.output and "reset" in history.output
    # The page as its last version was: unchanged under the built-in rules alone.
    show(110, EDITS[4])
    again = run_check(config, store, config.targets)
    assert [item.outcome for item in again.outcomes if item.purpose == "check"] == ["unchanged"]
    assert run_check(config, store, config.targets).unchanged == 1


def test_a_rotating_block_is_learned_and_a_new_sentence_there_alerts(
    site: LocalSite, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    tips = [
        "Tip: keep copies of your passport in a safe place.",
        "Tip: register your trip with the consular section.",
        "Tip: check the visa rules before you travel.",
    ]
    config = cfg.load(_config_file(tmp_path, site, receiver))
    store = Store(config.database)
    online = itertools.count(57, 7)

    def show(tip: str) -> None:
        extra = f"<p>Online now: {next(online)}</p>\n<h2>Did you know?</h2>\n<p>{tip}</p>\n"
        site.page("/statement", STATEMENT.format(extra=extra, last=EDITS[0]))

    show(tips[0])
    run_check(config, store, config.targets)
    events = []
    for tip in [tips[1], tips[2], tips[0], tips[1], tips[2], EDITS[4]]:
        show(tip)
        summary = run_check(config, store, config.targets)
        events.append(
            [(item.event, item.alert) for item in summary.outcomes if item.purpose == "check"]
        )
    assert events[:3] == [[("changed", True)], [("changed", True)], [("changed", True)]]
    # Rotating among the three tips (and the counter): learned, so nothing to report.
    assert events[3:5] == [[(None, True)], [(None, True)]]
    # A brand-new sentence in the learned block: a version and an alert.
    assert events[5] == [("changed", True)]
    page = store.page("statement")
    last = store.events(page.id)[-1]
    assert last.features["watch_terms"] == ["closed"]
    assert last.significance >= 0.5
    rules = {line.kind: line for line in store.volatile_lines(page.id) if line.learned}
    assert set(rules) == {"signature", "after"}
    assert sorted(rules["after"].samples["known"]) == sorted(tips)
    # The alerts queued with these events go out: the new sentence among them.
    path = tmp_path / "config.yaml"
    sent = CliRunner().invoke(main, ["notify", "send", "-c", str(path)])
    assert sent.exit_code == 0, sent.output
    payloads = [json.loads(request.body) for request in receiver.wait_for(4)]
    assert [p["event"] for p in payloads] == ["changed"] * 4
    assert EDITS[4] in payloads[-1]["diff"]["added"]


def test_a_change_of_extraction_rules_is_not_a_change_of_the_page(
    site: LocalSite, tmp_path: Path
) -> None:
    """New rules (a user's exclude here; a monitor release that extracts differently
    likewise) are applied to the last version's stored body too: only the page's own
    changes are reported."""
    page = ARTICLE.format(noise='<span class="widget">Rate this page: 4 stars</span>')
    site.page("/notice", page)
    database = f"sqlite:///{tmp_path / 'm.db'}"
    target = {"name": "notice", "url": site.url("/notice")}
    config = make_config(database, [target])
    store = Store(database)
    run_check(config, store, config.targets)
    # The user excludes the widget: same page, new rules, no event.
    excluded = make_config(database, [{**target, "exclude": ["css:.widget"]}])
    summary = run_check(excluded, store, excluded.targets)
    assert summary.events == {} and summary.unchanged == 1, summary.outcomes
    assert run_check(excluded, store, excluded.targets).events == {}
    # New rules and a real edit at once: the edit is reported.
    site.page("/notice", page.replace("two photographs", "three photographs"))
    strict = make_config(database, [{**target, "exclude": ["css:.widget", "css:.nothing"]}])
    assert run_check(strict, store, strict.targets).events == {"changed": 1}
