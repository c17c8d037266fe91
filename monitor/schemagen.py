"""JSON Schemas from pydantic models: the one generator behind every published schema.

The webhook payloads (:mod:`monitor.notify.contract`) and the JSON API's answers
(:mod:`monitor.web.contract`) are described by pydantic models; their JSON Schemas in
``schemas/`` are generated from those models by this module, never written by hand, so a
schema cannot drift from the model. Tests check that the committed files equal what the
models generate now (byte for byte) and that every real payload and API answer fits them.

The generator leaves out the titles pydantic gives every field (they only repeat the
field's name) and keeps the models' docstrings as descriptions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema


class Contract(BaseModel):
    """Base of every published model: unknown fields are an error (``additionalProperties:
    false``), so a receiver can rely on the documented shape."""

    model_config = ConfigDict(extra="forbid")


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> dict[str, Any]:
        generated = super().model_schema(schema)
        generated.pop("title", None)
        return generated


def definitions(
    models: Iterable[type[BaseModel]], ref_template: str, mode: JsonSchemaMode = "validation"
) -> dict[str, Any]:
    """The schemas of ``models`` and of every model they use, by model name."""
    _, found = models_json_schema(
        [(model, mode) for model in models],
        ref_template=ref_template,
        schema_generator=_Generator,
    )
    defs: dict[str, Any] = found.get("$defs", {})
    _tidy(defs)
    return defs


def _tidy(node: Any) -> None:
    """Docstrings become one-line descriptions (their line breaks are only layout)."""
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            node["description"] = " ".join(node["description"].split())
        for value in node.values():
            _tidy(value)
    elif isinstance(node, list):
        for value in node:
            _tidy(value)


def dumps(document: dict[str, Any]) -> str:
    """How every schema file is written: stable key order as generated, two-space indent."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
