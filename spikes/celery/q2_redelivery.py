"""Question 2: late ack + reject_on_worker_lost: how long until a killed task runs again?

Two workers (prefork -c 1, prefetch 1, acks_late, reject_on_worker_lost) consume one queue.
A 20 s task starts on one of them; the script SIGKILLs either the pool child running it
("child") or the whole worker with its parent ("worker", a machine gone), and times how long
until the task starts again, and where. Every scenario runs in a fresh subprocess of this
script, so each has its own queue and transport options.

    python spikes/celery/q2_redelivery.py amqp          # child + worker kill on RabbitMQ
    python spikes/celery/q2_redelivery.py redis         # the same on Redis, several timeouts
    python spikes/celery/q2_redelivery.py consumer-timeout   # RabbitMQ's consumer_timeout

Redis scenarios: visibility_timeout 10 s with kombu's default sweep (every 10 s, one scan in
10: ~100 s), 30 s with a fast sweep (1 s x 1; ``redis-fast`` runs it alone), the default
1 h (not redelivered within 150 s), a timeout shorter than the task (the task runs twice at
once), and two workers configured with different timeouts (the shorter one re-delivers the
other's running task: #7651).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
TASK_SECONDS = 20.0


def notes_of(key: str) -> list[dict[str, Any]]:
    from spikeapp import notes

    return [json.loads(raw) for raw in notes.lrange(key, 0, -1)]


def wait_note(key: str, count: int, timeout: float, event: str = "start") -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [n for n in notes_of(key) if n["event"] == event]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return [n for n in notes_of(key) if n["event"] == event]


def scenario(
    kill: str,
    wait: float,
    task_seconds: float = TASK_SECONDS,
    second_env: dict[str, str] | None = None,
) -> None:
    """Run inside a fresh process (env already set): start 2 workers, send, kill, time."""
    import common
    import workers
    from spikeapp import app, broker_name, hold, transport

    key = f"spike:q2:{uuid.uuid4().hex[:8]}"
    label = os.environ.get("SPIKE_LABEL", kill)
    # The second worker starts once the task runs on the first, so the first owns it.
    first = workers.start(f"q2-a-{label}", concurrency=1)
    second = None
    try:
        sent = time.time()
        hold.delay(key, task_seconds)
        start = wait_note(key, 1, 30)[0]
        print(
            f"  started on {start['hostname']} pid {start['pid']} "
            f"{(start['at'] - sent) * 1000:.0f} ms after send"
        )
        second = workers.start(f"q2-b-{label}", concurrency=1, env=second_env)
        time.sleep(1.0)
        owner = first
        killed_at = time.time()
        if kill == "child":
            os.kill(start["pid"], signal.SIGKILL)
        elif kill == "worker":
            owner.kill_all()
        starts = wait_note(key, 2, wait)
        if len(starts) >= 2:
            again = starts[1]
            base = killed_at if kill != "none" else start["at"]
            print(
                f"  started again after {again['at'] - base:.2f} s "
                f"({again['at'] - start['at']:.2f} s after the first start) "
                f"on {again['hostname']} pid {again['pid']} (redelivered flag "
                f"{again['redelivered']}); first start still running: "
                f"{kill == 'none' and not any(n['event'] == 'done' for n in notes_of(key))}"
            )
        else:
            print(f"  NOT started again within {wait:.0f} s of the kill")
        done = wait_note(key, 1, task_seconds + 15, event="done")
        time.sleep(2 if kill != "none" else task_seconds)
        everything = notes_of(key)
        print(
            f"  totals: {sum(n['event'] == 'start' for n in everything)} starts, "
            f"{sum(n['event'] == 'done' for n in everything)} completions "
            f"(done seen: {bool(done)}); broker {broker_name}, transport {transport}"
        )
    finally:
        for worker in (first, second):
            if worker is not None and worker.process.poll() is None:
                worker.stop()
        common.cleanup(app, os.environ["SPIKE_QUEUE"])
        from spikeapp import notes

        notes.delete(key)
        app.close()


def child(args: list[str]) -> None:
    kill, wait, seconds = args[0], float(args[1]), float(args[2])
    second_env = json.loads(args[3]) if len(args) > 3 else None
    scenario(kill, wait, seconds, second_env)


def run(
    label: str,
    broker: str,
    kill: str,
    wait: float,
    seconds: float = TASK_SECONDS,
    env: dict[str, str] | None = None,
    second_env: dict[str, str] | None = None,
) -> None:
    print(f"\n== {label}")
    sys.stdout.flush()
    environment = {
        **os.environ,
        **(env or {}),
        "SPIKE_BROKER": broker,
        "SPIKE_QUEUE": f"spike-q2-{uuid.uuid4().hex[:6]}",
        "SPIKE_LABEL": label.split()[0],
    }
    argv = [sys.executable, __file__, "--child", kill, str(wait), str(seconds)]
    if second_env:
        argv.append(json.dumps(second_env))
    subprocess.run(argv, env=environment, cwd=HERE, check=False)


def rabbit_consumer_timeout(ms: int) -> None:
    subprocess.run(
        ["rabbitmqctl", "eval", f"application:set_env(rabbit, consumer_timeout, {ms})."],
        check=True,
        capture_output=True,
    )


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "amqp"
    if what == "amqp":
        run("amqp-child SIGKILL of the pool child", "amqp", "child", 60)
        run("amqp-worker SIGKILL of the whole worker", "amqp", "worker", 60)
    elif what == "redis":
        run(
            "redis-child SIGKILL of the pool child (vt 10 s)",
            "redis",
            "child",
            60,
            env={"SPIKE_VT": "10"},
        )
        run(
            "redis-worker-vt10 SIGKILL of the whole worker, vt 10 s, kombu default sweep",
            "redis",
            "worker",
            150,
            env={"SPIKE_VT": "10"},
        )
        run(
            "redis-worker-fast SIGKILL of the whole worker, vt 30 s, sweep 1 s x 1",
            "redis",
            "worker",
            60,
            env={"SPIKE_VT": "30", "SPIKE_RESTORE": "fast"},
        )
        run(
            "redis-worker-1h SIGKILL of the whole worker, default vt (1 h), fast sweep",
            "redis",
            "worker",
            150,
            env={"SPIKE_RESTORE": "fast"},
        )
        run(
            "redis-short vt 5 s shorter than a 20 s task, no kill",
            "redis",
            "none",
            30,
            env={"SPIKE_VT": "5", "SPIKE_RESTORE": "fast"},
        )
        run(
            "redis-mixed worker a vt 1 h, worker b vt 5 s, no kill",
            "redis",
            "none",
            30,
            env={"SPIKE_VT": "3600", "SPIKE_RESTORE": "fast"},
            second_env={"SPIKE_VT": "5"},
        )
    elif what == "redis-fast":  # the one Redis case worth re-running alone
        run(
            "redis-worker-fast SIGKILL of the whole worker, vt 30 s, sweep 1 s x 1",
            "redis",
            "worker",
            60,
            env={"SPIKE_VT": "30", "SPIKE_RESTORE": "fast"},
        )
    elif what == "consumer-timeout":
        # RabbitMQ 3.10 has no per-queue x-consumer-timeout; the global value is changed for
        # a minute and put back to the value read first (1800000 ms here).
        before = subprocess.run(
            ["rabbitmqctl", "eval", "application:get_env(rabbit, consumer_timeout)."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"consumer_timeout before: {before}")
        value = int(before.split(",")[1].rstrip("}")) if "," in before else None
        rabbit_consumer_timeout(5000)
        try:
            # The broker checks the timeout on its channel tick (channel_tick_interval, 60 s),
            # so a 5 s timeout fires somewhere between 5 and ~65 s into the task.
            run(
                "amqp-ctimeout consumer_timeout 5 s, 90 s task, no kill",
                "amqp",
                "none",
                120,
                seconds=90,
            )
        finally:
            if value is None:
                subprocess.run(
                    ["rabbitmqctl", "eval", "application:unset_env(rabbit, consumer_timeout)."],
                    check=True,
                )
            else:
                rabbit_consumer_timeout(value)
            after = subprocess.run(
                ["rabbitmqctl", "eval", "application:get_env(rabbit, consumer_timeout)."],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            print(f"consumer_timeout restored: {after}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
