"""What `monitor status` reports: the daemon, every target, and the alert outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from monitor.storage.models import (
    Change,
    DaemonLock,
    Delivery,
    ListedLink,
    Page,
    Target,
    VolatileLine,
)
from monitor.storage.store import Store
from monitor.timefmt import iso, utcnow, when

logger = logging.getLogger(__name__)

# A target whose next check is this late is overdue: the scheduler is stuck or gone.
OVERDUE_GRACE = 300.0


@dataclass(slots=True)
class TargetStatus:
    name: str
    active: bool
    pages: int
    failing: int
    removed: int
    failures: int
    last_checked: datetime | None
    last_change: datetime | None
    next_due: datetime | None
    # Rules learned as noise on the target's pages (see `monitor volatility`).
    learned: int = 0

    def overdue(self, now: datetime, daemon_alive: bool) -> bool:
        if not self.active or self.next_due is None or not daemon_alive:
            return False
        return (now - self.next_due).total_seconds() > OVERDUE_GRACE


@dataclass(slots=True)
class StatusReport:
    """The state of the monitor, and whether anything needs a person's attention."""

    now: datetime = field(default_factory=utcnow)
    daemon: DaemonLock | None = None
    daemon_alive: bool = False
    targets: list[TargetStatus] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    dead: list[tuple[int, str, str]] = field(default_factory=list)  # id, channel, last error
    # Listings whose last check left article links unfollowed: name -> count.
    not_followed: dict[str, int] = field(default_factory=dict)
    max_articles: dict[str, int] = field(default_factory=dict)  # from the config, if known

    @property
    def overdue(self) -> list[TargetStatus]:
        return [t for t in self.targets if t.overdue(self.now, self.daemon_alive)]

    @property
    def needs_attention(self) -> bool:
        failing = any(t.failing for t in self.targets if t.active)
        stopped = (
            self.daemon is not None and self.daemon.state == "running" and not self.daemon_alive
        )
        return bool(self.dead) or failing or bool(self.overdue) or stopped

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
                    "overdue": t.overdue(self.now, self.daemon_alive),
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
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.deliveries.items()))
        lines.append(f"outbox: {counts or 'empty'}")
        for delivery_id, channel, error in self.dead:
            lines.append(f"  DEAD delivery {delivery_id} to {channel}: {error}")
        if self.dead:
            lines.append("  re-send with: monitor notify retry")
        return "\n".join(lines)


def collect(
    store: Store, heartbeat_timeout: float = 60.0, max_articles: dict[str, int] | None = None
) -> StatusReport:
    """The status report; ``max_articles``: the listings' limits, from the config if known."""
    report = StatusReport(max_articles=dict(max_articles or {}))
    with store.session() as session:
        report.daemon = session.get(DaemonLock, 1)
        if report.daemon is not None:
            age = (report.now - report.daemon.heartbeat_at).total_seconds()
            report.daemon_alive = report.daemon.state == "running" and age < heartbeat_timeout
        last_change = dict(
            session.execute(
                select(Page.target_id, func.max(Change.detected_at))
                .join(Change, Change.page_id == Page.id)
                .group_by(Page.target_id)
            ).all()
        )
        learned = dict(
            session.execute(
                select(Page.target_id, func.count(VolatileLine.id))
                .join(VolatileLine, VolatileLine.page_id == Page.id)
                .where(VolatileLine.learned.is_(True))
                .group_by(Page.target_id)
            ).all()
        )
        rows = session.execute(
            select(
                Target.id,
                Target.name,
                Target.active,
                func.count(Page.id),
                func.sum(
                    case(((Page.consecutive_failures > 0) & (Page.state != "removed"), 1), else_=0)
                ),
                func.sum(case((Page.state == "removed", 1), else_=0)),
                func.max(Page.consecutive_failures),
                func.max(Page.last_checked_at),
                func.min(case((Page.url == Target.url, Page.next_due_at), else_=None)),
            )
            .join(Page, Page.target_id == Target.id)
            .group_by(Target.id)
            .order_by(Target.name)
        ).all()
        for target_id, name, active, pages, failing, removed, failures, last, due in rows:
            report.targets.append(
                TargetStatus(
                    name,
                    bool(active),
                    pages,
                    int(failing or 0),
                    int(removed or 0),
                    int(failures or 0),
                    last,
                    last_change.get(target_id),
                    due,
                    int(learned.get(target_id, 0)),
                )
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
