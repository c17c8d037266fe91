"""Webhooks: the event payload as a JSON POST, signed with HMAC-SHA256 when a secret is set.

Headers sent with every POST:

    Content-Type         application/json; charset=utf-8
    X-Monitor-Event      the event kind (or "digest")
    X-Monitor-Event-Id   the payload's id: stable across retries, for de-duplication
    X-Monitor-Timestamp  Unix time of this attempt (seconds)
    X-Monitor-Signature  sha256=<hex HMAC-SHA256 over "<timestamp>.<raw body>"> (with a secret)

Success is a 2xx answer; 408, 429 and 5xx are retried; any other 4xx is permanent. A
redirect (3xx) is never followed (a redirected POST arrives as a GET without its body):
it is a permanent failure whose detail, shown by `monitor status`, names the Location to
put in the channel's ``url``. The channel's ``timeout`` bounds the whole send (connect,
request, answer), not each read. Proxy variables (``HTTP_PROXY``) are not used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator

from monitor import __version__
from monitor.config import ChannelBase, register_channel, secret
from monitor.config.base import check_http_url
from monitor.notify.base import Notifier, Outcome, register
from monitor.notify.deadline import Window
from monitor.notify.payload import digest as digest_payload

logger = logging.getLogger(__name__)

RETRYABLE_4XX = frozenset({408, 425, 429})


def signature(secret_value: str, timestamp: str, body: bytes) -> str:
    """The X-Monitor-Signature value for a body sent at ``timestamp``.

    >>> signature("s3cret", "1700000000", b'{"id":"x"}')
    'sha256=2382c1d0968a5e57238c68de957f44d87e83d3049a5588ec251442ca372b8aec'
    """
    mac = hmac.new(secret_value.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret_value: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """How a receiver checks a POST: the signature matches and the timestamp is recent."""
    if abs((now if now is not None else time.time()) - float(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret_value, timestamp, body), header)


@register_channel("webhook")
class WebhookChannel(ChannelBase):
    """Alerts as a signed JSON POST to a URL."""

    type: Literal["webhook"]
    url: str
    secret_env: str | None = Field(
        default=None, description="Environment variable holding the HMAC secret."
    )
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds one POST may take in all (connect, send, answer).",
    )

    check_url = field_validator("url")(lambda cls, value: check_http_url(value))


@register("webhook")
class WebhookNotifier(Notifier[WebhookChannel]):
    """POSTs the event (or a digest of events) to the channel's URL."""

    def body(self, events: list[dict[str, Any]], *, digest: bool) -> tuple[bytes, str, str]:
        if digest:
            ids = ",".join(e["id"] for e in events)
            digest_id = hashlib.sha256(ids.encode()).hexdigest()[:32]
            payload = digest_payload(events, digest_id)
            kind, event_id = "digest", digest_id
        else:
            payload, kind, event_id = events[0], events[0]["event"], events[0]["id"]
        return json.dumps(payload, ensure_ascii=False).encode("utf-8"), kind, event_id

    def send(
        self, events: list[dict[str, Any]], *, digest: bool = False, window: Window | None = None
    ) -> Outcome:
        channel = self.channel
        body, kind, event_id = self.body(events, digest=digest)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"monitor/{__version__}",
            "X-Monitor-Event": kind,
            "X-Monitor-Event-Id": event_id,
            "X-Monitor-Timestamp": timestamp,
            **channel.headers,
        }
        key = secret(channel.secret_env, f"channels.{self.name}.secret_env")
        if key:
            headers["X-Monitor-Signature"] = signature(key, timestamp, body)
        parts = urlsplit(channel.url)
        connection_class = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        connection = connection_class(parts.hostname or "", parts.port)
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        with self.deadline(window, lambda: connection.sock) as deadline:
            try:
                connection.timeout = deadline.remaining()
                connection.connect()
                if deadline.expired:
                    raise TimeoutError("deadline")
                connection.sock.settimeout(deadline.remaining())
                connection.request("POST", target, body=body, headers=headers)
                response = connection.getresponse()
                status = response.status
                location = response.getheader("Location") or ""
                answer = response.read(300).decode("utf-8", errors="replace")
            except (OSError, HTTPException) as exc:
                if deadline.expired:
                    return Outcome.cut(deadline)
                return Outcome(False, f"{type(exc).__name__}: {exc}")
            finally:
                connection.close()
        detail = f"HTTP {status}" + (f": {answer.strip()[:200]}" if answer.strip() else "")
        if 200 <= status < 300:
            return Outcome(True, detail)
        if 300 <= status < 400:
            # Never followed: a client that follows a redirect re-sends a POST as a GET
            # without its body, and the receiver's 200 to that GET is not a delivery.
            return Outcome(
                False,
                f"HTTP {status} redirect to {location or '(no Location)'}: a webhook is "
                "never redirected; set the channel's url to the receiver's address",
                permanent=True,
            )
        permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
        return Outcome(False, detail, permanent=permanent)
