"""``monitor config``: check a config file, and ``monitor add``: add a target to it."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from monitor.cli._common import config_option, handle_errors

logger = logging.getLogger(__name__)


@click.group("config")
def config_group() -> None:
    """The config file: validate it, see what it would watch."""


@config_group.command("check")
@config_option
@handle_errors
def config_check(config_path: Path) -> None:
    """Validate a config file and print what it would watch; exit 2 if it is wrong.

    Every key is checked as `monitor check` and `monitor run` check it; an error names
    the file, the key and what is allowed. Nothing is fetched and the database is not
    opened.

    Example: monitor config check -c config.yaml
    """
    from monitor import config as cfg

    config = cfg.load(config_path)
    click.echo(f"{config_path}: valid")
    click.echo(f"database: {_hide_password(config.database)}")
    enabled = [target for target in config.targets if target.enabled]
    click.echo(
        f"targets: {len(config.targets)} ({len(enabled)} enabled)"
        + (f"; channels: {', '.join(sorted(config.channels))}" if config.channels else "")
    )
    for target in config.targets:
        schedule = config.schedule_of(target)
        every = (
            f"every {_duration(schedule.every)}"
            if schedule.every
            else (f"cron {schedule.cron}" if schedule.cron else "-")
        )
        what = "listing" if target.follow is not None else "page"
        extra = []
        if target.follow is not None:
            extra.append(f"articles up to {target.follow.max_articles}")
        if target.selector is not None:
            extra.append(f"selector {target.selector.value!r}")
        if target.render == "browser":
            extra.append("rendered by the browser")
        proxy = target.proxy_env or config.defaults.proxy_env
        if proxy:
            extra.append(f"proxy from ${proxy}")
        if not target.enabled:
            extra.append("disabled")
        if target.tags:
            extra.append("tags " + ",".join(target.tags))
        click.echo(
            f"  {target.name:24} {what:7} {every:14} {target.url}"
            + (f"  ({'; '.join(extra)})" if extra else "")
        )
    if not config.targets:
        click.echo("  (no targets yet: add one with `monitor add URL`)")


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:g}s"


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # validated already; this is only for display
        return url


@click.command("add")
@click.argument("url")
@click.option("--name", help="The target's name (default: made from the URL).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option(
    "--follow",
    help="Watch it as a listing: a selector of its article links (css:... or xpath:...), "
    "or a regex the article URLs match.",
)
@click.option(
    "--render",
    type=click.Choice(["plain", "browser"]),
    help="browser: a browser runs the page's scripts (for pages whose text they write).",
)
@click.option("--wait-for", help="With --render browser: css:SELECTOR to wait for.")
@click.option("--dry-run", is_flag=True, help="Fetch and show; do not change the config.")
@config_option
@handle_errors
def add(
    url: str,
    name: str | None,
    tags: tuple[str, ...],
    follow: str | None,
    render: str | None,
    wait_for: str | None,
    dry_run: bool,
    config_path: Path,
) -> None:
    """Add a target to the config file, after fetching it once and showing what is watched.

    The page is fetched through the real pipeline (twice, a few seconds apart, as a new
    page is) into a scratch database: its title, the text that will be compared and the
    noise found between the two fetches are printed. Then the target is appended to the
    targets of the config file, its comments and layout kept (--dry-run changes nothing
    and prints the whole extracted text).

    Example: monitor add https://example.org/press/statements --name mfa-statements --tag mfa
    """
    import tempfile

    from monitor import config as cfg
    from monitor.check import run_check
    from monitor.cli.adding import append_target, default_name, target_entry
    from monitor.history import version_detail
    from monitor.storage.store import Store

    config = cfg.load(config_path) if config_path.exists() else cfg.parse({}, str(config_path))
    entry = target_entry(
        url, name or default_name(url), tags, follow, render=render, wait_for=wait_for
    )
    if any(t.name == entry["name"] for t in config.targets):
        raise click.UsageError(f"{config_path} already has a target named {entry['name']!r}")
    if any(t.url == url for t in config.targets):
        raise click.UsageError(f"{config_path} already watches {url}")
    target = cfg.parse({"targets": [entry]}, "the new target").targets[0]
    with tempfile.TemporaryDirectory(prefix="monitor-add-") as scratch:
        trial = config.model_copy(
            update={
                "database": f"sqlite:///{Path(scratch) / 'trial.db'}",
                "targets": (target,),
                "channels": {},
                "routes": (),
            }
        )
        store = Store(trial.database)
        try:
            summary = run_check(trial, store, [target])
            pages = [page for page in store.resolve(target.name) if page.last_version_id]
            if not pages:
                problem = next((o.error for o in summary.outcomes if o.error), None)
                raise click.ClickException(
                    f"{url} could not be read: {problem or 'no content'}; nothing added"
                )
            page = next((p for p in pages if p.url == url), pages[0])
            detail = version_detail(store, page.id, 1)
            noise = [line.value for line in store.volatile_lines(page.id) if line.learned]
        finally:
            store.close()
    lines = detail.text.splitlines()
    click.echo(f"{url}: HTTP {detail.version.status}, {detail.version.title or '(no title)'}")
    if detail.capture.note:
        # What the quality judge noticed, e.g. a page whose text its scripts write.
        click.echo(f"note: {detail.capture.note}")
    if target.follow is not None:
        click.echo(f"listing: {len(pages) - 1} article(s) found and fetched")
    shown = lines if dry_run else lines[:15]
    click.echo(f"text that will be compared ({len(lines)} lines):")
    for line in shown:
        click.echo(f"  | {line}")
    if len(shown) < len(lines):
        click.echo(f"  | ... {len(lines) - len(shown)} more lines (--dry-run shows them all)")
    if noise:
        click.echo(f"noise found between two fetches ({len(noise)}), ignored when comparing:")
        for value in noise:
            click.echo(f"  ~ {value}")
    else:
        click.echo("noise found between two fetches: none")
    if dry_run:
        click.echo("dry run: the config was not changed")
        return
    append_target(config_path, entry)
    click.echo(f"added target {entry['name']!r} to {config_path}")
