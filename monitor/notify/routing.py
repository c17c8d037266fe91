"""Routing: which channels an event goes to, from targets' notify lists and the routes.

The rules are plain data (:class:`monitor.records.Route`), resolved from the config once
per check, so the recording plan (:mod:`monitor.detect.plan`) picks an event's channels
without reading the config.
"""

from __future__ import annotations

from monitor import config as cfg
from monitor.records import Route, channels_for

# The name the outbox and older callers know a routing rule by.
Rule = Route

__all__ = ["Route", "Rule", "channels_for", "rules_for"]


def rules_for(config: cfg.Config, target: cfg.Target) -> tuple[Route, ...]:
    """The routing rules of a target: its notify channels, and every route matching it."""
    rules: list[Route] = []
    for name in config.channels_of(target):
        channel = config.channels[name]
        rules.append(
            Route(
                name,
                max(target.min_significance, channel.min_significance),
                frozenset(channel.events),
            )
        )
    for route in config.routes:
        if route.matches(target):
            for name in route.channels:
                channel = config.channels[name]
                rules.append(
                    Route(
                        name,
                        max(route.min_significance, channel.min_significance),
                        frozenset(route.events) & frozenset(channel.events),
                    )
                )
    return tuple(rules)
