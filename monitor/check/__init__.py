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
- :mod:`monitor.check.pool`, :mod:`monitor.check.worker`: observing in worker processes
  (the second core), behind the Processor seam
- :mod:`monitor.check.metrics`: Prometheus counters of the checks

The names are exported lazily, so a worker process importing
:mod:`monitor.check.worker` loads the detection code only (not Scrapy or SQLAlchemy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.check.cycle import check_async, run_check
else:
    __getattr__, __dir__ = lazy_exports(
        __name__, {"check_async": "monitor.check.cycle", "run_check": "monitor.check.cycle"}
    )

__all__ = ["check_async", "run_check"]
