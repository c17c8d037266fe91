"""Observing fetches (decode, judge, extract, normalise): the CPU-heavy stage, behind a seam.

The check's writer hands every fetch to a :class:`Processor` and takes the observations
back in the order it gave the fetches. :class:`InlineProcessor` observes in the calling
thread (the writer's, never the reactor's). :class:`monitor.check.pool.PoolProcessor`
observes in worker processes: its ``submit`` returns a future that completes later, and
the writer keeps taking fetches while earlier ones are observed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from monitor.detect.observe import ProcessRules, observe
from monitor.records import FetchResult, Observation, PageState
from monitor.vocab import Quality

logger = logging.getLogger(__name__)


class Processor(Protocol):
    """Turns fetches into observations; results are taken in submission order."""

    def submit(
        self, fetch: FetchResult, rules: ProcessRules, state: PageState | None
    ) -> Future[Observation]: ...

    def bind(self, wake: Callable[[], None]) -> None:
        """``wake`` is called (from any thread) when observations become ready."""

    def flush(self) -> None:
        """Start on every fetch submitted so far (a processor may gather them)."""

    def close(self) -> None: ...


def process(fetch: FetchResult, rules: ProcessRules, state: PageState | None) -> Observation:
    """One fetch observed; a failure of the code is an error observation, never a crash
    (one bad page never stops the others). A plain function of picklable data, so a
    process pool can run it."""
    try:
        return observe(fetch, rules, state)
    except Exception as exc:
        logger.exception("processing %s failed", fetch.key.url)
        return Observation(
            fetch=fetch,
            body_sha256=None,
            quality=Quality.ERROR,
            outcome_hint="error",
            note=f"processing failed: {exc}",
        )


class InlineProcessor:
    """Observes in the calling thread: each future is done when ``submit`` returns."""

    def submit(
        self, fetch: FetchResult, rules: ProcessRules, state: PageState | None
    ) -> Future[Observation]:
        future: Future[Observation] = Future()
        future.set_result(process(fetch, rules, state))
        return future

    def bind(self, wake: Callable[[], None]) -> None:
        return None  # every future is done when submit returns

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None
