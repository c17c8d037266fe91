"""Loading and validating the YAML configuration.

The config is validated once, when loaded: every error names the file, the key (as a
path such as ``targets[2].schedule.every``) and what is allowed there. Secrets never
live in the file: a key ending in ``_env`` names the environment variable that holds
the secret, and :func:`secret` reads it when it is needed.

Modules, by role: :mod:`~monitor.config.units` (durations, sizes),
:mod:`~monitor.config.base` (what every section shares), :mod:`~monitor.config.targets`
(targets and how they are fetched and compared), :mod:`~monitor.config.channels`
(what every alert channel has, routes), :mod:`~monitor.config.registry` (the settings
plugins own: channel kinds, the archive), :mod:`~monitor.config.schema` (the whole file),
:mod:`~monitor.config.errors` (messages naming the key), :mod:`~monitor.config.loading`
(reading the file, secrets). The names below are the package's public ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_exports

if TYPE_CHECKING:
    from monitor.config.base import WEEKDAYS
    from monitor.config.channels import EVENT_KINDS, ChannelBase, Route, Templates
    from monitor.config.fetch_options import Browser, FromEnv
    from monitor.config.loading import load, load_plugins, parse, secret
    from monitor.config.peek import (
        DEFAULT_DATABASE,
        ConfiguredTarget,
        Glance,
        database_of,
        glance,
        glance_if_present,
    )
    from monitor.config.registry import CHANNEL_TYPES, SECTIONS, register_channel, register_section
    from monitor.config.schema import Config, Daemon, Metrics, Outbox
    from monitor.config.targets import Defaults, Detect, Fetch, Follow, Schedule, Selector, Target
    from monitor.config.units import Duration, parse_duration, parse_size
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "WEEKDAYS": "monitor.config.base",
            "EVENT_KINDS": "monitor.config.channels",
            "ChannelBase": "monitor.config.channels",
            "Route": "monitor.config.channels",
            "Templates": "monitor.config.channels",
            "database_of": "monitor.config.peek",
            "glance": "monitor.config.peek",
            "glance_if_present": "monitor.config.peek",
            "Glance": "monitor.config.peek",
            "ConfiguredTarget": "monitor.config.peek",
            "load": "monitor.config.loading",
            "load_plugins": "monitor.config.loading",
            "parse": "monitor.config.loading",
            "secret": "monitor.config.loading",
            "CHANNEL_TYPES": "monitor.config.registry",
            "SECTIONS": "monitor.config.registry",
            "register_channel": "monitor.config.registry",
            "register_section": "monitor.config.registry",
            "DEFAULT_DATABASE": "monitor.config.peek",
            "Config": "monitor.config.schema",
            "Daemon": "monitor.config.schema",
            "Metrics": "monitor.config.schema",
            "Outbox": "monitor.config.schema",
            "Browser": "monitor.config.fetch_options",
            "Defaults": "monitor.config.targets",
            "FromEnv": "monitor.config.fetch_options",
            "Detect": "monitor.config.targets",
            "Fetch": "monitor.config.targets",
            "Follow": "monitor.config.targets",
            "Schedule": "monitor.config.targets",
            "Selector": "monitor.config.targets",
            "Target": "monitor.config.targets",
            "Duration": "monitor.config.units",
            "parse_duration": "monitor.config.units",
            "parse_size": "monitor.config.units",
        },
    )

__all__ = [
    "CHANNEL_TYPES",
    "DEFAULT_DATABASE",
    "EVENT_KINDS",
    "SECTIONS",
    "WEEKDAYS",
    "Browser",
    "ChannelBase",
    "Config",
    "ConfiguredTarget",
    "Daemon",
    "Defaults",
    "Detect",
    "Duration",
    "Fetch",
    "Follow",
    "FromEnv",
    "Glance",
    "Metrics",
    "Outbox",
    "Route",
    "Schedule",
    "Selector",
    "Target",
    "Templates",
    "database_of",
    "glance",
    "glance_if_present",
    "load",
    "load_plugins",
    "parse",
    "parse_duration",
    "parse_size",
    "register_channel",
    "register_section",
    "secret",
]
