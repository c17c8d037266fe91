"""The OpenAPI 3.1 document of the JSON API (:mod:`monitor.web.api`).

The answers' schemas are generated from the pydantic models in :mod:`monitor.web.contract`;
this module declares the paths and their parameters.

Served at ``/api/openapi.json`` and kept in the repository as ``schemas/openapi.json``; a
test checks that the two agree and that every API answer fits its schema. After changing
the API, write the file again with::

    python -m monitor.web.openapi > schemas/openapi.json
"""

from __future__ import annotations

import json
from typing import Any, get_args

from monitor.history.activity import ACTIVITY
from monitor.schemagen import definitions
from monitor.web import contract

SCHEMA_VERSION = "1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def schemas() -> dict[str, Any]:
    """The answers' schemas, generated from :mod:`monitor.web.contract`."""
    return definitions(contract.ANSWERS.values(), ref_template="#/components/schemas/{model}")


def _parameter(
    name: str, where: str, description: str, kind: str = "string", **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path" or extra.pop("required", False),
        "description": description,
        "schema": {"type": kind, **extra},
    }


PAGE_ID = _parameter("page_id", "path", "The page's id (as in /pages/{page_id}).", "integer")
LIMIT = _parameter(
    "limit", "query", "At most this many (default 50).", "integer", minimum=1, maximum=500
)


def _get(
    summary: str, schema: str, parameters: list[dict[str, Any]], description: str = ""
) -> dict[str, Any]:
    errors = {
        code: {
            "description": text,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for code, text in (("400", "A bad parameter."), ("404", "No such target, page or version."))
    }
    return {
        "get": {
            "summary": summary,
            "description": description or summary,
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": _ref(schema)}},
                },
                **errors,
            },
        }
    }


def document() -> dict[str, Any]:
    """The OpenAPI document, as data."""
    paths = {
        "/api/targets": _get(
            "Every target with its state",
            "TargetList",
            [
                _parameter("tag", "query", "Only targets with this tag."),
                _parameter("site", "query", "Only targets on this host."),
                _parameter(
                    "status",
                    "query",
                    "Only targets in this state.",
                    enum=list(get_args(contract.TargetStatus)),
                ),
                _parameter("q", "query", "Only targets whose name or URL contains this."),
                _parameter(
                    "activity",
                    "query",
                    "Only targets with a removed page (removed: a listing's articles count) "
                    "or with a content event on any page in the last day, week (7 days) or "
                    "month (30 days).",
                    enum=list(ACTIVITY),
                ),
            ],
            "Every target with its state, in natural order of names (bulletin-2 before "
            "bulletin-10).",
        ),
        "/api/targets/{name}": _get(
            "One target and its pages",
            "TargetDetail",
            [_parameter("name", "path", "The target's name.")],
        ),
        "/api/pages/{page_id}": _get(
            "A page with its versions and events (its timeline)", "Page", [PAGE_ID]
        ),
        "/api/pages/{page_id}/versions": _get(
            "A page's versions, oldest first", "VersionList", [PAGE_ID]
        ),
        "/api/pages/{page_id}/versions/{seq}": _get(
            "One version: its text, links and capture (headers, hashes, time)",
            "VersionDetail",
            [PAGE_ID, _parameter("seq", "path", "The version's number on its page.", "integer")],
        ),
        "/api/pages/{page_id}/diff/{from}/{to}": _get(
            "The diff between two versions: lines, word segments, statistics and links",
            "Diff",
            [
                PAGE_ID,
                _parameter("from", "path", "The older version's number.", "integer"),
                _parameter("to", "path", "The newer version's number.", "integer"),
            ],
        ),
        "/api/changes": _get(
            "Events, newest first",
            "ChangeList",
            [
                _parameter("target", "query", "Only this target's events."),
                _parameter("tag", "query", "Only events of targets with this tag."),
                _parameter("page_id", "query", "Only this page's events.", "integer"),
                _parameter("kind", "query", "Only events of this kind (repeatable)."),
                _parameter(
                    "since", "query", "Only events detected at or after this UTC time or date."
                ),
                LIMIT,
            ],
        ),
        "/api/search": _get(
            "Full-text search of every version",
            "SearchResult",
            [
                _parameter(
                    "q",
                    "query",
                    'Words (all must occur), "phrases", prefix*, -excluded.',
                    required=True,
                ),
                _parameter("target", "query", "Only this target (repeatable)."),
                _parameter("tag", "query", "Only targets with this tag (repeatable)."),
                _parameter(
                    "since", "query", "Versions captured at or after this UTC time or date."
                ),
                _parameter("until", "query", "Versions captured before this (a date includes it)."),
                LIMIT,
            ],
            "Pages whose versions match, the newest match first, with the matching versions.",
        ),
    }
    for path, item in paths.items():
        item["get"]["operationId"] = _operation_id(path)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "monitor read API",
            "version": SCHEMA_VERSION,
            "description": (
                "Read-only JSON view of the monitor's history: targets, pages, versions, "
                "events, diffs and full-text search. Times are UTC (ISO 8601). When the "
                "server has a secret, send it as a Bearer token or as the HTTP Basic password."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "password": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{}, {"token": []}, {"password": []}],
    }


def _operation_id(path: str) -> str:
    words = [part.strip("{}") for part in path.split("/")[2:] if part]
    return "get_" + "_".join(words).replace("-", "_")


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, ensure_ascii=False))
