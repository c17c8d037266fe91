"""The durable outbox: routing events to channels, and sending what is due.

Deliveries (one per event and routed channel) are written in the same transaction as
the event (see :meth:`monitor.storage.store.Store.record`), so an event is never without its
alerts. :class:`Outbox` sends them: it *claims* due deliveries, sends each channel's in
its own thread (one failing channel never delays another; the daemon starts a channel's
next pass while another channel is still busy), and records every attempt with the
server's answer. Every send has a total deadline (the channel's ``timeout``, and the end
of a flush), and what a flush had no time for is released, pending, for the next pass.
Success is final; a permanent failure (4xx other than 408/429, a redirect, SMTP 5xx) or
the last allowed attempt marks the delivery dead; anything else is retried with
exponential backoff and jitter within ``outbox.max_backoff``. A process killed mid-send leaves its
claim behind; after ``outbox.claim_timeout`` the delivery is sent again with the same
event id, so a receiver can drop the duplicate.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from monitor import config as cfg
from monitor.notify.base import Notifier, Outcome
from monitor.notify.channels import notifier_for
from monitor.notify.deadline import Window
from monitor.notify.payload import build
from monitor.notify.routing import Rule, channels_for, rules_for
from monitor.storage.models import Change, Delivery, DeliveryAttempt
from monitor.storage.store import Store
from monitor.timefmt import utcnow
from monitor.vocab import DeliveryStatus

__all__ = [
    "Outbox",
    "Report",
    "Rule",
    "Sending",
    "backoff_delay",
    "channels_for",
    "retry_dead",
    "rules_for",
]

logger = logging.getLogger(__name__)

# After a flush's end, how long a cut send may take to record its attempt.
_RECORDING = 0.5


@dataclass(slots=True)
class Report:
    """What one pass of the outbox did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    pending: int = 0
    messages: int = 0
    released: int = 0  # claimed, then given back unsent (the time was up)
    details: list[str] = field(default_factory=list)

    def add(self, other: Report) -> None:
        """Count ``other``'s sends in this report too (not its pending count)."""
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.messages += other.messages
        self.released += other.released
        self.details.extend(other.details)

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


@dataclass(slots=True)
class Sending:
    """One channel's claimed deliveries, being sent in a thread of its own."""

    channel: str
    ids: list[int]
    report: Report = field(default_factory=Report)
    thread: threading.Thread = field(default_factory=threading.Thread)

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()


def backoff_delay(
    attempts: int,
    backoff: float,
    max_backoff: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds before the next try after ``attempts`` failed ones: ``backoff`` doubled
    each time, jittered by up to half either way so retries do not stampede, never
    more than ``max_backoff`` (the jitter stays within the cap).

    >>> backoff_delay(1, 30, 3600, uniform=lambda low, high: high)
    45.0
    >>> backoff_delay(20, 30, 3600, uniform=lambda low, high: high)
    3600.0
    >>> backoff_delay(20, 30, 3600, uniform=lambda low, high: low)
    1800.0
    """
    delay = min(max_backoff, backoff * 2 ** min(attempts - 1, 60))
    return min(max_backoff, uniform(delay * 0.5, delay * 1.5))


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

    # --- claiming ----------------------------------------------------------------

    def _claim(self, now: datetime, final: bool, busy: frozenset[str]) -> dict[str, list[int]]:
        """Claim the due deliveries, by channel (except ``busy`` ones); digests are due
        when their period is."""
        stale = now - timedelta(seconds=self.settings.claim_timeout)
        claimable = and_(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < stale),
        )
        claimed: dict[str, list[int]] = {}
        with self.store.writing() as session:  # a daemon that lost its lock claims none
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
                if channel in busy:
                    continue
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

    def start(
        self,
        *,
        final: bool = False,
        window: Window | None = None,
        busy: Collection[str] = (),
    ) -> list[Sending]:
        """Claim what is due and start sending it, each channel in a thread of its own;
        return at once. Channels in ``busy`` (still sending) are left for a later pass,
        so a slow channel never holds back the others. The threads are daemon threads:
        every send ends at its deadline, and a process that exits does not wait for them.
        """
        window = window or Window()
        claimed = self._claim(self.clock(), final, frozenset(busy))
        sendings = []
        for channel, ids in claimed.items():
            sending = Sending(channel, ids)
            sending.thread = threading.Thread(
                target=self._send_channel,
                args=(channel, ids, sending.report, window),
                name=f"outbox-{channel}",
                daemon=True,
            )
            sending.thread.start()
            sendings.append(sending)
        return sendings

    def deliver(self, *, timeout: float | None = None, final: bool = False) -> Report:
        """Send everything due now, within ``timeout`` seconds (None: each send within
        its channel's timeout, until done).

        ``final`` sends period digests even if their period is not over (used when the
        daemon stops). A send still in flight at the timeout is cut there (a failed
        attempt, retried with backoff); deliveries not started are released, pending,
        for the next pass.
        """
        until = None if timeout is None else time.monotonic() + timeout
        window = Window(until)
        sendings = self.start(final=final, window=window)
        for sending in sendings:
            # A cut send still records its attempt: a moment after the end, then no more.
            left = None if until is None else max(0.0, until + _RECORDING - time.monotonic())
            sending.thread.join(left)
        report = Report()
        late = [sending.channel for sending in sendings if sending.thread.is_alive()]
        if late:
            window.abort()
            logger.warning(
                "channel(s) %s still busy after %.0fs; what they did not send stays in the outbox",
                ", ".join(late),
                timeout or 0,
            )
        for sending in sendings:
            report.add(sending.report)
        report.pending = self.count_pending()
        return report

    def _send_channel(self, channel: str, ids: list[int], report: Report, window: Window) -> None:
        try:
            self._send_batches(channel, ids, report, window)
        except Exception:  # a database error: the claims lapse and a later pass retries
            logger.exception("sending to channel %s failed", channel)

    def _send_batches(self, channel: str, ids: list[int], report: Report, window: Window) -> None:
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
        for index, batch in enumerate(batches):
            if window.over():
                self._release([i for rest in batches[index:] for i in rest], report)
                return
            events = [payloads[i] for i in batch if i in payloads]
            if not events:
                continue
            started = time.monotonic()
            try:
                outcome = notifier.send(events, digest=settings.digest != "off", window=window)
            except Exception as exc:  # a notifier bug is a failed attempt, never a crash
                logger.exception("channel %s failed", channel)
                outcome = Outcome(False, f"{type(exc).__name__}: {exc}")
            elapsed = (time.monotonic() - started) * 1000
            if outcome.interrupted:
                self._release(batch, report)
                continue
            report.messages += 1
            self._finish(batch, outcome, elapsed, report)

    def _release(self, ids: list[int], report: Report) -> None:
        """Give claimed deliveries back, unsent and not counted as an attempt: the next
        pass (or the next start of the daemon) sends them without waiting for the claim
        to lapse."""
        if not ids:
            return
        with self.store.session() as session, session.begin():
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.PENDING)
                .values(claimed_at=None)
            )
        report.released += len(ids)
        logger.info("%d delivery(ies) left in the outbox for the next pass", len(ids))

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
                    delay = backoff_delay(
                        delivery.attempts, self.settings.backoff, self.settings.max_backoff
                    )
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
