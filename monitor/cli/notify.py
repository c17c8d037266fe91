"""``monitor notify``: alert channels and the outbox (test, send, retry)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from monitor import config as cfg
from monitor.cli._common import (
    EXIT_FAILURE,
    NUMBER,
    config_option,
    db_option,
    handle_errors,
    open_store,
)
from monitor.exceptions import ConfigError

logger = logging.getLogger(__name__)


@click.group()
def notify() -> None:
    """Alert channels and the outbox."""


@notify.command("test")
@click.argument("channel")
@config_option
@handle_errors
def notify_test(channel: str, config_path: Path) -> None:
    """Send a test message through CHANNEL and print the server's answer.

    Example: monitor notify test newsroom
    """
    from monitor.notify import notifier_for
    from monitor.notify.payload import test_event

    config = cfg.load(config_path)
    if channel not in config.channels:
        raise ConfigError(
            f"{config_path}: no channel named {channel!r}; defined channels: "
            f"{', '.join(sorted(config.channels)) or '(none)'}"
        )
    outcome = notifier_for(channel, config.channels[channel], config.public_url).send(
        [test_event()]
    )
    click.echo(f"{channel}: {'sent' if outcome.ok else 'FAILED'}: {outcome.detail}")
    if not outcome.ok:
        sys.exit(EXIT_FAILURE)


@notify.command("send")
@config_option
@click.option("--timeout", type=float, default=None, help="Give up waiting after SECONDS.")
@handle_errors
def notify_send(config_path: Path, timeout: float | None) -> None:
    """Deliver the alerts that are due now (the daemon does this by itself).

    Example: monitor notify send -c config.yaml
    """
    from monitor.notify.outbox import Outbox

    config = cfg.load(config_path)
    report = Outbox(open_store(config.database), config).deliver(timeout=timeout)
    click.echo(str(report))


@notify.command("retry")
@click.argument("ids", nargs=-1, type=NUMBER)
@click.option("--channel", default=None, help="Only this channel's dead deliveries.")
@config_option
@db_option
@handle_errors
def notify_retry(
    ids: tuple[int, ...], channel: str | None, config_path: Path, database: str | None
) -> None:
    """Queue dead deliveries again (all, one channel's, or the given delivery ids).

    Example: monitor notify retry --channel newsroom
    """
    from monitor.notify.outbox import retry_dead

    count = retry_dead(open_store(cfg.database_of(config_path, database)), channel, ids)
    click.echo(f"{count} dead deliver{'y' if count == 1 else 'ies'} queued again")
