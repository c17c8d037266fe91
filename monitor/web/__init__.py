"""``monitor serve``: the history of every watched page, in a browser, as feeds and as JSON.

Modules, by role:

- :mod:`monitor.history`: what every view shows, as plain data (the one read model, also
  used by the CLI)
- :mod:`monitor.web.app`: the ASGI application: settings, access control, headers
- :mod:`monitor.web.pages`: the server-rendered HTML pages (Jinja2 templates)
- :mod:`monitor.web.charts`: the pictures (SVG drawn on the server, with their words)
- :mod:`monitor.web.feeds`: Atom feeds of events
- :mod:`monitor.web.api`: the read-only JSON API and its OpenAPI document

Captured content is data, never markup: templates escape everything, snapshots are served
with a sandboxing Content-Security-Policy, and the application's own pages run no script.
"""

from __future__ import annotations

__all__: list[str] = []
