"""Settings that plugins own: each notification channel kind and the evidence archive
define their config model beside their code and register it here.

The config imports no plugin: it knows them by the dotted paths of :data:`PLUGINS`, as
Scrapy knows its components by the paths in its settings, and imports them the first time
a config is validated (:func:`monitor.config.loading.load_plugins`). A plugin imports
the config (its base models, units, this registry); the import graph keeps one direction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

logger = logging.getLogger(__name__)

#: Modules that register settings when imported.
PLUGINS = (
    "monitor.notify.smtp",
    "monitor.notify.webhook",
    "monitor.notify.apprise_channel",
    "monitor.evidence.settings",
    "monitor.cluster.settings",
)

#: Channel settings models by the ``type`` the config names them with.
CHANNEL_TYPES: dict[str, type[BaseModel]] = {}
#: Top-level config sections owned by a plugin, by their key.
SECTIONS: dict[str, type[BaseModel]] = {}

M = TypeVar("M", bound=type[BaseModel])


def register_channel(kind: str) -> Callable[[M], M]:
    """Register a channel settings model under the ``type`` value that selects it."""

    def decorate(model: M) -> M:
        CHANNEL_TYPES[kind] = model
        return model

    return decorate


def register_section(key: str) -> Callable[[M], M]:
    """Register the model of a top-level config section (``archive``)."""

    def decorate(model: M) -> M:
        SECTIONS[key] = model
        return model

    return decorate
