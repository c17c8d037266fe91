"""Config errors in words: every message names the key (``targets[2].schedule.every``)
and what is allowed there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

logger = logging.getLogger(__name__)


class ConfigKeyError(ValueError):
    """A cross-field error that knows which key it belongs to."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def allowed(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(names) if names else "(none)"


def key_path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The config model class that holds the key at ``loc`` (for listing allowed keys)."""
    import typing

    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        model = first_model(annotation, typing)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def first_model(annotation: Any, typing: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = first_model(arg, typing)
        if found is not None:
            return found
    return None


def describe(
    error: Any, root: type[BaseModel], channel_types: Mapping[str, type[BaseModel]]
) -> tuple[str, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    channel_model: type[BaseModel] | None = None
    if len(loc) >= 3 and loc[0] == "channels" and loc[2] in channel_types:
        # pydantic puts the discriminator's value in the path; people never wrote it
        channel_model = channel_types[str(loc[2])]
        loc = loc[:2] + loc[3:]
    if kind == "extra_forbidden":
        parent = channel_model if channel_model and len(loc) == 3 else model_at(root, loc[:-1])
        choices = ""
        if parent is not None:
            names = [f.alias or n for n, f in parent.model_fields.items()]
            choices = f" (allowed: {allowed(sorted(names))})"
        hint = ""
        key = str(loc[-1])
        if key in ("password", "secret", "token"):
            hint = (
                "; secrets are not stored in the config: put it in an environment variable "
                f"and name it with '{key}_env'"
            )
        return key_path(loc), f"unknown key{choices}{hint}"
    if kind == "missing":
        return key_path(loc), "required key is missing"
    if kind == "union_tag_invalid":
        return key_path(loc), f"unknown channel type; allowed: {', '.join(sorted(channel_types))}"
    if kind == "union_tag_not_found":
        return key_path(loc), f"missing 'type'; allowed: {', '.join(sorted(channel_types))}"
    message = str(error.get("msg", "invalid value"))
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), ConfigKeyError):
        key_error: ConfigKeyError = ctx["error"]
        return key_path(key_error.loc), key_error.message
    message = message.removeprefix("Value error, ")
    if kind == "literal_error" and "expected" in ctx:
        message = f"must be one of {ctx['expected']}"
    return key_path(loc), message
