"""`monitor run --role worker`: one reactor, then Celery's worker in the main thread.

The shape the spike measured (docs/SCALING.md §1): the Twisted reactor starts once, in
this process, before any task (never before a fork: the threads pool never forks), and
Celery runs in the main thread with the threads pool, so it keeps SIGTERM/SIGINT (warm
shutdown: running batches finish). Each task thread hands its crawl to the reactor's
loop and waits. ``cluster.concurrency`` threads: that many sites in flight at once.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from monitor import config as cfg
from monitor.cluster import nodes
from monitor.cluster.app import make_app
from monitor.cluster.tasks import WorkerContext, register
from monitor.exceptions import ConfigError, StorageError
from monitor.fetch import reactor
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


def load_for_role(config_path: Path, database: str | None, role: str) -> cfg.Config:
    """The config of a cluster role; ConfigError (one line) for SQLite."""
    config = cfg.load(config_path)
    url = database or config.database
    if not url.startswith("postgresql"):
        raise ConfigError(
            f"monitor run --role {role} needs PostgreSQL (database: {url.split(':', 1)[0]}): "
            "the processes of a cluster share one database; use `monitor run` on one machine"
        )
    if database:
        config = config.model_copy(update={"database": database})
    return config


def open_store(url: str) -> Store:
    """The store; a second try if another process of the cluster was upgrading the same
    new database at the same moment (the loser of that race sees a half-made schema)."""
    try:
        return Store(url)
    except StorageError as exc:
        logger.warning("opening the database failed (%s); trying again", exc)
        time.sleep(2)
        return Store(url)


def _keep_logging(**_kwargs: object) -> None:
    """Celery's setup_logging signal, answered: the monitor's own logging is kept."""


def run_worker(config_path: Path, database: str | None = None) -> int:
    """Run a worker until SIGTERM/SIGINT; returns the exit code."""
    config = load_for_role(config_path, database, "worker")
    settings = config.cluster
    broker_url = settings.broker_url()
    store = open_store(config.database)
    node_id = nodes.new_node_id()
    reactor.loop()  # before any task: fail fast if the reactor cannot start
    nodes.register(
        store,
        node_id,
        "worker",
        "running",
        queue=settings.queue,
        concurrency=settings.concurrency,
    )
    heartbeat = nodes.Heartbeat(store, node_id, settings.heartbeat).start()
    # The logging `monitor -v run` set up stays: Celery configures logging itself only
    # when nobody answers its setup_logging signal (it set the root logger to WARNING,
    # and a worker's batch lines were lost whatever -v said).
    from celery.signals import setup_logging

    setup_logging.connect(_keep_logging, weak=False)
    app = make_app(settings, broker_url)
    register(app, WorkerContext(config, store, node_id))
    logger.info(
        "worker %s: queue %s, %d batches at once, pid %d",
        node_id,
        settings.queue,
        settings.concurrency,
        os.getpid(),
    )
    worker = app.Worker(
        pool="threads",
        concurrency=settings.concurrency,
        queues=[settings.queue],
        hostname=f"monitor-{node_id.replace(':', '-')}@%h",
        without_gossip=True,
        without_mingle=True,
        loglevel="WARNING",
    )
    try:
        worker.start()
    finally:
        heartbeat.stop("stopped")
        store.close()
    return int(worker.exitcode or 0)
