"""Pages whose checks stopped: an ``error`` event through the one event path.

The daemon calls :func:`record_stale` every minute. Which pages are stale is decided from
their states (:func:`monitor.detect.events.stale`); the events are scored, summarised
and routed by the same plan as every other event (:func:`monitor.detect.plan.plan_stale`)
and written in one transaction with their deliveries.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from monitor import config as cfg
from monitor.check.cycle import context_for
from monitor.detect.events import stale
from monitor.detect.plan import plan_stale
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)


def record_stale(config: cfg.Config, store: Store) -> int:
    """An error event for each active page of an enabled target not checked successfully
    within ``daemon.stale_factor`` x its interval; returns how many."""
    factor = config.daemon.stale_factor
    targets = [target for target in config.targets if target.enabled]
    limits = {
        target.name: (config.schedule_of(target).every or 86400.0) * factor for target in targets
    }
    contexts = {target.name: context_for(config, target) for target in targets}
    now = utcnow()
    pages = [
        (key, state)
        for key, state in store.stale_candidates(limits)
        if stale(replace(state), limits[key.target], now) is not None
    ]
    if not pages:
        return 0
    # Their last versions name them in the events (their titles).
    versions = store.previous_versions(
        state.last_version_id for _key, state in pages if state.last_version_id is not None
    )
    plan = plan_stale(pages, limits, contexts, versions, now)
    if not plan.events:
        return 0
    store.write(plan)
    return len(plan.events)
