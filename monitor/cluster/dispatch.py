"""The leader's side: what is due, sent as one batch per site, and re-sent until done.

Every tick, in ONE transaction fenced by the leader's epoch (:func:`leader.fence`), the
leader reads the targets whose page is due, groups them by site (the host: Scrapy's
download slot, the politeness key), writes one ``cluster_dispatches`` row per site (at
most ``cluster.batch_size`` targets, and none for a site whose previous batch is still
open) and moves the targets' ``next_due_at`` on. Only after the commit are the batches
published. So:

* a new leader after a switch sees those targets as not due: no target is scheduled
  twice in one interval because of the switch;
* a batch whose message was lost (a broker restart without persistence, a failed
  publish) is still in the table, unfinished: it is published again, with the same id,
  ``cluster.resend_after`` after its last send if no worker started it, or at once when
  the worker running it stopped beating. A worker drops a message of a batch that is
  finished or running elsewhere, so re-sending never checks a batch twice at once.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update

from monitor import config as cfg
from monitor.cluster.leader import fence
from monitor.cluster.leases import lease_holder, live_holders
from monitor.daemon.scheduler import next_due
from monitor.storage.models import Dispatch, Page, Target
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)

#: Sends a batch's id to the workers' queue.
Publish = Callable[[str], None]


def site_of(url: str) -> str:
    """The politeness key of a URL: its host name (Scrapy's download slot)."""
    parts = urlsplit(url)
    return (parts.hostname or parts.netloc or url).lower()


@dataclass(frozen=True, slots=True)
class Sent:
    """What one tick did."""

    batches: int = 0
    targets: int = 0
    resent: int = 0


class Dispatcher:
    """The leader's dispatching, for one config."""

    def __init__(self, config: cfg.Config, store: Store, node_id: str, publish: Publish) -> None:
        self.config, self.store, self.node_id, self.publish = config, store, node_id, publish
        self.settings = config.cluster
        self.targets = {t.name: t for t in config.targets if t.enabled}

    def sync(self, epoch: int) -> None:
        """On taking the lead: targets of the config in the database, new ones given a
        due time (spread), removed ones paused. Existing due times are kept as they are."""
        active = list(self.targets.values())
        self.store.sync_targets(active)
        paused = self.store.deactivate_missing(list(self.targets))
        if paused:
            logger.info("paused targets no longer in the config: %s", ", ".join(paused))
        now = utcnow()
        spread = self.config.daemon.spread_overdue
        with self.store.session() as session, session.begin():
            fence(session, self.node_id, epoch)
            rows = session.execute(
                select(Page.id, Target.name)
                .join(Target, Page.target_id == Target.id)
                .where(Page.url == Target.url, Page.next_due_at.is_(None), Target.active)
            ).all()
            for page_id, name in rows:
                target = self.targets.get(name)
                if target is None:
                    continue
                interval = self.config.schedule_of(target).every or 3600.0
                due = now + timedelta(seconds=random.uniform(0, min(spread, interval)))
                session.execute(update(Page).where(Page.id == page_id).values(next_due_at=due))

    def tick(self, epoch: int) -> Sent:
        """Dispatch what is due, then re-send what was lost; raises NotLeaderError."""
        now = utcnow()
        created = self._dispatch_due(epoch, now)
        for dispatch_id, _count in created:
            self._publish(dispatch_id)
        resent = self._resend(epoch, now)
        return Sent(len(created), sum(count for _id, count in created), resent)

    def _dispatch_due(self, epoch: int, now: datetime) -> list[tuple[str, int]]:
        created: list[tuple[str, int]] = []
        with self.store.session() as session, session.begin():
            fence(session, self.node_id, epoch)
            busy = set(
                session.scalars(select(Dispatch.site).where(Dispatch.finished_at.is_(None))).all()
            )
            rows = session.execute(
                select(Page.id, Page.next_due_at, Target.name, Target.url)
                .join(Target, Page.target_id == Target.id)
                .where(Page.url == Target.url, Target.active, Page.next_due_at <= now)
                .order_by(Page.next_due_at)
            ).all()
            by_site: dict[str, list[tuple[int, datetime, str]]] = {}
            for page_id, due, name, url in rows:
                if name not in self.targets:
                    continue
                site = site_of(url)
                if site in busy:
                    continue
                batch = by_site.setdefault(site, [])
                if len(batch) < self.settings.batch_size:
                    batch.append((page_id, due or now, name))
            moves: list[dict[str, object]] = []
            for site, batch in by_site.items():
                dispatch_id = uuid.uuid4().hex
                session.add(
                    Dispatch(
                        id=dispatch_id,
                        site=site,
                        targets=[name for _page, _due, name in batch],
                        epoch=epoch,
                        created_at=now,
                        sends=0,
                        starts=0,
                        pages=0,
                        errors=0,
                    )
                )
                for page_id, due, name in batch:
                    schedule = self.config.schedule_of(self.targets[name])
                    moves.append({"id": page_id, "next_due_at": next_due(schedule, due, now)})
                created.append((dispatch_id, len(batch)))
            if moves:
                session.flush()
                session.execute(update(Page), moves)
        return created

    def _publish(self, dispatch_id: str) -> None:
        try:
            self.publish(dispatch_id)
        except Exception as exc:  # the broker is down: re-sent later from the table
            logger.error("could not send batch %s: %s", dispatch_id, exc)
            return
        with self.store.session() as session, session.begin():
            session.execute(
                update(Dispatch)
                .where(Dispatch.id == dispatch_id)
                .values(published_at=utcnow(), sends=Dispatch.sends + 1)
            )

    def _resend(self, epoch: int, now: datetime) -> int:
        """Batches to send again: never started and sent long ago (or never), or started
        but no longer running: the site's lease of that batch expired (its worker died,
        hung or lost the database) - then reset, so any worker may take them."""
        lost_after = now - timedelta(seconds=self.settings.resend_after)
        with self.store.session() as session:
            started = session.execute(
                select(Dispatch.id, Dispatch.site, Dispatch.worker_id).where(
                    Dispatch.finished_at.is_(None), Dispatch.started_at.is_not(None)
                )
            ).all()
        live = live_holders(self.store, sorted({site for _id, site, _worker in started}))
        orphaned = [
            dispatch_id
            for dispatch_id, _site, worker in started
            if lease_holder(worker or "", dispatch_id) not in live
        ]
        with self.store.session() as session, session.begin():
            fence(session, self.node_id, epoch)
            unstarted = session.scalars(
                select(Dispatch.id).where(
                    Dispatch.finished_at.is_(None),
                    Dispatch.started_at.is_(None),
                    or_(Dispatch.published_at.is_(None), Dispatch.published_at < lost_after),
                )
            ).all()
            if orphaned:
                # Only those still unfinished and still with that worker (one may have
                # finished, and freed its lease, since they were read).
                reset = session.scalars(
                    update(Dispatch)
                    .where(
                        Dispatch.id.in_(orphaned),
                        Dispatch.finished_at.is_(None),
                        Dispatch.started_at.is_not(None),
                    )
                    .values(worker_id=None, started_at=None)
                    .returning(Dispatch.id)
                ).all()
                orphaned = list(reset)
        again: Sequence[str] = [*unstarted, *orphaned]
        for dispatch_id in again:
            logger.warning(
                "sending batch %s again (%s)",
                dispatch_id,
                "its worker stopped holding the site" if dispatch_id in orphaned else "not started",
            )
            self._publish(dispatch_id)
        return len(again)
