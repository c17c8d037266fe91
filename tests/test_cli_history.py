"""The history commands (targets, history, show, search, export json/csv, serve) through
click's CliRunner, on a history made by the real pipeline."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from monitor.cli import main
from tests.sites import LocalSite
from tests.test_web import HOSTILE_TITLE, History, build_history


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    site = LocalSite().start()
    path = tmp_path_factory.mktemp("cli") / "cli.db"
    history = build_history(site, f"sqlite:///{path}")
    try:
        yield history
    finally:
        history.store.close()
        site.stop()


def run(history: History, *args: str, color: bool = False) -> Result:
    result = CliRunner().invoke(main, [*args, "--db", history.database], color=color)
    return result


def test_targets_table_is_aligned(made: History) -> None:
    result = run(made, "targets")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:4] == ["TARGET", "STATUS", "PAGES", "VERSIONS"]
    column = header.index("STATUS")
    assert [row[column:].split()[0] for row in rows] == ["ok", "ok", "ok"]
    assert [row.split()[0] for row in rows] == ["hostile", "notice", "statement"]
    assert "restored" in rows[2] and "ministry,visa" in rows[2]
    assert "\x1b[" not in result.output  # no colours off a terminal


def test_colours_only_on_a_terminal(made: History) -> None:
    assert "\x1b[" in run(made, "targets", color=True).output
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_COLOR", "1")
        assert "\x1b[" not in run(made, "targets", color=True).output


def test_targets_json_and_filters(made: History) -> None:
    listed = json.loads(run(made, "targets", "--json").output)["targets"]
    assert [t["name"] for t in listed] == ["hostile", "notice", "statement"]
    assert listed[2]["versions"] == 3 and listed[2]["last_event"] == "restored"
    tagged = json.loads(run(made, "targets", "--tag", "consular", "--json").output)["targets"]
    assert [t["name"] for t in tagged] == ["hostile", "notice"]
    assert run(made, "targets", "--status", "failing").output.strip() == "no targets"


def test_history_rows(made: History) -> None:
    result = run(made, "history", "statement")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(made.site.url("/statement"))
    header = lines[1]
    assert header.split() == ["WHEN", "VERSION", "STATUS", "CONTENT", "EVENT", "SIG", "DETAILS"]
    rows = lines[2:]
    # The removal's row names the version in force (v2) and the 404 that showed it.
    assert [row.split()[2] for row in rows] == ["v1", "v2", "(v2)", "v3"]
    assert rows[2].split()[3] == "404"
    event = header.index("EVENT")
    assert [row[event:].split()[0] for row in rows] == ["first", "changed", "removed", "restored"]
    assert "[1 link(s) removed" in rows[1]
    assert "Removed: On visa applications (HTTP 404)" in rows[2]
    by_url = run(made, "history", made.site.url("/statement"))
    assert by_url.output == result.output


def test_history_since_until_and_json(made: History) -> None:
    versions = made.store.versions(made.pages["statement"])
    second = versions[1].captured_at.isoformat()
    later = run(made, "history", "statement", "--since", second, "--json")
    (page,) = json.loads(later.output)["pages"]
    assert [v["seq"] for v in page["versions"]] == [2, 3]
    assert [c["event"] for c in page["changes"]] == ["changed", "removed", "restored"]
    assert page["changes"][0]["significance"]["reasons"]
    earlier = run(made, "history", "statement", "--until", second, "--json")
    assert [v["seq"] for v in json.loads(earlier.output)["pages"][0]["versions"]] == [1]
    bad = run(made, "history", "statement", "--since", "last week")
    assert bad.exit_code == 1 and "is not a date or time" in bad.output


def test_show(made: History) -> None:
    latest = run(made, "show", "statement")
    assert latest.exit_code == 0, latest.output
    assert "v3 of 3 (latest)" in latest.output and "Wednesday" in latest.output
    first = run(made, "show", "statement", "1", "--text")
    assert first.output.startswith("On visa applications\n") and "Monday" in first.output
    assert "version" not in first.output.split("\n")[0]
    versions = made.store.versions(made.pages["statement"])
    second = versions[1].captured_at
    at = run(made, "show", "statement", "--at", second.isoformat(), "--text")
    assert "Tuesday" in at.output  # the version captured at that instant
    before = (second - timedelta(microseconds=1)).isoformat()
    assert "Monday" in run(made, "show", "statement", "--at", before, "--text").output
    day = run(made, "show", "statement", "--at", f"{second:%Y-%m-%d}", "--text")
    assert "Wednesday" in day.output  # a date: what the page said at the end of that day
    never = run(made, "show", "statement", "--at", "2000-01-01")
    assert never.exit_code == 1 and "had no version yet" in never.output
    missing = run(made, "show", "statement", "9")
    assert missing.exit_code == 1 and "has no version 9" in missing.output


def test_show_raw_headers_json(made: History) -> None:
    version = made.store.versions(made.pages["hostile"])[1]
    raw = CliRunner().invoke(main, ["show", "hostile", "2", "--raw", "--db", made.database])
    assert raw.stdout_bytes == made.store.body(version.body_sha256 or "")
    headers = run(made, "show", "hostile", "--headers")
    assert headers.output.startswith("HTTP/1.1 200\n")
    assert "content-type: text/html; charset=utf-8" in headers.output
    shown = json.loads(run(made, "show", "hostile", "--json").output)
    assert (
        shown["title"] == HOSTILE_TITLE and shown["capture"]["body_sha256"] == version.body_sha256
    )


def test_search(made: History) -> None:
    result = run(made, "search", "suspended")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("1 version of 1 page")
    assert lines[1].split() == ["TARGET", "VERSIONS", "LAST", "MATCH", "NOW", "TITLE"]
    assert lines[2].split()[:2] == ["statement", "v2"] and "no (v3)" in lines[2]
    assert "Applications are suspended." in lines[4]
    found = json.loads(run(made, "search", "visa", "applications", "--json").output)
    assert found["pages"][0]["target"] == "statement" and found["pages"][0]["versions"] == [1, 2, 3]
    assert (
        json.loads(run(made, "search", "visa", "--tag", "consular", "--json").output)["pages"] == []
    )
    bad = run(made, "search", "!?")
    assert bad.exit_code == 1 and "nothing to search for" in bad.output


def test_export_json_and_csv(
    made: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "statement.json"
    result = run(made, "export", "statement", "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote 3 versions of statement to {out}" in result.output
    document = json.loads(out.read_text())
    (page,) = document["pages"]
    assert [v["seq"] for v in page["versions"]] == [1, 2, 3]
    assert "Tuesday" in page["versions"][1]["text"]
    assert [c["event"] for c in page["changes"]] == ["changed", "removed", "restored"]

    as_csv = CliRunner().invoke(
        main, ["export", "hostile", "--format", "csv", "-o", "-", "--db", made.database]
    )
    assert as_csv.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [row["version"] for row in rows] == ["1", "2"]
    assert rows[1]["events"] == "changed" and rows[1]["title"] == HOSTILE_TITLE
    assert "<script>alert('text')</script>" in rows[1]["text"]
    assert "wrote 2 versions" in as_csv.stderr

    since = made.store.versions(made.pages["statement"])[2].captured_at.isoformat()
    monkeypatch.chdir(tmp_path)
    later = run(made, "export", "statement", "--format", "csv", "--since", since)
    assert later.exit_code == 0, later.output
    assert len(list(csv.DictReader(io.StringIO((tmp_path / "statement.csv").read_text())))) == 1


def test_serve_refuses_other_addresses_without_a_secret(made: History) -> None:
    result = run(made, "serve", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "MONITOR_WEB_TOKEN" in result.output and "MONITOR_WEB_PASSWORD" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_serves(made: History) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--port", str(port), "--db", made.database],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/targets") as answer:
                    names = [t["name"] for t in json.load(answer)["targets"]]
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert names == ["hostile", "notice", "statement"]
    finally:
        process.send_signal(signal.SIGINT)
        output, _errors = process.communicate(timeout=10)
    assert f"serving http://127.0.0.1:{port}/" in output.decode()


# --------------------------------------------------------------------------------------
# monitor diff: colour on a terminal only; HTML as a complete page

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _monitor_diff(made: History, *args: str, tty: bool, no_color: bool = False) -> str:
    """`monitor diff` as a person runs it: a new process, its output on a real pseudo
    terminal (``tty``) or a pipe."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    if no_color:
        env["NO_COLOR"] = "1"
    command = [sys.executable, "-m", "monitor", "diff", "statement", "1", "2", *args]
    command += ["--db", made.database]
    if not tty:
        done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=True)
        return done.stdout.decode()
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, env=env, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
        assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.parametrize("form", ["text", "words"])
def test_diff_is_coloured_on_a_terminal_only(made: History, form: str) -> None:
    on_terminal = _monitor_diff(made, "--format", form, tty=True)
    piped = _monitor_diff(made, "--format", form, tty=False)
    without = _monitor_diff(made, "--format", form, tty=True, no_color=True)
    assert "\x1b[" in on_terminal
    assert "\x1b[" not in piped and "\x1b[" not in without
    # The same words, only styled: strip the colours and it is what a pipe gets.
    assert ANSI.sub("", on_terminal) == piped == without
    if form == "text":
        assert "-The consular section accepts visa applications on Monday." in piped
        # The removed word stands out on red, the added one on green.
        assert click.style("Monday", fg="white", bg="red", bold=True) in on_terminal
        assert click.style("Tuesday", fg="black", bg="green", bold=True) in on_terminal
        assert click.style("@@", fg="cyan")[:-4] in on_terminal  # hunk headers in cyan
    else:
        assert "~ The consular section accepts visa applications on [-Monday-]{+Tuesday+}." in (
            piped
        )
    assert "links:\n- Visa application form <" in piped


def test_diff_text_is_the_unified_diff(made: History) -> None:
    from monitor.detect.differ import diff_versions

    versions = {v.seq: v for v in made.store.versions(made.pages["statement"])}
    a, b = versions[1], versions[2]
    labels = (
        f"v1 {a.captured_at:%Y-%m-%d %H:%M:%S}Z",
        f"v2 {b.captured_at:%Y-%m-%d %H:%M:%S}Z",
    )
    expected = diff_versions(a, b).text.unified(labels=labels)
    result = run(made, "diff", "statement", "1", "2")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.output.startswith(expected)


@pytest.mark.parametrize("form", ["html", "side-by-side"])
def test_diff_html_is_a_complete_page(made: History, form: str) -> None:
    from html.parser import HTMLParser

    result = run(made, "diff", "statement", "1", "2", "--format", form)
    assert result.exit_code == 0, result.output
    page = result.output
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and ".diff ins {" in page  # the stylesheet, in the page
    assert "table.diff-sbs col.num" in page
    assert "<del>Monday</del>" in page and "<ins>Tuesday</ins>" in page
    assert "<script" not in page and "<link" not in page  # nothing to load, nothing to run
    assert ('<table class="diff-sbs">' in page) == (form == "side-by-side")
    assert "Visa application form" in page  # the links diff

    class Balanced(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag not in ("meta", "col", "br"):
                self.open.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert self.open.pop() == tag

    checker = Balanced()
    checker.feed(page)
    assert checker.open == []
