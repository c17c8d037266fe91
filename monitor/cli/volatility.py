"""``monitor volatility``: what was learned to change on every visit, per page or per site."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor import config as cfg
from monitor.cli._common import config_option, db_option, handle_errors, open_store

if TYPE_CHECKING:
    from monitor.storage.models import SiteBoilerplate
    from monitor.storage.store import Store

logger = logging.getLogger(__name__)


@click.command()
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
@handle_errors
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
    from monitor.check.learning import reset_volatility
    from monitor.detect.volatility import block_pair, describe_rule
    from monitor.storage.store import rule_of

    if (target is None) == (site is None):
        raise click.UsageError("give either TARGET or --site HOST")
    store = open_store(cfg.database_of(config_path, database))
    if site is not None:
        _site_volatility(store, site, reset, as_json)
        return
    assert target is not None
    documents = []
    for page in store.resolve(target):
        if reset:
            removed = reset_volatility(store, page.id)
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


def _site_volatility(store: Store, site: str, reset: bool, as_json: bool) -> None:
    """``monitor volatility --site HOST``: list or forget a site's learned boilerplate."""
    from monitor.check.learning import reset_site
    from monitor.detect.site_boilerplate import host_of

    host = None if site == "all" else host_of(site if "//" in site else f"//{site}")
    if reset:
        if host is None:
            raise click.UsageError("--reset needs one site, not 'all'")
        forgotten = reset_site(store, host)
        if as_json:
            click.echo(json.dumps({"site": host, "forgotten": forgotten}, indent=2))
        else:
            click.echo(f"{host}: forgot {forgotten} learned line(s) and block(s)")
        return
    rows = store.site_boilerplate(host)
    sites: dict[str, list[SiteBoilerplate]] = {}
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
