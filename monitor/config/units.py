"""Durations (``90s``, ``15m``, ``2h``) and sizes (``10MB``) as the config writes them.

Sizes are parsed here rather than with pydantic's ``ByteSize`` because the config's
errors name the units it takes (and refuse zero); ``ByteSize`` reads the same notation
(KB = 1000, KiB = 1024) and formats sizes for people where the CLI prints them.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Annotated

from pydantic import Field

logger = logging.getLogger(__name__)

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 15m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    else:
        raise ValueError(
            f"{value!r} is not a duration; use a number of seconds or a number with a unit "
            "(ms, s, m, h, d, w), e.g. 90s, 15m, 2h, 1d"
        )
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; a duration must be zero or more")
    return seconds


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``"10MB"``, ``"512 KiB"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10MB")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _SIZE_RE.match(value)):
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    else:
        raise ValueError(f"{value!r} is not a size; use bytes or a unit (KB, MB, GB, KiB, MiB)")
    if size <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return size


Duration = Annotated[float, Field(json_schema_extra={"format": "duration"})]
