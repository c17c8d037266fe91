"""What `monitor status` reports: the daemon, every target, and the alert outbox.

Targets come from :func:`monitor.history.targets.target_rows`, as in ``monitor targets``
and the dashboard: one count of failures, so the two can never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from monitor.history import TargetRow, target_rows, with_configured
from monitor.storage.lock import holder_alive
from monitor.storage.models import (
    DaemonLock,
    Delivery,
    ListedLink,
    Target,
)
from monitor.storage.store import Store
from monitor.timefmt import iso, utcnow, when

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class StatusReport:
    """The state of the monitor, and whether anything needs a person's attention."""

    now: datetime = field(default_factory=utcnow)
    daemon: DaemonLock | None = None
    daemon_alive: bool = False
    # Whether a process holds the database's scheduler lock (None: cannot tell).
    daemon_holds_lock: bool | None = None
    targets: list[TargetRow] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    dead: list[tuple[int, str, str]] = field(default_factory=list)  # id, channel, last error
    # Listings whose last check left article links unfollowed: name -> count.
    not_followed: dict[str, int] = field(default_factory=dict)
    max_articles: dict[str, int] = field(default_factory=dict)  # from the config, if known

    @property
    def overdue(self) -> list[TargetRow]:
        return [t for t in self.targets if t.overdue(self.now, self.daemon_alive)]

    @property
    def waiting(self) -> list[TargetRow]:
        """Targets past their due time while no daemon runs: nothing will check them."""
        if self.daemon is None or self.daemon_alive:
            return []
        return [t for t in self.targets if t.overdue(self.now)]

    @property
    def needs_attention(self) -> bool:
        failing = any(t.failing for t in self.targets if t.active)
        stopped = (
            self.daemon is not None and self.daemon.state == "running" and not self.daemon_alive
        )
        return bool(self.dead) or failing or bool(self.overdue) or stopped or bool(self.waiting)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (``monitor status --json``)."""
        daemon = None
        if self.daemon is not None:
            daemon = {
                "state": self.daemon.state,
                "alive": self.daemon_alive,
                "pid": self.daemon.pid,
                "host": self.daemon.host,
                "heartbeat_at": self.daemon.heartbeat_at.isoformat(),
            }
        return {
            "needs_attention": self.needs_attention,
            "daemon": daemon,
            "targets": [
                {
                    "name": t.name,
                    "active": t.active,
                    "pages": t.pages,
                    "failing": t.failing,
                    "removed": t.removed,
                    "failures": t.failures,
                    "overdue": t.overdue(self.now, self.daemon_alive) or t in self.waiting,
                    "status": t.status,
                    "last_checked": iso(t.last_checked),
                    "last_change": iso(t.last_change),
                    "next_due": iso(t.next_due),
                    "learned_noise_rules": t.learned,
                }
                for t in self.targets
            ],
            "deliveries": self.deliveries,
            "dead": [{"id": i, "channel": c, "error": e} for i, c, e in self.dead],
            "not_followed": [
                {"target": name, "links": count, "max_articles": self.max_articles.get(name)}
                for name, count in sorted(self.not_followed.items())
            ],
        }

    def text(self) -> str:
        lines = []
        if self.daemon is None:
            lines.append("daemon: never run on this database")
        else:
            age = (self.now - self.daemon.heartbeat_at).total_seconds()
            if self.daemon.state == "stopped":
                state = "stopped"
            elif self.daemon_alive:
                state = "running"
            elif self.daemon_holds_lock is False:
                state = "DIED without stopping (no process holds its lock)"
            else:
                state = "NOT RESPONDING (it died, or it is stuck)"
            lines.append(
                f"daemon: {state}: pid {self.daemon.pid} on {self.daemon.host}, "
                f"last heartbeat {age:.0f}s ago"
            )
        lines.append("targets:")
        for t in self.targets:
            flags = []
            if not t.active:
                flags.append("paused")
            if t.failing:
                flags.append(f"{t.failing} failing ({t.failures} failures in a row)")
            if t.removed:
                flags.append(f"{t.removed} removed")
            if t.overdue(self.now, self.daemon_alive):
                flags.append("OVERDUE")
            elif t.overdue(self.now) and self.daemon is not None and not self.daemon_alive:
                flags.append("OVERDUE, daemon not running")
            if t.last_checked is None:
                flags.append("never checked")
            learned = f"  learned noise: {t.learned} rule(s)" if t.learned else ""
            lines.append(
                f"  {t.name:28} {t.pages:4} page(s)  checked {when(t.last_checked)}  "
                f"changed {when(t.last_change)}  next {when(t.next_due)}{learned}"
                + (f"  [{', '.join(flags)}]" if flags else "")
            )
        for name, count in sorted(self.not_followed.items()):
            limit = self.max_articles.get(name)
            lines.append(
                f"listing {name}: {count:,} article links not followed "
                + (f"(max_articles {limit:,})" if limit else "(follow.max_articles)")
            )
        if self.waiting:
            lines.append(
                f"{len(self.waiting)} target(s) overdue and no daemon running: start it "
                "(monitor run) or check them (monitor check)"
            )
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.deliveries.items()))
        lines.append(f"outbox: {counts or 'empty'}")
        for delivery_id, channel, error in self.dead:
            lines.append(f"  DEAD delivery {delivery_id} to {channel}: {error}")
        if self.dead:
            lines.append("  re-send with: monitor notify retry")
        return "\n".join(lines)


def collect(
    store: Store,
    heartbeat_timeout: float = 60.0,
    max_articles: dict[str, int] | None = None,
    configured: Sequence[tuple[str, str, Sequence[str], bool, bool]] = (),
) -> StatusReport:
    """The status report; ``max_articles``: the listings' limits, from the config if known;
    ``configured``: the config's targets (name, url, tags, enabled, is a listing), so
    those never checked are listed too."""
    report = StatusReport(max_articles=dict(max_articles or {}))
    rows = [row for row in target_rows(store) if row.pages]
    report.targets = with_configured(rows, configured) if configured else rows
    with store.session() as session:
        report.daemon = session.get(DaemonLock, 1)
        if report.daemon is not None:
            # The OS lock says at once that a daemon died (no process holds it); a daemon
            # that holds it but whose heartbeat is older than heartbeat_timeout is stuck.
            report.daemon_holds_lock = held = holder_alive(store)
            age = (report.now - report.daemon.heartbeat_at).total_seconds()
            report.daemon_alive = (
                report.daemon.state == "running" and held is not False and age < heartbeat_timeout
            )
        # Links of each listing's last check (they share its time) that no page watches.
        latest = (
            select(ListedLink.target_id, func.max(ListedLink.last_listed_at).label("at"))
            .group_by(ListedLink.target_id)
            .subquery()
        )
        report.not_followed = dict(
            session.execute(
                select(Target.name, func.count(ListedLink.id))
                .join(Target, Target.id == ListedLink.target_id)
                .join(
                    latest,
                    (latest.c.target_id == ListedLink.target_id)
                    & (latest.c.at == ListedLink.last_listed_at),
                )
                .where(ListedLink.page_id.is_(None), Target.active.is_(True))
                .group_by(Target.name)
            ).all()
        )
        report.deliveries = dict(
            session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        report.dead = [
            (d.id, d.channel, d.last_error or "")
            for d in session.scalars(select(Delivery).where(Delivery.status == "dead").limit(50))
        ]
    return report
