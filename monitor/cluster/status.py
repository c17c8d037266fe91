"""What `monitor status` shows of a cluster: leader, standby, workers, batches, queue.

Read from the database (``cluster_leader``, ``cluster_nodes``, ``cluster_dispatches``)
and, when the broker's environment variable is set, the queue's depth from the broker.
A process is "gone" after three missed heartbeats; pages per minute are those of the
batches a worker finished in the last minute.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from monitor.cluster.nodes import MISSED_BEATS
from monitor.cluster.settings import ClusterSettings
from monitor.storage.models import ClusterLeader, ClusterNode, Dispatch
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One process of the cluster as `monitor status` shows it."""

    id: str
    role: str
    host: str
    pid: int
    state: str  # leading, standby, running, stopped, gone
    heartbeat_age: float
    pages_per_minute: int = 0
    running: int = 0


@dataclass
class ClusterStatus:
    """The cluster's state: who leads, who stands by, the workers, the batches."""

    leader: NodeRow | None = None
    leader_epoch: int | None = None
    standby: list[NodeRow] = field(default_factory=list)
    workers: list[NodeRow] = field(default_factory=list)
    open_batches: int = 0
    running_batches: int = 0
    queue_depth: int | None = None

    @property
    def needs_attention(self) -> bool:
        return self.leader is None or not any(w.state == "running" for w in self.workers)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["needs_attention"] = self.needs_attention
        return data

    def text(self) -> str:
        def line(row: NodeRow) -> str:
            text = f"{row.host} pid {row.pid}, {row.state}, beat {row.heartbeat_age:.0f}s ago"
            if row.role == "worker":
                text += f", {row.pages_per_minute} pages/min, {row.running} batch(es) running"
            return text

        lines = ["Cluster:"]
        if self.leader is not None:
            lines.append(f"  leader:  {line(self.leader)} (epoch {self.leader_epoch})")
        else:
            lines.append("  leader:  NONE (no scheduler leads: nothing is dispatched)")
        for row in self.standby:
            lines.append(f"  standby: {line(row)}")
        if not self.standby:
            lines.append("  standby: none (a second `monitor run --role scheduler` takes over)")
        for row in self.workers:
            lines.append(f"  worker:  {line(row)}")
        if not self.workers:
            lines.append("  workers: none")
        depth = "unknown" if self.queue_depth is None else str(self.queue_depth)
        lines.append(
            f"  batches: {self.open_batches} open ({self.running_batches} running), "
            f"queue depth {depth}"
        )
        return "\n".join(lines)


def _state(node: ClusterNode, now: datetime, every: float) -> str:
    if node.state == "stopped":
        return "stopped"
    if (now - node.heartbeat_at).total_seconds() > MISSED_BEATS * every:
        return "gone"
    return node.state


def collect(
    store: Store, settings: ClusterSettings, *, recent: timedelta = timedelta(hours=1)
) -> ClusterStatus | None:
    """The cluster's status, or None when this database has never run a cluster."""
    try:
        if not inspect(store.engine).has_table("cluster_nodes"):
            return None
        now = utcnow()
        with store.session() as session:
            nodes = session.scalars(
                select(ClusterNode)
                .where(ClusterNode.heartbeat_at > now - recent)
                .order_by(ClusterNode.role, ClusterNode.started_at)
            ).all()
            if not nodes:
                return None
            leader = session.get(ClusterLeader, 1)
            minute = now - timedelta(minutes=1)
            pages = dict(
                session.execute(
                    select(Dispatch.worker_id, func.sum(Dispatch.pages))
                    .where(Dispatch.finished_at > minute)
                    .group_by(Dispatch.worker_id)
                ).all()
            )
            running = dict(
                session.execute(
                    select(Dispatch.worker_id, func.count())
                    .where(Dispatch.finished_at.is_(None), Dispatch.started_at.is_not(None))
                    .group_by(Dispatch.worker_id)
                ).all()
            )
            open_batches = session.scalar(
                select(func.count()).select_from(Dispatch).where(Dispatch.finished_at.is_(None))
            )
    except SQLAlchemyError as exc:
        logger.warning("cluster status unavailable: %s", exc)
        return None
    status = ClusterStatus(open_batches=int(open_batches or 0))
    status.running_batches = int(sum(running.values()))
    for node in nodes:
        every = (
            settings.heartbeat
            if node.role == "worker"
            else min(settings.heartbeat, settings.leader_timeout / 5)
        )
        row = NodeRow(
            id=node.id,
            role=node.role,
            host=node.host,
            pid=node.pid,
            state=_state(node, now, every),
            heartbeat_age=(now - node.heartbeat_at).total_seconds(),
            pages_per_minute=int(pages.get(node.id) or 0),
            running=int(running.get(node.id) or 0),
        )
        if node.role == "worker":
            if row.state != "stopped":
                status.workers.append(row)
        elif leader is not None and node.id == leader.node_id and row.state == "leading":
            status.leader, status.leader_epoch = row, leader.epoch
        elif row.state == "standby":
            status.standby.append(row)
    broker = os.environ.get(settings.broker_env)
    if broker:
        from monitor.cluster.app import queue_depth

        status.queue_depth = queue_depth(settings, broker)
    return status
