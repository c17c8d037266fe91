"""The cluster's robots.txt cache, in its database (table ``robots_txt``).

Every worker's crawls read a site's robots.txt from here while the copy is younger
than ``cluster.robots_ttl`` and write each one they fetch (:mod:`monitor.fetch.robots`
does the reading and writing inside the crawl): the whole cluster fetches a site's
robots.txt about once per ``robots_ttl``, whichever workers run the site's batches.
Two workers that find no fresh copy at the same moment may both fetch it; one copy is
kept (when both write a site new to the table at once, the second write is refused and
logged as a warning, and its crawl goes on with what it fetched).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from monitor.fetch.robots import CachedRobots
from monitor.storage.models import RobotsTxt
from monitor.storage.store import Store
from monitor.timefmt import utcnow


class SharedRobots:
    """robots.txt by site, fresh for ``ttl`` seconds (a :class:`RobotsCache`)."""

    def __init__(self, store: Store, ttl: float) -> None:
        self.store = store
        self.ttl = ttl

    def get(self, site: str) -> CachedRobots | None:
        with self.store.session() as session:
            row = session.scalars(
                select(RobotsTxt).where(
                    RobotsTxt.site == site,
                    RobotsTxt.fetched_at > utcnow() - timedelta(seconds=self.ttl),
                )
            ).first()
            return CachedRobots(row.status, row.body) if row is not None else None

    def put(self, site: str, robots: CachedRobots) -> None:
        with self.store.session() as session, session.begin():
            session.merge(
                RobotsTxt(site=site, status=robots.status, body=robots.body, fetched_at=utcnow())
            )
