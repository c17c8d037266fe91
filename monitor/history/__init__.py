"""History: the one read model of what was watched and what happened.

The CLI (``monitor targets``, ``history``, ``show``, ``diff``, ``search``, ``status``), the
web pages, the feeds and the JSON API all read through it, so they can never disagree.

- :mod:`monitor.history.data`: target rows, timelines, versions, diffs
- :mod:`monitor.history.status`: the health report of ``monitor status``
- :mod:`monitor.history.search`: full-text search of versions
"""

from __future__ import annotations

__all__: list[str] = []
