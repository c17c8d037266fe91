"""Every way a time is written or read by the monitor: one module, so the CLI, the web
pages, feeds, e-mails and exports say "when" the same way.

All times are UTC. People read ``2026-03-03 14:05:09Z`` (:func:`when`, :func:`utc`); machines
read ISO 8601 (:func:`iso`, :func:`stamp`); people write ``2026-03-01`` or
``2026-03-01T12:00Z`` (:func:`parse_time`). A message to a person says the day and the
offset from UTC (:func:`human`): ``Tue 3 Mar 2026, 15:05 CET (UTC+01:00)``.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, tzinfo

from monitor.exceptions import TimeValueError

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 as stored (``2026-03-03T14:05:09+00:00``), or None."""
    return value.isoformat() if value else None


def stamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (Atom feeds): ``2026-03-03T14:05:09Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def when(value: datetime | None) -> str:
    """``2026-03-03 14:05:09Z``, or ``never`` (CLI listings, status, messages)."""
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else "never"


def utc(value: datetime | None, seconds: bool = True) -> str:
    """A time as people read it on the web pages: ``2026-03-03 14:05:09Z`` (always UTC)."""
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ" if seconds else "%Y-%m-%d %H:%MZ")


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human(value: datetime | str | None, zone: tzinfo | None = None) -> str:
    """A time as a message says it to a person, with its offset from UTC: in UTC
    ``Tue 3 Mar 2026, 14:05 UTC+00:00``, in a named zone ``Tue 3 Mar 2026, 15:05 CET
    (UTC+01:00)``. Takes a datetime or an ISO 8601 string (as payloads carry them).

    >>> human("2026-03-03T14:05:09+00:00")
    'Tue 3 Mar 2026, 14:05 UTC+00:00'
    >>> from zoneinfo import ZoneInfo
    >>> human(datetime(2026, 3, 3, 14, 5, tzinfo=UTC), ZoneInfo("Asia/Kolkata"))
    'Tue 3 Mar 2026, 19:35 IST (UTC+05:30)'
    """
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        value = parse_time(value)
    local = value.astimezone(zone or UTC)
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    utc_offset = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    name = local.tzname() or ""
    day = f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}"
    if not name or name in ("UTC", utc_offset) or name.startswith(("+", "-")):
        return f"{day}, {local:%H:%M} {utc_offset}"
    return f"{day}, {local:%H:%M} {name} ({utc_offset})"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``3 h ago``: how long before now."""
    if value is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def parse_time(value: str, *, end: bool = False) -> datetime:
    """A UTC datetime from ``2026-03-01`` or ``2026-03-01T12:00[:00][Z|+02:00]``.

    A date alone means the start of that day (UTC), or with ``end`` the start of the next
    one, so ``--until 2026-03-01`` includes all of 1 March. Times without a zone are UTC.
    """
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimeValueError(
            f"{value!r} is not a date or time; use e.g. 2026-03-01 or 2026-03-01T12:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
