"""Per-site leases in PostgreSQL: one batch of a site runs at a time in the whole cluster.

A site's politeness (``per_domain_concurrency``, ``delay``) is enforced by Scrapy inside
one crawl; the lease makes that crawl the only one on the site, whichever worker runs it.
A lease expires unless its holder renews it (a dead worker's site is free after
``cluster.lease_ttl``); ``token`` grows at each new holder (a fencing value). Times are
the database's (``now()``), so machines' clocks need not agree.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from monitor.storage.models import SiteLease
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lease:
    """A site's lease as held by one batch."""

    site: str
    holder: str
    token: int


def lease_holder(worker_id: str, dispatch_id: str) -> str:
    """Who holds a site while a batch runs: the worker and the batch."""
    return f"{worker_id}/{dispatch_id}"


def live_holders(store: Store, sites: list[str]) -> set[str]:
    """The holders of the unexpired leases of ``sites`` (by the database's clock)."""
    if not sites:
        return set()
    with store.session() as session:
        rows = session.execute(
            select(SiteLease.holder).where(
                SiteLease.site.in_(sites), SiteLease.expires_at > func.now()
            )
        ).all()
    return {holder for (holder,) in rows}


def acquire(store: Store, site: str, holder: str, ttl: float) -> Lease | None:
    """Take the site's lease if it is free or expired; None while another holds it."""
    expires = func.now() + timedelta(seconds=ttl)
    statement = (
        insert(SiteLease)
        .values(site=site, holder=holder, token=1, expires_at=expires)
        .on_conflict_do_update(
            index_elements=[SiteLease.site],
            set_={"holder": holder, "token": SiteLease.token + 1, "expires_at": expires},
            where=SiteLease.expires_at < func.now(),
        )
        .returning(SiteLease.token)
    )
    with store.session() as session, session.begin():
        token = session.execute(statement).scalar_one_or_none()
    return None if token is None else Lease(site, holder, int(token))


def wait_for(store: Store, site: str, holder: str, ttl: float, patience: float) -> Lease | None:
    """Acquire the site's lease, trying for up to ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while True:
        lease = acquire(store, site, holder, ttl)
        if lease is not None or time.monotonic() >= deadline:
            return lease
        time.sleep(0.5)


def renew(store: Store, lease: Lease, ttl: float) -> bool:
    """Extend the lease; False if it was lost (expired and taken by another)."""
    with store.session() as session, session.begin():
        result = session.execute(
            update(SiteLease)
            .where(
                SiteLease.site == lease.site,
                SiteLease.holder == lease.holder,
                SiteLease.token == lease.token,
            )
            .values(expires_at=func.now() + timedelta(seconds=ttl))
        )
    return bool(getattr(result, "rowcount", 0))


def release(store: Store, lease: Lease) -> None:
    """Free the site at once (only if this holder still has it)."""
    with store.session() as session, session.begin():
        session.execute(
            update(SiteLease)
            .where(
                SiteLease.site == lease.site,
                SiteLease.holder == lease.holder,
                SiteLease.token == lease.token,
            )
            .values(expires_at=func.now() - timedelta(seconds=1))
        )


class Renewal:
    """Renews a lease every third of its life, in a thread, while a batch runs."""

    def __init__(self, store: Store, lease: Lease, ttl: float) -> None:
        self.store, self.lease, self.ttl = store, lease, ttl
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-renewal", daemon=True)

    def __enter__(self) -> Renewal:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not renew(self.store, self.lease, self.ttl):
                    logger.error("lost the lease of %s", self.lease.site)
                    self.lost.set()
                    return
            except Exception:
                logger.exception("could not renew the lease of %s", self.lease.site)
