"""Question 1, the naive way: a Scrapy CrawlerProcess started inside each Celery task.

    python spikes/celery/naive_probe.py [redis|amqp]

Prints, for prefork -c 1 and threads -c 2, what each of 4 tasks returned or raised.
"""

from __future__ import annotations

import os
import sys
import uuid

BROKER = sys.argv[1] if len(sys.argv) > 1 else "redis"
os.environ["SPIKE_BROKER"] = BROKER
os.environ["SPIKE_QUEUE"] = f"spike-naive-{uuid.uuid4().hex[:6]}"

import common  # noqa: E402
import workers  # noqa: E402
from spikeapp import app, naive  # noqa: E402


def main() -> None:
    with common.local_site(3) as (base, paths):
        urls = [base + p for p in paths]
        for pool, conc in (("prefork", 1), ("threads", 2)):
            worker = workers.start(
                f"naive-{pool}{conc}", pool=pool, concurrency=conc, env={"SPIKE_REACTOR": "none"}
            )
            print(f"== CrawlerProcess per task, {pool} -c {conc}")
            for n in range(4):
                try:
                    print(f"  task {n}: {naive.delay(urls).get(timeout=30)}")
                except Exception as exc:
                    print(f"  task {n}: {type(exc).__name__}: {str(exc)[:150]}")
            print(f"  warm shutdown: {worker.stop():.2f} s")
    common.cleanup(app, os.environ["SPIKE_QUEUE"])
    app.close()


if __name__ == "__main__":
    main()
