"""The ``archive`` config section: WARC files of captures, copies in a public archive.

It lives with the evidence code and registers itself with the config
(:mod:`monitor.config.registry`).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.config.registry import register_section
from monitor.config.units import parse_duration, parse_size

logger = logging.getLogger(__name__)

#: A WARC file is closed and a new one started past this size.
DEFAULT_MAX_FILE_SIZE = 1_000_000_000


@register_section("archive")
class ArchiveSettings(BaseModel):
    """The ``archive`` config section: WARC files of captures, copies in a public archive."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    warc_dir: str | None = Field(
        default=None,
        description="Folder of the WARC files; captures are written as WARC only when set.",
    )
    all_captures: bool = Field(
        default=False,
        description="Also write captures that made no new version (by default only new "
        "versions and events with an HTTP answer, such as a removal's 404).",
    )
    max_file_size: int = Field(
        default=DEFAULT_MAX_FILE_SIZE,
        description="A WARC file is closed and a new one started past this size (e.g. 1GB).",
    )
    save_page_now: bool = Field(
        default=False,
        description="After a new version, ask a public web archive (Save Page Now) for a copy.",
    )
    save_page_now_endpoint: str = Field(
        default="https://web.archive.org/save/", description="The Save Page Now endpoint."
    )
    save_page_now_auth_env: str | None = Field(
        default=None,
        description="Environment variable holding 'ACCESS_KEY:SECRET' for the Save Page Now "
        "API (anonymous without it).",
    )
    save_page_now_timeout: float = Field(
        default=120.0, description="How long to wait for one page's archive copy."
    )

    @field_validator("max_file_size", mode="before")
    @classmethod
    def _size(cls, value: object) -> int:
        return parse_size(value)

    @field_validator("save_page_now_timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("save_page_now_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an absolute http:// or https:// URL")
        return value.strip()
