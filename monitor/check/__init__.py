"""One check cycle: targets synced, pages fetched, observed, decided and recorded.

- :mod:`monitor.check.cycle`: :func:`run_check` / :func:`check_async`, the orchestration
  (setup in a worker thread, the crawl on the reactor's loop, the writer in its thread)
- :mod:`monitor.check.sink`: the crawl's side: fetches onto the writer's queue, the
  links of listings judged for the spiders
- :mod:`monitor.check.writer`: the writer thread: observe (through a
  :mod:`monitor.check.processor` Processor), record in batches, WARC, site learning
- :mod:`monitor.check.record`: a batch planned (:mod:`monitor.detect.plan`), then
  written in one transaction
- :mod:`monitor.check.listings`, :mod:`monitor.check.learning`,
  :mod:`monitor.check.stale`: listings' links, learning across pages, stale pages
- :mod:`monitor.check.metrics`: Prometheus counters of the checks
"""

from __future__ import annotations

from monitor.check.cycle import check_async, run_check

__all__ = ["check_async", "run_check"]
