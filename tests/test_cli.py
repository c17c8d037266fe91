"""The command line, through click's CliRunner, against a real local site and database."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from monitor.cli import main
from tests.sites import LocalSite

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(
    "name,command", _commands(main), ids=lambda v: str(v) if isinstance(v, str) else ""
)
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    if not isinstance(command, click.Group):
        assert "Example: monitor" in (command.help or ""), f"{name} has no example"


@pytest.mark.parametrize(
    "name", [name for name, c in _commands(main) if not isinstance(c, click.Group)]
)
def test_every_command_is_in_the_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"monitor {name}" in readme, f"README does not document `monitor {name}`"


def _write_config(tmp_path: Path, site: LocalSite) -> Path:
    config = {
        "database": f"sqlite:///{tmp_path / 'cli.db'}",
        "fetch": {"delay": 0, "obey_robots": False, "retries": 0},
        "targets": [
            {"name": "statement", "url": site.url("/statement"), "tags": ["ministry"]},
            {"name": "notice", "url": site.url("/notice"), "tags": ["consular"]},
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _html(body: str) -> str:
    return f"<html><head><title>Statement</title></head><body><p>{body}</p></body></html>"


def test_check_history_diff(site: LocalSite, tmp_path: Path) -> None:
    site.page("/statement", _html("The ministry denies the report."))
    site.page("/notice", _html("Consular section closed on Monday."))
    config = str(_write_config(tmp_path, site))
    runner = CliRunner()

    first = runner.invoke(main, ["check", "-c", config])
    assert first.exit_code == 0, first.output
    assert "checked 2: 0 unchanged, 0 new versions, 2 first captures, 0 errors" in first.output

    site.page("/statement", _html("The ministry confirms the report."))
    second = runner.invoke(main, ["check", "-c", config, "--tag", "ministry"])
    assert "checked 1: 0 unchanged, 1 new versions" in second.output

    history = runner.invoke(main, ["history", "statement", "-c", config])
    assert history.exit_code == 0, history.output
    assert "v1" in history.output and "v2" in history.output

    by_url = runner.invoke(main, ["history", site.url("/notice"), "-c", config])
    assert "v1" in by_url.output and "v2" not in by_url.output

    diff = runner.invoke(main, ["diff", "statement", "-c", config])
    assert diff.exit_code == 0, diff.output
    assert "-The ministry denies the report." in diff.output
    assert "+The ministry confirms the report." in diff.output

    explicit = runner.invoke(main, ["diff", "statement", "1", "2", "-c", config])
    assert explicit.output == diff.output

    words = runner.invoke(main, ["diff", "statement", "--format", "words", "-c", config])
    assert "~ The ministry [-denies-]{+confirms+} the report." in words.output

    as_json = runner.invoke(main, ["diff", "statement", "--format", "json", "-c", config])
    payload = json.loads(as_json.output)
    assert payload["diff"]["stats"]["words_added"] == 1
    assert payload["diff"]["stats"]["words_removed"] == 1

    html = runner.invoke(main, ["diff", "statement", "--format", "side-by-side", "-c", config])
    assert "<del>denies</del>" in html.output and "<ins>confirms</ins>" in html.output

    missing = runner.invoke(main, ["diff", "statement", "1", "9", "-c", config])
    assert missing.exit_code == 1 and "has no version 9" in missing.output


def test_check_one_target_by_name(site: LocalSite, tmp_path: Path) -> None:
    site.page("/statement", _html("Text."))
    config = str(_write_config(tmp_path, site))
    result = CliRunner().invoke(main, ["check", "-c", config, "--target", "statement"])
    assert "checked 1:" in result.output


def test_check_exits_1_when_every_page_failed(site: LocalSite, tmp_path: Path) -> None:
    # Issue 14: a check where nothing worked is a failure for cron and scripts (it used
    # to exit 0); one page answering is enough for 0 (tests/test_check_output.py).
    config = str(_write_config(tmp_path, site))  # both pages 404, never seen before
    result = CliRunner().invoke(main, ["check", "-c", config])
    assert result.exit_code == 1
    assert "2 errors" in result.output and "every page checked failed" in result.output


def test_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("targets:\n  - name: a\n    url: not-a-url\n")
    result = CliRunner().invoke(main, ["check", "-c", str(path)])
    assert result.exit_code == 2
    assert "bad.yaml: targets[0].url: 'not-a-url' is not an absolute http:// or https:// URL" in (
        result.output
    )


def test_unknown_target(tmp_path: Path, site: LocalSite) -> None:
    config = str(_write_config(tmp_path, site))
    result = CliRunner().invoke(main, ["history", "nothing", "-c", config])
    assert result.exit_code == 1 and "no target or page matches 'nothing'" in result.output


def test_db_upgrade_creates_and_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade", "--db", url])
    assert first.exit_code == 0, first.output
    assert "upgraded from empty to" in first.output
    second = runner.invoke(main, ["db", "upgrade", "--db", url])
    assert "database is current" in second.output


@pytest.mark.slow
def test_demo_runs_the_real_pipeline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(main, ["demo", "--db", url])
    assert result.exit_code == 0, result.output
    assert "round 0: first check" in result.output
    assert "round 3: the site changed" in result.output
    assert "CHANGED" in result.output
    history = CliRunner().invoke(main, ["history", "statement-ru", "--db", url])
    assert "v2" in history.output


def test_status_and_volatility_as_json(site: LocalSite, tmp_path: Path) -> None:
    site.page("/statement", _html("Text."))
    config = str(_write_config(tmp_path, site))
    runner = CliRunner()
    runner.invoke(main, ["check", "-c", config])
    status = runner.invoke(main, ["status", "--json", "-c", config])
    document = json.loads(status.output)
    assert document["needs_attention"] is True  # /notice answers 404 on this site
    assert {t["name"] for t in document["targets"]} == {"statement", "notice"}
    volatility = runner.invoke(main, ["volatility", "statement", "--json", "-c", config])
    assert json.loads(volatility.output)[0]["url"] == site.url("/statement")
