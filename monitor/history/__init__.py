"""History: the one read model of what was watched and what happened.

The CLI (``monitor targets``, ``history``, ``show``, ``diff``, ``search``, ``status``), the
web pages, the feeds and the JSON API all read through it, so they can never disagree.

- :mod:`monitor.history.targets`: every target with its state (:class:`TargetRow`)
- :mod:`monitor.history.timeline`: a page, its versions, events and learning notes
- :mod:`monitor.history.versions`: one version or capture in full, the diff of any two,
  the removal in force on a page
- :mod:`monitor.history.events`: events across pages (feeds, the API)
- :mod:`monitor.history.status`: the health report of ``monitor status``
- :mod:`monitor.history.search`: full-text search of versions
- :mod:`monitor.history.activity`: events per day, outages, the dashboard's activity
  filter, page titles, natural order (what the pictures and filters show)
"""

from __future__ import annotations

from monitor.history.activity import (
    ACTIVITY,
    Day,
    Outage,
    PageLine,
    daily_events,
    listing_days,
    narrow_targets,
    notable_pages,
    outages,
    page_titles,
)
from monitor.history.events import recent_events
from monitor.history.targets import (
    OVERDUE_GRACE,
    STATUSES,
    TargetRow,
    filter_targets,
    natural_key,
    site_of,
    target_rows,
    with_configured,
)
from monitor.history.timeline import (
    EventView,
    NoteView,
    PageInfo,
    Timeline,
    TimelineEntry,
    VersionSummary,
    page_events,
    page_info,
    page_notes,
    timeline,
    version_summaries,
)
from monitor.history.versions import (
    DIFFS,
    CaptureDetail,
    Diffs,
    DiffView,
    VersionDetail,
    cached_diff,
    capture_detail,
    diff_excerpt,
    diff_view,
    removal_of,
    version_detail,
)

__all__ = [
    "ACTIVITY",
    "DIFFS",
    "OVERDUE_GRACE",
    "STATUSES",
    "CaptureDetail",
    "Day",
    "DiffView",
    "Diffs",
    "EventView",
    "NoteView",
    "Outage",
    "PageInfo",
    "PageLine",
    "TargetRow",
    "Timeline",
    "TimelineEntry",
    "VersionDetail",
    "VersionSummary",
    "cached_diff",
    "capture_detail",
    "daily_events",
    "diff_excerpt",
    "diff_view",
    "filter_targets",
    "listing_days",
    "narrow_targets",
    "natural_key",
    "notable_pages",
    "outages",
    "page_events",
    "page_info",
    "page_notes",
    "page_titles",
    "recent_events",
    "removal_of",
    "site_of",
    "target_rows",
    "timeline",
    "version_detail",
    "version_summaries",
    "with_configured",
]
