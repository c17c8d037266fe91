"""What happened to a page: the state machine that turns observations into events.

Pure: takes an observation and the page's state, returns a :class:`Decision` and
advances the state in memory; the store writes both in one transaction.

Events: ``changed`` (content or title; ``title_only`` when only the title did),
``removed`` (a removal signal confirmed by a second one: 404/410, soft 404, inner page
redirected home), ``added`` (the first version of an article whose link was new to every
target when its listing showed it: see :mod:`monitor.detect.listing`), ``restored``
(a removed page answers again), ``error`` (the page has failed for longer than
``detect.error_after``) and ``recovered``. Transient errors never produce ``changed`` or
``removed``; a removal is reported once, not at every check; a page flipping back to one
of its last few distinct versions is a flip-flop, not a change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from monitor.records import Observation, PageState, Route
from monitor.vocab import EventKind, Outcome, PageStatus, Purpose, Quality, Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Context:
    """Settings and facts of the current check that events depend on."""

    error_after: float = 6 * 3600.0
    flipflop_versions: int = 5
    watch_terms: tuple[str, ...] = ()
    volatile_after: int = 3
    # Events scoring below this are recorded (history, feeds) but not alerted.
    min_significance: float = 0.0
    # Routing rules, resolved from the config: the deliveries written with an event.
    routes: tuple[Route, ...] = ()
    # Keep what new versions contribute to learning site-wide boilerplate.
    learn_site: bool = True


#: The context of a page whose target is not in the config any more.
DEFAULT_CONTEXT = Context()


def shared_context(contexts: Sequence[Context]) -> Context:
    """The context of a page several targets watch: each target's routes and watch
    terms, alerted when any of them would alert (each channel still once).

    >>> mail, hook = (Route(name, 0.0, frozenset({"changed"})) for name in ("mail", "hook"))
    >>> a, b = Context(min_significance=0.5, routes=(mail,)), Context(routes=(hook,))
    >>> shared = shared_context([a, b])
    >>> [route.channel for route in shared.routes], shared.min_significance
    (['mail', 'hook'], 0.0)
    """
    first = contexts[0]
    return replace(
        first,
        watch_terms=tuple(dict.fromkeys(t for c in contexts for t in c.watch_terms)),
        min_significance=min(c.min_significance for c in contexts),
        routes=tuple(rule for c in contexts for rule in c.routes),
    )


@dataclass(slots=True)
class Decision:
    """What to record for one observation."""

    outcome: Outcome
    new_version: bool = False
    event: EventKind | None = None
    features: dict[str, Any] = field(default_factory=dict)


def decide(observation: Observation, state: PageState, context: Context, now: datetime) -> Decision:
    """Decide the outcome and event of one observation; advances ``state``."""
    fetch = observation.fetch
    if fetch.role == Role.PART:
        return Decision(Outcome.PART)
    if fetch.purpose == Purpose.PROBE:
        return Decision(Outcome.PROBE)
    if observation.outcome_hint == "error":
        return _failure(observation, state, context, now)
    return _content(observation, state, context)


def _failure(
    observation: Observation, state: PageState, context: Context, now: datetime
) -> Decision:
    outcome = Outcome.LOW if observation.quality == Quality.LOW else Outcome.ERROR
    if observation.removal and state.last_version_id is not None:
        if state.state == PageStatus.REMOVED:
            return Decision(Outcome.GONE)
        if state.removal_pending:
            state.removal_pending = False
            state.state = PageStatus.REMOVED
            state.consecutive_failures += 1
            if state.moved_to is not None:
                # Its content is at another URL now (monitor.detect.moves).
                return Decision(
                    Outcome.REMOVED,
                    event=EventKind.MOVED,
                    features={"how": observation.kind, "moved_to": state.moved_to},
                )
            return Decision(
                Outcome.REMOVED,
                event=EventKind.REMOVED,
                features={"how": observation.kind, "reason": observation.note},
            )
        state.removal_pending = True
        state.consecutive_failures += 1
        state.failing_since = state.failing_since or now
        return Decision(Outcome.SUSPECT, features={"how": observation.kind})
    # A failure that is not (or cannot be) a removal: count it, alert after error_after.
    state.consecutive_failures += 1
    state.failing_since = state.failing_since or now
    if (
        state.state == PageStatus.ACTIVE
        and state.last_version_id is not None
        and (now - state.failing_since).total_seconds() >= context.error_after
    ):
        state.state = PageStatus.ERROR
        return Decision(
            outcome,
            event=EventKind.ERROR,
            features={
                "how": observation.kind,
                "reason": observation.note,
                "failing_since": state.failing_since.isoformat(),
                "failures": state.consecutive_failures,
            },
        )
    return Decision(outcome)


def _content(observation: Observation, state: PageState, context: Context) -> Decision:
    previous_state = state.state
    state.removal_pending = False
    state.consecutive_failures = 0
    state.failing_since = None
    state.state = PageStatus.ACTIVE
    same = observation.content_sha256 == state.last_content_sha256
    if previous_state == PageStatus.REMOVED:
        return Decision(
            Outcome.UNCHANGED if same else Outcome.NEW,
            new_version=not same,
            event=EventKind.RESTORED,
            features={"same_content": same},
        )
    event = EventKind.RECOVERED if previous_state == PageStatus.ERROR else None
    if same:
        return Decision(Outcome.UNCHANGED, event=event)
    if (
        context.flipflop_versions
        and observation.content_sha256 in state.recent_hashes[-context.flipflop_versions :]
    ):
        # Back to one of the last few distinct versions: A/B tests, rotating banners.
        state.last_content_sha256 = observation.content_sha256
        return Decision(Outcome.FLIPFLOP, event=event)
    if state.last_version_id is None:
        if state.announce_added and state.moved_from is None:
            # A link new to every target when its listing showed it (monitor.detect.listing).
            return Decision(Outcome.NEW, new_version=True, event=EventKind.ADDED)
        return Decision(Outcome.NEW, new_version=True, event=event)
    # A change seen on recovery is reported as the change it is.
    return Decision(
        Outcome.NEW,
        new_version=True,
        event=EventKind.CHANGED,
        features={"after_error": True} if event else {},
    )


def stale(state: PageState, limit: float, now: datetime) -> Decision | None:
    """An ``error`` event for a page not checked successfully for ``limit`` seconds (the
    daemon's ``stale_factor`` x interval), whatever stopped its checks; advances ``state``
    to the error state, so its next good check reports it recovered. None: not stale.
    """
    if (
        state.state != PageStatus.ACTIVE
        or state.role not in (Role.PAGE, Role.LISTING)
        or state.last_checked_at is None
    ):
        return None
    since = state.failing_since if state.consecutive_failures else state.last_checked_at
    if since is None or (now - since).total_seconds() < limit:
        return None
    state.state = PageStatus.ERROR
    return Decision(
        Outcome.ERROR,
        event=EventKind.ERROR,
        features={
            "how": "stale",
            "since": since.isoformat(),
            "reasons": ["not checked successfully for too long"],
        },
    )
