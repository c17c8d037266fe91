"""Each process of the cluster: its row in ``cluster_nodes`` and its heartbeat thread."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from sqlalchemy import update

from monitor.storage.models import ClusterNode
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)

#: A process whose heartbeat is older than this many beats is taken for dead.
MISSED_BEATS = 3


def new_node_id() -> str:
    """A process's identity in the cluster: host, pid and a random part (new each start)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def register(
    store: Store, node_id: str, role: str, state: str, *, queue: str | None, concurrency: int
) -> None:
    now = utcnow()
    with store.session() as session, session.begin():
        session.add(
            ClusterNode(
                id=node_id,
                role=role,
                host=socket.gethostname(),
                pid=os.getpid(),
                queue=queue,
                concurrency=concurrency,
                started_at=now,
                heartbeat_at=now,
                state=state,
            )
        )


def beat(store: Store, node_id: str, state: str | None = None) -> None:
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if state is not None:
        values["state"] = state
    with store.session() as session, session.begin():
        session.execute(update(ClusterNode).where(ClusterNode.id == node_id).values(**values))


class Heartbeat:
    """Beats every ``every`` seconds in a thread of its own (for `monitor status`).

    A running batch proves it is alive by renewing its site's lease
    (:mod:`~monitor.cluster.leases`); the heartbeat says the process is.
    """

    def __init__(
        self,
        store: Store,
        node_id: str,
        every: float,
        *,
        state: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.store, self.node_id, self.every = store, node_id, every
        self.state = state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cluster-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                beat(self.store, self.node_id, self.state())
            except Exception:
                logger.exception("the cluster heartbeat could not be written")

    def stop(self, state: str = "stopped") -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            beat(self.store, self.node_id, state)
        except Exception:
            logger.exception("could not mark this process %s", state)
