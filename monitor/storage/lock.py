"""The scheduler's lock: one `monitor run` per database, for the whole life of its process.

Two layers:

* An operating-system lock that the kernel or the database server holds for as long as
  the process (or its connection) lives, whatever the process is doing: on SQLite an
  exclusive ``flock`` on a lock file beside the database (``monitor.db.lock``), on
  PostgreSQL a session advisory lock on a connection kept open. A daemon that is stopped
  (SIGSTOP), or whose loop is stuck on a big page, still holds it, so a second
  ``monitor run`` is refused instead of taking over; a daemon that died releases it at
  once, so the next one starts without waiting for a heartbeat to go stale.
* The ``daemon_lock`` row: who holds the lock (shown by ``monitor status``), its
  heartbeat, and the fence. Every write of the daemon checks, in the write's own
  transaction, that the row still names it (:meth:`Store.writing`); a daemon that lost
  its lock (its PostgreSQL connection was cut and another daemon took over) fails that
  check and stops writing at once.

Where no OS lock is possible (an in-memory database) the row alone decides, with a
heartbeat that goes stale after ``stale_after`` seconds.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text, update

from monitor.exceptions import DaemonLockedError, LockLostError, StorageError
from monitor.storage.db import sqlite_file
from monitor.storage.models import DaemonLock
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)

LOCK_ID = 1
# The PostgreSQL advisory lock keys (per database): the scheduler, held for the life of
# `monitor run`. The migration's key is in monitor.storage.db.
ADVISORY_KEY = zlib.crc32(b"monitor.daemon")


class OsLock:
    """A lock the OS (or the database server) holds for this process: see the module."""

    def lost(self) -> str | None:
        """Why the lock is no longer held, or None while it is."""
        return None

    def release(self) -> None:
        """Give the lock up (the process exiting does too)."""


class FileLock(OsLock):
    """An exclusive ``flock`` on ``<database>.lock``, held until the process ends."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    def lost(self) -> str | None:
        # Someone removed or replaced the lock file: a new daemon would lock the new file.
        try:
            same = os.stat(self.path).st_ino == os.fstat(self.fd).st_ino
        except OSError:
            same = False
        return None if same else f"the lock file {self.path} was removed or replaced"

    def release(self) -> None:
        # The file stays: removing it would let two processes lock two different files.
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class AdvisoryLock(OsLock):
    """A PostgreSQL session advisory lock on a connection of its own."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lost(self) -> str | None:
        try:
            held = self.connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND classid = 0 AND objid::bigint = :key "
                    "AND objsubid = 1 AND granted"
                ),
                {"key": ADVISORY_KEY},
            ).scalar()
            self.connection.commit()
        except Exception as exc:  # a broken connection released the lock
            return f"the lock's database connection failed: {type(exc).__name__}"
        return None if held else "the advisory lock is no longer held"

    def release(self) -> None:
        try:
            self.connection.close()
        except Exception:  # already gone with its connection
            logger.debug("closing the lock's connection failed", exc_info=True)


def lock_file(store: Store) -> Path | None:
    """The lock file of a SQLite database (None for another backend or in memory)."""
    path = sqlite_file(store.url)
    if path is None or str(path).startswith("file:"):
        return None
    return path.with_name(path.name + ".lock")


def _file_lock(path: Path, wait: float) -> FileLock | None:
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StorageError(f"cannot lock {path}: {exc}") from exc
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
            continue
        held = FileLock(path, fd)
        if held.lost() is None:
            return held
        held.release()  # locked a file that was just replaced: lock the new one


def _advisory_lock(store: Store) -> AdvisoryLock | None:
    connection = store.engine.connect()
    try:
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
        ).scalar()
        connection.commit()
    except Exception:
        connection.close()
        raise
    if not got:
        connection.close()
        return None
    return AdvisoryLock(connection)


def _os_lock(store: Store, wait: float) -> OsLock | None:
    """This process's OS lock on the database, or None when another process holds it."""
    backend = store.engine.url.get_backend_name()
    if backend == "postgresql":
        return _advisory_lock(store)
    path = lock_file(store)
    if path is None:
        return OsLock()  # nothing to lock: the row and its heartbeat decide
    return _file_lock(path, wait)


def _refusal(lock: DaemonLock | None) -> DaemonLockedError:
    if lock is None:
        return DaemonLockedError("another `monitor run` is using this database; stop it first")
    age = (utcnow() - lock.heartbeat_at).total_seconds()
    return DaemonLockedError(
        f"another `monitor run` is using this database: pid {lock.pid} on {lock.host}, "
        f"started {lock.started_at:%Y-%m-%d %H:%M:%S}Z, last heartbeat {age:.0f}s ago; "
        "stop it first"
    )


def acquire_lock(store: Store, holder: str, config_path: str | None, stale_after: float) -> OsLock:
    """Become the database's one scheduler, or raise DaemonLockedError naming the other.

    The OS lock decides (held for the process's life; release it at the end). Without
    one (an in-memory database) a lock row whose heartbeat is younger than
    ``stale_after`` seconds refuses. On success the row names ``holder``: from then on
    the store's writes are fenced by it (:meth:`Store.writing`).
    """
    held = _os_lock(store, wait=1.0)
    if held is None:
        raise _refusal(read_lock(store))
    try:
        _take_row(store, holder, config_path, stale_after, fenced_by_os=type(held) is not OsLock)
    except BaseException:
        held.release()
        raise
    store.fence = holder
    return held


def _take_row(
    store: Store, holder: str, config_path: str | None, stale_after: float, fenced_by_os: bool
) -> None:
    now = utcnow()
    host, pid = socket.gethostname(), os.getpid()
    with store.writing(fenced=False) as session:
        lock = session.get(DaemonLock, LOCK_ID, with_for_update=True)
        if lock is None:
            session.add(
                DaemonLock(
                    id=LOCK_ID,
                    holder=holder,
                    host=host,
                    pid=pid,
                    started_at=now,
                    heartbeat_at=now,
                    state="running",
                    config_path=config_path,
                )
            )
            return
        age = (now - lock.heartbeat_at).total_seconds()
        if (
            not fenced_by_os
            and lock.holder != holder
            and lock.state != "stopped"
            and age < stale_after
        ):
            raise _refusal(lock)
        if lock.state == "running" and lock.holder != holder:
            # The OS lock was free: the previous holder died (or lost its lock).
            logger.warning(
                "taking over the lock of pid %d on %s (last heartbeat %.0fs ago)",
                lock.pid,
                lock.host,
                age,
            )
        lock.holder, lock.host, lock.pid = holder, host, pid
        lock.started_at, lock.heartbeat_at, lock.state = now, now, "running"
        lock.config_path = config_path


def heartbeat(store: Store, holder: str, state: str = "running") -> None:
    """Write the heartbeat; :class:`LockLostError` when the row names another holder."""
    with store.session() as session, session.begin():
        result: Any = session.execute(
            update(DaemonLock)
            .where(DaemonLock.id == LOCK_ID, DaemonLock.holder == holder)
            .values(heartbeat_at=utcnow(), state=state)
        )
        if result.rowcount == 0:
            raise LockLostError("the scheduler lock now names another `monitor run`")


def read_lock(store: Store) -> DaemonLock | None:
    with store.session() as session:
        return session.get(DaemonLock, LOCK_ID)


def holder_alive(store: Store) -> bool | None:
    """Whether some process holds this database's scheduler lock right now: True or
    False from the OS lock, None where it cannot tell (an in-memory database)."""
    backend = store.engine.url.get_backend_name()
    if backend == "postgresql":
        try:
            with store.engine.connect() as connection:
                count = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND database = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database()) "
                        "AND classid = 0 AND objid::bigint = :key AND objsubid = 1 AND granted"
                    ),
                    {"key": ADVISORY_KEY},
                ).scalar()
        except Exception:
            logger.debug("cannot read pg_locks", exc_info=True)
            return None
        return bool(count)
    path = lock_file(store)
    if path is None or not path.exists():
        return None  # no daemon of this version ever ran here: the heartbeat decides
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True  # held (exclusively) by a running daemon
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
