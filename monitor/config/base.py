"""What every config section shares: unknown keys are errors; names and URLs checked."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
#: The longest target or channel name: the database's columns hold 200 characters
#: (``targets.name``, ``deliveries.channel``; a test checks they agree).
MAX_NAME_LENGTH = 200


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http:// or https:// URL")
    return value.strip()
