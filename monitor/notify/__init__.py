"""Alerts: channels that send events, the routing that picks them, the durable outbox.

Channel kinds register themselves in :data:`NOTIFIERS` by the ``type`` the config uses:

    email     SMTP (implicit TLS, STARTTLS or plain), multipart text + HTML
    webhook   HTTP POST of the versioned JSON event, HMAC-SHA256 signed
    apprise   chat and push services through Apprise URLs (optional extra)

Every notifier turns a list of event payloads (one, or a digest) into one message and
reports an :class:`Outcome`; the outbox (:mod:`monitor.notify.outbox`) decides retries.
"""

from __future__ import annotations

from monitor.notify.base import NOTIFIERS, Notifier, Outcome, notifier_for

# Importing the kinds registers them.
from monitor.notify import apprise_channel, smtp, webhook  # noqa: F401  isort: skip

__all__ = ["NOTIFIERS", "Notifier", "Outcome", "notifier_for"]
