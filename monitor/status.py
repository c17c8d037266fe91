"""What `monitor status` reports: targets, failing pages, and the alert outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select

from monitor.models import Delivery, Page, Target
from monitor.store import Store

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TargetStatus:
    name: str
    active: bool
    pages: int
    failing: int
    removed: int
    last_checked: datetime | None


@dataclass(slots=True)
class StatusReport:
    """The state of the monitor, and whether anything needs a person's attention."""

    targets: list[TargetStatus] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    dead: list[tuple[int, str, str]] = field(default_factory=list)  # id, channel, last error

    @property
    def needs_attention(self) -> bool:
        return bool(self.dead) or any(t.failing for t in self.targets if t.active)

    def text(self) -> str:
        lines = ["targets:"]
        for t in self.targets:
            checked = f"{t.last_checked:%Y-%m-%d %H:%M:%S}Z" if t.last_checked else "never"
            flags = []
            if not t.active:
                flags.append("paused")
            if t.failing:
                flags.append(f"{t.failing} failing")
            if t.removed:
                flags.append(f"{t.removed} removed")
            lines.append(
                f"  {t.name:30} {t.pages:4} page(s)  last check {checked}"
                + (f"  [{', '.join(flags)}]" if flags else "")
            )
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.deliveries.items()))
        lines.append(f"outbox: {counts or 'empty'}")
        for delivery_id, channel, error in self.dead:
            lines.append(f"  DEAD delivery {delivery_id} to {channel}: {error}")
        if self.dead:
            lines.append("  re-send with: monitor notify retry")
        return "\n".join(lines)


def collect(store: Store) -> StatusReport:
    report = StatusReport()
    with store.session() as session:
        rows = session.execute(
            select(
                Target.name,
                Target.active,
                func.count(Page.id),
                func.sum(
                    case(((Page.consecutive_failures > 0) & (Page.state != "removed"), 1), else_=0)
                ),
                func.sum(case((Page.state == "removed", 1), else_=0)),
                func.max(Page.last_checked_at),
            )
            .join(Page, Page.target_id == Target.id)
            .group_by(Target.id)
            .order_by(Target.name)
        ).all()
        for name, active, pages, failing, removed, last in rows:
            report.targets.append(
                TargetStatus(name, bool(active), pages, int(failing or 0), int(removed or 0), last)
            )
        report.deliveries = dict(
            session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        report.dead = [
            (d.id, d.channel, d.last_error or "")
            for d in session.scalars(select(Delivery).where(Delivery.status == "dead").limit(50))
        ]
    return report
