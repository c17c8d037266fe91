"""The ``monitor`` command line.

Domain errors become CLI errors only here: a :class:`MonitorError` is printed as one
clear message and a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor import __version__
from monitor import config as cfg
from monitor.exceptions import ConfigError, MonitorError, UnknownTargetError

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_CONFIG = 2


def _errors(function: F) -> F:
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


def _open_store(url: str) -> Any:
    from monitor.storage.store import Store

    store = Store(url)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.close)  # its connections, when the command ends
    return store


@click.group()
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


@main.command()
@config_option
@db_option
@click.option("--target", "names", multiple=True, help="Only this target (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only targets with this tag (repeatable).")
@click.option("--verbose-results", "-l", "listing", is_flag=True, help="One line per page.")
@click.option("--no-notify", is_flag=True, help="Record events but leave alerts in the outbox.")
@_errors
def check(
    config_path: Path,
    database: str | None,
    names: tuple[str, ...],
    tags: tuple[str, ...],
    listing: bool,
    no_notify: bool,
) -> None:
    """Check every target once (or the chosen ones) and print a summary.

    Example: monitor check -c config.yaml --tag russia
    """
    from monitor.check import run_check

    config = cfg.load(config_path)
    targets = config.select(names, tags)
    if not targets:
        click.echo("no targets to check")
        return
    store = _open_store(database or config.database)
    summary = run_check(config, store, targets)
    if listing:
        for item in summary.outcomes:
            detail = f" v{item.version_seq}" if item.version_seq else ""
            problem = f" ({item.error})" if item.error and item.outcome != "new" else ""
            click.echo(f"{item.outcome:9} {item.status or '-':>3} {item.key.url}{detail}{problem}")
    click.echo(format_summary(summary))
    if config.channels and not no_notify:
        from monitor.notify.outbox import Outbox

        # Like urlwatch from cron: the alerts of this run go out before it exits (within
        # outbox.flush_timeout); what is left stays in the outbox for the next run.
        report = Outbox(store, config).deliver(timeout=config.outbox.flush_timeout)
        if report.messages or report.pending:
            click.echo(f"alerts: {report}")


def format_summary(summary: Any) -> str:
    return (
        f"checked {summary.checked}: {summary.unchanged} unchanged, "
        f"{summary.new_versions} new versions, {summary.first_versions} first captures, "
        f"{summary.errors} errors"
        + (f", {summary.gone} removed or looking removed" if summary.gone else "")
        + (f", {summary.discovered} new pages discovered" if summary.discovered else "")
        + (
            "; events: " + ", ".join(f"{n} {kind}" for kind, n in sorted(summary.events.items()))
            if summary.events
            else ""
        )
        + (f" ({summary.quiet_events} below min_significance)" if summary.quiet_events else "")
        + "".join(
            f"\nlisting {name}: {cut:,} article links not followed (max_articles {limit:,})"
            for name, (cut, limit) in sorted(summary.not_followed.items())
        )
    )


@main.command()
@click.argument("target", required=False)
@click.option(
    "--site",
    help="A site (host, e.g. www.example.gov) instead of a page: its learned boilerplate; "
    "'all' lists every site.",
)
@click.option("--reset", is_flag=True, help="Forget what was learned (built-ins stay).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@config_option
@db_option
@_errors
def volatility(
    target: str | None,
    site: str | None,
    reset: bool,
    as_json: bool,
    config_path: Path,
    database: str | None,
) -> None:
    """Show (or reset) the text learned to change on every visit of a page, or the
    boilerplate learned on a whole site.

    Lines learned from the two fetches of a new page ("probe") or from changing like
    noise in several captures in a row ("observed": counters, timestamps, date widgets,
    blocks rotating among lines they showed before) are ignored when comparing captures;
    a block ignores only the lines it is known to show. Candidates (not learned yet) show
    their streak. --reset forgets what was learned, re-bases the page on its last version
    and notes it on the page's timeline. With --site, the lines and blocks that many
    pages of the site repeat (site chrome) are listed; they are ignored when comparing
    any page of that site (--reset forgets them).

    Example: monitor volatility embassy-news --reset; monitor volatility --site www.mfa.gov
    """
    from monitor.check.record import Recorder
    from monitor.detect.volatility import block_pair, describe_rule
    from monitor.storage.store import rule_of

    if (target is None) == (site is None):
        raise click.UsageError("give either TARGET or --site HOST")
    store = _open_store(cfg.database_of(config_path, database))
    if site is not None:
        _site_volatility(store, site, reset, as_json)
        return
    assert target is not None
    documents = []
    for page in store.resolve(target):
        if reset:
            removed = Recorder(store).reset_volatility(page.id)
            documents.append({"url": page.url, "forgotten": removed})
            if not as_json:
                click.echo(
                    f"{page.url}: forgot {removed} learned rule(s); the next check compares "
                    "the page without them"
                )
            continue
        lines = store.volatile_lines(page.id)
        rules = [rule_of(line) for line in lines]
        documents.append(
            {
                "url": page.url,
                "lines": [
                    {
                        "kind": line.kind,
                        "value": list(block_pair(line.value))
                        if line.kind == "after"
                        else line.value,
                        "source": line.source,
                        "learned": line.learned,
                        "streak": line.streak,
                        **(
                            {"known": sorted(rule.known), "seen": sorted(rule.seen)}
                            if line.kind == "after"
                            else {}
                        ),
                    }
                    for line, rule in zip(lines, rules, strict=True)
                ],
            }
        )
        if as_json:
            continue
        click.echo(f"{page.url}: {sum(1 for line in lines if line.learned)} learned")
        for line, rule in zip(lines, rules, strict=True):
            status = "learned" if line.learned else f"streak {line.streak}"
            if line.learned:
                what = describe_rule(rule)
            elif line.kind == "signature":
                what = line.value
            else:
                what = "lines between {!r} and {!r}".format(*block_pair(line.value))
            click.echo(f"  {line.kind:9} {line.source:8} {status:9} {what}")
    if as_json:
        click.echo(json.dumps(documents, ensure_ascii=False, indent=2))


def _site_volatility(store: Any, site: str, reset: bool, as_json: bool) -> None:
    """``monitor volatility --site HOST``: list or forget a site's learned boilerplate."""
    from monitor.check.record import Recorder
    from monitor.detect.site_boilerplate import host_of

    host = None if site == "all" else host_of(site if "//" in site else f"//{site}")
    if reset:
        if host is None:
            raise click.UsageError("--reset needs one site, not 'all'")
        forgotten = Recorder(store).reset_site(host)
        if as_json:
            click.echo(json.dumps({"site": host, "forgotten": forgotten}, indent=2))
        else:
            click.echo(f"{host}: forgot {forgotten} learned line(s) and block(s)")
        return
    rows = store.site_boilerplate(host)
    sites: dict[str, list[Any]] = {}
    for row in rows:
        sites.setdefault(row.host, []).append(row)
    if as_json:
        documents = [
            {
                "site": name,
                "entries": [
                    {
                        "kind": row.kind,
                        "value": row.value,
                        "pages": row.pages,
                        "learned_at": row.created_at.isoformat(),
                    }
                    for row in entries
                ],
            }
            for name, entries in sites.items()
        ]
        click.echo(json.dumps(documents, ensure_ascii=False, indent=2))
        return
    if not sites:
        click.echo(f"{host or 'no site'}: nothing learned")
        return
    for name, entries in sites.items():
        click.echo(f"{name}: {len(entries)} learned")
        for row in entries:
            what = row.value if row.kind == "line" else f"every line in {row.value}"
            click.echo(f"  {row.kind:5} on {row.pages:>4} pages  {what}")


@main.command()
@click.argument("target")
@click.argument("from_version", required=False, type=int)
@click.argument("to_version", required=False, type=int)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "words", "html", "side-by-side", "json"]),
    default="text",
    show_default=True,
    help="text: unified diff; words: changed lines with [-removed-]{+added+} words; "
    "html: inline HTML; side-by-side: HTML table; json: ops and statistics.",
)
@config_option
@db_option
@_errors
def diff(
    target: str,
    from_version: int | None,
    to_version: int | None,
    output: str,
    config_path: Path,
    database: str | None,
) -> None:
    """Show what changed between two versions of a page (the latest two by default).

    The text diff is followed by the set-diffs of the page's outgoing links and of the
    images of its content.

    Example: monitor diff mfa-statements 3 5 --format words
    """
    import json

    from monitor.detect.differ import diff_images, diff_links, diff_text

    store = _open_store(cfg.database_of(config_path, database))
    page = store.page(target)
    versions = {version.seq: version for version in store.versions(page.id)}
    if len(versions) < 2 and (from_version is None or to_version is None):
        raise UnknownTargetError(f"{page.url} has {len(versions)} version(s); nothing to compare")
    seqs = sorted(versions)
    to_seq = to_version if to_version is not None else seqs[-1]
    from_seq = (
        from_version
        if from_version is not None
        else (max((seq for seq in seqs if seq < to_seq), default=seqs[0]))
    )
    for seq in (from_seq, to_seq):
        if seq not in versions:
            raise UnknownTargetError(
                f"{page.url} has no version {seq} (versions: {seqs[0]}-{seqs[-1]})"
            )
    a, b = versions[from_seq], versions[to_seq]
    labels = (
        f"v{a.seq} {a.captured_at:%Y-%m-%d %H:%M:%S}Z",
        f"v{b.seq} {b.captured_at:%Y-%m-%d %H:%M:%S}Z",
    )
    result = diff_text(f"{a.title or ''}\n{a.text}", f"{b.title or ''}\n{b.text}")
    links = diff_links([tuple(link) for link in a.links], [tuple(link) for link in b.links])
    images = diff_images(a.images, b.images)
    if output == "json":
        payload = {
            "page": page.url,
            "from": a.seq,
            "to": b.seq,
            "diff": result.to_json(),
            "links": links.to_json(),
            "images": images.to_json(),
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if output == "html":
        click.echo(result.inline_html(context=3) + "\n" + links.to_html() + "\n" + images.to_html())
        return
    if output == "side-by-side":
        click.echo(
            result.side_by_side_html(context=3, labels=labels)
            + "\n"
            + links.to_html()
            + "\n"
            + images.to_html()
        )
        return
    if not result.changed and not links.changed and not images.changed:
        click.echo(f"v{a.seq} and v{b.seq} have the same content")
        return
    if output == "words":
        click.echo(f"--- {labels[0]}\n+++ {labels[1]}")
        click.echo("\n".join(result.word_text()))
    else:
        click.echo(result.unified(labels=labels), nl=False)
    if links.changed:
        click.echo("\nlinks:\n" + links.to_text())
    if images.changed:
        click.echo("\nimages:\n" + images.to_text())


@main.command()
@config_option
@db_option
@click.pass_context
@_errors
def run(context: click.Context, config_path: Path, database: str | None) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT (the daemon).

    Checks every target on its schedule, sends alerts, and keeps a heartbeat in the
    database; SIGHUP (or `monitor reload`) re-reads the config. One per database.

    Example: monitor run -c config.yaml --log-format json
    """
    from monitor.daemon import Daemon

    if not (context.obj or {}).get("verbose"):
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick otherwise
    sys.exit(Daemon(config_path, database).run())


@main.command()
@config_option
@db_option
@_errors
def reload(config_path: Path, database: str | None) -> None:
    """Make the running `monitor run` of this database re-read its config (SIGHUP).

    Example: monitor reload -c config.yaml
    """
    from monitor.daemon import reload_running

    click.echo(reload_running(_open_store(cfg.database_of(config_path, database))))


@main.group()
def notify() -> None:
    """Alert channels and the outbox."""


@notify.command("test")
@click.argument("channel")
@config_option
@_errors
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
@_errors
def notify_send(config_path: Path, timeout: float | None) -> None:
    """Deliver the alerts that are due now (the daemon does this by itself).

    Example: monitor notify send -c config.yaml
    """
    from monitor.notify.outbox import Outbox

    config = cfg.load(config_path)
    report = Outbox(_open_store(config.database), config).deliver(timeout=timeout)
    click.echo(str(report))


@notify.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--channel", default=None, help="Only this channel's dead deliveries.")
@config_option
@db_option
@_errors
def notify_retry(
    ids: tuple[int, ...], channel: str | None, config_path: Path, database: str | None
) -> None:
    """Queue dead deliveries again (all, one channel's, or the given delivery ids).

    Example: monitor notify retry --channel newsroom
    """
    from monitor.notify.outbox import retry_dead

    count = retry_dead(_open_store(cfg.database_of(config_path, database)), channel, ids)
    click.echo(f"{count} dead deliver{'y' if count == 1 else 'ies'} queued again")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@config_option
@db_option
@_errors
def status(as_json: bool, config_path: Path, database: str | None) -> None:
    """Show the state of targets and of the alert outbox; exit 1 if something needs care.

    Needs attention: dead deliveries (alerts that could not be sent), and pages whose
    last check failed.

    Example: monitor status -c config.yaml
    """
    from monitor.history.status import collect

    store = _open_store(cfg.database_of(config_path, database))
    limits: dict[str, int] = {}
    if config_path.exists():
        # The listings' max_articles, to say which limit cut their links (the config is
        # optional here: with --db, status works without it).
        try:
            limits = {
                target.name: target.follow.max_articles
                for target in cfg.load(config_path).targets
                if target.follow is not None
            }
        except ConfigError:
            if database is None:
                raise
    report = collect(store, max_articles=limits)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.text())
    if report.needs_attention:
        sys.exit(EXIT_FAILURE)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
@db_option
@_errors
def db_upgrade(config_path: Path, database: str | None) -> None:
    """Bring the database to the current schema (done automatically on first use).

    Example: monitor db upgrade -c config.yaml
    """
    from monitor.storage import db as database_module
    from monitor.storage.store import Store

    store = Store(cfg.database_of(config_path, database), upgrade=False)
    before, after = database_module.upgrade(store.engine)
    if before == after:
        click.echo(f"database is current (revision {after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")


@main.command()
@click.option(
    "--db",
    "database",
    default=None,
    help="Database URL for the demo (default: a new SQLite file in a temp folder).",
)
@click.option("--rounds", type=int, default=None, help="How many rounds of changes to show.")
@_errors
def demo(database: str | None, rounds: int | None) -> None:
    """Run the monitor against a local embassy-like site that changes between rounds.

    Offline and self-contained: starts the site on 127.0.0.1, checks it, changes it,
    checks again and prints what changed, through the same code as real monitoring.

    Example: monitor demo
    """
    from monitor.demo.run import run_demo

    run_demo(database=database, rounds=rounds, echo=click.echo)


# Evidence commands (export, verify, cite) live in their own module.
from monitor.cli.evidence import register as _register_evidence  # noqa: E402

_register_evidence(main)

# Reviewing history (targets, history, show, search, serve) lives in its own module too.
from monitor.cli.history import register as _register_history  # noqa: E402

_register_history(main)
