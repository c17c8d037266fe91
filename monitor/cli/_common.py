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
        except Exception as exc:
            from monitor.storage.readonly import is_read_only_error

            if not is_read_only_error(exc):
                raise
            click.echo(
                "error: the database cannot be written (a read-only file or filesystem); "
                "reading commands (history, show, diff, search, serve) still work",
                err=True,
            )
            sys.exit(EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


#: The largest integer a database row id or version number can be (SQLite and PostgreSQL
#: BIGINT): a bigger number on the command line names nothing, and said so before a query
#: overflows.
MAX_NUMBER = 2**63 - 1


class Number(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """A version number or row id: an integer that fits the database's integers."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
        if abs(number) > MAX_NUMBER:
            self.fail(f"{value} is too large: no version or id is that big", param, ctx)
        return number


NUMBER = Number()


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


def refuse_read_only(url: str) -> None:
    """StorageError, in one line, if ``url`` is a SQLite database that cannot be written
    (this command writes)."""
    from monitor.exceptions import StorageError
    from monitor.storage import readonly

    if readonly.is_read_only(url):
        context = click.get_current_context(silent=True)
        command = context.command_path.removeprefix("monitor ") if context else None
        raise StorageError(readonly.refusal(url, command))


def open_store(url: str, *, reading: bool = False) -> Store:
    """The store of ``url``. ``reading``: the command only reads, so a SQLite database
    that cannot be written is opened read-only; a command that writes is refused it in
    one line."""
    from monitor.storage import readonly
    from monitor.storage.store import Store

    if not reading:
        refuse_read_only(url)
    read_only = readonly.is_read_only(url)
    store = Store(url, read_only=read_only)
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
    "metadata": "blue",
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
