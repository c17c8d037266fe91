"""The one read model: `monitor status` and `monitor targets` give the same answer.

Both read :func:`monitor.history.targets.target_rows`; a listing with one article failing
(HTTP 500, once) and another removed (404, found again at every check) is counted the
same way by both: the removed page is removed, not failing, and its 404s are not
failures of the target (``monitor status`` used to count them).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from tests.conftest import make_config
from tests.sites import LocalSite, Route
from tests.test_listings import Articles, Listing, check, listing_target


def _json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    document: dict[str, object] = json.loads(result.output)
    return document


def test_status_and_targets_count_failures_alike(
    site: LocalSite, database_url: str, tmp_path: Path
) -> None:
    articles = Articles(site)
    for number in (1, 2, 3):
        articles.publish(number)
    news = Listing(site, "/news/", [3, 2, 1])
    config = make_config(database_url, [listing_target("news", news)])
    check(config, database_url)

    articles.remove(1)  # still listed, gone from the site: removed once confirmed
    for _round in range(3):
        check(config, database_url)  # each check finds it gone again
    site.routes[articles.path(2)] = Route(status=500, body=b"<html>Internal error</html>")
    check(config, database_url)

    missing = str(tmp_path / "no-config.yaml")
    status = _json("status", "--json", "-c", missing, "--db", database_url)
    targets = _json("targets", "--json", "-c", missing, "--db", database_url)
    (listed,) = targets["targets"]  # type: ignore[misc]
    (reported,) = status["targets"]  # type: ignore[misc]
    assert listed["removed_pages"] == reported["removed"] == 1
    assert listed["failing_pages"] == reported["failing"] == 1
    # The failing page's one failure; the removed page's 404s are not failures of it.
    assert listed["consecutive_failures"] == reported["failures"] == 1
    assert listed["pages"] == reported["pages"] == 4
    assert listed["last_checked_at"] == reported["last_checked"]
    assert listed["last_change_at"] == reported["last_change"]
    assert listed["status"] == "failing"


def test_diff_excerpt_keeps_the_first_stretches_and_cuts_long_lines() -> None:
    from monitor.detect.differ import diff_text
    from monitor.history import diff_excerpt

    filler = "unchanged words " * 40  # 640 characters around each edit
    before = "\n".join(f"{filler}line {n} says yes.{filler}" for n in range(100))
    after = "\n".join(
        f"{filler}line {n} says {'no' if n % 2 else 'yes'}.{filler}" for n in range(100)
    )
    pieces, left_out = diff_excerpt(diff_text(before, after), changed_lines=10, chars=50)
    changed = [line for piece in pieces for line in piece.lines if line.op != "equal"]
    assert len(changed) == 10 and left_out == 40  # 50 lines changed: 10 shown
    edited = changed[0]
    assert [s.op for s in edited.segments] == ["equal", "delete", "insert", "equal"]
    first, *_, last = edited.segments
    assert first.text.startswith("…") and len(first.text) == 51  # cut to 50 before the edit
    assert last.text.endswith("…") and len(last.text) == 51
    assert "<del>yes</del><ins>no</ins>" in pieces[0].inline_html()
    assert diff_excerpt(diff_text("a", "a")) == ([], 0)


def test_natural_key_orders_numbers_by_value() -> None:
    import doctest

    from monitor.history import natural_key, targets

    assert sorted(["bulletin-10", "bulletin-2", "bulletin-1"], key=natural_key) == [
        "bulletin-1",
        "bulletin-2",
        "bulletin-10",
    ]
    assert doctest.testmod(targets).failed == 0
