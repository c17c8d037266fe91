"""Question 1: can a Celery worker host the Scrapy crawl loop (monitor.check.run_check)?

For each pool / reactor placement it starts a real worker subprocess, sends 12 check tasks
one after the other (round trip per task) then 12 at once, each checking 5 pages of a local
site through ``monitor.check.run_check`` into PostgreSQL, and prints what worked, the
in-task run_check time, the Celery overhead per task (round trip minus run_check) and what
the worker log says went wrong. Baseline: the same run_check called in this process.

    python spikes/celery/q1_reactor.py [redis|amqp]
    SPIKE_MODES=prefork2-init,threads8-lazy SPIKE_DELAY=0.2 python spikes/celery/q1_reactor.py

SPIKE_MODES picks modes (``none``: only the in-process baseline); SPIKE_PAGES sets the
pages per task; SPIKE_DELAY makes the site answer each request after that delay.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

BROKER = sys.argv[1] if len(sys.argv) > 1 else "redis"
os.environ["SPIKE_BROKER"] = BROKER
os.environ["SPIKE_QUEUE"] = f"spike-q1-{uuid.uuid4().hex[:6]}"

import common  # noqa: E402
import workers  # noqa: E402
from spikeapp import app, check  # noqa: E402

TASKS = 12
PAGES = int(os.environ.get("SPIKE_PAGES", "5"))  # pages per check task
# (pool, concurrency, where the reactor starts)
MODES = [
    ("prefork", 1, "init"),
    ("prefork", 2, "init"),
    ("solo", 1, "init"),
    ("threads", 2, "lazy"),
    ("threads", 8, "lazy"),
    ("embedded", 8, "first"),  # pattern_worker.py: reactor first, then app.Worker(threads)
    ("prefork", 2, "lazy"),
    ("prefork", 1, "parent"),
]
TROUBLE = (
    "ReactorNotRestartable",
    "ReactorAlreadyInstalled",
    "Traceback (most recent call last)",
    "signal only works",
    "WorkerLostError",
    "TimeLimitExceeded",
    ": ERROR/",
    ": CRITICAL/",
)


def baseline(database: str, base: str, paths: list[str]) -> list[float]:
    from monitor.store import Store

    from monitor import config as cfg
    from monitor.check import run_check

    config = cfg.parse(
        {
            "database": database,
            "fetch": {"delay": 0, "obey_robots": False, "retries": 1, "timeout": 5},
            "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
            "targets": [{"name": p.strip("/"), "url": base + p} for p in paths],
        },
        "baseline",
    )
    store = Store(database)
    run_check(config, store, config.targets)  # first round: probes, migrations, reactor start
    times = []
    for _ in range(TASKS):
        t0 = time.perf_counter()
        run_check(config, store, config.targets)
        times.append((time.perf_counter() - t0) * 1000)
    store.close()
    return times


def one_mode(database: str, base: str, paths: list[str], pool: str, conc: int, where: str) -> None:
    name = f"q1-{pool}{conc}-{where}-{BROKER}"
    command = None
    if pool == "embedded":
        command = [sys.executable, str(workers.HERE / "pattern_worker.py"), str(conc), name]
    worker = workers.start(
        name, pool=pool, concurrency=conc, env={"SPIKE_REACTOR": where}, command=command
    )
    ok, failed, hung = 0, [], 0
    round_trips, in_task, pids, reactors = [], [], set(), set()
    # warm-up (first check of these pages in this worker: probe requests, store creation)
    warm = check.delay(database, base, paths)
    try:
        warm.get(timeout=30)
    except Exception as exc:  # recorded: the point is to see what breaks
        app.backend.remove_pending_result(warm)
        failed.append(f"warm-up: {type(exc).__name__}: {exc}"[:200])
    for _ in range(TASKS):
        t0 = time.perf_counter()
        pending = check.delay(database, base, paths)
        try:
            result = pending.get(timeout=20)
        except Exception as exc:
            app.backend.remove_pending_result(pending)  # not at exit, when Redis is gone
            hung += "Timeout" in type(exc).__name__
            failed.append(f"{type(exc).__name__}: {exc}"[:200])
            if hung:
                break  # no point sending more to a stuck worker
            continue
        round_trips.append((time.perf_counter() - t0) * 1000)
        in_task.append(result["run_check_ms"] + result["setup_ms"])
        pids.add(result["pid"])
        reactors.add((result["pid"], result["reactor_thread"], result["reactor_alive"]))
        ok += result["checked"] == PAGES and result["errors"] == 0
    burst_ok, burst_s = 0, 0.0
    if not hung:
        t0 = time.perf_counter()
        pending = [check.delay(database, base, paths) for _ in range(TASKS)]
        for item in pending:
            try:
                result = item.get(timeout=60)
                burst_ok += result["checked"] == PAGES and result["errors"] == 0
                pids.add(result["pid"])
            except Exception as exc:
                failed.append(f"burst: {type(exc).__name__}: {exc}"[:200])
        burst_s = time.perf_counter() - t0
    shutdown = worker.stop()
    log = worker.text()
    trouble = sorted({word for word in TROUBLE if word in log})
    overhead = [rt - it for rt, it in zip(round_trips, in_task, strict=False)]
    delay = os.environ.get("SPIKE_DELAY", "0")
    print(
        f"\n== {pool} -c {conc}, reactor started: {where}  (broker {BROKER}, site delay {delay} s)"
    )
    print(f"  sequential: {ok}/{TASKS} ok, {len(failed)} failed, hung={bool(hung)}")
    print(f"  burst of {TASKS}: {burst_ok}/{TASKS} ok in {burst_s:.2f} s")
    print(f"  pids used: {sorted(pids)}; reactor threads: {sorted(map(str, reactors))}")
    print(f"  in-task run_check ms: {common.describe(in_task)}")
    print(f"  round trip ms:        {common.describe(round_trips)}")
    print(f"  Celery overhead ms:   {common.describe(overhead)}")
    print(f"  warm shutdown: {shutdown:.2f} s; log mentions: {trouble or 'nothing bad'}")
    for line in failed[:3]:
        print(f"  failure: {line}")
    for line in log.splitlines():
        if "reactor started" in line or any(word in line for word in TROUBLE):
            print(f"  log: {line[:160]}")


def main() -> None:
    with (
        common.scratch_postgres("spike_q1") as database,
        common.local_site(PAGES) as (
            base,
            paths,
        ),
    ):
        times = baseline(database, base, paths)
        print(f"baseline: run_check of {PAGES} pages in this process: {common.describe(times)} ms")
        selected = [
            m
            for m in MODES
            if not os.environ.get("SPIKE_MODES")
            or f"{m[0]}{m[1]}-{m[2]}" in os.environ["SPIKE_MODES"].split(",")
        ]
        for pool, conc, where in selected:
            one_mode(database, base, paths, pool, conc, where)
    common.cleanup(app, os.environ["SPIKE_QUEUE"])
    app.close()


if __name__ == "__main__":
    main()
