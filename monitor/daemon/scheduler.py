"""`monitor run`: the scheduler that checks every target on its own rhythm, for months.

One process: APScheduler's ``AsyncIOScheduler`` and Scrapy share the Twisted reactor's
asyncio loop (:mod:`monitor.fetch.reactor`); the main thread only handles signals.

* Each target's next check comes from its schedule (an APScheduler ``IntervalTrigger``
  with jitter, or a ``CronTrigger`` in its time zone), limited to its active hours and
  weekdays. Due times live in the database (``pages.next_due_at``): a restart continues
  the rhythm, and checks that became overdue while it was down are spread over
  ``daemon.spread_overdue`` instead of all firing at once.
* Due targets are checked in batches, at most ``daemon.max_parallel_crawls`` crawls at
  once; a crawl that hangs past ``daemon.crawl_timeout`` is stopped.
* One scheduler per database (:mod:`monitor.storage.lock`): an OS lock held for the
  process's life (a flock beside a SQLite database, a PostgreSQL advisory lock) refuses a
  second one even while this one is stopped or busy; the lock row's heartbeat (written
  by a thread of its own, whatever the loop is doing) shows in ``monitor status``. Every
  write is fenced by the lock row: a daemon that lost its lock stops writing at once,
  then stops (exit 1).
  SIGHUP (or ``monitor reload``) re-reads the config: new targets start, removed ones
  are paused (their history stays). SIGTERM/SIGINT: no new checks, in-flight ones get
  ``daemon.grace``, the outbox is flushed within ``outbox.flush_timeout`` (a send still
  in flight then is cut, and what was not sent is released for the next start), exit 0;
  "stopped" is logged when it has.
* Alerts: every ``daemon.outbox_interval`` each channel that is not still sending starts
  a pass in a thread of its own, so a slow webhook never delays the mail.
* A target not checked successfully for ``daemon.stale_factor`` intervals produces an
  ``error`` event through the normal alert path.

Why one module of this size: the daemon's life (lock, loop, schedule, reload, alerts,
stop) is one state object, :class:`Daemon`, whose parts run on the loop or on threads of
its own in an order that reads best in one place.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import config as cfg
from monitor.check import check_async, metrics
from monitor.check.stale import record_stale
from monitor.exceptions import ConfigError, LockLostError, MonitorError, StorageError
from monitor.fetch import reactor, runner
from monitor.notify.deadline import Window
from monitor.notify.outbox import Outbox, Sending
from monitor.storage.lock import OsLock, acquire_lock, heartbeat, read_lock
from monitor.storage.schedule import root_pages, store_dues, stored_dues
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)
# One line per batch started, with how late each target was (for lateness figures).
schedule_log = logging.getLogger("monitor.schedule")

# --- schedules -----------------------------------------------------------------------


def _in_window(schedule: cfg.Schedule, when: datetime) -> bool:
    local = when.astimezone(ZoneInfo(schedule.timezone))
    if schedule.weekdays and cfg.WEEKDAYS[local.weekday()] not in schedule.weekdays:
        return False
    if schedule.active_hours:
        start, end = (part.strip() for part in schedule.active_hours.split("-"))
        minutes = local.hour * 60 + local.minute
        h1, m1 = map(int, start.split(":"))
        h2, m2 = map(int, end.split(":"))
        low, high = h1 * 60 + m1, h2 * 60 + m2
        inside = low <= minutes < high if low <= high else (minutes >= low or minutes < high)
        if not inside:
            return False
    return True


def next_due(schedule: cfg.Schedule, previous: datetime | None, now: datetime) -> datetime:
    """The next check time after ``now`` from an APScheduler trigger, within the window."""
    tz = ZoneInfo(schedule.timezone)
    trigger: Any
    if schedule.cron:
        trigger = CronTrigger.from_crontab(schedule.cron, timezone=tz)
    else:
        assert schedule.every is not None
        start = previous or now
        trigger = IntervalTrigger(seconds=schedule.every, start_date=start, timezone=tz)
    when: datetime | None = trigger.get_next_fire_time(previous, now)
    if previous is not None and when is not None and when <= now:
        when = trigger.get_next_fire_time(when, now + timedelta(seconds=0.001))
    if when is None:
        when = now + timedelta(seconds=schedule.every or 3600)
    when = when.astimezone(now.tzinfo)
    if schedule.jitter:
        when += timedelta(seconds=random.uniform(0, schedule.jitter))
    if schedule.active_hours or schedule.weekdays:
        # Step forward to the next moment inside the window (at most 8 days).
        probe = when
        for _ in range(8 * 24 * 12):
            if _in_window(schedule, probe):
                return probe
            probe += timedelta(minutes=5)
    return when


# --- the daemon ----------------------------------------------------------------------


@dataclass
class Plan:
    """What the scheduler knows of one target."""

    target: cfg.Target
    due: datetime
    last_fire: datetime | None = None
    running: bool = False
    page_id: int | None = None  # the target's own page, where its due time is kept


@dataclass
class Daemon:
    """The long-running scheduler of ``monitor run``."""

    config_path: Path
    database: str | None = None
    holder: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )

    def __post_init__(self) -> None:
        self.config = self._load()
        self.store = Store(self.database or self.config.database)
        self.plans: dict[str, Plan] = {}
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.beats_stop = threading.Event()
        self.crawls: set[asyncio.Task[Any]] = set()
        self.scheduler: AsyncIOScheduler | None = None
        self.semaphore: asyncio.Semaphore | None = None
        self.os_lock: OsLock | None = None
        self.lag_watch: asyncio.Future[None] | None = None
        self.loop_lag = 0.0  # the longest the loop was held (seconds), for the logs
        # Each channel's sending, in its own thread: a slow channel holds back only its
        # own next pass. The window lets a stop cut the sends still in flight.
        self.sendings: list[Sending] = []
        self.jobs_running = 0
        self.window = Window()

    def _load(self) -> cfg.Config:
        return cfg.load(self.config_path)

    # --- lifecycle (main thread) -------------------------------------------------

    def run(self) -> int:
        self.os_lock = os_lock = acquire_lock(
            self.store,
            self.holder,
            str(self.config_path),
            stale_after=max(3.0, self.config.daemon.heartbeat * 3),
        )
        logger.info(
            "monitor run: %d target(s), database %s, pid %d",
            len(self.config.targets),
            self.store.engine.url.render_as_string(hide_password=True),
            os.getpid(),
        )
        if self.config.daemon.metrics.enabled:
            metrics.serve(self.config.daemon.metrics.host, self.config.daemon.metrics.port)
        previous = {
            sig: signal.signal(sig, self._signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        beats = threading.Thread(target=self._beating, name="monitor-heartbeat", daemon=True)
        beats.start()
        try:
            runner.preload()  # not on the loop at the first crawl
            reactor.run(self._start)
            while not self.stop.is_set():
                self.stop.wait(0.2)
                if self.store.fence_lost.is_set():
                    logger.error(
                        "this daemon lost the database's scheduler lock (another `monitor "
                        "run` took over): it writes nothing more and stops"
                    )
                    self.stop.set()
                elif self.reload.is_set():
                    self.reload.clear()
                    self._reload()
            logger.info(
                "stopping: no new checks; in-flight checks get %.0fs, alerts %.0fs more",
                self.config.daemon.grace,
                self.config.outbox.flush_timeout,
            )
            reactor.run(
                self._shutdown,
                timeout=self.config.daemon.grace + self.config.outbox.flush_timeout + 30,
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.beats_stop.set()
            beats.join(timeout=30)
            lost = self.store.fence_lost.is_set()
            if not lost:
                try:
                    heartbeat(self.store, self.holder, state="stopped")
                except LockLostError:
                    lost = True
                except StorageError as exc:
                    logger.error("could not mark the lock stopped: %s", exc)
            os_lock.release()
        logger.info("the event loop was held at most %.2fs at a time", self.loop_lag)
        if lost:
            logger.error("stopped: the scheduler lock was lost")
            return 1
        logger.info("stopped")
        return 0

    def _signal(self, number: int, _frame: Any) -> None:
        if number == signal.SIGHUP:
            logger.info("SIGHUP: reloading the config")
            self.reload.set()
        else:
            self.stop.set()

    def _reload(self) -> None:
        try:
            config = self._load()
        except ConfigError as exc:
            logger.error("config not reloaded, keeping the running one: %s", exc)
            return
        self.config = config
        reactor.run(self._sync_plans)
        logger.info("config reloaded: %d target(s)", len(config.targets))

    # --- on the loop -------------------------------------------------------------

    async def _start(self) -> None:
        self.semaphore = asyncio.Semaphore(self.config.daemon.max_parallel_crawls)
        await self._sync_plans()
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
        daemon = self.config.daemon
        scheduler.add_job(
            self._dispatch,
            IntervalTrigger(seconds=daemon.tick),
            id="dispatch",
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self._send_alerts,
            IntervalTrigger(seconds=daemon.outbox_interval),
            id="outbox",
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self._staleness,
            IntervalTrigger(seconds=60),
            id="staleness",
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_listener(
            self._count_jobs, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
        )
        scheduler.start()
        self.scheduler = scheduler
        self.lag_watch = asyncio.ensure_future(self._watch_loop())

    async def _watch_loop(self, every: float = 0.5, warn_after: float = 2.0) -> None:
        """Say so when something held the loop (a callback that never yields): the
        fetches and every schedule wait while it is held."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(every)
            held = loop.time() - before - every
            self.loop_lag = max(self.loop_lag, held)
            if held >= warn_after:
                logger.warning("the event loop was held for %.1fs", held)

    def _count_jobs(self, event: JobEvent) -> None:
        """How many scheduler jobs are running (a stop lets them end, not cancels them)."""
        self.jobs_running += 1 if event.code == EVENT_JOB_SUBMITTED else -1

    async def _sync_plans(self) -> None:
        """Targets from the config, due times from the database (overdue ones spread)."""
        config = self.config
        active = [t for t in config.targets if t.enabled]
        self.store.sync_targets(active)
        paused = self.store.deactivate_missing([t.name for t in active])
        if paused:
            logger.info("paused targets no longer in the config: %s", ", ".join(paused))
        now = utcnow()
        dues = stored_dues(self.store, [t.name for t in active])
        page_ids = root_pages(self.store, [t.name for t in active])
        plans: dict[str, Plan] = {}
        spread = config.daemon.spread_overdue
        for target in active:
            old = self.plans.get(target.name)
            if old is not None and old.target.url == target.url:
                old.target = target
                plans[target.name] = old
                continue
            due, last = dues.get(target.name, (None, None))
            interval = config.schedule_of(target).every or 3600.0
            if due is None or due <= now:
                # New, or overdue after a restart: soon, but not all at the same second.
                due = now + timedelta(seconds=random.uniform(0, min(spread, interval)))
            plans[target.name] = Plan(
                target, due, last_fire=last, page_id=page_ids.get(target.name)
            )
        self.plans = plans
        store_dues(self.store, [(plan.page_id, plan.due) for plan in plans.values()])

    async def _dispatch(self) -> None:
        """Start a crawl for the targets that are due (a batch per free crawl slot)."""
        if self.stop.is_set() or self.semaphore is None:
            return
        now = utcnow()
        due = [p for p in self.plans.values() if not p.running and p.due <= now]
        if not due:
            return
        due.sort(key=lambda p: p.due)
        slots = max(1, self.config.daemon.max_parallel_crawls - len(self.crawls))
        size = max(1, -(-len(due) // slots))
        for start in range(0, len(due), size):
            batch = due[start : start + size]
            late = [round((now - plan.due).total_seconds(), 3) for plan in batch]
            for plan, seconds in zip(batch, late, strict=True):
                plan.running = True
                metrics.LATENESS.observe(max(0.0, seconds))
            schedule_log.info(
                "dispatching %d target(s), up to %.1fs late",
                len(batch),
                max(late),
                extra={"lateness": late},
            )
            task = asyncio.ensure_future(self._crawl(batch))
            self.crawls.add(task)
            task.add_done_callback(self.crawls.discard)

    async def _crawl(self, batch: list[Plan]) -> None:
        assert self.semaphore is not None
        async with self.semaphore:
            started = utcnow()
            targets = [plan.target for plan in batch]
            try:
                summary = await check_async(
                    self.config,
                    self.store,
                    targets,
                    due_only=True,
                    timeout=self.config.daemon.crawl_timeout,
                )
                logger.info(
                    "checked %d target(s): %d pages, %d unchanged, %d new versions, %d errors%s",
                    len(batch),
                    summary.checked,
                    summary.unchanged,
                    summary.new_versions + summary.first_versions,
                    summary.errors,
                    "; events: " + ", ".join(f"{n} {k}" for k, n in summary.events.items())
                    if summary.events
                    else "",
                )
            except MonitorError as exc:
                logger.error("check of %s failed: %s", ", ".join(t.name for t in targets), exc)
            except Exception:  # the daemon never dies of one bad batch
                logger.exception("check of %s crashed", ", ".join(t.name for t in targets))
            finally:
                now = utcnow()
                for plan in batch:
                    schedule = self.config.schedule_of(plan.target)
                    plan.last_fire = started
                    plan.due = next_due(schedule, plan.due, now)
                    plan.running = False
                dues = [(plan.page_id, plan.due) for plan in batch]
                try:
                    await asyncio.to_thread(store_dues, self.store, dues)
                except StorageError as exc:  # kept in memory; stored with the next ones
                    logger.error("could not store the next due times: %s", exc)

    # --- the heartbeat (its own thread) ----------------------------------------------

    def _beating(self) -> None:
        """The lock's heartbeat, in its own thread: however busy the loop is, a running
        daemon never looks dead to `monitor status` or to a second `monitor run`."""
        failing = False
        while True:
            lost = self.os_lock.lost() if self.os_lock is not None else None
            try:
                if lost is None:
                    heartbeat(self.store, self.holder)
            except LockLostError as exc:
                lost = str(exc)
            except StorageError as exc:  # a full disk, a lost server: said once per beat
                logger.error("the heartbeat could not be written: %s", exc)
                failing = True
            except Exception:
                logger.exception("the heartbeat could not be written")
                failing = True
            else:
                if failing:
                    logger.info("the heartbeat is written again")
                    failing = False
            if lost is not None:
                logger.error("lost the scheduler lock: %s", lost)
                self.store.fence_lost.set()
                return
            if self.beats_stop.wait(self.config.daemon.heartbeat):
                return

    async def _send_alerts(self, *, final: bool = False, window: Window | None = None) -> int:
        """Start sending what is due on every channel not still busy with its last pass;
        log what finished. Returns how many channels are sending now."""
        self._reap()
        if not self.config.channels:
            return 0
        busy = {sending.channel for sending in self.sendings}
        try:
            outbox = Outbox(self.store, self.config)
            started = await asyncio.to_thread(
                outbox.start, final=final, window=window or self.window, busy=busy
            )
        except MonitorError as exc:
            logger.error("sending alerts failed: %s", exc)
            started = []
        except Exception:
            logger.exception("sending alerts failed")
            started = []
        self.sendings.extend(started)
        return len(self.sendings)

    def _reap(self) -> None:
        """Log the passes that finished and forget them."""
        for sending in [s for s in self.sendings if s.done]:
            self.sendings.remove(sending)
            if sending.report.messages or sending.report.released:
                logger.info("alerts to %s: %s", sending.channel, sending.report)
            metrics.record_deliveries(sending.report)

    async def _staleness(self) -> None:
        """Targets not checked successfully for stale_factor intervals: an error event."""
        try:
            count = await asyncio.to_thread(record_stale, self.config, self.store)
        except MonitorError as exc:
            logger.error("the staleness check failed: %s", exc)
            return
        if count:
            logger.warning("%d page(s) not checked successfully for too long: error events", count)

    async def _shutdown(self) -> None:
        """Stop: no new checks; in-flight ones get ``daemon.grace``; then alerts get
        ``outbox.flush_timeout``: due ones (and period digests) are sent, a send still
        in flight at the end is cut and released with the rest, pending for the next
        start (the next daemon sends them at once: they are not left claimed)."""
        if self.scheduler is not None:
            # The jobs running now end first (quickly: they see the stop): shutting the
            # scheduler down cancels them, which it logs as errors with a traceback.
            self.scheduler.pause()
            loop_time = asyncio.get_running_loop().time
            until = loop_time() + 5.0
            while self.jobs_running > 0 and loop_time() < until:
                await asyncio.sleep(0.05)
            self.scheduler.shutdown(wait=False)
        if self.lag_watch is not None:
            self.lag_watch.cancel()
        if self.crawls:
            _done, pending = await asyncio.wait(set(self.crawls), timeout=self.config.daemon.grace)
            for task in pending:
                task.cancel()
            if pending:
                # Awaited, so their errors are taken here, not reported later as
                # "exception was never retrieved".
                await asyncio.wait(pending, timeout=10)
                for task in pending:
                    if task.done() and not task.cancelled():
                        task.exception()
                logger.warning("%d crawl(s) cancelled at the end of the grace period", len(pending))
        loop = asyncio.get_running_loop()
        # A daemon that lost its lock writes nothing more, alerts included.
        until = loop.time() + (
            0.0 if self.store.fence_lost.is_set() else self.config.outbox.flush_timeout
        )
        flush = Window(time.monotonic() + self.config.outbox.flush_timeout)
        while loop.time() < until:
            sending = await self._send_alerts(final=True, window=flush)
            if not sending:
                break
            await asyncio.sleep(0.1)
        self.window.abort()
        flush.abort()
        left = list(self.sendings)
        await asyncio.to_thread(_join, [sending.thread for sending in left], 5.0)
        self._reap()
        if self.sendings:
            logger.warning(
                "channel(s) %s still busy at exit: their deliveries are retried after "
                "outbox.claim_timeout",
                ", ".join(sending.channel for sending in self.sendings),
            )
        released = sum(sending.report.released for sending in left)
        if released:
            logger.info("%d alert(s) left in the outbox for the next start", released)


def _join(threads: list[threading.Thread], timeout: float) -> None:
    end = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))


def reload_running(store: Store) -> str:
    """Ask the running daemon of this database to reload its config (SIGHUP)."""
    lock = read_lock(store)
    if lock is None or lock.state == "stopped":
        raise MonitorError("no `monitor run` is running on this database")
    if lock.host != socket.gethostname():
        raise MonitorError(f"the running daemon is on host {lock.host}; run this there")
    try:
        os.kill(lock.pid, signal.SIGHUP)
    except ProcessLookupError:
        raise MonitorError(f"the daemon (pid {lock.pid}) is not running any more") from None
    return f"asked pid {lock.pid} to reload its config"
