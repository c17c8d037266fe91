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

from monitor.config.base import WEEKDAYS
from monitor.config.channels import EVENT_KINDS, ChannelBase, Route, Templates
from monitor.config.loading import database_of, load, load_plugins, parse, secret
from monitor.config.registry import CHANNEL_TYPES, SECTIONS, register_channel, register_section
from monitor.config.schema import DEFAULT_DATABASE, Config, Daemon, Metrics, Outbox
from monitor.config.targets import Defaults, Detect, Fetch, Follow, Schedule, Selector, Target
from monitor.config.units import Duration, parse_duration, parse_size

__all__ = [
    "CHANNEL_TYPES",
    "DEFAULT_DATABASE",
    "EVENT_KINDS",
    "SECTIONS",
    "WEEKDAYS",
    "ChannelBase",
    "Config",
    "Daemon",
    "Defaults",
    "Detect",
    "Duration",
    "Fetch",
    "Follow",
    "Metrics",
    "Outbox",
    "Route",
    "Schedule",
    "Selector",
    "Target",
    "Templates",
    "database_of",
    "load",
    "load_plugins",
    "parse",
    "parse_duration",
    "parse_size",
    "register_channel",
    "register_section",
    "secret",
]
