"""Question 3: does a published-but-unconsumed task survive a broker restart?

Redis: a private redis-server on port 6391 started with the same flags as the shared one
(no RDB, no AOF: it keeps nothing on disk) - the shared server on 6379 is never restarted.
It publishes 5 tasks with no worker, restarts the server, and counts what is left; then it
restarts it under a running worker (with one task in flight) and times how long until the
worker consumes again and what became of the in-flight task.
RabbitMQ is not restarted (it is shared and slow to restart): the script shows what makes a
task survive there - a durable queue and persistent messages (delivery_mode 2) - by reading
them back from a published task.

    python spikes/celery/q3_broker_restart.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

PORT = 6391
os.environ["SPIKE_BROKER"] = f"redis://127.0.0.1:{PORT}/0"
os.environ["SPIKE_QUEUE"] = f"spike-q3-{uuid.uuid4().hex[:6]}"
os.environ["SPIKE_VT"] = "10"
os.environ["SPIKE_RESTORE"] = "fast"

import common  # noqa: E402
import redis  # noqa: E402
import workers  # noqa: E402

DIR = tempfile.mkdtemp(prefix="spike-redis-")


def redis_up() -> None:
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            DIR,
            "--logfile",
            f"{DIR}/redis.log",
            "--pidfile",
            f"{DIR}/redis.pid",
        ],
        check=True,
    )
    client = redis.Redis(port=PORT)
    for _ in range(100):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("private redis did not start")


def redis_down() -> None:
    subprocess.run(["redis-cli", "-p", str(PORT), "shutdown", "nosave"], capture_output=True)
    time.sleep(0.3)


def main() -> None:
    from spikeapp import app, hold, noop, notes, queue

    redis_up()
    broker = redis.Redis(port=PORT)
    try:
        print("== Redis (no persistence): 5 tasks published, no worker, server restarted")
        for _ in range(5):
            noop.delay("spike:q3:none", time.time())
        print(f"  queued before restart: {broker.llen(queue)}")
        redis_down()
        redis_up()
        print(
            f"  queued after restart:  {broker.llen(queue)}  -> lost; the scheduler must "
            "re-send what was due and not done"
        )
        notes.delete("spike:q3:none")

        print("== Redis restarted under a running worker, one 8 s task in flight")
        key = f"spike:q3:{uuid.uuid4().hex[:6]}"
        probe = f"spike:q3:probe:{uuid.uuid4().hex[:6]}"
        worker = workers.start("q3-redis", concurrency=1)
        try:
            hold.delay(key, 8)
            while not notes.llen(key):
                time.sleep(0.05)
            print(f"  in flight; unacked entries before restart: {broker.hlen('unacked')}")
            redis_down()
            time.sleep(2)
            up_at = time.time()
            redis_up()
            print(f"  unacked entries after restart: {broker.hlen('unacked')}")
            consumed = None
            for _ in range(600):  # send a probe every 0.1 s until the worker takes one
                noop.delay(probe, time.time())
                if notes.llen(probe):
                    consumed = time.time() - up_at
                    break
                time.sleep(0.1)
            print(
                f"  worker consuming again {consumed:.1f} s after the server came back"
                if consumed is not None
                else "  worker did not consume within 60 s"
            )
            time.sleep(10)
            events = [json.loads(n)["event"] for n in notes.lrange(key, 0, -1)]
            print(f"  in-flight task: {events} (it finished; its ack had nothing to remove)")
            log = worker.text()
            for line in log.splitlines():
                if "lost" in line.lower() or "re-establish" in line or "Cannot connect" in line:
                    print(f"  log: {line[:170]}")
                    break
        finally:
            print(f"  warm shutdown {worker.stop():.1f} s")
            notes.delete(key, probe)
    finally:
        redis_down()
        shutil.rmtree(DIR, ignore_errors=True)
        app.close()

    print("== RabbitMQ (not restarted): what a published Celery task is made of")
    rabbit_queue = f"spike-q3-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "SPIKE_BROKER": "amqp", "SPIKE_QUEUE": rabbit_queue}
    code = (
        "import time, common\n"
        "from spikeapp import app, noop, queue\n"
        "noop.delay('spike:q3:amqp', time.time())\n"
        "with app.connection_for_write() as c:\n"
        "    ch = c.default_channel\n"
        "    _, count, _ = ch.queue_declare(queue, passive=True)\n"
        "    m = ch.basic_get(queue, no_ack=True)\n"
        "    print(f'  queue {queue}: {count} message(s); delivery_mode '\n"
        "          f'{m.properties.get(\"delivery_mode\")} (2 = persistent)')\n"
        "import subprocess\n"
        "out = subprocess.run(['rabbitmqctl', 'list_queues', 'name', 'durable'],\n"
        "                     capture_output=True, text=True).stdout\n"
        "print('  ' + next(l for l in out.splitlines() if l.startswith(queue)) + '  (durable)')\n"
        "common.cleanup(app, queue)\n"
        "app.close()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=common.Path(__file__).parent, check=True
    )


if __name__ == "__main__":
    main()
