"""The batch task: a worker checks the due targets of one site, through the check path.

``check_batch(dispatch_id)`` reads its batch from ``cluster_dispatches`` (the message
carries only the id), and:

1. drops the message if the batch is finished, or running on a worker that still beats
   (a re-sent or redelivered duplicate);
2. takes the site's lease (:mod:`~monitor.cluster.leases`), waiting up to a lease's
   life for a dead worker's to expire; without it the batch is left for a later send;
3. claims the batch (compare-and-set on its worker), then runs
   :func:`monitor.check.check_async` on the process's one reactor - the same check as
   ``monitor run`` - which records into PostgreSQL in its own transactions, and reads a
   site's robots.txt from the cluster's cache (:mod:`~monitor.cluster.robots`);
4. marks the batch finished, frees the site, and sends due alerts (any process may: the
   outbox's claims give each delivery to one sender). A check that fails as a whole (an
   exception) leaves the batch unfinished and its site free, so the leader sends it
   again at once, up to :data:`MAX_STARTS` starts; then it is finished with its pages
   counted as errors.

A worker killed in step 3 leaves the batch started and unfinished: the broker delivers
it again (late acknowledgement), or the leader re-sends it once the site's lease of the
batch expired (nobody renews it); pages recorded before the kill compare equal to their
new last version, so their events are not decided twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, update

from monitor import config as cfg
from monitor.check import check_async
from monitor.cluster import leases
from monitor.cluster.app import CHECK_BATCH
from monitor.cluster.robots import SharedRobots
from monitor.fetch import reactor
from monitor.notify.outbox import Outbox
from monitor.storage.models import Dispatch
from monitor.storage.store import Store
from monitor.timefmt import utcnow

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)

#: A batch whose check fails (an exception, not a page's fetch error) is run again, up to
#: this many starts in all; then it is finished with every page counted an error.
MAX_STARTS = 3


@dataclass
class WorkerContext:
    """What every task thread of a worker process shares."""

    config: cfg.Config
    store: Store
    node_id: str


def _claimable(store: Store, dispatch_id: str, node_id: str) -> Dispatch | None:
    """The batch if this worker may run it: not finished, and not running elsewhere
    (another worker holds the site's lease for it)."""
    with store.session() as session:
        dispatch = session.get(Dispatch, dispatch_id)
        if dispatch is None or dispatch.finished_at is not None:
            return None
        session.expunge(dispatch)
    if dispatch.worker_id is not None and dispatch.worker_id != node_id:
        holder = leases.lease_holder(dispatch.worker_id, dispatch.id)
        if holder in leases.live_holders(store, [dispatch.site]):
            return None
    return dispatch


def _claim(store: Store, dispatch: Dispatch, node_id: str) -> bool:
    """Compare-and-set the batch's worker: only one claimant wins."""
    with store.session() as session, session.begin():
        seen = dispatch.worker_id
        result = session.execute(
            update(Dispatch)
            .where(
                Dispatch.id == dispatch.id,
                Dispatch.finished_at.is_(None),
                or_(Dispatch.worker_id.is_(None), Dispatch.worker_id == seen)
                if seen is not None
                else Dispatch.worker_id.is_(None),
            )
            .values(worker_id=node_id, started_at=func.now(), starts=Dispatch.starts + 1)
        )
    return bool(getattr(result, "rowcount", 0))


def _finish(store: Store, dispatch_id: str, node_id: str, pages: int, errors: int) -> None:
    with store.session() as session, session.begin():
        session.execute(
            update(Dispatch)
            .where(Dispatch.id == dispatch_id, Dispatch.finished_at.is_(None))
            .values(finished_at=utcnow(), worker_id=node_id, pages=pages, errors=errors)
        )


def run_batch(context: WorkerContext, dispatch_id: str) -> str:
    """Check one batch; returns what happened (``done``, ``duplicate``, ``busy``,
    ``failed``: to be sent again)."""
    config, store, node_id = context.config, context.store, context.node_id
    settings = config.cluster
    dispatch = _claimable(store, dispatch_id, node_id)
    if dispatch is None:
        logger.info("batch %s: finished or running elsewhere; dropped", dispatch_id)
        return "duplicate"
    holder = leases.lease_holder(node_id, dispatch_id)
    lease = leases.wait_for(
        store, dispatch.site, holder, settings.lease_ttl, patience=settings.lease_ttl + 5
    )
    if lease is None:
        logger.warning("batch %s: %s is leased; left for a later send", dispatch_id, dispatch.site)
        return "busy"
    try:
        if not _claim(store, dispatch, node_id):
            logger.info("batch %s: claimed by another worker; dropped", dispatch_id)
            return "duplicate"
        by_name = {target.name: target for target in config.targets if target.enabled}
        targets = [by_name[name] for name in dispatch.targets if name in by_name]
        pages = errors = 0
        failed = False
        with leases.Renewal(store, lease, settings.lease_ttl):
            try:
                summary = reactor.run(
                    lambda: check_async(
                        config,
                        store,
                        targets,
                        due_only=True,
                        timeout=settings.batch_timeout,
                        robots=SharedRobots(store, settings.robots_ttl),
                    ),
                    timeout=settings.batch_timeout + 60,
                )
                pages, errors = summary.checked, summary.errors
                logger.info(
                    "batch %s (%s): %d pages, %d errors", dispatch_id, dispatch.site, pages, errors
                )
            except Exception:  # one bad batch never stops the worker
                logger.exception("batch %s (%s) failed", dispatch_id, dispatch.site)
                errors = len(targets)
                failed = True
        attempt = dispatch.starts + 1  # the claim counted this start
        if failed and attempt < MAX_STARTS:
            # Left unfinished: with its lease freed below, the leader sends it again at
            # its next tick (its pages were moved to their next due time when it was made).
            logger.warning(
                "batch %s (%s): start %d of %d failed; it will be sent again",
                dispatch_id,
                dispatch.site,
                attempt,
                MAX_STARTS,
            )
            return "failed"
        _finish(store, dispatch_id, node_id, pages, errors)
    finally:
        leases.release(store, lease)
    if config.channels:
        try:
            report = Outbox(store, config).deliver(timeout=30)
            if report.sent or report.failed or report.dead:
                logger.info("alerts: %s", report)
        except Exception:
            logger.exception("sending alerts failed")
    return "done"


def register(app: Celery, context: WorkerContext) -> Any:
    """The ``monitor.check_batch`` task on ``app``, running in ``context``."""

    @app.task(name=CHECK_BATCH, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def check_batch(dispatch_id: str) -> str:
        return run_batch(context, dispatch_id)

    return check_batch
