"""Routing: which channels an event goes to, from targets' notify lists and the routes."""

from __future__ import annotations

from dataclasses import dataclass

from monitor import config as cfg


@dataclass(frozen=True, slots=True)
class Rule:
    """One routing rule of a target: events of these kinds, at least this significant."""

    channel: str
    min_significance: float
    events: frozenset[str]


def rules_for(config: cfg.Config, target: cfg.Target) -> tuple[Rule, ...]:
    """The routing rules of a target: its notify channels, and every route matching it."""
    rules: list[Rule] = []
    for name in config.channels_of(target):
        channel = config.channels[name]
        rules.append(
            Rule(
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
                    Rule(
                        name,
                        max(route.min_significance, channel.min_significance),
                        frozenset(route.events) & frozenset(channel.events),
                    )
                )
    return tuple(rules)


def channels_for(rules: tuple[Rule, ...], kind: str, significance: float) -> list[str]:
    """The channels an event goes to (each once)."""
    chosen: list[str] = []
    for rule in rules:
        wanted = kind in rule.events and significance >= rule.min_significance
        if wanted and rule.channel not in chosen:
            chosen.append(rule.channel)
    return chosen
