"""One check cycle: targets synced, pages fetched, observed, decided and recorded.

- :mod:`monitor.check.cycle`: :func:`run_check` / :func:`check_async`, the orchestration
- :mod:`monitor.check.sink`: where fetches arrive: observed, recorded in batches,
  listings judged, site boilerplate learned
- :mod:`monitor.check.metrics`: Prometheus counters of the checks
"""

from __future__ import annotations

from monitor.check.cycle import check_async, run_check

__all__ = ["check_async", "run_check"]
