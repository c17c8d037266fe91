"""Reading the YAML file, validating it once, and reading secrets from the environment."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, ValidationError

from monitor.config.errors import describe
from monitor.config.peek import read_yaml
from monitor.config.registry import CHANNEL_TYPES, PLUGINS, SECTIONS
from monitor.config.schema import Config
from monitor.exceptions import ConfigError

logger = logging.getLogger(__name__)


def load_plugins() -> None:
    """Import the plugins that own config sections (:data:`~monitor.config.registry.PLUGINS`)
    and complete the :class:`Config` model with their settings; once per process."""
    if Config.__pydantic_complete__ and CHANNEL_TYPES and SECTIONS:
        return
    for name in PLUGINS:
        importlib.import_module(name)
    kinds = tuple(CHANNEL_TYPES[kind] for kind in sorted(CHANNEL_TYPES))
    channel: Any = Annotated[Union[kinds], Field(discriminator="type")]  # noqa: UP007
    Config.model_rebuild(
        force=True,
        _types_namespace={
            "Channel": channel,
            "ArchiveSettings": SECTIONS["archive"],
            "ClusterSettings": SECTIONS["cluster"],
        },
    )


def parse(data: object, source: str = "<config>") -> Config:
    """Validate an already-parsed YAML document; raise ConfigError naming file and key."""
    load_plugins()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys, not {type(data).__name__}"
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            key, message = describe(error, Config, CHANNEL_TYPES)
            lines.append(f"{source}: {key}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None
    missing = unset_secrets(config)
    if missing:
        raise ConfigError("\n".join(f"{source}: {line}" for line in missing))
    return config


def unset_secrets(config: Config) -> list[str]:
    """The channels' secret variables (``password_env``, ``secret_env``, ``urls_env``:
    every key ending in ``_env``) that name an environment variable that is not set:
    found at load, not as a failed delivery later."""
    problems = []
    for name, channel in config.channels.items():
        for key in type(channel).model_fields:
            variable = getattr(channel, key)
            if key.endswith("_env") and isinstance(variable, str) and variable not in os.environ:
                problems.append(
                    f"channels.{name}.{key}: the environment variable {variable} is not set "
                    "(it holds the secret; set it, or remove the key)"
                )
    return problems


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file."""
    file = Path(path)
    data = read_yaml(file)
    config = parse(data, str(file))
    logger.debug("loaded %d targets from %s", len(config.targets), file)
    return config


def secret(variable: str | None, key: str) -> str | None:
    """The secret held by the environment variable ``variable``; ConfigError if it is unset."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise ConfigError(f"{key}: the environment variable {variable} is not set")
    return value
