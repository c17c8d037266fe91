"""Pictures of what happened, drawn on the server as SVG: no script, every text escaped.

- :func:`strip`: a target's events per day, a cell a day (the dashboard)
- :func:`axis`: a page's life on a time axis: versions, events, removal and error gaps
  (a page's timeline)
- :func:`day_bars`: a listing's articles added, removed, edited and restored per day

Each picture is an ``<svg role="img">`` with an ``aria-label``, a ``<title>`` and a
``<desc>``, and each comes with the same facts in words (:attr:`Chart.sentence`, and
:attr:`Chart.table` where a picture holds many facts), shown beside it, for people who do
not see it and for text browsers. Colours come from classes (``k-removed`` ...) in the
stylesheet: the page's Content-Security-Policy allows no inline style.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup

from monitor.history import Day, EventView, Outage, VersionSummary

logger = logging.getLogger(__name__)

#: The event kinds a picture shows, the most notable first (a day's cell takes its colour
#: from the first kind it had), with the words a sentence uses for them.
KINDS = {
    "removed": "removed",
    "added": "added",
    "restored": "restored",
    "changed": "changed",
    "error": "error",
    "recovered": "recovered",
}
#: A listing's words for its articles' events.
ARTICLE_WORDS = {
    "added": "added",
    "removed": "removed",
    "changed": "edited",
    "restored": "restored",
}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True, slots=True)
class Chart:
    """A picture (``svg``, markup to insert as it is) and the same facts in words."""

    svg: Markup
    sentence: str
    table: list[list[str]] = field(default_factory=list)  # first row: the headers
    short: str = ""  # a few words beside a small picture (the strip's count)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _day(value: datetime | Any) -> str:
    """``3 Nov`` (a date or a datetime, in UTC)."""
    return f"{value.day} {_MONTHS[value.month - 1]}"


def _moment(value: datetime, span: timedelta | None = None) -> str:
    """A time as precise as the span shown needs: ``Nov 2026``, ``3 Nov 2026``,
    ``3 Nov 14:05``, ``3 Nov 14:05:09``."""
    value = value.astimezone(UTC)
    if span is not None and span > timedelta(days=400):
        return f"{_MONTHS[value.month - 1]} {value.year}"
    if span is not None and span > timedelta(days=3):
        return f"{_day(value)} {value.year}"
    if span is None or span > timedelta(hours=2):
        return f"{_day(value)} {value:%H:%M}"
    return f"{_day(value)} {value:%H:%M:%S}"


def _length(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _svg(
    kind: str, width: float | None, height: float, label: str, title: str, body: list[str]
) -> Markup:
    """An ``<svg>`` with its accessible name; ``width`` None: as wide as its box, with
    horizontal positions in percent (so text keeps its size on a phone or a wide screen)."""
    if width is None:
        size = f'width="100%" height="{height:g}"'
    else:
        size = f'viewBox="0 0 {width:g} {height:g}" preserveAspectRatio="xMinYMid meet"'
    head = (
        f'<svg class="chart chart-{kind}" role="img" aria-label="{_e(label)}" {size} '
        f'xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(title)}</title><desc>{_e(label)}</desc>"
    )
    return Markup(head + "".join(body) + "</svg>")  # every text above is escaped


def _pc(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _counted(counts: dict[str, int], words: dict[str, str]) -> str:
    return ", ".join(f"{counts[kind]} {word}" for kind, word in words.items() if counts.get(kind))


def _totals(days: Sequence[Day]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for day in days:
        for kind, count in day.counts.items():
            totals[kind] = totals.get(kind, 0) + count
    return totals


def _first_kind(counts: dict[str, int]) -> str:
    return next((kind for kind in KINDS if counts.get(kind)), next(iter(counts), "changed"))


# --------------------------------------------------------------------------------------


def strip(days: Sequence[Day], name: str) -> Chart:
    """A target's events per day: a cell a day, oldest on the left, coloured by the most
    notable kind of that day, darker with more events. (A dashboard draws a hundred:
    one pass over the days, and only days with events get an element.)"""
    count = len(days)
    cell = 180 / count if count else 6
    gap = 1.0 if cell > 3 else 0.4
    totals: dict[str, int] = {}
    busiest: tuple[int, Day] | None = None
    body = [f'<rect class="bg" x="0" y="0" width="{cell * count:g}" height="16"/>']
    for index, day in enumerate(days):
        counts = day.counts
        if not counts:
            continue
        today = 0
        for kind, number in counts.items():
            totals[kind] = totals.get(kind, 0) + number
            today += number
        if busiest is None or today > busiest[0]:
            busiest = (today, day)
        body.append(
            f'<rect class="k-{_e(_first_kind(counts))} n{min(today, 3)}" x="{index * cell:g}" '
            f'y="0" width="{cell - gap:g}" height="16"><title>{_day(day.day)}: '
            f"{_counted(counts, KINDS)}</title></rect>"  # numbers and our own words only
        )
    total = sum(totals.values())
    if total and busiest is not None:
        sentence = (
            f"{total} event{'s' if total != 1 else ''} in the last {count} days "
            f"({_counted(totals, KINDS)}); the busiest day {_day(busiest[1].day)} "
            f"({busiest[0]})."
        )
    else:
        sentence = f"No event in the last {count} days."
    title = f"Events per day of {name}, the last {count} days"
    short = f"{total} event{'s' if total != 1 else ''}" if total else "none"
    return Chart(_svg("strip", cell * count, 16, sentence, title, body), sentence, short=short)


# --------------------------------------------------------------------------------------


_AXIS_HEIGHT = 100.0
_LEFT, _RIGHT, _LINE = 1.5, 98.5, 58.0  # percent of the width across; pixels down
#: An event this soon after the capture of its version was found by that check.
_SAME_CHECK = timedelta(minutes=10)


def axis(
    page_id: int,
    versions: Sequence[VersionSummary],
    events: Sequence[EventView],
    gaps: Sequence[Outage],
    *,
    start: datetime,
    end: datetime,
) -> Chart:
    """A page's life from ``start`` to ``end`` on one horizontal axis: its versions as
    dots (each a link to the version), its events as marks above them, the time it was
    removed (or failing) as shaded gaps. As wide as the page, whatever the screen."""
    moments = [start, end, *(v.captured_at for v in versions), *(e.detected_at for e in events)]
    first, last = min(moments), max(moments)
    span = last - first
    seconds = span.total_seconds() or 1.0

    def x(moment: datetime) -> float:
        if not span:
            return (_LEFT + _RIGHT) / 2
        return _LEFT + (moment - first).total_seconds() / seconds * (_RIGHT - _LEFT)

    # An event found by the capture that made a version is drawn at that version (the
    # two are moments apart); a gap ends when a version came back, if that was first.
    made = {v.seq: v.captured_at for v in versions}

    def at(event: EventView) -> datetime:
        captured = made.get(event.to_seq) if event.to_seq is not None else None
        if captured is not None and timedelta(0) <= event.detected_at - captured < _SAME_CHECK:
            return captured
        return event.detected_at

    def ended(gap: Outage) -> datetime | None:
        back = [v.captured_at for v in versions if v.captured_at > gap.start]
        ends = [moment for moment in (gap.end, min(back, default=None)) if moment is not None]
        return min(ends) if gap.kind == "removed" and ends else gap.end

    gaps = [Outage(gap.kind, gap.start, ended(gap)) for gap in gaps]
    body: list[str] = []
    for gap in gaps:
        left, right = x(gap.start), x(gap.end or last)
        back = _moment(gap.end, span) if gap.end else "now"
        words = f"{gap.kind} from {_moment(gap.start, span)} to {back}"
        body.append(
            f'<g class="gap gap-{_e(gap.kind)}"><rect x="{_pc(left)}" y="14" '
            f'width="{_pc(max(right - left, 0.4))}" height="58">'
            f"<title>{_e(words)} ({_e(_length(gap.length(last)))})</title></rect>"
            + (
                f'<text x="{_pc(left + 0.5)}" y="27">{_e(gap.kind)}</text>'
                if right - left > 8
                else ""
            )
            + "</g>"
        )
    body.append(
        f'<line class="axis" x1="{_pc(_LEFT)}" y1="{_LINE:g}" x2="{_pc(_RIGHT)}" y2="{_LINE:g}"/>'
    )
    for event in events:
        words = f"{event.kind} · {_moment(event.detected_at, span)} · {event.summary}"
        where = _pc(x(at(event)))
        body.append(
            f'<line class="mark k-{_e(event.kind)}" x1="{where}" y1="32" x2="{where}" y2="46">'
            f"<title>{_e(words)}</title></line>"
        )
    for version in versions:
        words = f"v{version.seq} · {_moment(version.captured_at, span)} · {version.title or ''}"
        body.append(
            f'<a href="/pages/{page_id}/versions/{version.seq}">'
            f'<circle class="version" cx="{_pc(x(version.captured_at))}" cy="{_LINE:g}" r="5">'
            f"<title>{_e(words.rstrip(' ·'))}</title></circle></a>"
        )
    ticks = 5 if span else 1
    labels: list[str] = []
    for index in range(ticks):
        moment = first + span * (index / max(ticks - 1, 1))
        label = _moment(moment, span)
        if label in labels:
            continue
        labels.append(label)
        anchor = "start" if index == 0 else "end" if index == ticks - 1 else "middle"
        inner = " inner" if anchor == "middle" and span else ""  # a phone shows the ends only
        if not span:
            anchor = "middle"
        body.append(
            f'<text class="tick{inner}" x="{_pc(x(moment))}" y="92" text-anchor="{anchor}">'
            f"{_e(label)}</text>"
        )
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.kind] = kinds.get(event.kind, 0) + 1
    parts = [
        f"{len(versions)} version{'s' if len(versions) != 1 else ''} from "
        f"{_moment(first, span)} to {_moment(last, span)}"
    ]
    if kinds:
        parts.append("events: " + _counted(kinds, KINDS))
    removed = [gap for gap in gaps if gap.kind == "removed"]
    if removed:
        lasting = " (still removed)" if removed[-1].end is None else ""
        parts.append(f"removed {len(removed)} time{'s' if len(removed) != 1 else ''}{lasting}")
    sentence = "; ".join(parts) + "."
    table = [["Gap", "From", "To", "How long"]] + [
        [
            gap.kind,
            _moment(gap.start),
            _moment(gap.end) if gap.end else "now",
            _length(gap.length(last)),
        ]
        for gap in gaps
    ]
    title = "The page's versions, events and gaps over time"
    svg = _svg("axis", None, _AXIS_HEIGHT, sentence, title, body)
    return Chart(svg, sentence, table if gaps else [])


# --------------------------------------------------------------------------------------


def day_bars(days: Sequence[Day]) -> Chart:
    """A listing's articles per day: a stacked bar a day (added, edited, removed,
    restored), oldest on the left; as wide as the page, whatever the screen."""
    count = max(len(days), 1)
    plot_top, plot_bottom = 18.0, 110.0
    cell = 100 / count
    highest = max((day.total for day in days), default=0) or 1
    scale = (plot_bottom - plot_top) / highest
    body = [f'<line class="axis" x1="0" y1="{plot_bottom:g}" x2="100%" y2="{plot_bottom:g}"/>']
    body.append(f'<text class="tick" x="0" y="{plot_top - 6:g}">{highest} a day</text>')
    for index, day in enumerate(days):
        if not day.total:
            continue
        top = plot_bottom
        words = _counted(day.counts, ARTICLE_WORDS)
        parts = []
        for kind in ("added", "changed", "removed", "restored"):
            height = day.count(kind) * scale
            if not height:
                continue
            top -= height
            parts.append(
                f'<rect class="k-{kind}" x="{_pc(index * cell + cell * 0.12)}" y="{top:g}" '
                f'width="{_pc(cell * 0.76)}" height="{height:g}"/>'
            )
        body.append(
            f'<g class="bar"><title>{_e(_day(day.day))}: {_e(words)}</title>{"".join(parts)}</g>'
        )
    if days:
        for index in (0, len(days) // 2, len(days) - 1):
            anchor = "start" if index == 0 else "end" if index == len(days) - 1 else "middle"
            left = index * cell + (cell / 2 if anchor == "middle" else 0 if index == 0 else cell)
            body.append(
                f'<text class="tick" x="{_pc(left)}" y="128" text-anchor="{anchor}">'
                f"{_e(_day(days[index].day))}</text>"
            )
    totals = _totals(days)
    if sum(totals.values()):
        busiest = max(days, key=lambda day: day.total)
        summary = ", ".join(f"{totals.get(kind, 0)} {word}" for kind, word in ARTICLE_WORDS.items())
        sentence = (
            f"In the last {len(days)} days, articles: {summary}; the busiest day "
            f"{_day(busiest.day)} ({busiest.total})."
        )
    else:
        sentence = f"No article was added, removed or edited in the last {len(days)} days."
    table = [["Day", *(word.capitalize() for word in ARTICLE_WORDS.values())]] + [
        [_day(day.day), *(str(day.count(kind)) for kind in ARTICLE_WORDS)]
        for day in days
        if day.total
    ]
    title = "Articles added, removed and edited per day"
    return Chart(_svg("bars", None, 134, sentence, title, body), sentence, table)
