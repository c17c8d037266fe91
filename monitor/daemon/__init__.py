"""``monitor run``: the scheduler that checks every target when it is due.

- :mod:`monitor.daemon.scheduler`: :class:`Daemon` (due times, parallel crawls, the
  heartbeat, alerts, stale pages, reload on SIGHUP, graceful stop), :func:`reload_running`
- :mod:`monitor.daemon.logs`: log output (text or JSON lines)

The lock and the stored due times are in :mod:`monitor.storage.lock` and
:mod:`monitor.storage.schedule`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.daemon.scheduler import Daemon, next_due, reload_running
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "Daemon": "monitor.daemon.scheduler",
            "next_due": "monitor.daemon.scheduler",
            "reload_running": "monitor.daemon.scheduler",
        },
    )

__all__ = ["Daemon", "next_due", "reload_running"]
