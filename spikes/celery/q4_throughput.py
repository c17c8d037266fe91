"""Question 4: small-task throughput and send-to-start latency, RabbitMQ and Redis.

With the settings issue 12 needs (acks_late, reject_on_worker_lost, prefetch 1), one worker
(prefork -c 2, the machine's 2 cores) consumes 2,000 no-op tasks sent in a burst (tasks/s
from the first start to the last), then 200 tasks sent one every 20 ms into an idle queue
(send-to-start latency). The task only appends its latency to a Redis list.

    python spikes/celery/q4_throughput.py [redis|amqp]   (both when no argument)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
BURST = 2000
PACED = 200


def measure(pool: str, concurrency: int) -> None:
    import common
    import workers
    from spikeapp import app, broker_name, noop, notes

    queue = os.environ["SPIKE_QUEUE"]
    worker = workers.start(f"q4-{broker_name}-{pool}", pool=pool, concurrency=concurrency)
    try:
        key = f"spike:q4:{uuid.uuid4().hex[:6]}"
        t0 = time.time()
        for _ in range(BURST):
            noop.delay(key, time.time())
        sent = time.time() - t0
        while notes.llen(key) < BURST and time.time() - t0 < 300:
            time.sleep(0.05)
        done = time.time() - t0
        received = notes.llen(key)
        notes.delete(key)
        print(f"== {broker_name}, {pool} -c {concurrency}")
        print(
            f"  burst: sent {BURST} in {sent:.2f} s ({BURST / sent:.0f}/s); "
            f"{received} ran, all done {done:.2f} s after the first send "
            f"-> {received / done:.0f} tasks/s end to end"
        )
        key = f"spike:q4:{uuid.uuid4().hex[:6]}"
        for _ in range(PACED):
            noop.delay(key, time.time())
            time.sleep(0.02)
        while notes.llen(key) < PACED:
            time.sleep(0.05)
        waits = [float(x) * 1000 for x in notes.lrange(key, 0, -1)]
        notes.delete(key)
        print(f"  send-to-start latency, idle queue (ms): {common.describe(waits)}")
    finally:
        worker.stop()
        common.cleanup(app, queue)
        app.close()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        measure(sys.argv[2], int(sys.argv[3]))
        return
    brokers = sys.argv[1:] or ["amqp", "redis"]
    for broker in brokers:
        for pool, concurrency in (("prefork", 2), ("threads", 4)):
            env = {
                **os.environ,
                "SPIKE_BROKER": broker,
                "SPIKE_QUEUE": f"spike-q4-{uuid.uuid4().hex[:6]}",
            }
            subprocess.run(
                [sys.executable, __file__, "--child", pool, str(concurrency)],
                env=env,
                cwd=HERE,
                check=False,
            )


if __name__ == "__main__":
    main()
