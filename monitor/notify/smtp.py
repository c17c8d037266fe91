"""E-mail over SMTP: implicit TLS, STARTTLS or plain, multipart text + HTML, UTF-8 throughout.

The message is written to bytes with the SMTP policy (CRLF line ends, no ``>From``
mangling of lines that start with "From ", as mbox files need and mail does not) and
sent as those bytes; both parts are quoted-printable, so any server takes them.
Times are written for people, with their offset from UTC, in the channel's ``timezone``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from monitor.config import ChannelBase, register_channel, secret
from monitor.notify.base import Notifier, Outcome, register
from monitor.notify.deadline import Window

logger = logging.getLogger(__name__)


@register_channel("email")
class EmailChannel(ChannelBase):
    """Alerts by e-mail over SMTP."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = Field(
        default=None, description="Environment variable holding the SMTP password."
    )
    sender: str = Field(alias="from")
    to: tuple[str, ...]
    timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds one message may take in all (connect, TLS, login, send).",
    )
    timezone: str = Field(
        default="UTC",
        description="The time zone of the times in messages (an IANA name such as "
        "Europe/Berlin); each is written with its offset from UTC.",
    )

    @field_validator("to", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone; use an IANA name such as UTC or Europe/Berlin"
            ) from None
        return value


@register("email")
class EmailNotifier(Notifier[EmailChannel]):
    """Sends one multipart message (plain text and HTML with the diff) per event or digest.

    Success is the server accepting the message for every recipient; an SMTP 5xx answer
    is a permanent failure, anything else (4xx, connection refused, timeout) is retried.
    """

    def message(self, events: list[dict[str, Any]], *, digest: bool) -> EmailMessage:
        zone = ZoneInfo(self.channel.timezone)
        from monitor.notify.render import render  # jinja2: loaded when a message is made

        parts = render(self.name, self.channel.templates, events, digest=digest, zone=zone)
        message = EmailMessage(policy=policy.SMTP)
        message["Subject"] = parts["subject"]
        message["From"] = self.channel.sender
        message["To"] = ", ".join(self.channel.to)
        message["Message-ID"] = make_msgid(domain="monitor.local")
        from datetime import UTC, datetime

        message["Date"] = format_datetime(datetime.now(UTC))
        message["X-Monitor-Event-Id"] = ",".join(e["id"] for e in events[:20])
        message.set_content(parts["text"], charset="utf-8", cte="quoted-printable")
        message.add_alternative(
            parts["html"], subtype="html", charset="utf-8", cte="quoted-printable"
        )
        return message

    def envelope(self, message: EmailMessage) -> tuple[str, list[str], bytes]:
        """Sender, recipients and the exact bytes to send (the SMTP policy: CRLF, and a
        line starting with "From " stays as it is)."""
        sender = getaddresses([str(message["From"])])[0][1]
        recipients = [address for _name, address in getaddresses([str(message["To"])])]
        return sender, recipients, message.as_bytes(policy=policy.SMTP)

    def send(
        self, events: list[dict[str, Any]], *, digest: bool = False, window: Window | None = None
    ) -> Outcome:
        channel = self.channel
        password = secret(channel.password_env, f"channels.{self.name}.password_env")
        sender, recipients, data = self.envelope(self.message(events, digest=digest))
        client: smtplib.SMTP = (
            smtplib.SMTP_SSL(timeout=channel.timeout, context=ssl.create_default_context())
            if channel.security == "tls"
            else smtplib.SMTP(timeout=channel.timeout)
        )
        with self.deadline(window, lambda: getattr(client, "sock", None)) as deadline:
            client.timeout = deadline.remaining()  # connect; then the deadline cuts
            try:
                client.connect(channel.host, channel.port)
                with client:
                    if channel.security == "starttls":
                        client.starttls(context=ssl.create_default_context())
                    if channel.username:
                        client.login(channel.username, password or "")
                    refused = client.sendmail(sender, recipients, data)
                    code, reply = client.noop()
            except smtplib.SMTPResponseException as exc:
                if deadline.expired:
                    return Outcome.cut(deadline)
                detail = f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"
                return Outcome(False, detail, permanent=500 <= exc.smtp_code < 600)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _msg in exc.recipients.values()]
                detail = "recipients refused: " + ", ".join(
                    f"{rcpt} ({code} {_text(msg)})" for rcpt, (code, msg) in exc.recipients.items()
                )
                return Outcome(False, detail, permanent=all(500 <= c < 600 for c in codes))
            except (smtplib.SMTPException, OSError) as exc:
                if deadline.expired:
                    return Outcome.cut(deadline)
                return Outcome(False, f"{type(exc).__name__}: {exc}")
            finally:
                client.close()
        if refused:
            detail = "some recipients refused: " + ", ".join(
                f"{rcpt} ({code} {_text(msg)})" for rcpt, (code, msg) in refused.items()
            )
            return Outcome(False, detail, permanent=True)
        return Outcome(
            True, f"SMTP accepted for {len(channel.to)} recipient(s) ({code} {_text(reply)})"
        )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
