"""The scheduler's lock: one `monitor run` per database, alive while its heartbeat is."""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import update

from monitor.exceptions import DaemonLockedError
from monitor.storage.models import DaemonLock
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)

LOCK_ID = 1


def acquire_lock(store: Store, holder: str, config_path: str | None, stale_after: float) -> None:
    """Become the database's one scheduler, or raise DaemonLockedError naming the other."""
    now = utcnow()
    host, pid = socket.gethostname(), os.getpid()
    with store.session() as session, session.begin():
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
        if lock.holder != holder and lock.state != "stopped" and age < stale_after:
            raise DaemonLockedError(
                f"another `monitor run` is using this database: pid {lock.pid} on {lock.host}, "
                f"started {lock.started_at:%Y-%m-%d %H:%M:%S}Z, last heartbeat {age:.0f}s ago; "
                "stop it first (or wait for its heartbeat to go stale)"
            )
        lock.holder, lock.host, lock.pid = holder, host, pid
        lock.started_at, lock.heartbeat_at, lock.state = now, now, "running"
        lock.config_path = config_path


def heartbeat(store: Store, holder: str, state: str = "running") -> None:
    with store.session() as session, session.begin():
        session.execute(
            update(DaemonLock)
            .where(DaemonLock.id == LOCK_ID, DaemonLock.holder == holder)
            .values(heartbeat_at=utcnow(), state=state)
        )


def read_lock(store: Store) -> DaemonLock | None:
    with store.session() as session:
        return session.get(DaemonLock, LOCK_ID)
