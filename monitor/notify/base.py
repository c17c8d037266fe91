"""The notifier interface and registry."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from monitor.config import ChannelBase
from monitor.exceptions import ConfigError
from monitor.notify.deadline import Deadline, Window

ChannelT = TypeVar("ChannelT", bound=ChannelBase)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the server answered: sent, or failed (permanently or not) with its detail."""

    ok: bool
    detail: str
    permanent: bool = False
    # Cut short because the outbox stopped (not the receiver's fault): the delivery is
    # released for the next pass, not counted as a failed attempt.
    interrupted: bool = False

    @classmethod
    def cut(cls, deadline: Deadline) -> Outcome:
        """The outcome of a send its deadline cut (or the outbox aborted)."""
        return cls(False, deadline.describe(), interrupted=deadline.reason == "abort")


class Notifier(Generic[ChannelT]):
    """Sends events through one configured channel (of the kind it registered for)."""

    kind = "base"

    def __init__(self, name: str, channel: ChannelT, public_url: str | None = None) -> None:
        self.name = name
        self.channel: ChannelT = channel
        self.public_url = public_url

    def send(
        self, events: list[dict[str, Any]], *, digest: bool = False, window: Window | None = None
    ) -> Outcome:
        """Send one message for ``events`` (one event, or several as a digest), within
        the channel's ``timeout`` in all and the ``window``'s end."""
        raise NotImplementedError

    def deadline(self, window: Window | None, sock: Callable[[], socket.socket | None]) -> Deadline:
        """This send's deadline: the channel's ``timeout`` from now, within ``window``."""
        timeout = float(getattr(self.channel, "timeout", 30.0))
        return (window or Window()).deadline(timeout, sock)


NOTIFIERS: dict[str, type[Notifier[Any]]] = {}


def register(kind: str) -> Callable[[type[Notifier[Any]]], type[Notifier[Any]]]:
    """Register a notifier class under the channel ``type`` it serves."""

    def decorate(cls: type[Notifier[Any]]) -> type[Notifier[Any]]:
        cls.kind = kind
        NOTIFIERS[kind] = cls
        return cls

    return decorate


def notifier_for(name: str, channel: ChannelBase, public_url: str | None = None) -> Notifier[Any]:
    try:
        cls = NOTIFIERS[channel.type]
    except KeyError:
        raise ConfigError(
            f"channels.{name}.type: {channel.type!r} is not a channel type; "
            f"known: {', '.join(sorted(NOTIFIERS))}"
        ) from None
    return cls(name, channel, public_url)
