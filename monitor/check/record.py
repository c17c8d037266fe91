"""Recording a batch: plan it (pure), then write the plan (one transaction).

The check's writer (:mod:`monitor.check.writer`) calls :func:`record_batch` for each
batch of observations: the store loads the previous versions the decisions read (one
query), :func:`monitor.detect.plan.plan_batch` decides everything the batch means, and
:meth:`monitor.storage.store.Store.write` writes it. Only once the plan is written are
the pages' states in memory replaced by the plan's, so a failed batch leaves the
database and the states as they were.

Another process may record the same pages meanwhile (`monitor check` while the daemon
runs): a plan made from states it has since outdated collides with what it wrote (the
next version's number is taken). The batch is then planned again from the pages' states
as stored now and written again, so the capture is judged against what the other
process recorded (an edit both saw becomes one version and one alert).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from monitor.detect.events import Context
from monitor.detect.plan import WarcPolicy, plan_batch, versions_needed
from monitor.exceptions import WriteConflictError
from monitor.recording import Plan, Written
from monitor.records import Observation, PageKey, PageState, RecordedCapture
from monitor.storage.store import Store
from monitor.timefmt import utcnow

logger = logging.getLogger(__name__)

# How often a batch is planned again after colliding with another process's writes.
ATTEMPTS = 4


def record_batch(
    store: Store,
    observations: Sequence[Observation],
    states: dict[PageKey, PageState],
    contexts: Mapping[str, Context] | None = None,
    *,
    page_contexts: Mapping[PageKey, Context] | None = None,
    first_sights: Mapping[PageKey, Observation] | None = None,
    warc: WarcPolicy = None,
    adjust: Callable[[Plan], object] | None = None,
) -> tuple[Plan, Written]:
    """Plan and write one batch; on success ``states`` holds the pages' new states.

    ``contexts`` are by target name; ``page_contexts``, for pages several targets watch,
    win over them. Raises :class:`monitor.exceptions.StorageError` when the batch could
    not be written (nothing of it is, and ``states`` is unchanged). ``adjust``: a pure
    step between planning and writing (the check's moved pages, monitor.detect.moves).
    """
    for attempt in range(1, ATTEMPTS + 1):
        previous = store.previous_versions(versions_needed(observations, states))
        plan = plan_batch(
            observations,
            states,
            contexts or {},
            previous,
            utcnow(),
            page_contexts=page_contexts,
            first_sights=first_sights,
            warc=warc,
        )
        if adjust is not None:
            adjust(plan)
        try:
            written = store.write(plan)
        except WriteConflictError as exc:
            if attempt == ATTEMPTS:
                raise
            # Routine beside a running daemon, and handled here: said in plain words
            # (the driver's "UNIQUE constraint failed" reads as a failure; it is kept
            # for debugging only).
            logger.info(
                "another process recorded some of these %d page(s) meanwhile; "
                "planning them again from what is stored now",
                len({o.fetch.key for o in observations}),
            )
            logger.debug("write conflict on attempt %d: %s", attempt, exc)
            _reread(store, observations, states)
            continue
        plan.settle(written)
        states.update(plan.states)
        return plan, written
    raise AssertionError("unreachable")  # the loop returns or raises


def _reread(
    store: Store, observations: Sequence[Observation], states: dict[PageKey, PageState]
) -> None:
    """The stored states of the batch's pages, in place of those held in memory."""
    keys = {o.fetch.key for o in observations}
    held = [states[key] for key in keys if key in states]
    fresh = store.states(
        {state.target_id for state in held},
        pages=[state.page_id for state in held if state.page_id is not None],
    )
    for key in keys:
        if key in fresh:
            states[key] = fresh[key]


def record(
    store: Store,
    observations: Sequence[Observation],
    states: dict[PageKey, PageState],
    contexts: Mapping[str, Context] | None = None,
    *,
    page_contexts: Mapping[PageKey, Context] | None = None,
) -> list[RecordedCapture]:
    """Record a batch of observations (as the check does); what came of each one."""
    if not observations:
        return []
    plan, _written = record_batch(
        store, observations, states, contexts, page_contexts=page_contexts
    )
    return plan.recorded
