"""`monitor run --role scheduler`: leader or standby, dispatching what is due.

Run two (on two machines): one leads (:mod:`~monitor.cluster.leader`), the other tries
for the lead every fifth of ``cluster.leader_timeout``. The leader, every
``cluster.tick``, dispatches due targets as batches per site and re-sends lost ones
(:mod:`~monitor.cluster.dispatch`); every ``daemon.outbox_interval`` it sends due alerts
and every minute it records stale pages, as ``monitor run`` does. Due times come from the
targets' schedules through the daemon's APScheduler triggers
(:func:`monitor.daemon.scheduler.next_due`). SIGTERM/SIGINT: it lets the lead go and
exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from monitor.check.stale import record_stale
from monitor.cluster import nodes
from monitor.cluster.app import CHECK_BATCH, make_app
from monitor.cluster.dispatch import Dispatcher
from monitor.cluster.leader import Leadership
from monitor.cluster.worker import load_for_role, open_store
from monitor.exceptions import NotLeaderError
from monitor.notify.outbox import Outbox

logger = logging.getLogger(__name__)

STALENESS_EVERY = 60.0


class ClusterScheduler:
    """One scheduler process of the pair."""

    def __init__(self, config_path: Path, database: str | None = None) -> None:
        self.config = load_for_role(config_path, database, "scheduler")
        self.settings = self.config.cluster
        self.broker_url = self.settings.broker_url()
        self.store = open_store(self.config.database)
        self.node_id = nodes.new_node_id()
        self.stop = threading.Event()
        self.leadership = Leadership(self.store, self.node_id, self.settings.leader_timeout)
        self.app = make_app(self.settings, self.broker_url)
        self.dispatcher = Dispatcher(self.config, self.store, self.node_id, self._publish)
        self._side_job: threading.Thread | None = None

    def _publish(self, dispatch_id: str) -> None:
        self.app.send_task(CHECK_BATCH, args=[dispatch_id], queue=self.settings.queue)

    def run(self) -> int:
        nodes.register(self.store, self.node_id, "scheduler", "standby", queue=None, concurrency=0)
        heartbeat = nodes.Heartbeat(
            self.store,
            self.node_id,
            min(self.settings.heartbeat, self.settings.leader_timeout / 5),
            state=lambda: "leading" if self.leadership.leading else "standby",
        ).start()
        previous = {
            sig: signal.signal(sig, self._signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        logger.info("scheduler %s: standing by for the lead", self.node_id)
        last_outbox = last_stale = 0.0
        try:
            while not self.stop.is_set():
                if not self.leadership.check():
                    if not self.leadership.try_lead():
                        self.stop.wait(self.leadership.poll)
                        continue
                    assert self.leadership.epoch is not None
                    nodes.beat(self.store, self.node_id, "leading")
                    try:
                        self.dispatcher.sync(self.leadership.epoch)
                    except NotLeaderError:
                        self.leadership.resign()
                        continue
                epoch = self.leadership.epoch
                assert epoch is not None
                try:
                    sent = self.dispatcher.tick(epoch)
                    if sent.batches or sent.resent:
                        logger.info(
                            "sent %d batch(es) of %d target(s); %d sent again",
                            sent.batches,
                            sent.targets,
                            sent.resent,
                        )
                except NotLeaderError as exc:
                    logger.warning("%s; standing down", exc)
                    self.leadership.resign()
                    continue
                except Exception:  # the database or broker hiccups: try again next tick
                    logger.exception("dispatching failed")
                now = time.monotonic()
                if now - last_outbox >= self.config.daemon.outbox_interval:
                    last_outbox = now
                    self._in_background(self._send_alerts)
                if now - last_stale >= STALENESS_EVERY:
                    last_stale = now
                    self._in_background(self._staleness)
                self.stop.wait(self.settings.tick)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.leadership.resign()
            heartbeat.stop("stopped")
            self.store.close()
        logger.info("scheduler stopped cleanly")
        return 0

    def _signal(self, _number: int, _frame: Any) -> None:
        self.stop.set()

    def _in_background(self, job: Any) -> None:
        """Alerts and staleness off the dispatch loop, one at a time."""
        if self._side_job is not None and self._side_job.is_alive():
            return
        self._side_job = threading.Thread(target=job, name="scheduler-side-job", daemon=True)
        self._side_job.start()

    def _send_alerts(self) -> None:
        if not self.config.channels:
            return
        try:
            report = Outbox(self.store, self.config).deliver(timeout=60)
            if report.sent or report.failed or report.dead:
                logger.info("alerts: %s", report)
        except Exception:
            logger.exception("sending alerts failed")

    def _staleness(self) -> None:
        try:
            count = record_stale(self.config, self.store)
            if count:
                logger.warning("%d page(s) not checked successfully for too long", count)
        except Exception:
            logger.exception("the staleness check failed")


def run_scheduler(config_path: Path, database: str | None = None) -> int:
    """Run a scheduler of the cluster until SIGTERM/SIGINT; returns the exit code."""
    return ClusterScheduler(config_path, database).run()
