"""Operating a database: `monitor db backup` with un-checkpointed WAL, and the README's
PostgreSQL steps for a fresh server (a role of its own, a database it owns)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.storage.store import Store


def _count_targets(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT count(*) FROM targets").fetchone()[0])
    finally:
        connection.close()


def test_backup_includes_what_is_still_in_the_wal(tmp_path: Path) -> None:
    """A writer keeps its commits in monitor.db-wal (no checkpoint yet): a copy of the
    main file alone misses them, `monitor db backup` does not."""
    database = tmp_path / "monitor.db"
    Store(f"sqlite:///{database}").close()
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # like a busy daemon between checkpoints
    for number in range(25):
        writer.execute(
            "INSERT INTO targets (name, url, kind, tags, active, created_at, updated_at) "
            "VALUES (?, ?, 'page', '[]', 1, '2026-03-03 12:00:00', '2026-03-03 12:00:00')",
            (f"target-{number}", f"http://127.0.0.1/{number}"),
        )
    writer.commit()
    try:
        wal = Path(f"{database}-wal")
        assert wal.exists() and wal.stat().st_size > 0, "the commits are in the WAL"
        naive = tmp_path / "naive-copy.db"
        shutil.copyfile(database, naive)
        assert _count_targets(naive) == 0, "a copy of the main file lost the commits"

        backup = tmp_path / "backups" / "monitor-copy.db"
        result = CliRunner().invoke(
            main, ["db", "backup", "--db", f"sqlite:///{database}", str(backup)]
        )
        assert result.exit_code == 0, result.output
        assert "integrity checked" in result.output and "restore:" in result.output
        assert _count_targets(backup) == 25
        assert not Path(f"{backup}-wal").exists(), "the copy is one self-contained file"
        assert not list(backup.parent.glob("*.partial"))

        # A second backup to the same path is refused, never overwritten.
        again = CliRunner().invoke(
            main, ["db", "backup", "--db", f"sqlite:///{database}", str(backup)]
        )
        assert again.exit_code == 1 and "already exists" in again.output
    finally:
        writer.close()

    # The restored copy opens as the monitor's database, at the current schema.
    restored = Store(f"sqlite:///{backup}")
    try:
        from monitor.history import target_rows

        assert len(target_rows(restored)) == 25
    finally:
        restored.close()


def test_backup_of_postgresql_prints_pg_dump_without_the_password() -> None:
    url = "postgresql+psycopg://monitor:s3cret@127.0.0.1:5432/monitor"
    result = CliRunner().invoke(main, ["db", "backup", "--db", url, "monitor.dump"])
    assert result.exit_code == 0, result.output
    assert "pg_dump --format=custom --file monitor.dump" in result.output
    assert "pg_restore" in result.output
    assert "s3cret" not in result.output


@pytest.mark.postgres
def test_readme_postgresql_steps_work_on_a_fresh_server(
    postgres_server: str, tmp_path: Path
) -> None:
    """`createuser monitor` + `createdb --owner monitor monitor` as the README says: a
    role that is not a superuser migrates and uses its own database (PostgreSQL 15 lets
    only the database owner create tables in `public`)."""
    import psycopg

    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    role = f"monitor_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            f"CREATE ROLE {role} LOGIN PASSWORD 'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE"
        )
        connection.execute(f"CREATE DATABASE {role} OWNER {role}")
    try:
        base = postgres_server.rsplit("@", 1)[1].rsplit("/", 1)[0]
        url = f"postgresql+psycopg://{role}:pw@{base}/{role}"
        monitor = shutil.which("monitor")
        assert monitor is not None
        result = subprocess.run(
            [monitor, "db", "upgrade", "--db", url],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert "upgraded from empty to" in result.stdout
        targets = subprocess.run(
            [monitor, "targets", "--db", url],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        assert targets.returncode == 0, targets.stderr
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)')
            connection.execute(f"DROP ROLE IF EXISTS {role}")
