"""Storage behaviour, identical on SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import event, select, text

from monitor import config as cfg
from monitor.check.record import record
from monitor.detect.extract import Rules
from monitor.detect.observe import ProcessRules, observe
from monitor.exceptions import StorageError
from monitor.records import FetchResult, PageKey
from monitor.storage import db
from monitor.storage.models import Blob, Capture, Change, Page
from monitor.storage.store import Store

RULES = ProcessRules(extract=Rules())


def _target(name: str = "embassy", url: str = "https://embassy.example/statement") -> cfg.Target:
    return cfg.parse({"targets": [{"name": name, "url": url}]}).targets[0]


def _fetch(url: str, body: str, *, target: str = "embassy", status: int = 200) -> FetchResult:
    return FetchResult(
        key=PageKey(target, url),
        role="page",
        requested_url=url,
        started_at=datetime.now(UTC),
        duration_ms=12.5,
        final_url=url,
        status=status,
        headers={"content-type": "text/html; charset=utf-8", "etag": '"abc"'},
        body=body.encode("utf-8"),
    )


def _page(text: str) -> str:
    return f"<html><head><title>Statement</title></head><body><p>{text}</p></body></html>"


def _record(store: Store, target: cfg.Target, body: str, status: int = 200):  # type: ignore[no-untyped-def]
    ids = store.sync_targets([target])
    states = store.states(ids.values())
    fetch = _fetch(target.url, body, target=target.name, status=status)
    state = states[PageKey(target.name, target.url)]
    return record(store, [observe(fetch, RULES, state)], states)[0]


def test_new_database_is_at_head(store: Store) -> None:
    assert db.current_revision(store.engine) == db.head_revision(store.engine)


def test_schema_revision_constant_is_the_head(store: Store) -> None:
    assert db.head_revision(store.engine) == db.SCHEMA_REVISION


def test_models_and_migrations_agree(store: Store) -> None:
    """`alembic check`: autogenerate finds nothing to add on a database at head."""
    command.check(db.alembic_config(store.engine))


def test_migration_0007_unlearns_blocks_that_knew_no_lines(database_url: str) -> None:
    """Blocks learned before 0007 could hide any text (issue 17 item 1): candidates again.
    Learned digit signatures cannot hide words and stay learned."""
    engine = db.create(database_url)
    try:
        db.upgrade(engine, "0005")
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO targets (id, name, kind, url, tags, active, created_at,"
                    " updated_at) VALUES (1, 'old', 'page', 'https://e.example/', '[]', true,"
                    " :now, :now)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO pages (id, target_id, url, role, state, created_at,"
                    " consecutive_failures, removal_pending) VALUES (1, 1, 'https://e.example/',"
                    " 'page', 'active', :now, 0, false)"
                ),
                {"now": now},
            )
            for kind, value in (("after", "Statement\x1f<end>"), ("signature", "Online: #")):
                connection.execute(
                    text(
                        "INSERT INTO volatile_lines (page_id, kind, value, lines, source, streak,"
                        " learned, created_at, updated_at) VALUES (1, :kind, :value, 0,"
                        " 'observed', 3, true, :now, :now)"
                    ),
                    {"kind": kind, "value": value, "now": now},
                )
        db.upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT kind, learned, streak, samples FROM volatile_lines ORDER BY kind")
            ).all()
            notes = connection.execute(text("SELECT count(*) FROM learning_notes")).scalar()
        assert [
            (kind, bool(learned), streak, samples) for kind, learned, streak, samples in rows
        ] == [
            ("after", False, 0, None),
            ("signature", True, 3, None),
        ]
        assert notes == 0
    finally:
        engine.dispose()


def test_first_capture_is_version_one_with_body(store: Store) -> None:
    target = _target()
    body = _page("We stand by our statement.")
    recorded = _record(store, target, body)
    assert (recorded.outcome, recorded.version_seq) == ("new", 1)
    with store.session() as session:
        capture = session.get(Capture, recorded.capture_id)
        assert capture is not None
        assert capture.body_sha256 == hashlib.sha256(body.encode()).hexdigest()
        assert capture.body_stored and capture.status == 200
        assert capture.headers["etag"] == '"abc"'
        assert capture.started_at.tzinfo is not None
    assert store.body(hashlib.sha256(body.encode()).hexdigest()) == body.encode()


def test_unchanged_check_costs_one_capture_and_no_body(store: Store) -> None:
    target = _target()
    _record(store, target, _page("Same words."))
    before = store.counts()
    # Different bytes (a comment), same content: no version, no new body.
    recorded = _record(store, target, _page("Same words.") + "<!-- cache 123 -->")
    after = store.counts()
    assert recorded.outcome == "unchanged"
    assert after["captures"] == before["captures"] + 1
    assert after["blobs"] == before["blobs"]
    assert after["versions"] == before["versions"]


def test_edit_makes_new_version_and_change(store: Store) -> None:
    target = _target()
    first = _record(store, target, _page("The embassy is open."))
    second = _record(store, target, _page("The embassy is closed."))
    assert second.outcome == "new" and second.version_seq == 2
    with store.session() as session:
        change = session.scalar(select(Change))
        assert change is not None
        assert (change.kind, change.from_version_id, change.to_version_id) == (
            "changed",
            first.version_id,
            second.version_id,
        )
    versions = store.versions(store.page("embassy").id)
    assert [v.text for v in versions] == ["The embassy is open.", "The embassy is closed."]


def test_error_capture_keeps_body_but_makes_no_version(store: Store) -> None:
    target = _target()
    _record(store, target, _page("Text."))
    recorded = _record(store, target, "<h1>Not Found</h1>", status=404)
    # One failed fetch is never a removal: it is a suspicion, confirmed by the next one.
    assert recorded.outcome == "suspect" and recorded.version_id is None
    assert recorded.event is None
    confirmed = _record(store, target, "<h1>Not Found</h1>", status=404)
    assert (confirmed.outcome, confirmed.event) == ("removed", "removed")
    again = _record(store, target, "<h1>Not Found</h1>", status=404)
    assert (again.outcome, again.event) == ("gone", None)  # one alert per removal
    back = _record(store, target, _page("Text."))
    assert (back.outcome, back.event) == ("unchanged", "restored")
    assert store.counts()["versions"] == 1
    with store.session() as session:
        capture = session.get(Capture, recorded.capture_id)
        assert capture is not None and capture.status == 404 and capture.body_stored


def test_bodies_are_stored_once_and_compressed(store: Store) -> None:
    first, second = _target("a", "https://a.example/"), _target("b", "https://b.example/")
    body = _page("Shared boilerplate " * 200)
    _record(store, first, body)
    _record(store, second, body)
    with store.session() as session:
        blobs = session.scalars(select(Blob)).all()
    assert len(blobs) == 1
    assert blobs[0].compression == "zstd" and len(blobs[0].data) < blobs[0].size / 5


def test_failed_batch_writes_nothing(store: Store) -> None:
    """A batch is one transaction: a failure half-way leaves no capture, version or body."""
    target = _target()
    ids = store.sync_targets([target])
    states = store.states(ids.values())
    fetch = _fetch(target.url, _page("Half-written?"))
    observation = observe(fetch, RULES, states[PageKey(target.name, target.url)])
    before = copy.deepcopy(states)

    def explode(conn: object, cursor: object, statement: str, *args: object) -> None:
        # The database fails after the bodies and the captures went in.
        if statement.lstrip().upper().startswith("INSERT INTO VERSIONS"):
            raise RuntimeError("killed mid-write")

    event.listen(store.engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError):
            record(store, [observation], states)
    finally:
        event.remove(store.engine, "before_cursor_execute", explode)
    counts = store.counts()
    assert (counts["captures"], counts["versions"], counts["blobs"]) == (0, 0, 0)
    # The states in memory were never advanced: recording again works.
    assert states == before
    assert record(store, [observation], states)[0].version_seq == 1


def test_captures_and_versions_are_kept_per_page(store: Store) -> None:
    target = _target()
    for word in ("one", "two", "two", "three"):
        _record(store, target, _page(word))
    page = store.page("embassy")
    assert [c.outcome for c in reversed(store.captures(page.id))] == [
        "new",
        "new",
        "unchanged",
        "new",
    ]
    assert [v.seq for v in store.versions(page.id)] == [1, 2, 3]


def test_resolve_by_name_or_url(store: Store) -> None:
    target = _target()
    store.sync_targets([target])
    assert store.page("embassy").url == target.url
    assert store.page(target.url).url == target.url
    with pytest.raises(StorageError, match="no target or page matches 'nothing'"):
        store.resolve("nothing")


def test_target_paused_not_deleted(store: Store) -> None:
    a, b = _target("a", "https://a.example/"), _target("b", "https://b.example/")
    _record(store, a, _page("A"))
    store.sync_targets([b])
    assert store.deactivate_missing(["b"]) == ["a"]
    assert len(store.versions(store.page("a").id)) == 1


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.close()


def test_pages_unique_per_target(store: Store) -> None:
    target = _target()
    store.sync_targets([target])
    store.sync_targets([target])
    with store.session() as session:
        assert len(session.scalars(select(Page)).all()) == 1
