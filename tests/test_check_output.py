"""What `monitor check` says while it works and when it ends, against a real local site:
events as they are found, words a person understands, exit codes, and the progress line
and colours only on a terminal (never with NO_COLOR, never when piped)."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from click.testing import CliRunner

from monitor.cli import main
from tests.sites import LocalSite, Route

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _html(title: str, text: str) -> str:
    return (
        f"<html><head><title>{title}</title></head>"
        f"<body><main><h1>{title}</h1><p>{text}</p></main></body></html>"
    )


def _config(tmp_path: Path, targets: list[dict[str, str]]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'check.db'}",
                "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
                "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
                "targets": targets,
            }
        )
    )
    return path


def _check(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "-c", str(config), *args])
    return result.exit_code, result.output


def test_events_are_printed_with_a_one_line_diff(site: LocalSite, tmp_path: Path) -> None:
    site.page(
        "/visa", _html("Visa", "Visa applications are accepted on weekdays at the consulate.")
    )
    site.page("/notice", _html("Notice", "The consular section is open on Monday morning."))
    config = _config(
        tmp_path,
        [
            {"name": "visa", "url": site.url("/visa")},
            {"name": "notice", "url": site.url("/notice")},
        ],
    )
    code, output = _check(config)
    assert code == 0, output
    assert "checked 2: 0 unchanged, 0 new versions, 2 first captures, 0 errors" in output

    site.page("/visa", _html("Visa", "Visa applications are suspended at the consulate."))
    site.routes["/notice"] = Route(status=404, body=b"<html><title>Not Found</title></html>")
    code, output = _check(config)
    assert code == 0, output
    lines = output.splitlines()
    changed = next(i for i, line in enumerate(lines) if line.startswith("changed"))
    assert "visa" in lines[changed] and site.url("/visa") in lines[changed]
    assert re.search(r"changed\s+0\.\d\d\s+visa", lines[changed])
    assert "[-accepted on weekdays-]" in lines[changed + 1] or "{+suspended+}" in lines[changed + 1]
    removed = next(i for i, line in enumerate(lines) if line.startswith("removed"))
    assert "notice" in lines[removed]
    assert lines[removed + 1].strip().startswith("Removed: Notice")
    summary = lines[-1]
    assert "1 new versions" in summary and ", 1 removed" in summary
    assert "looking removed" not in output
    assert not ANSI_COLOUR.search(output), "no colour when not a terminal"
    assert "pages/s" not in output, "no progress bar when not a terminal"

    code, output = _check(config, "-l")
    assert code == 0
    listed = [line for line in output.splitlines() if site.url("/") in line]
    assert any(line.startswith("unchanged") for line in listed)
    assert any(line.startswith("still removed") for line in listed)
    for word in ("suspect", "gone", "new "):
        assert not any(line.startswith(word) for line in listed), word
    assert "1 still removed" in output.splitlines()[-1]


def test_exit_status_when_every_page_failed(site: LocalSite, tmp_path: Path) -> None:
    site.page("/visa", _html("Visa", "Visa applications are accepted on weekdays."))
    closed = "http://127.0.0.1:9/nothing-listens-here"
    all_fail = _config(tmp_path, [{"name": "dead", "url": closed}])
    code, output = _check(all_fail)
    assert code == 1, output
    assert "every page checked failed" in output

    (tmp_path / "check.db").unlink()
    some_fail = _config(
        tmp_path, [{"name": "dead", "url": closed}, {"name": "visa", "url": site.url("/visa")}]
    )
    code, output = _check(some_fail)
    assert code == 0, output
    assert "1 errors" in output


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the installed `monitor` with its output on a pseudo-terminal."""
    monitor = shutil.which("monitor")
    assert monitor is not None
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [monitor, *args], stdout=follower, stderr=follower, env=env, cwd=cwd, close_fds=True
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_and_colour_on_a_terminal_and_never_with_no_color(
    site: LocalSite, tmp_path: Path
) -> None:
    for number in range(6):
        site.page(f"/p{number}", _html(f"Page {number}", f"Statement number {number} stands."))
    config = _config(tmp_path, [{"name": f"p{n}", "url": site.url(f"/p{n}")} for n in range(6)])
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="120")
    first = _on_a_terminal(["check", "-c", str(config)], env, tmp_path)
    assert "checking" in first and "pages/s" in first, first
    assert "checked 6:" in first

    for number in range(6):
        site.page(f"/p{number}", _html(f"Page {number}", f"Statement number {number} fell."))
    coloured = _on_a_terminal(["check", "-c", str(config)], env, tmp_path)
    assert "\x1b[36m" in coloured, "changed events in cyan on a terminal"
    targets = _on_a_terminal(["targets", "-c", str(config)], env, tmp_path)
    assert ANSI_COLOUR.search(targets)

    plain = _on_a_terminal(["targets", "-c", str(config)], {**env, "NO_COLOR": "1"}, tmp_path)
    assert not ANSI_COLOUR.search(plain), plain
    site.page("/p0", _html("Page 0", "Statement number 0 was withdrawn."))
    quiet = _on_a_terminal(["check", "-c", str(config)], {**env, "NO_COLOR": "1"}, tmp_path)
    assert "changed" in quiet and not ANSI_COLOUR.search(quiet), quiet
