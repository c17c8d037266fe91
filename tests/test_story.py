"""The story a page tells, end to end against a real local site: first capture, a change,
a removal (a 404; a redirect home), a restoration. The timeline puts every event on its
own row at its own time, `show` says a removed page is removed, `cite` bundles a removal
and a restoration that anyone can check with the bundle's own verify_bundle.py, and the
removal's alert carries the removed text."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from monitor import config as cfg
from monitor.check import run_check
from monitor.cli import main
from monitor.history import timeline
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.sites import LocalSite, Route

ROOT = Path(__file__).resolve().parents[1]


def _page(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body><main><h1>{title}</h1>{body}"
        "</main></body></html>"
    )


STATEMENT_V1 = _page(
    "Visa applications",
    "Visa applications are accepted on weekdays from 9.00 to 12.00 at the consulate.",
    "Applicants bring their passport, two photographs and the completed form.",
)
STATEMENT_V2 = _page(
    "Visa applications",
    "Visa applications are suspended until further notice at the consulate.",
    "Applicants bring their passport, two photographs and the completed form.",
)


@dataclass
class Story:
    site: LocalSite
    config: cfg.Config
    config_path: Path
    store: Store

    def check(self) -> None:
        run_check(self.config, self.store, self.config.targets)

    def cli(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, [*args, "-c", str(self.config_path)])
        return result.exit_code, result.output


@pytest.fixture
def story(site: LocalSite, tmp_path: Path) -> Iterator[Story]:
    site.page("/", _page("Embassy", "Welcome to the embassy's website and its consular news."))
    site.page("/consular/visa", STATEMENT_V1)
    targets = [{"name": "visa", "url": site.url("/consular/visa")}]
    database = f"sqlite:///{tmp_path / 'story.db'}"
    config = make_config(database, targets)
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "fetch": {"delay": 0, "obey_robots": False, "retries": 1, "timeout": 5},
                "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
                "targets": targets,
            }
        )
    )
    store = Store(database)
    try:
        yield Story(site, config, path, store)
    finally:
        store.close()


def _remove_and_restore(story: Story, removal: Route) -> None:
    story.check()  # v1
    story.site.page("/consular/visa", STATEMENT_V2)
    story.check()  # v2: changed
    story.site.routes["/consular/visa"] = removal
    story.check()  # removed (confirmed by a second fetch in the same run)
    story.site.page("/consular/visa", STATEMENT_V2)
    story.check()  # restored, same content as v2


def test_timeline_puts_every_event_on_its_own_row_in_order(story: Story) -> None:
    _remove_and_restore(story, Route(status=404, body=b"<html><title>Not Found</title></html>"))
    page = story.store.page("visa")
    line = timeline(story.store, page.id)
    oldest_first = list(reversed(line.entries))
    rows = [
        (entry.version.seq if entry.version else None, [e.kind for e in entry.events])
        for entry in oldest_first
    ]
    assert rows == [(1, []), (2, ["changed"]), (None, ["removed"]), (None, ["restored"])]
    times = [entry.when for entry in oldest_first]
    assert times == sorted(times) and len(set(times)) == 4
    removal, restoration = oldest_first[2], oldest_first[3]
    assert removal.in_force == 2 and removal.events[0].status == 404
    assert removal.events[0].capture_id is not None
    assert restoration.in_force == 2 and restoration.events[0].same_content is True
    # The restoration is at its own time, after the removal, not on v2's row.
    assert restoration.when > removal.when > oldest_first[1].when

    code, output = story.cli("history", "visa")
    assert code == 0, output
    lines = [row for row in output.splitlines() if row.startswith("  20")]
    kinds = [
        next(word for word in row.split() if word in ("restored", "removed", "changed", "first"))
        for row in lines
    ]
    assert kinds == ["first", "changed", "removed", "restored"], output  # oldest first
    assert "same content as before" in lines[3] and "(v2)" in lines[3]
    assert "404" in lines[2] and "capture" in lines[2]

    code, output = story.cli("history", "visa", "--json")
    changes = json.loads(output)["pages"][0]["changes"]
    assert [c["event"] for c in changes] == ["changed", "removed", "restored"]
    assert changes[1]["capture"]["status"] == 404
    assert changes[2]["same_content"] is True


def test_show_says_a_removed_page_is_removed_and_shows_the_capture(story: Story) -> None:
    story.check()
    story.site.routes["/consular/visa"] = Route(
        status=404, body=b"<html><title>Not Found</title></html>"
    )
    story.check()
    code, output = story.cli("show", "visa")
    assert code == 0, output
    assert output.startswith("REMOVED since ") and "HTTP 404" in output
    assert "Visa applications are accepted" in output  # the last version's text
    capture = output.split("--capture ")[1].split()[0]
    code, shown = story.cli("show", "visa", "--capture", capture)
    assert code == 0, shown
    assert "status     404" in shown and "Removed:" in shown
    code, raw = story.cli("show", "visa", "--capture", capture, "--raw")
    assert raw == "<html><title>Not Found</title></html>"
    code, data = story.cli("show", "visa", "--json")
    assert json.loads(data)["removed"]["event"] == "removed"


def _verify(bundle: Path) -> subprocess.CompletedProcess[str]:
    """The bundle's own copy of verify_bundle.py, run away from the checkout."""
    return subprocess.run(
        [sys.executable, str(bundle / "verify_bundle.py"), str(bundle)],
        capture_output=True,
        text=True,
        check=False,
        cwd=bundle.parent,
    )


def test_cite_a_removal_by_redirect_and_its_restoration(story: Story, tmp_path: Path) -> None:
    _remove_and_restore(
        story, Route(status=302, body=b"", headers={"Location": story.site.url("/")})
    )
    removal = tmp_path / "removal"
    code, output = story.cli("cite", "visa", "--event", "removed", "-o", str(removal))
    assert code == 0, output
    checked = _verify(removal)
    assert checked.returncode == 0, checked.stdout
    assert "all checks passed" in checked.stdout
    manifest = json.loads((removal / "manifest.json").read_text())
    assert manifest["change"]["kind"] == "removed"
    before, gone = manifest["captures"]
    assert (before["role"], before["version"], before["http_status"]) == ("before", 2, 200)
    assert gone["role"] == "removal" and gone["version"] is None
    assert gone["http_status"] == 200 and gone["url"] == story.site.url("/")
    assert gone["redirects"] == [{"url": story.site.url("/consular/visa"), "status": 302}]
    assert gone["http_headers"]["content-type"].startswith("text/html")
    assert b"Welcome to the embassy" in (removal / gone["body_file"]).read_bytes()
    document = (removal / "diff.html").read_text()
    assert "Removal of" in document and "suspended until further notice" in document
    assert (removal / "verify_bundle.py").read_bytes() == (
        ROOT / "scripts" / "verify_bundle.py"
    ).read_bytes()

    restoration = tmp_path / "restoration.zip"
    code, output = story.cli("cite", "visa", "--event", "restored", "--zip", "-o", str(restoration))
    assert code == 0, output
    import zipfile

    with zipfile.ZipFile(restoration) as bundle:
        bundle.extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped" / "restoration"
    assert _verify(folder).returncode == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["change"]["kind"] == "restored" and manifest["change"]["same_content"]
    assert [c["role"] for c in manifest["captures"]] == ["before", "removal", "restoration"]


def test_a_tampered_removal_bundle_fails_its_own_check(story: Story, tmp_path: Path) -> None:
    _remove_and_restore(story, Route(status=404, body=b"<html><title>Not Found</title></html>"))
    bundle = tmp_path / "removal"
    assert story.cli("cite", "visa", "--event", "removed", "-o", str(bundle))[0] == 0
    body = next((bundle / "bodies").glob("removal-*"))
    body.write_bytes(b"<html>all fine here</html>")
    checked = _verify(bundle)
    assert checked.returncode == 1 and "FAIL" in checked.stdout


def test_cite_event_refuses_what_is_not_there(story: Story, tmp_path: Path) -> None:
    story.check()
    code, output = story.cli("cite", "visa", "--event", "removed", "-o", str(tmp_path / "x"))
    assert code == 1 and "has no 'removed' event" in output
    code, output = story.cli("cite", "visa", "-o", str(tmp_path / "x"))
    assert code == 2 and "FROM and TO" in output


def test_the_removal_alert_carries_the_removed_text(story: Story) -> None:
    from monitor.notify.payload import build
    from monitor.storage.models import Change

    _remove_and_restore(story, Route(status=404, body=b"<html><title>Not Found</title></html>"))
    with story.store.session() as session:
        removed = session.query(Change).filter_by(kind="removed").one()
        payload = build(session, removed)
        restored = build(session, session.query(Change).filter_by(kind="restored").one())
    assert payload["diff"]["removed"].splitlines()[:2] == [
        "Visa applications",
        "Visa applications",
    ] or payload["diff"]["removed"].startswith("Visa applications\n")
    assert "suspended until further notice" in payload["diff"]["removed"]
    assert payload["from_version"]["seq"] == 2
    assert restored["significance"]["features"]["same_content"] is True


def test_the_bundled_verifier_is_the_scripts_copy() -> None:
    packaged = ROOT / "monitor" / "evidence" / "verify_bundle.py"
    assert packaged.read_bytes() == (ROOT / "scripts" / "verify_bundle.py").read_bytes()


def test_a_restoration_alert_says_when_and_that_the_content_is_the_same(story: Story) -> None:
    """The restore alert names its own time and says the content is the pre-removal
    version, instead of a meaningless "From v2 To v2"."""
    from sqlalchemy import select

    from monitor.notify import payload, render
    from monitor.storage.models import Change

    _remove_and_restore(story, Route(status=404, body=b"<html><title>Not Found</title></html>"))
    with story.store.session() as session:
        change = session.scalars(select(Change).where(Change.kind == "restored")).one()
        event = payload.build(session, change)
    message = render.render("mail", None, [event], digest=False)
    assert "From version" not in message["text"] and "To version" not in message["text"]
    assert "Restored:" in message["text"]
    assert "with the same content as before the removal (v2" in message["text"]
    assert ">From<" not in message["html"] and ">To<" not in message["html"]
    assert "with the same content as before the removal (v2" in message["html"]
