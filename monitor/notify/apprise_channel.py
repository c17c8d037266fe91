"""Chat and push services (Slack, Telegram, Matrix, ntfy, Discord, ...) through Apprise.

Optional: ``pip install 'monitor[apprise]'``. The channel's Apprise URLs carry tokens,
so they come from the environment variable named by ``urls_env``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field

from monitor.config import ChannelBase, register_channel, secret
from monitor.notify.base import Notifier, Outcome, register
from monitor.notify.deadline import Window

logger = logging.getLogger(__name__)


@register_channel("apprise")
class AppriseChannel(ChannelBase):
    """Alerts to chat and push services (Slack, Telegram, Matrix, ntfy, ...) via Apprise."""

    type: Literal["apprise"]
    urls_env: str = Field(
        description="Environment variable holding the Apprise URL(s), space-separated "
        "(they carry tokens, so they are secrets)."
    )
    timeout: float = 30.0


@register("apprise")
class AppriseNotifier(Notifier[AppriseChannel]):
    """Sends the rendered subject and text body to every URL of the channel."""

    def send(
        self, events: list[dict[str, Any]], *, digest: bool = False, window: Window | None = None
    ) -> Outcome:
        # Apprise owns its connections and their timeouts, so only the start is bounded
        # here: no send starts once the window is over.
        if window is not None and window.over():
            return Outcome(False, "interrupted before sending", interrupted=True)
        try:
            import apprise
        except ImportError:
            return Outcome(
                False, "Apprise is not installed: pip install 'monitor[apprise]'", permanent=True
            )
        urls = (secret(self.channel.urls_env, f"channels.{self.name}.urls_env") or "").split()
        if not urls:
            return Outcome(False, f"{self.channel.urls_env} holds no Apprise URL", permanent=True)
        from monitor.notify.render import render  # jinja2: loaded when a message is made

        parts = render(self.name, self.channel.templates, events, digest=digest)
        service = apprise.Apprise()
        bad = [url.split(":", 1)[0] for url in urls if not service.add(url)]
        if bad:
            return Outcome(
                False, f"unusable Apprise URL(s) of scheme {', '.join(bad)}", permanent=True
            )
        ok = service.notify(title=parts["subject"], body=parts["text"])
        if ok:
            return Outcome(True, f"Apprise delivered to {len(urls)} service(s)")
        return Outcome(False, "Apprise reported a failure (see the log for the service's answer)")
