"""Which scheduler leads: a PostgreSQL advisory lock on a session of its own.

Every scheduler tries ``pg_try_advisory_lock`` every fifth of ``cluster.leader_timeout``;
the one that gets it leads while its session lives. The session has an
``idle_session_timeout`` of three fifths of it and the leader beats on it (``SELECT 1``)
every fifth from a thread of its own, so:

* a leader that crashes (its socket closed by the kernel) frees the lock at once: the
  standby leads at its next try (measured 0.14 s, docs/SCALING.md §6);
* a leader that freezes or loses its machine or network stops beating; the server ends
  its idle session after three fifths, and the standby leads within ``leader_timeout``.
  When the old leader wakes, its next beat fails and it stands down.

On taking the lead, a scheduler bumps the ``cluster_leader`` row's ``epoch``; every
dispatch transaction checks it (:func:`fence`), so a leader that lost the lock without
knowing it yet cannot dispatch anything (its transaction is rolled back).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import zlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from monitor.exceptions import NotLeaderError
from monitor.storage.models import ClusterLeader
from monitor.storage.store import Store
from monitor.timefmt import utcnow

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

#: The advisory lock's key (advisory locks are per database: one leader per database).
LOCK_KEY = zlib.crc32(b"monitor.cluster.leader")
LEADER_ROW = 1


def conninfo(url: str) -> str:
    """A libpq URL for psycopg from the config's SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Leadership:
    """This scheduler's bid for the lead, and the lead while it holds it."""

    def __init__(self, store: Store, node_id: str, timeout: float) -> None:
        self.store, self.node_id, self.timeout = store, node_id, timeout
        self.poll = timeout / 5
        self.idle = max(1.0, timeout * 3 / 5)
        self.epoch: int | None = None
        self._connection: psycopg.Connection[Any] | None = None
        self._lost = threading.Event()
        self._stop_beats = threading.Event()
        self._beats: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self.epoch is not None and not self._lost.is_set()

    def try_lead(self) -> bool:
        """One try at the lock; on success the epoch is bumped and the beats start."""
        import psycopg

        if self.leading:
            return True
        self._close()
        try:
            connection = psycopg.connect(
                conninfo(self.store.url), autocommit=True, connect_timeout=10
            )
            connection.execute(f"SET idle_session_timeout = '{int(self.idle * 1000)}ms'")
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        except psycopg.Error as exc:
            logger.warning("cannot try for the lead: %s", exc)
            return False
        if not row or not row[0]:
            connection.close()
            return False
        self._connection = connection
        try:
            self.epoch = self._bump()
        except Exception:
            logger.exception("took the lock but could not record the new epoch")
            self._close()
            return False
        self._lost.clear()
        self._stop_beats.clear()
        self._beats = threading.Thread(target=self._beating, name="leader-beats", daemon=True)
        self._beats.start()
        logger.info("leading the cluster (epoch %d)", self.epoch)
        return True

    def _bump(self) -> int:
        now = utcnow()
        with self.store.session() as session, session.begin():
            row = session.get(ClusterLeader, LEADER_ROW, with_for_update=True)
            if row is None:
                row = ClusterLeader(id=LEADER_ROW, epoch=0)
                session.add(row)
            row.epoch = (row.epoch or 0) + 1
            row.node_id, row.host, row.pid = self.node_id, socket.gethostname(), os.getpid()
            row.since, row.heartbeat_at = now, now
            session.flush()
            return int(row.epoch)

    def _beating(self) -> None:
        import psycopg

        connection = self._connection
        assert connection is not None
        while not self._stop_beats.wait(self.poll):
            try:
                connection.execute("SELECT 1")
            except psycopg.Error as exc:
                logger.error("lost the lead: %s", exc)
                self._lost.set()
                return

    def check(self) -> bool:
        """Still leading? (False once the lock's session failed.)"""
        if self.epoch is not None and self._lost.is_set():
            self.resign()
        return self.leading

    def resign(self) -> None:
        """Let the lock go (the standby takes it at its next try)."""
        if self.epoch is not None:
            logger.info("standing down (epoch %d)", self.epoch)
        self.epoch = None
        self._stop_beats.set()
        if self._beats is not None and self._beats is not threading.current_thread():
            self._beats.join(timeout=5)
        self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.debug("closing the lock session failed", exc_info=True)


def fence(session: Session, node_id: str, epoch: int) -> None:
    """In a dispatch transaction: go on only if this scheduler still leads at ``epoch``.

    The row lock taken here orders the transaction against a new leader's epoch bump.
    """
    result = session.execute(
        update(ClusterLeader)
        .where(
            ClusterLeader.id == LEADER_ROW,
            ClusterLeader.epoch == epoch,
            ClusterLeader.node_id == node_id,
        )
        .values(heartbeat_at=utcnow())
    )
    if not getattr(result, "rowcount", 0):
        raise NotLeaderError(f"epoch {epoch} is over: another scheduler leads")


def current(store: Store) -> ClusterLeader | None:
    """The leader row (who leads, since when), for `monitor status`."""
    with store.session() as session:
        return session.scalars(select(ClusterLeader).where(ClusterLeader.id == LEADER_ROW)).first()
