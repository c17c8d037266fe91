"""The first hour: `monitor config check`, `monitor add`, targets listed before their
first check, `monitor status` exit codes, `monitor run --log-format`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import yaml
from click.testing import CliRunner

from monitor.cli import main
from monitor.storage.models import DaemonLock, Page
from monitor.storage.store import Store
from monitor.timefmt import utcnow
from tests.sites import LocalSite

CONFIG = """\
# My monitor: embassies and ministries.
database: sqlite:///{db}

fetch:
  delay: 0            # local tests only
  obey_robots: false
  retries: 0
detect:
  probe_delay: 0.1

targets:
  # The ministry's statements, checked hourly.
  - name: statement
    url: {statement}
    tags: [ministry]
  - name: notice
    url: {notice}
    enabled: false

# Alerts come later.
"""


def _html(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head>"
        f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    )


def _write(tmp_path: Path, site: LocalSite) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        CONFIG.format(
            db=tmp_path / "m.db", statement=site.url("/statement"), notice=site.url("/notice")
        )
    )
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_config_check_prints_what_it_would_watch(site: LocalSite, tmp_path: Path) -> None:
    config = _write(tmp_path, site)
    code, output = _run("config", "check", "-c", str(config))
    assert code == 0, output
    assert "valid" in output and "targets: 2 (1 enabled)" in output
    assert "statement" in output and site.url("/statement") in output
    assert "disabled" in output
    assert not (tmp_path / "m.db").exists(), "config check opens no database"


def test_config_check_exits_2_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "targets:\n  - name: a\n    url: http://127.0.0.1/\n    schedule: {every: 5 parsecs}\n"
    )
    code, output = _run("config", "check", "-c", str(bad))
    assert code == 2
    assert "bad.yaml: targets[0].schedule.every:" in output and "not a duration" in output
    code, output = _run("config", "check", "-c", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such config file" in output


def test_targets_and_status_list_targets_never_checked(site: LocalSite, tmp_path: Path) -> None:
    config = _write(tmp_path, site)
    code, output = _run("targets", "-c", str(config))
    assert code == 0, output
    rows = {line.split()[0]: line for line in output.splitlines()[1:]}
    assert "never checked" in rows["statement"] and "paused" in rows["notice"]
    code, output = _run("targets", "-c", str(config), "--json")
    assert {t["name"]: t["status"] for t in json.loads(output)["targets"]} == {
        "notice": "paused",
        "statement": "never checked",
    }
    code, output = _run("status", "-c", str(config))
    assert "statement" in output and "never checked" in output
    assert code == 0, output  # nothing is wrong yet: no daemon has run


def test_status_exits_1_when_the_daemon_is_stopped_and_targets_are_overdue(
    site: LocalSite, tmp_path: Path
) -> None:
    site.page("/statement", _html("Statement", "The ministry denies the report."))
    config = _write(tmp_path, site)
    assert _run("check", "-c", str(config))[0] == 0
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    now = utcnow()
    with store.session() as session, session.begin():
        session.add(
            DaemonLock(
                id=1,
                holder="x",
                host="here",
                pid=1,
                started_at=now - timedelta(hours=3),
                heartbeat_at=now - timedelta(hours=2),
                state="stopped",
            )
        )
        for page in session.query(Page).all():
            page.next_due_at = now - timedelta(hours=1)
    store.close()
    code, output = _run("status", "-c", str(config))
    assert code == 1, output
    assert "daemon: stopped" in output
    assert "overdue and no daemon running" in output
    code, output = _run("status", "-c", str(config), "--json")
    assert code == 1 and json.loads(output)["needs_attention"] is True


def test_add_fetches_shows_and_appends_keeping_comments(site: LocalSite, tmp_path: Path) -> None:
    site.page(
        "/press/visa-rules",
        _html(
            "Visa rules",
            "Applicants bring their passport and two photographs to the consulate.",
            "The consular section answers on weekdays from 9.00 to 12.00.",
        ),
    )
    config = _write(tmp_path, site)
    before = config.read_text()
    url = site.url("/press/visa-rules")

    code, output = _run("add", url, "--tag", "consular", "--dry-run", "-c", str(config))
    assert code == 0, output
    assert "Visa rules" in output and "Applicants bring their passport" in output
    assert "noise found between two fetches" in output
    assert "dry run" in output and config.read_text() == before
    assert not (tmp_path / "m.db").exists(), "the trial fetch used a scratch database"

    code, output = _run("add", url, "--name", "visa-rules", "--tag", "consular", "-c", str(config))
    assert code == 0, output
    assert "added target 'visa-rules'" in output
    after = config.read_text()
    for comment in ("# My monitor", "# local tests only", "# The ministry's", "# Alerts come"):
        assert comment in after, comment
    assert after.startswith(before.split("# Alerts come later.")[0].rstrip("\n"))
    targets = yaml.safe_load(after)["targets"]
    assert targets[-1] == {"name": "visa-rules", "url": url, "tags": ["consular"]}
    assert _run("config", "check", "-c", str(config))[0] == 0

    code, output = _run("add", url, "-c", str(config))
    assert code == 2 and "already watches" in output


def test_add_refuses_a_page_that_cannot_be_read(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'm.db'}\nfetch: {{retries: 0}}\n")
    code, output = _run("add", "http://127.0.0.1:9/nothing", "-c", str(config))
    assert code == 1 and "could not be read" in output
    assert "targets" not in config.read_text()


def test_add_to_a_config_without_targets(site: LocalSite, tmp_path: Path) -> None:
    from monitor.cli.adding import insert_target

    assert insert_target("database: sqlite:///m.db\n", {"name": "a", "url": "http://x/"}) == (
        "database: sqlite:///m.db\ntargets:\n  - name: a\n    url: http://x/\n"
    )
    assert insert_target("targets: []  # none yet\nfetch: {}\n", {"name": "a", "url": "u"}) == (
        "targets:\n  - name: a\n    url: u\nfetch: {}\n"
    )
    flush_left = "targets:\n- name: b\n  url: v\n"
    assert insert_target(flush_left, {"name": "a", "url": "u"}).endswith("- name: a\n  url: u\n")


def test_run_takes_log_format_where_its_help_shows_it() -> None:
    code, output = _run("run", "--help")
    assert code == 0 and "--log-format" in output
    assert "monitor run -c config.yaml --log-format json" in output
