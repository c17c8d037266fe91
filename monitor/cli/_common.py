"""What every command shares: the config and database options, error handling (domain
errors become a message and an exit code, never a traceback), opening the store, and
how listings are printed (aligned tables, coloured only on a terminal and never with
``NO_COLOR`` set).

The tables are plain aligned columns written here, not rich tables: their text is read
by scripts and by people alike (``monitor targets | grep failing``), rich's tables add
box rules or re-wrap cells to the terminal's width, and rich would cost every listing
command its import. rich draws what needs a terminal: ``monitor check``'s progress line
and coloured events (:func:`console`, :mod:`monitor.cli.progress`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor.exceptions import ConfigError, MonitorError
from monitor.timefmt import when as when

if TYPE_CHECKING:
    from rich.console import Console

    from monitor.storage.store import Store

logger = logging.getLogger(__name__)


F = TypeVar("F", bound=Callable[..., Any])


EXIT_FAILURE = 1
EXIT_CONFIG = 2


def handle_errors(function: F) -> F:
    """Turn domain errors into a message and an exit code."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CONFIG)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="config.yaml",
    envvar="MONITOR_CONFIG",
    show_default=True,
    help="The YAML config file (env MONITOR_CONFIG).",
)
db_option = click.option(
    "--db",
    "database",
    envvar="MONITOR_DATABASE",
    help="Database URL; overrides the config's 'database' (env MONITOR_DATABASE).",
)


def open_store(url: str) -> Store:
    from monitor.storage.store import Store

    store = Store(url)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.close)  # its connections, when the command ends
    return store


#: Colours of event kinds and target states.
COLOURS = {
    "changed": "cyan",
    "added": "magenta",
    "removed": "yellow",
    "moved": "blue",
    "restored": "green",
    "recovered": "green",
    "learned": "blue",
    "forgotten": "blue",
    "error": "red",
    "failing": "red",
    "ok": "green",
    "paused": "bright_black",
    "never checked": "bright_black",
}


def console() -> Console:
    """A rich console on standard output: colour only on a terminal and without
    ``NO_COLOR`` (rich honours both), no guessing of markup in printed text."""
    from rich.console import Console

    if not colour_on():
        return Console(highlight=False, color_system=None)  # no styles at all, like paint()
    return Console(highlight=False)


def time_arg(value: str | None, *, end: bool = False) -> datetime | None:
    from monitor.timefmt import parse_time

    return parse_time(value, end=end) if value else None


def colour_on() -> bool:
    return "NO_COLOR" not in os.environ


def paint(text: str, colour: str | None = None, bold: bool = False, dim: bool = False) -> str:
    """``text`` styled for a terminal (click.echo drops the codes when not a terminal)."""
    if not colour_on() or not (colour or bold or dim):
        return text
    return click.style(text, fg=colour, bold=bold, dim=dim)


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: its text and how to colour it."""

    text: str
    colour: str | None = None
    bold: bool = False
    dim: bool = False


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str | Cell]], right: Sequence[int] = ()
) -> list[str]:
    """Rows padded into aligned columns under bold headers; on a terminal the last column
    is cut to the terminal's width."""
    cells = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell.text))
    room = None
    if sys.stdout.isatty():
        room = (
            shutil.get_terminal_size((120, 24)).columns - sum(widths[:-1]) - 2 * (len(widths) - 1)
        )

    def line(row: Sequence[Cell], header: bool = False) -> str:
        out = []
        for index, cell in enumerate(row):
            text = cell.text
            last = index == len(row) - 1
            if last and room is not None and room > 10 and len(text) > room:
                text = text[: room - 1] + "…"
            padded = (
                text.rjust(widths[index])
                if index in right
                else (text if last else text.ljust(widths[index]))
            )
            out.append(paint(padded, cell.colour, bold=header or cell.bold, dim=cell.dim))
        return "  ".join(out).rstrip()

    return [line([Cell(h) for h in headers], header=True), *(line(row) for row in cells)]


def echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------------------
# monitor targets
