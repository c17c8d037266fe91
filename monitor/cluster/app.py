"""The Celery app of the cluster, with the delivery settings the spike measured.

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a batch is acknowledged when it
  is done, so a worker killed mid-batch leaves it to the broker to deliver again
  (RabbitMQ at once when the connection closes; Redis after the visibility timeout).
* ``worker_prefetch_multiplier=1``: a worker takes one batch per free thread, never a
  hoard that others could run.
* Redis: the visibility timeout is longer than a batch can run (twice
  ``batch_timeout`` plus a lease), and kombu's restore sweep runs every 5 s (its default
  scans only every ~100 s, docs/SCALING.md pitfall 4). Give the monitor its own Redis
  database: every consumer of a database sweeps everyone's unacknowledged tasks with its
  own timeout (pitfall 5).
* No result backend: tasks write to PostgreSQL.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from monitor.cluster.settings import ClusterSettings

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)

#: The one task's name (the scheduler sends it by name; it never imports the worker).
CHECK_BATCH = "monitor.check_batch"


def transport_options(settings: ClusterSettings, broker_url: str) -> dict[str, Any]:
    """Broker transport options (Redis only; RabbitMQ needs none)."""
    if not broker_url.startswith(("redis://", "rediss://")):
        return {}
    return {
        "visibility_timeout": int(2 * settings.batch_timeout + settings.lease_ttl),
        "unacked_restore_interval": 5,
        "unacked_restore_throttle": 1,
    }


def make_app(settings: ClusterSettings, broker_url: str) -> Celery:
    """A Celery app on ``broker_url`` with the cluster's queue and delivery settings."""
    from celery import Celery

    app = Celery("monitor", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,  # Celery 6's default
        task_default_queue=settings.queue,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport_options(settings, broker_url),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
    )
    return app


def queue_depth(settings: ClusterSettings, broker_url: str, timeout: float = 3.0) -> int | None:
    """Batches waiting in the queue; None if the broker does not answer.

    A queue the broker does not know (Redis drops an empty list; RabbitMQ before the
    first worker declared it) has nothing waiting: 0.
    """
    app = make_app(settings, broker_url)
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            try:
                declared = connection.default_channel.queue_declare(
                    queue=settings.queue, passive=True
                )
            except Exception as exc:
                if "NOT_FOUND" in str(exc):
                    return 0
                raise
            return int(declared.message_count)
    except Exception as exc:  # the broker is down: unknown, not an error of ours
        logger.warning("queue depth unknown: %s", exc)
        return None
