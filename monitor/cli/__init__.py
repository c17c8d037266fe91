"""The ``monitor`` command line: the main group and its commands, one module per group.

Domain errors become CLI errors only here: a :class:`MonitorError` is printed as one
clear message and a non-zero exit code, never as a traceback
(:func:`monitor.cli._common.handle_errors`).
"""

from __future__ import annotations

import importlib
import logging

import click

from monitor import __version__

logger = logging.getLogger(__name__)

#: Every command, by name: the module (in ``monitor.cli``) and the function that defines
#: it. A command's module is imported only when that command runs (or ``--help`` lists
#: them all), so a command's start-up pays only for its own imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("check", "check"),
    "config": ("configure", "config_group"),
    "add": ("configure", "add"),
    "volatility": ("volatility", "volatility"),
    "targets": ("history", "targets"),
    "history": ("history", "history"),
    "show": ("history", "show"),
    "search": ("history", "search"),
    "diff": ("history", "diff"),
    "export": ("evidence", "export"),
    "verify": ("evidence", "verify"),
    "cite": ("evidence", "cite"),
    "import": ("importing", "import_group"),
    "backfill": ("importing", "backfill"),
    "notify": ("notify", "notify"),
    "run": ("daemon", "run"),
    "reload": ("daemon", "reload"),
    "status": ("daemon", "status"),
    "db": ("db", "db"),
    "demo": ("demo", "demo"),
    "serve": ("serve", "serve"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module_name, attribute = COMMANDS[cmd_name]
            module = importlib.import_module(f"monitor.cli.{module_name}")
            command = getattr(module, attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="monitor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for log collectors.",
)
@click.pass_context
def main(context: click.Context, verbose: int, log_format: str) -> None:
    """Watch official web pages and report, with proof, when they change.

    Example: monitor check -c config.yaml
    """
    from monitor.daemon import logs

    level = logging.WARNING - 10 * min(verbose, 2)
    logs.configure(level, log_format)
    context.obj = {"verbose": verbose}
    if verbose < 2:
        # Scrapy reports every retry and give-up at ERROR; the monitor records those
        # outcomes itself, so they are only shown with -vv.
        logging.getLogger("scrapy").setLevel(logging.CRITICAL)
