"""Alerts: channels that send events, the routing that picks them, the durable outbox.

Channel kinds register themselves in :data:`NOTIFIERS` by the ``type`` the config uses:

    email     SMTP (implicit TLS, STARTTLS or plain), multipart text + HTML
    webhook   HTTP POST of the versioned JSON event, HMAC-SHA256 signed
    apprise   chat and push services through Apprise URLs (optional extra)

Every notifier turns a list of event payloads (one, or a digest) into one message and
reports an :class:`Outcome`; the outbox (:mod:`monitor.notify.outbox`) decides retries.

The package imports nothing until asked (a check imports only :mod:`routing`); the
kinds are loaded with the first :func:`notifier_for` (:mod:`monitor.notify.channels`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.notify.base import NOTIFIERS, Notifier, Outcome
    from monitor.notify.channels import notifier_for
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "NOTIFIERS": "monitor.notify.base",
            "Notifier": "monitor.notify.base",
            "Outcome": "monitor.notify.base",
            "notifier_for": "monitor.notify.channels",
        },
    )

__all__ = ["NOTIFIERS", "Notifier", "Outcome", "notifier_for"]
