"""``monitor serve``: the history in a browser, as Atom feeds and as a JSON API."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from monitor import config as cfg
from monitor.cli._common import config_option, db_option, handle_errors, open_store

logger = logging.getLogger(__name__)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port.")
@click.option(
    "--public-url",
    help="Base URL for absolute links in feeds (default: the config's public_url).",
)
@config_option
@db_option
@handle_errors
def serve(
    host: str, port: int, public_url: str | None, config_path: Path, database: str | None
) -> None:
    """Serve the history in a browser, as Atom feeds and as a read-only JSON API.

    Pages: the dashboard (/), a page's timeline (/pages/ID), diffs
    (/pages/ID/diff/FROM/TO), snapshots (/pages/ID/versions/N), search (/search);
    feeds under /feeds/; the API under /api/ (OpenAPI: /api/openapi.json). Bound to
    127.0.0.1 by default; any other address requires MONITOR_WEB_TOKEN (Bearer token) or
    MONITOR_WEB_PASSWORD (HTTP Basic) in the environment.

    Example: monitor serve -c config.yaml --port 8080
    """
    from monitor.web.app import WebSettings
    from monitor.web.app import serve as run

    if public_url is None and config_path.exists():
        public_url = cfg.load(config_path).public_url
    settings = WebSettings.from_env(host, port, public_url)
    settings.check()
    store = open_store(cfg.database_of(config_path, database), reading=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving http://{shown}:{port}/ (Ctrl-C to stop)")
    run(store, settings)


# --------------------------------------------------------------------------------------
# monitor export --format json|csv
