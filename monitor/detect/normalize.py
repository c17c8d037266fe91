"""Normalising extracted text and URLs so that only real edits make a difference.

Typography (curly quotes, dashes, non-breaking spaces), Unicode composition and
whitespace never count as changes; neither do tracking or cache-busting parameters
in link URLs. User ignore patterns remove the text they match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.detect.patterns import TimedPatterns

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u3000": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "\u00ad": None,
        "\u2026": "...",
    }
)

# Query parameters that identify a visitor, a campaign or a cache entry, never a page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "ref_src",
        "sessionid",
        "session_id",
        "phpsessid",
        "jsessionid",
        "aspsessionid",
        "cfid",
        "cftoken",
        "_",
        "cachebuster",
        "cache_buster",
        "nocache",
    }
)
_SESSION_PATH = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)


def normalize_line(line: str) -> str:
    """One line in canonical form: NFC, plain quotes and dashes, single spaces."""
    if not line.isascii():  # ASCII is NFC already, and the table maps no ASCII character
        line = unicodedata.normalize("NFC", line)
        if _TYPOGRAPHY.search(line) is not None:
            # As line.translate(_TRANSLATE), with Python called only where there is
            # something to replace (translate looks up every character in a dict).
            line = _TYPOGRAPHY.sub(_typography, line)
    return " ".join(line.split())


Ignore = Iterable[re.Pattern[str]] | TimedPatterns


def _remover(ignore: Ignore) -> Callable[[str], str]:
    """A function removing what the ignore patterns match from a line (a target's own
    patterns run with their time limit: :class:`TimedPatterns`)."""
    if isinstance(ignore, TimedPatterns):
        return ignore.sub
    patterns = tuple(ignore)

    def remove(line: str) -> str:
        for pattern in patterns:
            line = pattern.sub("", line)
        return line

    return remove


_TYPOGRAPHY = re.compile("[" + "".join(re.escape(chr(code)) for code in _TRANSLATE) + "]")


def _typography(match: re.Match[str]) -> str:
    return match.group().translate(_TRANSLATE)


def normalize_lines(lines: Iterable[str], ignore: Ignore = ()) -> list[str]:
    """Canonical lines with the ignored patterns removed; empty lines dropped."""
    remove = _remover(ignore)
    result = []
    for line in lines:
        line = _without(normalize_line(line), remove)
        if line:
            result.append(line)
    return result


def _without(line: str, remove: Callable[[str], str]) -> str:
    """A normalised line with the ignored patterns removed (spaces collapsed again where
    something was)."""
    kept = remove(line)
    return " ".join(kept.split()) if kept != line else line


def normalize_keyed_lines(
    lines: Iterable[str], keys: Iterable[str], ignore: Ignore = ()
) -> tuple[list[str], list[str]]:
    """:func:`normalize_lines`, keeping each line's block key beside it."""
    remove = _remover(ignore)
    result: list[str] = []
    kept: list[str] = []
    for line, key in zip(lines, keys, strict=False):
        line = _without(normalize_line(line), remove)
        if line:
            result.append(line)
            kept.append(key)
    return result, kept


def image_identity(url: str) -> str:
    """What identifies an image across captures: its address without query or fragment.

    Image addresses carry cache-busting and resizing parameters that change without
    the picture changing (``?v=20240301``, ``?w=640``); a new picture has a new path.

    >>> image_identity("https://Example.gov/img/ambassador.jpg?itok=Xy12&w=640")
    'https://example.gov/img/ambassador.jpg'
    """
    parts = urlsplit(url.strip())
    path = _SESSION_PATH.sub("", parts.path) or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def canonical_url(url: str) -> str:
    """A URL without fragment, tracking/cache-busting parameters or session ids."""
    parts = urlsplit(url.strip())
    path = _SESSION_PATH.sub("", parts.path) or "/"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS and not key.lower().startswith("utm_")
    ]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))
