"""The recommended worker shape, runnable: reactor first, then a threads-pool Celery worker.

``monitor run --role worker`` would be this process: it starts the one Twisted reactor in a
background thread, then runs Celery's worker (threads pool: nothing ever forks, so the
reactor can never be inherited half-alive) in the main thread, which keeps the signals.
Each task thread hands its crawl to the reactor's loop and waits (monitor.reactor.run).

    python spikes/celery/pattern_worker.py CONCURRENCY NAME   (q1_reactor.py starts it)
"""

from __future__ import annotations

import os
import sys

os.environ["SPIKE_REACTOR"] = "none"  # spikeapp must not start anything itself

from spikeapp import app, queue

from monitor import reactor


def main() -> int:
    concurrency, name = int(sys.argv[1]), sys.argv[2]
    reactor.loop()  # fail fast, before taking any task, if the reactor cannot start
    worker = app.Worker(
        pool="threads",
        concurrency=concurrency,
        hostname=f"{name}@%h",
        queues=[queue],
        without_gossip=True,
        without_mingle=True,
        loglevel="INFO",
    )
    worker.start()
    return int(worker.exitcode or 0)


if __name__ == "__main__":
    sys.exit(main())
