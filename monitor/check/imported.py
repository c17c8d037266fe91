"""Recording captures the monitor did not make: pages from WARC files and web archives.

``monitor import warc`` and ``monitor backfill`` hand over :class:`Imported` captures
(what was answered for a URL at a past time, and where that record came from). Each
becomes a FetchResult of its original time, goes through the same observation and
recording plan as a fetch of a check (:func:`monitor.detect.observe.observe`,
:func:`monitor.detect.plan.plan_batch`), decided at its own time, in time order per page:
versions with their original capture times, bodies and hashes kept, events as if
observed then. Its capture row says where it came from (``captures.source``,
``captures.provenance``). No alert is queued unless asked (``alert``): the past is
history, not news.

A page that already has versions keeps them: only captures newer than its last check
are recorded after them (older ones are skipped and counted), so a page's versions stay
in time order. Import before a target's first check to give it a past.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from monitor import config as cfg
from monitor.check.cycle import context_for, target_rules
from monitor.detect.events import Context
from monitor.detect.normalize import canonical_url
from monitor.detect.observe import TargetRules, observe
from monitor.detect.plan import plan_batch, versions_needed
from monitor.records import FetchResult, Imported, Observation, PageKey, PageState
from monitor.storage.store import Store
from monitor.vocab import Purpose, Role

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ImportReport:
    """What an import recorded, and what it left out (with the reason)."""

    captures: int = 0
    versions: int = 0
    events: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    pages: set[str] = field(default_factory=set)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def record_imported(
    config: cfg.Config,
    store: Store,
    items: Iterable[Imported],
    *,
    alert: bool = False,
    target: str | None = None,
) -> ImportReport:
    """Record past captures as versions of the pages they are of; returns the report.

    A capture belongs to the page watching its URL, or to the target whose URL it is;
    with ``target``, every capture of a URL no page watches yet becomes a page of that
    target. Captures of URLs nobody watches are skipped.
    """
    report = ImportReport()
    targets = {t.name: t for t in config.targets}
    if target is not None and target not in targets:
        from monitor.exceptions import UnknownTargetError

        raise UnknownTargetError(f"no target named {target!r} in the config")
    target_ids = store.sync_targets(config.targets)
    chosen = [canonical_item(item) for item in items]
    known = store.pages_at({item.url for item in chosen})
    by_url = {canonical_url(t.url): t.name for t in config.targets}
    keys: dict[str, PageKey] = {}
    for item in chosen:
        if item.url in keys:
            continue
        if item.url in known:
            keys[item.url] = known[item.url][0]
        elif item.url in by_url:
            keys[item.url] = PageKey(by_url[item.url], item.url)
        elif target is not None:
            keys[item.url] = PageKey(target, item.url)
    states = store.states(
        [target_ids[key.target] for key in keys.values() if key.target in target_ids],
        pages=[page_id for _key, page_id in known.values()],
    )
    rules: dict[str, TargetRules] = {}
    contexts: dict[str, Context] = {}
    for name in {key.target for key in keys.values()}:
        spec = targets.get(name)
        if spec is None:
            continue
        rules[name] = target_rules(config, spec)
        context = context_for(config, spec)
        contexts[name] = context if alert else replace(context, routes=())
    for item in sorted(chosen, key=lambda i: (i.captured_at, i.url)):
        key = keys.get(item.url)
        if key is None or key.target not in rules:
            report.skip("no watched page or target has this URL")
            continue
        state = states.get(key)
        if state is None:
            spec = targets[key.target]
            role = Role.ARTICLE if spec.follow is not None and key.url != spec.url else Role.PAGE
            state = PageState(page_id=None, target_id=target_ids[key.target], role=role)
            states[key] = state
        if state.last_version_id is not None and (
            state.last_checked_at is None or item.captured_at <= state.last_checked_at
        ):
            report.skip("older than the page's own history (import before its first check)")
            continue
        _record_one(store, item, key, state, states, rules[key.target], contexts, report)
    return report


def canonical_item(item: Imported) -> Imported:
    return replace(item, url=canonical_url(item.url))


def _record_one(
    store: Store,
    item: Imported,
    key: PageKey,
    state: PageState,
    states: dict[PageKey, PageState],
    rules: TargetRules,
    contexts: dict[str, Context],
    report: ImportReport,
) -> None:
    """One capture, planned at its own time and written (one transaction)."""
    fetch = FetchResult(
        key=key,
        role=state.role,
        requested_url=item.url,
        started_at=item.captured_at,
        duration_ms=0.0,
        final_url=item.url,
        status=item.status,
        headers=dict(item.headers),
        body=item.body,
        request_headers=dict(item.request_headers),
        protocol=item.protocol,
        purpose=Purpose.CHECK,
        source=item.source,
        provenance=item.provenance,
    )
    observation = observe(fetch, rules.of(state.role), state)
    batch: Sequence[Observation] = [observation]
    previous = store.previous_versions(versions_needed(batch, states))
    plan = plan_batch(batch, states, contexts, previous, item.captured_at)
    written = store.write(plan)
    plan.settle(written)
    states.update(plan.states)
    report.captures += 1
    report.pages.add(key.url)
    report.alerts += len(plan.deliveries)
    for recorded in plan.recorded:
        if recorded.version_id is not None:
            report.versions += 1
        if recorded.event:
            report.events[recorded.event] = report.events.get(recorded.event, 0) + 1
