"""Benchmark: checks per second of the cluster with 1, 2 and 4 workers, and the
scheduler's own cost per 10,000 due pages (issue 12).

Fetching, not CPU, is meant to be the limit: every local site answers each request
after ``--delay`` (200 ms), the sites are loopback addresses 127.0.0.2 ... 127.0.0.41
(one "site" each: its own host, download slot and lease), and each site allows
``per_domain_concurrency`` 2 requests at once, cluster-wide. For each worker count, a
fresh PostgreSQL database and queue: one `monitor run --role scheduler` and W
`monitor run --role worker` processes (each ``--concurrency`` batches in flight). A warm-up
round gives every page its first version; then every page is made due at once and the
time until each has a new capture gives checks/s (an unchanged round: the fetch-bound
path). The scaling ratio is checks/s with W workers over checks/s with 1. CPU seconds
spent in the measured round are printed per role and for the whole machine.

Why 40 sites: a site's pages go out as one batch and run one batch at a time, so a
round is waves of batches, ``sites / (workers x concurrency)`` of them rounded up. With
19 sites, 1 worker runs 10 waves and 4 workers 3: the ratio cannot pass 3.3 whatever
the machine. With 40 sites, 20 waves against 5: up to 4.

The scheduler's cost: a Dispatcher (the leader's code) on a database of 10,000 due
targets over 100 sites, one tick (read what is due, write 100 batch rows, move 10,000
due times, publish 100 messages to the broker), wall and CPU time.

    MONITOR_BENCH_BROKER=redis://127.0.0.1:6379/13 python benchmarks/cluster.py
    python benchmarks/cluster.py --workers 1,2,4 --sites 40 --pages 20 --concurrency 2

Only 127.0.0.0/8 is contacted. Needs PostgreSQL (MONITOR_TEST_POSTGRES, default the local
`test` server) and Redis or RabbitMQ.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import config as cfg  # noqa: E402
from monitor.cluster.app import CHECK_BATCH, make_app  # noqa: E402
from monitor.cluster.dispatch import Dispatcher  # noqa: E402
from monitor.cluster.leader import Leadership  # noqa: E402
from monitor.storage.models import Capture, ClusterNode, Page  # noqa: E402
from monitor.storage.store import Store  # noqa: E402
from monitor.timefmt import utcnow  # noqa: E402
from tests.cluster_site import CountingSites  # noqa: E402
from tests.conftest import (  # noqa: E402
    POSTGRES_ADMIN,
    _create_postgres_database,
    _drop_postgres_database,
)

MONITOR = str(Path(sys.executable).parent / "monitor")


def _config(database: str, sites: CountingSites, pages: int, concurrency: int, queue: str) -> dict:
    return {
        "database": database,
        "fetch": {
            "delay": 0,
            "obey_robots": False,
            "retries": 0,
            "timeout": 10,
            "per_domain_concurrency": 2,
            "concurrency": 64,
        },
        "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
        "defaults": {"schedule": {"every": "1h"}},
        "daemon": {"spread_overdue": "1s"},
        "cluster": {
            "broker_env": "MONITOR_BENCH_BROKER",
            "queue": queue,
            "batch_size": 100,
            "batch_timeout": "5m",
            "concurrency": concurrency,
            "tick": "0.2s",
            "heartbeat": "2s",
            "lease_ttl": "30s",
        },
        "targets": [
            {"name": f"{host}-{n}", "url": sites.url(host, n), "selector": "main"}
            for host in sites.hosts
            for n in range(pages)
        ],
    }


def _captured_since(store: Store, since: object) -> int:
    with store.session() as session:
        return int(
            session.scalar(
                select(func.count(func.distinct(Capture.page_id))).where(
                    Capture.started_at >= since, Capture.status == 200
                )
            )
            or 0
        )


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def measure(workers: int, args: argparse.Namespace, sites: CountingSites, broker: str) -> float:
    url, name = _create_postgres_database(POSTGRES_ADMIN)
    folder = Path(tempfile.mkdtemp(prefix="monitor-bench-cluster-"))
    queue = f"monitor-bench-{uuid.uuid4().hex[:8]}"
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(_config(url, sites, args.pages, args.concurrency, queue)))
    env = {**os.environ, "MONITOR_BENCH_BROKER": broker}
    store = Store(url)
    processes: list[subprocess.Popen[bytes]] = []
    total = len(sites.hosts) * args.pages
    try:
        for role, count in (("scheduler", 1), ("worker", workers)):
            for index in range(count):
                with (folder / f"{role}-{index}.log").open("wb") as log:
                    processes.append(
                        subprocess.Popen(
                            [MONITOR, "run", "--role", role, "-c", str(config)],
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            env=env,
                        )
                    )

        def started() -> bool:
            with store.session() as session:
                return len(session.scalars(select(ClusterNode.id)).all()) == 1 + workers

        _wait(started, 300, "the processes to start")
        warm = utcnow()
        _wait(lambda: _captured_since(store, warm) >= total, 900, "the warm-up round")
        time.sleep(1)
        begin = utcnow()
        with store.session() as session, session.begin():
            session.execute(update(Page).values(next_due_at=begin))
        clock = time.monotonic()
        roles_before = _cpu_by_role(processes)
        machine_before = _machine_cpu()
        _wait(lambda: _captured_since(store, begin) >= total, 900, "the measured round")
        elapsed = time.monotonic() - clock
        machine = _machine_cpu() - machine_before
        roles = {
            role: spent - roles_before.get(role, 0.0)
            for role, spent in _cpu_by_role(processes).items()
        }
        rate = total / elapsed
        print(
            f"  {workers} worker(s): {total} checks in {elapsed:.1f}s = {rate:.1f} checks/s; "
            f"most in flight per site {max(sites.max_in_flight.values())}; CPU s in the round: "
            f"workers {roles.get('worker', 0):.1f}, scheduler {roles.get('scheduler', 0):.1f}, "
            f"whole machine {machine:.1f} of {os.cpu_count() or 1} x {elapsed:.1f}",
            flush=True,
        )
        return rate
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        store.close()
        _drop_postgres_database(POSTGRES_ADMIN, name)


def _cpu_by_role(processes: list[subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU seconds (user + system) spent so far by the scheduler and the workers."""
    import psutil

    spent: dict[str, float] = {}
    for process in processes:
        role = "scheduler" if "scheduler" in process.args else "worker"  # type: ignore[operator]
        try:
            times = psutil.Process(process.pid).cpu_times()
        except psutil.Error:
            continue
        spent[role] = spent.get(role, 0.0) + times.user + times.system
    return spent


def _machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (every process: PostgreSQL, Redis,
    the sites' server in this process, the monitor's)."""
    import psutil

    times = psutil.cpu_times()
    return float(times.user + times.system + getattr(times, "nice", 0.0))


def scheduler_cost(broker: str, due: int = 10_000, per_site: int = 100) -> tuple[float, float]:
    """Wall and CPU seconds of one leader tick dispatching ``due`` targets."""
    url, name = _create_postgres_database(POSTGRES_ADMIN)
    queue = f"monitor-bench-{uuid.uuid4().hex[:8]}"
    sites = due // per_site
    config = cfg.parse(
        {
            "database": url,
            "defaults": {"schedule": {"every": "1h"}},
            "cluster": {"broker_env": "MONITOR_BENCH_BROKER", "queue": queue, "batch_size": 100},
            "targets": [
                {"name": f"t{s}-{n}", "url": f"http://127.0.{s // 250}.{s % 250 + 1}/p/{n}"}
                for s in range(sites)
                for n in range(per_site)
            ],
        },
        "bench",
    )
    store = Store(url)
    app = make_app(config.cluster, broker)
    leader = Leadership(store, "bench", timeout=30)
    try:
        assert leader.try_lead() and leader.epoch is not None
        dispatcher = Dispatcher(
            config,
            store,
            "bench",
            lambda dispatch_id: app.send_task(CHECK_BATCH, args=[dispatch_id], queue=queue),
        )
        dispatcher.sync(leader.epoch)
        with store.session() as session, session.begin():
            session.execute(update(Page).values(next_due_at=utcnow()))
        wall, cpu = time.perf_counter(), time.process_time()
        sent = dispatcher.tick(leader.epoch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert sent.targets == due, sent
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
        return wall, cpu
    finally:
        leader.resign()
        store.close()
        _drop_postgres_database(POSTGRES_ADMIN, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--sites", type=int, default=40, help="127.0.0.2 upwards (max 250)")
    parser.add_argument("--pages", type=int, default=20, help="pages per site")
    parser.add_argument("--delay", type=float, default=0.2, help="the sites' answer delay")
    parser.add_argument("--concurrency", type=int, default=2, help="batches per worker")
    args = parser.parse_args()
    broker = os.environ.get("MONITOR_BENCH_BROKER", "redis://127.0.0.1:6379/13")
    hosts = [f"127.0.0.{n}" for n in range(2, 2 + min(args.sites, 250))]
    print(
        f"{len(hosts)} sites x {args.pages} pages, answers after {args.delay * 1000:.0f} ms, "
        f"2 requests per site at once; {args.concurrency} batch(es) per worker; "
        f"broker {broker.split('://')[0]}",
        flush=True,
    )
    sites = CountingSites(hosts, args.pages, delay=args.delay).start()
    rates: dict[int, float] = {}
    try:
        for count in (int(part) for part in args.workers.split(",")):
            rates[count] = measure(count, args, sites, broker)
    finally:
        sites.stop()
    print("\n| workers | checks/s | scaling |\n|---|---|---|")
    base = rates.get(1)
    for count, rate in rates.items():
        ratio = f"{rate / base:.2f}x" if base else "-"
        print(f"| {count} | {rate:.1f} | {ratio} |")
    wall, cpu = scheduler_cost(broker)
    print(
        f"\nscheduler, one tick dispatching 10,000 due pages (100 sites, 100 batches): "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU"
    )


if __name__ == "__main__":
    main()
