"""Faults and hostile inputs, tried from the outside (issue 17, items 11-15): the installed
``monitor`` command in a new process, against real local HTTP servers on 127.0.0.x.

* redirects and meta refreshes from a public address into a private one are refused;
* a catastrophic ``ignore`` regex neither hangs ``monitor check`` nor passes unnoticed;
* config problems are found at load and name their key;
* one-line errors: a newer database, a database folder that cannot be made, numbers
  past the database's integers on the command line and in web routes;
* a read-only database can still be read.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

MONITOR = str(Path(sys.executable).parent / "monitor")


def monitor(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """The installed command, run as a person runs it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    environment["NO_COLOR"] = "1"
    environment.update(env or {})
    return subprocess.run(
        [MONITOR, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed: no traceback, one line saying what."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1, done.stderr
    return errors[0]


class Site:
    """An HTTP server on one loopback address whose answers a test sets by path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.hits.append(self.path)
                status, headers, body = site.routes.get(
                    self.path, (404, {}, b"<html><title>Not Found</title></html>")
                )
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.server.server_port}{path}"

    def page(self, path: str, html: str, status: int = 200, **headers: str) -> None:
        self.routes[path] = (status, headers, html.encode())

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.routes[path] = (status, {"Location": location}, b"")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.stop()


def write_config(folder: Path, targets: list[dict[str, Any]], **sections: Any) -> Path:
    config = {
        "database": f"sqlite:///{folder / 'monitor.db'}",
        "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
        "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
        "targets": targets,
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


ARTICLE = "<html><head><title>Statement</title></head><body><main>{}</main></body></html>"


def statement(*paragraphs: str) -> str:
    return ARTICLE.format("".join(f"<p>{p}</p>" for p in paragraphs))


# --------------------------------------------------------------------------------------
# item 14: one-line errors


HUGE = "99999999999999999999"


def checked_once(tmp_path: Path, site: Site) -> Path:
    site.page("/s", statement("The embassy is open from nine to five on weekdays."))
    config = write_config(tmp_path, [{"name": "T", "url": site.url("/s")}])
    done = monitor("check", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return config


def test_huge_numbers_on_the_command_line_are_one_line_errors(tmp_path: Path, site: Site) -> None:
    config = checked_once(tmp_path, site)
    for args in (
        ("show", "T", HUGE),
        ("show", "T", "--capture", HUGE),
        ("diff", "T", "1", HUGE),
        ("cite", "T", "1", HUGE, "-o", str(tmp_path / "bundle")),
        ("notify", "retry", HUGE),
    ):
        done = monitor(*args, "-c", str(config), cwd=tmp_path)
        assert "too large" in one_line_error(done), args
    # A number that fits but names nothing is a plain "not found", not a crash.
    done = monitor("show", "T", "9223372036854775807", "-c", str(config), cwd=tmp_path)
    assert "Traceback" not in done.stderr and done.returncode != 0


def test_a_database_from_a_newer_monitor_is_named(tmp_path: Path, site: Site) -> None:
    config = checked_once(tmp_path, site)
    with sqlite3.connect(tmp_path / "monitor.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    for args in (("history", "T"), ("check",), ("db", "upgrade"), ("status",)):
        line = one_line_error(monitor(*args, "-c", str(config), cwd=tmp_path))
        assert "this database was written by a newer monitor: revision 0099; upgrade monitor" in (
            line
        ), args


def test_a_database_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = write_config(
        tmp_path,
        [{"name": "T", "url": "http://127.0.0.1:9/"}],
        database=f"sqlite:///{blocker / 'sub' / 'monitor.db'}",
    )
    for args in (("search", "embassy"), ("check",), ("targets",)):
        line = one_line_error(monitor(*args, "-c", str(config), cwd=tmp_path))
        assert "cannot create the folder of the database" in line, args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_huge_ids_in_web_routes_are_404(tmp_path: Path, site: Site) -> None:
    config = checked_once(tmp_path, site)
    port = free_port()
    server = subprocess.Popen(
        [MONITOR, "serve", "--port", str(port), "-c", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = get(base + "/pages/1")
                break
            except OSError:
                assert time.monotonic() < deadline, "monitor serve did not start"
                time.sleep(0.2)
        assert status == 200
        for path in (
            f"/pages/{HUGE}",
            f"/api/pages/{HUGE}",
            f"/api/pages/{HUGE}/versions",
            f"/pages/1/versions/{HUGE}",
            f"/pages/1/diff/1/{HUGE}",
            f"/api/pages/1/versions/{HUGE}",
        ):
            status, _ = get(base + path)
            assert status == 404, path
        status, body = get(base + f"/api/changes?page_id={HUGE}")
        assert status == 400 and b"page_id" in body
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "OverflowError" not in errors and "Traceback" not in errors, errors


# --------------------------------------------------------------------------------------
# item 11: redirects and meta refreshes into private addresses

SECRET = "INTERNAL SECRET admin-password=hunter2, for the whole office network."


@pytest.fixture
def internet() -> Iterator[tuple[Site, Site]]:
    """A "public" site on 127.0.0.2 (the config counts 127.0.0.2/32 as public, standing
    for the internet) and an internal service on 127.0.0.1 (loopback: private)."""
    public, internal = Site("127.0.0.2"), Site("127.0.0.1")
    yield public, internal
    public.stop()
    internal.stop()


def test_redirects_from_public_into_private_addresses_are_refused(
    tmp_path: Path, internet: tuple[Site, Site]
) -> None:
    public, internal = internet
    internal.page("/admin", statement(SECRET))
    internal.redirect("/old", internal.url("/admin"), status=302)
    public.redirect("/statement", internal.url("/admin"))
    public.redirect("/moved", public.url("/hop"), status=302)
    public.redirect("/hop", internal.url("/admin"), status=307)
    public.page(
        "/refresh",
        '<html><head><title>Moved</title><meta http-equiv="refresh" content="0; url='
        + internal.url("/admin")
        + '"></head><body><main><p>This statement has moved to a new address.</p>'
        "</main></body></html>",
    )
    public.redirect("/allowed", internal.url("/admin"))
    config = write_config(
        tmp_path,
        [
            {"name": "redirected", "url": public.url("/statement")},
            {"name": "two-hops", "url": public.url("/moved")},
            {"name": "refresh", "url": public.url("/refresh")},
            # Asked for explicitly: a target allowed into private addresses ...
            {"name": "allowed", "url": public.url("/allowed"), "allow_private": True},
            # ... and a target whose own URL is private (an intranet page).
            {"name": "intranet", "url": internal.url("/old")},
        ],
        fetch={"public_networks": ["127.0.0.2/32"]},
    )
    done = monitor("check", "-c", str(config), cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    # The refused hops never reached the internal service: only the two allowed did
    # (each fetched twice: a new page is probed).
    assert sorted(set(internal.hits)) == ["/admin", "/old"]
    assert internal.hits.count("/admin") == 4, internal.hits

    with sqlite3.connect(tmp_path / "monitor.db") as connection:
        captures = dict(
            connection.execute(
                "SELECT targets.name, captures.id FROM captures JOIN pages ON pages.id ="
                " captures.page_id JOIN targets ON targets.id = pages.target_id"
            ).fetchall()
        )
    for name in ("redirected", "two-hops"):
        capture = str(captures[name])
        shown = monitor("show", name, "--capture", capture, "-c", str(config), cwd=tmp_path)
        assert "refused to follow a redirect" in shown.stdout, shown.stdout
        assert "loopback address (127.0.0.1)" in shown.stdout
        assert "allow_private" in shown.stdout
        # An error, never a removal, and no version.
        history = monitor("history", name, "--json", "-c", str(config), cwd=tmp_path)
        assert "removed" not in history.stdout and "hunter2" not in history.stdout
    # The meta refresh into the internal service is not followed: the page as served.
    refresh = monitor("show", "refresh", "--text", "-c", str(config), cwd=tmp_path)
    assert "moved to a new address" in refresh.stdout and "hunter2" not in refresh.stdout
    # What was asked for explicitly is followed.
    for name in ("allowed", "intranet"):
        shown = monitor("show", name, "--text", "-c", str(config), cwd=tmp_path)
        assert "hunter2" in shown.stdout, (name, shown.stdout, shown.stderr)
    found = monitor("search", "hunter2", "-c", str(config), cwd=tmp_path)
    assert "redirected" not in found.stdout and "two-hops" not in found.stdout


def test_the_guard_is_on_by_default_and_off_when_asked(
    tmp_path: Path, internet: tuple[Site, Site]
) -> None:
    public, internal = internet
    internal.page("/admin", statement(SECRET))
    public.redirect("/statement", internal.url("/admin"))
    targets = [{"name": "T", "url": public.url("/statement")}]
    fetch = {"public_networks": ["127.0.0.2/32"], "allow_private": True}
    config = write_config(tmp_path, targets, fetch=fetch)
    monitor("check", "-c", str(config), cwd=tmp_path)
    assert "/admin" in internal.hits
    shown = monitor("show", "T", "--text", "-c", str(config), cwd=tmp_path)
    assert "hunter2" in shown.stdout


# --------------------------------------------------------------------------------------
# item 12: catastrophic user regexes


def test_a_catastrophic_regex_is_a_config_problem_naming_it(tmp_path: Path) -> None:
    target = {"name": "T", "url": "http://127.0.0.1:9/", "ignore": ["Views: \\d+"]}
    for targets, defaults, key in (
        ([target], {"ignore": ["(a|aa)+$"]}, "defaults.ignore"),
        ([{**target, "ignore": ["ok", "(\\w|\\w\\w)+$"]}], {}, "targets[0].ignore"),
        ([{**target, "follow": {"pattern": "(a|aa)+$"}}], {}, "targets[0].follow.pattern"),
    ):
        config = write_config(tmp_path, targets, defaults=defaults)
        started = time.monotonic()
        done = monitor("check", "-c", str(config), cwd=tmp_path)
        line = one_line_error(done)
        assert done.returncode == 2 and key in line and "catastrophic" in line, line
        assert time.monotonic() - started < 60


def test_a_regex_that_runs_too_long_on_a_page_is_named_and_the_check_goes_on(
    tmp_path: Path, site: Site
) -> None:
    # (a+)+$, which hung `monitor check` with Python's re, is harmless here.
    site.page("/a", statement("Consular hours changed today.", "a" * 40 + "b"))
    # A pattern that passes the checks at load but explodes on this page's long line.
    site.page("/x", statement("Visa rules for students.", "x" * 1500))
    site.page("/ok", statement("The embassy is open from nine to five."))
    config = write_config(
        tmp_path,
        [
            {"name": "nested", "url": site.url("/a"), "ignore": ["(a+)+$"]},
            {"name": "exploding", "url": site.url("/x"), "ignore": ["(x+x+)+y"]},
            {"name": "plain", "url": site.url("/ok")},
        ],
    )
    done = monitor("check", "-c", str(config), cwd=tmp_path, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert "(x+x+)+y" in done.stderr and "rewrite it" in done.stderr, done.stderr
    nested = monitor("show", "nested", "--text", "-c", str(config), cwd=tmp_path)
    assert "Consular hours changed today." in nested.stdout
    assert "a" * 40 + "b" in nested.stdout  # not matched (no final "a"): kept, and fast
    plain = monitor("show", "plain", "--text", "-c", str(config), cwd=tmp_path)
    assert "open from nine to five" in plain.stdout
    with sqlite3.connect(tmp_path / "monitor.db") as connection:
        notes = [
            row[0]
            for row in connection.execute(
                "SELECT captures.note FROM captures JOIN pages ON pages.id = captures.page_id"
                " WHERE pages.url LIKE '%/x'"
            )
        ]
    assert notes and all("(x+x+)+y" in note and "target problem" in note for note in notes), notes


# --------------------------------------------------------------------------------------
# item 13: config problems found at load, with the key named


def test_config_problems_are_found_at_load_naming_the_key(tmp_path: Path) -> None:
    target = {"name": "T", "url": "http://127.0.0.1:9/"}
    hook = {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret_env": "FI_HOOK_SECRET"}
    mail = {
        "type": "email",
        "host": "127.0.0.1",
        "from": "monitor@example.org",
        "to": ["desk@example.org"],
        "password_env": "FI_SMTP_PASSWORD",
    }
    cases = [
        ({"targets": [target], "defaults": {"ignore": ["(unclosed"]}}, "defaults.ignore"),
        ({"targets": [{**target, "name": "n" * 201}]}, "targets[0].name"),
        ({"targets": [target], "channels": {"hook": hook}}, "channels.hook.secret_env"),
        ({"targets": [target], "channels": {"mail": mail}}, "channels.mail.password_env"),
    ]
    for sections, key in cases:
        config = write_config(tmp_path, **sections)
        for command in (("check",), ("config", "check")):
            done = monitor(*command, "-c", str(config), cwd=tmp_path)
            line = one_line_error(done)
            assert done.returncode == 2 and key in line, (command, line)
    # Set, the variable is fine.
    config = write_config(tmp_path, targets=[target], channels={"hook": hook})
    done = monitor("config", "check", "-c", str(config), cwd=tmp_path, env={"FI_HOOK_SECRET": "s"})
    assert done.returncode == 0, done.stderr
    # The longest name the database holds is accepted, and stored.
    config = write_config(tmp_path, targets=[{**target, "name": "n" * 200}])
    done = monitor("targets", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0 and "n" * 200 in done.stdout, done.stderr


def test_the_name_limit_is_the_database_column() -> None:
    from monitor.config.base import MAX_NAME_LENGTH
    from monitor.storage.models import Delivery, Target

    assert Target.__table__.c.name.type.length == MAX_NAME_LENGTH
    assert Delivery.__table__.c.channel.type.length == MAX_NAME_LENGTH


# --------------------------------------------------------------------------------------
# item 15: a read-only database can still be read


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a writable folder, the same folder read-only): a read-only bind mount as root
    (permissions do not stop root), the folder and its files made read-only otherwise."""
    writable = tmp_path / "data"
    writable.mkdir()
    if os.geteuid() != 0:
        yield writable, writable
        for path in (writable, *writable.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        return
    view = tmp_path / "read-only"
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(writable), str(view)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"running as root without mount rights: {mounted.stderr!r}")
    try:
        remounted = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(view)], capture_output=True
        )
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remounted.stderr!r}")
        yield writable, view
    finally:
        subprocess.run(["umount", str(view)], capture_output=True)


def test_a_read_only_database_can_still_be_read(
    tmp_path: Path, site: Site, read_only_folder: tuple[Path, Path]
) -> None:
    writable, view = read_only_folder
    site.page("/s", statement("The embassy is open from nine to five on weekdays."))
    targets = [{"name": "T", "url": site.url("/s")}]
    config = write_config(tmp_path, targets, database=f"sqlite:///{writable / 'monitor.db'}")
    assert monitor("check", "-c", str(config), cwd=tmp_path).returncode == 0
    site.page("/s", statement("The embassy is closed until further notice."))
    assert monitor("check", "-c", str(config), cwd=tmp_path).returncode == 0
    if view == writable:  # not root: the folder and the file lose their write permission
        for path in (*writable.iterdir(), writable):
            path.chmod(0o555 if path.is_dir() else 0o444)
    config = write_config(tmp_path, targets, database=f"sqlite:///{view / 'monitor.db'}")
    before = sorted(p.name for p in view.iterdir())
    for args, expected in (
        (("history", "T"), "v2"),
        (("show", "T"), "closed until further notice"),
        (("diff", "T", "1", "2"), "closed"),
        (("search", "embassy"), "T"),
        (("targets",), "T"),
        (("status",), "T"),
    ):
        done = monitor(*args, "-c", str(config), cwd=tmp_path)
        assert done.returncode == 0 and expected in done.stdout, (args, done.stderr)
    for args in (("check",), ("db", "upgrade"), ("notify", "retry"), ("run",)):
        line = one_line_error(monitor(*args, "-c", str(config), cwd=tmp_path, timeout=60))
        assert "is read-only" in line and "history, show, diff, search" in line, (args, line)
    port = free_port()
    server = subprocess.Popen(
        [MONITOR, "serve", "--port", str(port), "-c", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/pages/1")
                break
            except OSError:
                assert time.monotonic() - deadline < 0, "monitor serve did not start"
                time.sleep(0.2)
        assert status == 200 and site.url("/s").encode() in body
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert sorted(p.name for p in view.iterdir()) == before  # nothing written
