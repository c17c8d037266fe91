"""Learning what changes on every visit: from the probe of a new page, and over captures."""

from __future__ import annotations

import itertools
from pathlib import Path

from click.testing import CliRunner

from monitor.check import run_check
from monitor.cli import main
from monitor.store import Store
from tests.conftest import make_config
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


def test_line_changing_every_capture_is_learned(site: LocalSite, tmp_path: Path) -> None:
    quotes = iter(
        [
            "Patience is bitter",
            "Knowledge is power",
            "Time heals wounds",
            "Silence is golden",
            "Fortune favours the bold",
            "Haste makes waste",
        ]
    )
    site.page("/notice", ARTICLE.format(noise=f"Quote of the day: {next(quotes)}"))
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "notice", "url": site.url("/notice")}]
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    events = []
    for quote in quotes:
        site.page("/notice", ARTICLE.format(noise=f"Quote of the day: {quote}"))
        summary = run_check(config, store, config.targets)
        events.append(sorted(summary.events))
    # Changed on each of 3 captures in a row (the default volatile_after): then learned.
    assert events[:3] == [["changed"], ["changed"], ["changed"]]
    assert events[3:] == [[], []]
    # A real edit elsewhere is still a change.
    site.page(
        "/notice",
        ARTICLE.format(noise="Quote of the day: Last one").replace(
            "two photographs", "three photographs"
        ),
    )
    assert run_check(config, store, config.targets).events == {"changed": 1}

    shown = CliRunner().invoke(main, ["volatility", "notice", "--db", config.database])
    assert "observed" in shown.output and "learned" in shown.output
    reset = CliRunner().invoke(main, ["volatility", "notice", "--reset", "--db", config.database])
    assert "forgot" in reset.output
    assert store.volatile_lines(store.page("notice").id) == []


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
