"""The daemon: ``monitor run`` (the scheduler), ``reload`` and ``status``."""

from __future__ import annotations

import gc
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor import config as cfg
from monitor.cli._common import (
    EXIT_FAILURE,
    config_option,
    db_option,
    handle_errors,
    open_store,
    refuse_read_only,
)
from monitor.exceptions import MonitorError

if TYPE_CHECKING:
    from monitor.cluster.status import ClusterStatus
    from monitor.storage.store import Store

logger = logging.getLogger(__name__)


@click.command()
@config_option
@db_option
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="json: one JSON object per line, for log collectors (also `monitor --log-format`).",
)
@click.option(
    "--role",
    type=click.Choice(["scheduler", "worker"]),
    default=None,
    help="Run one role of a cluster (PostgreSQL and a broker, see docs/SCALING.md): "
    "a scheduler (run two: leader and standby) or a worker (any number).",
)
@click.pass_context
@handle_errors
def run(
    context: click.Context,
    config_path: Path,
    database: str | None,
    log_format: str | None,
    role: str | None,
) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT (the daemon).

    Checks every target on its schedule, sends alerts, and keeps a heartbeat in the
    database; SIGHUP (or `monitor reload`) re-reads the config. One per database.
    With --role, one process of a cluster sharing a PostgreSQL database and a broker
    (the `cluster` config section; docs/SCALING.md).

    Example: monitor run -c config.yaml --log-format json
    """

    if log_format is not None:
        from monitor.daemon import logs

        verbose = (context.obj or {}).get("verbose", 0)
        logs.configure(logging.WARNING - 10 * min(verbose, 2), log_format)
    if not (context.obj or {}).get("verbose"):
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick otherwise
    refuse_read_only(cfg.database_of(config_path, database))
    if role == "worker":
        from monitor.cluster.worker import run_worker

        sys.exit(run_worker(config_path, database))
    if role == "scheduler":
        from monitor.cluster.scheduler import run_scheduler

        sys.exit(run_scheduler(config_path, database))
    from monitor.daemon import Daemon

    code = Daemon(config_path, database).run()
    # It has stopped: spare the exit a collection of every loaded module's objects
    # (seconds on a busy machine, after "stopped" was logged).
    gc.freeze()
    sys.exit(code)


@click.command()
@config_option
@db_option
@handle_errors
def reload(config_path: Path, database: str | None) -> None:
    """Make the running `monitor run` of this database re-read its config (SIGHUP).

    Example: monitor reload -c config.yaml
    """
    from monitor.daemon import reload_running

    click.echo(reload_running(open_store(cfg.database_of(config_path, database))))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@config_option
@db_option
@handle_errors
def status(as_json: bool, config_path: Path, database: str | None) -> None:
    """Show the state of targets and of the alert outbox; exit 1 if something needs care.

    Needs attention: dead deliveries (alerts that could not be sent), pages whose last
    check failed, a daemon that stopped responding, and targets overdue while no daemon
    runs. Targets of the config never checked yet are listed as such.

    Example: monitor status -c config.yaml
    """
    from monitor.history.status import collect

    url, seen = cfg.glance_if_present(config_path, database)
    store = open_store(url, reading=True)
    # The listings' max_articles say which limit cut their links (the config is optional
    # here: with --db, status works without it).
    limits = {
        target.name: target.max_articles
        for target in (seen.targets if seen else ())
        if target.max_articles is not None
    }
    configured = [
        (t.name, t.url, t.tags, t.enabled, t.listing) for t in (seen.targets if seen else ())
    ]
    report = collect(store, max_articles=limits, configured=configured)
    cluster = _cluster_status(store, config_path if seen is not None else None)
    if as_json:
        data = report.as_dict()
        if cluster is not None:
            data["cluster"] = cluster.as_dict()
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(report.text())
        if cluster is not None:
            click.echo(cluster.text())
    if report.needs_attention or (cluster is not None and cluster.needs_attention):
        sys.exit(EXIT_FAILURE)


def _cluster_status(store: Store, config_path: Path | None) -> ClusterStatus | None:
    """The cluster's part of `monitor status`, on PostgreSQL where a cluster ran."""
    if store.engine.dialect.name != "postgresql":
        return None
    from monitor.cluster.settings import ClusterSettings
    from monitor.cluster.status import collect as collect_cluster

    settings = ClusterSettings()
    if config_path is not None:
        try:
            settings = cfg.load(config_path).cluster
        except MonitorError as exc:
            logger.warning("cluster settings not read (%s); using the defaults", exc)
    return collect_cluster(store, settings)
