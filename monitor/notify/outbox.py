"""The durable outbox: routing events to channels, and sending what is due.

Deliveries (one per event and routed channel) are written in the same transaction as
the event (see :meth:`monitor.storage.store.Store.record`), so an event is never without its
alerts. :class:`Outbox` sends them: it *claims* due deliveries, sends each channel's in
its own thread (one failing channel never delays another), and records every attempt
with the server's answer. Success is final; a permanent failure (4xx other than
408/429, SMTP 5xx) or the last allowed attempt marks the delivery dead; anything else
is retried with exponential backoff and jitter. A process killed mid-send leaves its
claim behind; after ``outbox.claim_timeout`` the delivery is sent again with the same
event id, so a receiver can drop the duplicate.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from monitor import config as cfg
from monitor.notify.base import Notifier, Outcome, notifier_for
from monitor.notify.payload import build
from monitor.notify.routing import Rule, channels_for, rules_for
from monitor.storage.models import Change, Delivery, DeliveryAttempt
from monitor.storage.store import Store
from monitor.timefmt import utcnow
from monitor.vocab import DeliveryStatus

__all__ = ["Outbox", "Report", "Rule", "channels_for", "retry_dead", "rules_for"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Report:
    """What one pass of the outbox did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    pending: int = 0
    messages: int = 0
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.sent} alert(s) delivered in {self.messages} message(s)"
        if self.failed:
            text += f", {self.failed} failed (will retry)"
        if self.dead:
            text += (
                f", {self.dead} dead (see `monitor status`, re-send with `monitor notify retry`)"
            )
        if self.pending:
            text += f", {self.pending} still pending"
        return text


class Outbox:
    """Sends due deliveries through their channels."""

    def __init__(
        self,
        store: Store,
        config: cfg.Config,
        *,
        notifiers: dict[str, Notifier[Any]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.config = config
        self.settings = config.outbox
        self.clock = clock
        self.notifiers = notifiers or {
            name: notifier_for(name, channel, config.public_url)
            for name, channel in config.channels.items()
        }
        self._lock = threading.Lock()

    # --- claiming ----------------------------------------------------------------

    def _claim(self, now: datetime, final: bool) -> dict[str, list[int]]:
        """Claim the due deliveries, by channel; digests are due when their period is."""
        stale = now - timedelta(seconds=self.settings.claim_timeout)
        claimable = and_(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < stale),
        )
        claimed: dict[str, list[int]] = {}
        with self.store.session() as session, session.begin():
            rows = session.execute(
                select(Delivery.id, Delivery.channel, Delivery.created_at)
                .where(claimable)
                .order_by(Delivery.id)
                .limit(10_000)
            ).all()
            by_channel: dict[str, list[tuple[int, datetime]]] = {}
            for delivery_id, channel, created in rows:
                by_channel.setdefault(channel, []).append((delivery_id, created))
            for channel, items in by_channel.items():
                settings = self.config.channels.get(channel)
                period = settings.digest_period if settings is not None else None
                if period is not None and not final:
                    oldest = min(created for _id, created in items)
                    if (now - oldest).total_seconds() < period:
                        continue  # the digest period is not over yet
                ids = [delivery_id for delivery_id, _created in items]
                # Several senders (cluster workers, schedulers) may claim at once: the
                # conditional UPDATE takes each row for one of them (PostgreSQL re-checks
                # `claimable` on a row another sender just claimed), and RETURNING says
                # which rows are this sender's, whatever the clocks say.
                mine = session.scalars(
                    update(Delivery)
                    .where(Delivery.id.in_(ids), claimable)
                    .values(claimed_at=now)
                    .returning(Delivery.id)
                ).all()
                if mine:
                    claimed[channel] = list(mine)
        return claimed

    # --- sending -----------------------------------------------------------------

    def deliver(self, *, timeout: float | None = None, final: bool = False) -> Report:
        """Send everything due now; wait at most ``timeout`` seconds (None: until done).

        ``final`` sends period digests even if their period is not over (used when the
        daemon stops). Deliveries still in flight at the timeout stay claimed and are
        retried by a later pass after ``outbox.claim_timeout``.
        """
        report = Report()
        now = self.clock()
        claimed = self._claim(now, final)
        if not claimed:
            report.pending = self.count_pending()
            return report
        pool = ThreadPoolExecutor(max_workers=len(claimed), thread_name_prefix="outbox")
        futures = [
            pool.submit(self._send_channel, channel, ids, report)
            for channel, ids in claimed.items()
        ]
        done, not_done = wait(futures, timeout=timeout)
        pool.shutdown(wait=False, cancel_futures=True)
        for future in done:
            if future.exception() is not None:
                logger.error("outbox worker failed: %s", future.exception())
        if not_done:
            logger.warning(
                "%d channel(s) still sending after %.0fs; they finish in the "
                "background or are retried later",
                len(not_done),
                timeout or 0,
            )
        report.pending = self.count_pending()
        return report

    def _send_channel(self, channel: str, ids: list[int], report: Report) -> None:
        settings = self.config.channels.get(channel)
        notifier = self.notifiers.get(channel)
        if settings is None or notifier is None:
            self._finish(
                ids,
                Outcome(False, f"channel {channel!r} is no longer configured", permanent=True),
                0.0,
                report,
            )
            return
        with self.store.session() as session:
            changes = {
                delivery.id: delivery.change_id
                for delivery in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))
            }
            payloads: dict[int, dict[str, Any]] = {}
            for delivery_id, change_id in changes.items():
                change = session.get(Change, change_id)
                if change is not None:
                    payloads[delivery_id] = build(session, change, self.config.public_url)
        batches = [ids] if settings.digest != "off" else [[i] for i in ids]
        for batch in batches:
            events = [payloads[i] for i in batch if i in payloads]
            if not events:
                continue
            started = time.monotonic()
            try:
                outcome = notifier.send(events, digest=settings.digest != "off")
            except Exception as exc:  # a notifier bug is a failed attempt, never a crash
                logger.exception("channel %s failed", channel)
                outcome = Outcome(False, f"{type(exc).__name__}: {exc}")
            elapsed = (time.monotonic() - started) * 1000
            with self._lock:
                report.messages += 1
            self._finish(batch, outcome, elapsed, report)

    def _finish(self, ids: list[int], outcome: Outcome, elapsed_ms: float, report: Report) -> None:
        now = self.clock()
        with self.store.session() as session, session.begin():
            for delivery in session.scalars(select(Delivery).where(Delivery.id.in_(ids))):
                delivery.attempts += 1
                delivery.claimed_at = None
                if outcome.ok:
                    delivery.status, delivery.sent_at, delivery.last_error = (
                        DeliveryStatus.SENT,
                        now,
                        None,
                    )
                    kind = "sent"
                elif outcome.permanent or delivery.attempts >= self.settings.max_attempts:
                    delivery.status, delivery.last_error = DeliveryStatus.DEAD, outcome.detail
                    kind = "permanent" if outcome.permanent else "gave-up"
                    logger.error(
                        "delivery %s to %s is dead after %d attempt(s): %s",
                        delivery.id,
                        delivery.channel,
                        delivery.attempts,
                        outcome.detail,
                    )
                else:
                    delay = min(
                        self.settings.max_backoff,
                        self.settings.backoff * 2 ** (delivery.attempts - 1),
                    )
                    delay *= random.uniform(0.5, 1.5)  # jitter: retries do not stampede
                    delivery.next_attempt_at = now + timedelta(seconds=delay)
                    delivery.last_error = outcome.detail
                    kind = "retry"
                    logger.warning(
                        "delivery %s to %s failed (%s); retry in %.0fs",
                        delivery.id,
                        delivery.channel,
                        outcome.detail,
                        delay,
                    )
                session.add(
                    DeliveryAttempt(
                        delivery_id=delivery.id,
                        attempted_at=now,
                        outcome=kind,
                        detail=outcome.detail,
                        duration_ms=elapsed_ms,
                    )
                )
                with self._lock:
                    if kind == "sent":
                        report.sent += 1
                    elif kind == "retry":
                        report.failed += 1
                    else:
                        report.dead += 1
                    report.details.append(f"{delivery.channel}: {kind}: {outcome.detail}")

    # --- maintenance -------------------------------------------------------------

    def count_pending(self) -> int:
        from sqlalchemy import func

        with self.store.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.status == DeliveryStatus.PENDING)
                )
                or 0
            )


def retry_dead(store: Store, channel: str | None = None, ids: tuple[int, ...] = ()) -> int:
    """Put dead deliveries back in the queue (all, one channel's, or the given ids)."""
    now = utcnow()
    with store.session() as session, session.begin():
        query = update(Delivery).where(Delivery.status == DeliveryStatus.DEAD)
        if channel:
            query = query.where(Delivery.channel == channel)
        if ids:
            query = query.where(Delivery.id.in_(ids))
        result = session.execute(
            query.values(
                status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, claimed_at=None
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
