"""Save Page Now: a copy of a new version in a public web archive, its URL kept with it."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update

from monitor import __version__
from monitor.evidence.warc import (
    ArchiveSettings,
)
from monitor.exceptions import (
    SavePageNowError,
)
from monitor.storage.models import Capture, Version
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


class SavePageNow:
    """A client of a public web archive's Save Page Now API (the Internet Archive's by default).

    ``save(url)`` asks for a capture and returns the archived copy's URL. It speaks the
    authenticated API (POST, a job id, then polling ``status/<job id>``) and the
    anonymous one (the answer's Content-Location or final URL is the copy).
    """

    def __init__(
        self,
        endpoint: str = "https://web.archive.org/save/",
        *,
        auth: str | None = None,
        timeout: float = 120.0,
        poll_interval: float = 5.0,
        user_agent: str | None = None,
    ) -> None:
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self.auth = auth
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.user_agent = user_agent or f"monitor/{__version__}"
        parts = urllib.parse.urlsplit(self.endpoint)
        self.archive_base = f"{parts.scheme}://{parts.netloc}/web/"

    @classmethod
    def from_settings(cls, settings: ArchiveSettings) -> SavePageNow:
        from monitor.config import secret

        auth = secret(settings.save_page_now_auth_env, "archive.save_page_now_auth_env")
        return cls(
            settings.save_page_now_endpoint, auth=auth, timeout=settings.save_page_now_timeout
        )

    def _request(
        self, url: str, data: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes, str]:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.auth:
            headers["Authorization"] = f"LOW {self.auth}"
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout, 60.0)) as answer:
                return (
                    answer.status,
                    {name.lower(): value for name, value in answer.headers.items()},
                    answer.read(1024 * 1024),
                    answer.geturl(),
                )
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace").strip()
            raise SavePageNowError(
                f"{url}: HTTP {exc.code} {exc.reason}" + (f": {detail[:200]}" if detail else "")
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SavePageNowError(f"{url}: {reason}") from None

    def save(self, url: str) -> str:
        """Ask for a copy of ``url``; returns its archive URL (SavePageNowError otherwise)."""
        deadline = time.monotonic() + self.timeout
        _status, headers, body, final = self._request(
            self.endpoint, urllib.parse.urlencode({"url": url}).encode()
        )
        data = _json(body)
        if data is None:
            return self._location(url, headers, final)
        if data.get("job_id"):
            return self._poll(url, str(data["job_id"]), deadline)
        found = self._from_status(url, data)
        if found:
            return found
        return self._location(url, headers, final)

    def _poll(self, url: str, job_id: str, deadline: float) -> str:
        status_url = self.endpoint + "status/" + urllib.parse.quote(job_id, safe="")
        while True:
            _status, _headers, body, _final = self._request(status_url)
            data = _json(body) or {}
            found = self._from_status(url, data)
            if found:
                return found
            if time.monotonic() + self.poll_interval > deadline:
                raise SavePageNowError(
                    f"{url}: no archive copy after {self.timeout:.0f}s (job {job_id} "
                    f"{data.get('status', 'pending')})"
                )
            time.sleep(self.poll_interval)

    def _from_status(self, url: str, data: dict[str, Any]) -> str | None:
        state = data.get("status")
        if state == "error":
            reason = data.get("message") or data.get("status_ext") or "error"
            raise SavePageNowError(f"{url}: the archive refused: {reason}")
        timestamp = data.get("timestamp")
        if state in ("success", None) and timestamp:
            original = data.get("original_url") or url
            return f"{self.archive_base}{timestamp}/{original}"
        return None

    def _location(self, url: str, headers: dict[str, str], final: str) -> str:
        location = headers.get("content-location") or headers.get("location")
        if location and "/web/" in location:
            return urllib.parse.urljoin(self.endpoint, location)
        if "/web/" in urllib.parse.urlsplit(final).path:
            return final
        raise SavePageNowError(f"{url}: the archive's answer names no archived copy")


def _json(body: bytes) -> dict[str, Any] | None:
    text = body.strip()
    if not text.startswith(b"{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def save_versions(
    store: Store, client: SavePageNow, version_ids: Iterable[int]
) -> dict[int, str | None]:
    """Ask the public archive for a copy of each version's page; record the copy's URL.

    One failure never stops the others: it is logged with its reason and that version
    keeps no archive URL. Returns version id -> archive URL (None when it failed).
    """
    ids = list(dict.fromkeys(version_ids))
    if not ids:
        return {}
    with store.session() as session:
        rows = session.execute(
            select(Version.id, Capture.final_url, Capture.requested_url)
            .join(Capture, Capture.id == Version.capture_id)
            .where(Version.id.in_(ids))
        ).all()
    results: dict[int, str | None] = {}
    for version_id, final_url, requested_url in rows:
        url = final_url or requested_url
        try:
            archived = client.save(url)
        except SavePageNowError as exc:
            logger.warning("Save Page Now failed for version %s: %s", version_id, exc)
            results[version_id] = None
            continue
        with store.session() as session, session.begin():
            session.execute(
                update(Version).where(Version.id == version_id).values(archive_url=archived)
            )
        logger.info("archived copy of %s: %s", url, archived)
        results[version_id] = archived
    return results
