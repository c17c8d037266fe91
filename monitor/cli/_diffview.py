"""How ``monitor diff`` prints a diff: coloured on a terminal, plain when piped or with
``NO_COLOR`` set (or ``TERM=dumb``), or as a complete HTML page with its stylesheet.

The coloured text is the plain text with ANSI styles around its parts, never other
words: strip the styles and it is :meth:`TextDiff.unified` (or ``word_text``) exactly,
so a pipe and a terminal read the same diff. Colours come from click's styling, which
the rest of the CLI uses too; removed words stand out on red, added words on green,
moved lines are blue, hunk headers cyan.
"""

from __future__ import annotations

import html
import logging
import os
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import IO, Any

import click

from monitor.cli._common import colour_on
from monitor.detect.differ import DiffLine, LinkDiff, TextDiff

logger = logging.getLogger(__name__)

Style = Callable[..., str]


def wants_colour(stream: IO[Any] | None = None) -> bool:
    """Colour only for a person at a terminal: never with NO_COLOR, TERM=dumb, or a pipe."""
    stream = stream if stream is not None else sys.stdout
    if not colour_on() or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _plain(text: str, **_styles: Any) -> str:
    return text


def styler(colour: bool) -> Style:
    """``click.style`` when colouring, else a function that returns the text as it is."""
    return click.style if colour else _plain


def _segments(line: DiffLine, side: str, style: Style, base: dict[str, Any]) -> str:
    """One side of a line, its changed words highlighted over the line's own colour."""
    drop, mark = ("insert", "delete") if side == "old" else ("delete", "insert")
    highlight = {"fg": "white", "bg": "red"} if side == "old" else {"fg": "black", "bg": "green"}
    parts = []
    for segment in line.segments:
        if segment.op == drop:
            continue
        if segment.op == mark and line.op == "change":
            parts.append(style(segment.text, bold=True, **highlight))
        else:
            parts.append(style(segment.text, **base))
    return "".join(parts)


def _side(line: DiffLine, side: str, style: Style) -> str:
    symbol = "-" if side == "old" else "+"
    if line.op in ("moved_out", "moved_in"):
        base: dict[str, Any] = {"fg": "blue"}
    else:
        base = {"fg": "red" if side == "old" else "green"}
    return style(symbol, **base) + _segments(line, side, style, base)


def unified(
    diff: TextDiff, labels: tuple[str, str], style: Style, context: int = 3
) -> Iterable[str]:
    """The lines of ``diff.unified(context, labels)``, styled."""
    yield style(f"--- {labels[0]}", bold=True)
    yield style(f"+++ {labels[1]}", bold=True)
    for hunk in diff.hunks(context):
        yield style(
            f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@",
            fg="cyan",
        )
        minus: list[str] = []
        plus: list[str] = []
        for line in hunk.lines:
            if line.op == "equal":
                yield from minus + plus
                minus, plus = [], []
                yield " " + line.old_text
                continue
            if line.old_no is not None:
                minus.append(_side(line, "old", style))
            if line.new_no is not None:
                plus.append(_side(line, "new", style))
        yield from minus + plus


def words(diff: TextDiff, labels: tuple[str, str], style: Style) -> Iterable[str]:
    """The lines of ``diff.word_text()`` under a ---/+++ header, styled."""
    yield style(f"--- {labels[0]}", bold=True)
    yield style(f"+++ {labels[1]}", bold=True)
    for line in diff.lines:
        if line.op in ("equal", "moved_out"):
            continue
        if line.op == "moved_in":
            yield style(f"> {line.new_text}", fg="blue")
        elif line.op == "insert":
            yield style(f"+ {line.new_text}", fg="green")
        elif line.op == "delete":
            yield style(f"- {line.old_text}", fg="red")
        else:
            parts = [style("~", fg="yellow"), " "]
            for segment in line.segments:
                if segment.op == "insert":
                    parts.append(style("{+" + segment.text + "+}", fg="green", bold=True))
                elif segment.op == "delete":
                    parts.append(style("[-" + segment.text + "-]", fg="red", bold=True))
                else:
                    parts.append(segment.text)
            yield "".join(parts)


def link_lines(links: LinkDiff, style: Style) -> Iterable[str]:
    """The lines of ``links.to_text()``, styled (+ green, - red, ~ yellow)."""
    colours = {"+": "green", "-": "red", "~": "yellow"}
    for line in links.to_text().splitlines():
        yield style(line, fg=colours.get(line[:1]))


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The diff views' stylesheet, the one ``monitor serve`` links (web/static/diff.css)."""
    from importlib import resources

    return (resources.files("monitor.web") / "static" / "diff.css").read_text(encoding="utf-8")


_PAGE_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d2330; margin: 0 auto; padding: 1rem 1.5rem 2rem; max-width: 1500px; }
h1 { font-size: 1.4rem; margin: 0.4rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 0.5rem; }
.url { color: #667085; overflow-wrap: anywhere; }
.stats ins { background: #d7f5dd; text-decoration: none; padding: 0 0.2rem; }
.stats del { background: #fde0df; text-decoration: none; padding: 0 0.2rem; }
footer { color: #667085; font-size: 0.85rem; margin-top: 2rem; }
@media (max-width: 640px) { body { padding: 0.6rem 0.7rem; } }
"""


def html_page(
    *,
    url: str,
    title: str | None,
    labels: tuple[str, str],
    diff: TextDiff,
    links: LinkDiff,
    images: LinkDiff,
    side_by_side: bool,
    context: int | None = 3,
) -> str:
    """A complete HTML document of the diff, with its stylesheet in it (no other file,
    no script): open it in a browser, attach it to a message, archive it."""
    escape = html.escape
    stats = diff.stats
    if side_by_side:
        body = diff.side_by_side_html(context=context, labels=labels)
    else:
        body = diff.inline_html(context=context)
    if not diff.changed:
        body = '<p class="url">The two versions have the same text.</p>'
    heading = title or url
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(labels[0].split()[0])}–{escape(labels[1].split()[0])} · {escape(heading)}</title>
<style>{_PAGE_CSS}{stylesheet()}</style>
</head><body>
<h1>{escape(heading)}</h1>
<p class="url"><code>{escape(url)}</code></p>
<p>{escape(labels[0])} → {escape(labels[1])}</p>
<p class="stats"><ins>+{stats.words_added} words</ins> <del>−{stats.words_removed} words</del>
· {stats.hunks} changed stretch{"es" if stats.hunks != 1 else ""}
· {stats.ratio_changed * 100:.1f}% of the text</p>
{body}
<h2>Links</h2>
{links.to_html() if links.changed else "<p>No link came or went.</p>"}
<h2>Images</h2>
{images.to_html() if images.changed else "<p>No image came or went.</p>"}
<footer>Written by monitor diff. All times UTC.</footer>
</body></html>
"""
