"""The channel kinds, loaded when a notifier is first wanted.

Each kind (:mod:`monitor.notify.smtp`, :mod:`monitor.notify.webhook`,
:mod:`monitor.notify.apprise_channel`) registers itself in
:data:`monitor.notify.base.NOTIFIERS` when imported. They are imported here, on the
first :func:`notifier_for`, not by the package: a check (which only routes events into
the outbox) does not load the senders, their templates and Apprise (~60 ms and ~10 MB
of every ``monitor check``).
"""

from __future__ import annotations

import functools
from typing import Any

from monitor.config import ChannelBase
from monitor.notify import base
from monitor.notify.base import Notifier


@functools.cache
def load_kinds() -> tuple[str, ...]:
    """Import every channel kind (once); their names."""
    from monitor.notify import apprise_channel, smtp, webhook  # noqa: F401

    return tuple(sorted(base.NOTIFIERS))


def notifier_for(name: str, channel: ChannelBase, public_url: str | None = None) -> Notifier[Any]:
    """The notifier of the channel ``name`` (its kind loaded first)."""
    load_kinds()
    return base.notifier_for(name, channel, public_url)
