"""The OpenAPI 3.1 document of the JSON API (:mod:`monitor.web.api`).

Served at ``/api/openapi.json`` and kept in the repository as ``schemas/openapi.json``; a
test checks that the two agree and that every API answer fits its schema. After changing
the API, write the file again with::

    python -m monitor.web.openapi > schemas/openapi.json
"""

from __future__ import annotations

import json
from typing import Any

from monitor.history.activity import ACTIVITY

SCHEMA_VERSION = "1"


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


TIME = {"type": "string", "format": "date-time"}
NULL_TIME = _nullable("string", format="date-time")
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
STRINGS = _array({"type": "string"})

TARGET: dict[str, Any] = {
    "name": {"type": "string"},
    "kind": {"type": "string", "enum": ["page", "listing"]},
    "url": {"type": "string"},
    "site": {"type": "string", "description": "The host of the target's URL."},
    "tags": STRINGS,
    "active": {"type": "boolean"},
    "status": {"type": "string", "enum": ["failing", "removed", "paused", "never checked", "ok"]},
    "page_id": _nullable(
        "integer", description="The target's own page (for a listing, the listing page)."
    ),
    "pages": {"type": "integer", "description": "Pages watched (a listing's articles included)."},
    "versions": {"type": "integer"},
    "failing_pages": {"type": "integer"},
    "removed_pages": {"type": "integer"},
    "consecutive_failures": {"type": "integer"},
    "last_checked_at": NULL_TIME,
    "last_event": _nullable("string"),
    "last_change_at": NULL_TIME,
    "significance": _nullable("number", description="Of the last event."),
    "summary": _nullable("string", description="Of the last event."),
}

VERSION = {
    "seq": {"type": "integer", "minimum": 1},
    "captured_at": TIME,
    "title": _nullable("string"),
    "status": _nullable("integer"),
    "final_url": _nullable("string"),
    "content_sha256": {"type": "string"},
    "body_sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
    "body_size": _nullable("integer"),
}

CHANGE = {
    "id": {"type": "string", "format": "uuid", "description": "Stable: the id alerts carry."},
    "event": {
        "type": "string",
        "enum": ["changed", "removed", "added", "restored", "error", "recovered", "moved"],
    },
    "page_id": {"type": "integer"},
    "target": {"type": "string"},
    "url": {"type": "string"},
    "detected_at": TIME,
    "significance": _object(
        {
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "reasons": STRINGS,
            "features": {"type": "object"},
        }
    ),
    "summary": {"type": "string"},
    "from_version": _nullable("integer"),
    "to_version": _nullable("integer"),
    "alerted": {"type": "boolean", "description": "False below the target's min_significance."},
}

PAGE = {
    "id": {"type": "integer"},
    "url": {"type": "string"},
    "role": {"type": "string", "enum": ["page", "listing", "article"]},
    "state": {"type": "string", "enum": ["active", "removed", "error"]},
    "target": {"type": "string"},
    "tags": STRINGS,
    "title": _nullable("string"),
    "created_at": NULL_TIME,
    "last_checked_at": NULL_TIME,
    "consecutive_failures": {"type": "integer"},
    "failing_since": NULL_TIME,
    "latest_version": _nullable("integer"),
}

SEGMENT = {
    "type": "array",
    "prefixItems": [{"type": "string", "enum": ["equal", "insert", "delete"]}, {"type": "string"}],
    "minItems": 2,
    "maxItems": 2,
}

TEXT_DIFF = _object(
    {
        "lines": _array(
            _object(
                {
                    "op": {
                        "type": "string",
                        "enum": ["equal", "insert", "delete", "change", "moved_out", "moved_in"],
                    },
                    "old": _nullable("integer"),
                    "new": _nullable("integer"),
                    "segments": _array(SEGMENT),
                    "counterpart": _nullable("integer"),
                }
            )
        ),
        "moves": _array(
            _object(
                {
                    "old_start": {"type": "integer"},
                    "new_start": {"type": "integer"},
                    "length": {"type": "integer"},
                }
            )
        ),
        "stats": _object(
            {
                name: {"type": "number" if name == "ratio_changed" else "integer"}
                for name in (
                    "chars_added",
                    "chars_removed",
                    "words_added",
                    "words_removed",
                    "ratio_changed",
                    "hunks",
                    "lines_added",
                    "lines_removed",
                    "moved_lines",
                    "longest_change_chars",
                )
            }
        ),
        "added_text": {"type": "string"},
        "removed_text": {"type": "string"},
        "degenerate": {"type": "boolean"},
    }
)

LINK_PAIR = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}
LINK_DIFF = _object(
    {
        "added": _array(LINK_PAIR),
        "removed": _array(LINK_PAIR),
        "text_changed": _array({"type": "array", "items": {"type": "string"}, "minItems": 3}),
    }
)

CAPTURE = _object(
    {
        "id": {"type": "integer"},
        "started_at": TIME,
        "duration_ms": {"type": "number"},
        "requested_url": {"type": "string"},
        "final_url": _nullable("string"),
        "redirects": {"type": "array"},
        "status": _nullable("integer"),
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "request_headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "protocol": _nullable("string"),
        "body_size": _nullable("integer"),
        "body_sha256": {"type": ["string", "null"]},
        "body_stored": {"type": "boolean"},
        "encoding": _nullable("string"),
        "warc_record": _nullable("string"),
    }
)

SEARCH_PAGE = _object(
    {
        "page_id": {"type": "integer"},
        "target": {"type": "string"},
        "url": {"type": "string"},
        "title": _nullable("string"),
        "versions": _array({"type": "integer"}),
        "first_match_at": TIME,
        "last_match_at": TIME,
        "latest_version": _nullable("integer"),
        "current": {"type": "boolean", "description": "The page's newest version matches."},
        "excerpt": {"type": "string"},
    }
)

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": {"type": "string"}, "status": {"type": "integer"}}),
    "Target": _object(TARGET),
    "TargetDetail": _object(
        {
            **TARGET,
            "watched_pages": _array(
                _object(
                    {
                        "id": {"type": "integer"},
                        "url": {"type": "string"},
                        "role": {"type": "string"},
                        "state": {"type": "string"},
                    }
                )
            ),
        }
    ),
    "TargetList": _object({"targets": _array(_ref("Target"))}),
    "Change": _object(CHANGE),
    "ChangeList": _object({"changes": _array(_ref("Change"))}),
    "Version": _object(VERSION),
    "VersionList": _object({"page_id": {"type": "integer"}, "versions": _array(_ref("Version"))}),
    "VersionDetail": _object(
        {
            **VERSION,
            "page_id": {"type": "integer"},
            "url": {"type": "string"},
            "text": {"type": "string", "description": "The extracted text, one block a line."},
            "links": _array(LINK_PAIR),
            "images": _array(LINK_PAIR),
            "capture": CAPTURE,
            "archive_url": _nullable("string"),
            "previous_version": _nullable("integer"),
            "next_version": _nullable("integer"),
        }
    ),
    "Page": _object(
        {
            **PAGE,
            "captures": {"type": "integer"},
            "versions": _array(_ref("Version")),
            "changes": _array(_ref("Change")),
            "learning_notes": _array(_ref("LearningNote")),
        }
    ),
    "LearningNote": _object(
        {
            "id": {"type": "integer"},
            "note": {"type": "string", "enum": ["learned", "forgotten"]},
            "source": {
                "type": "string",
                "enum": ["probe", "observed", "user"],
                "description": "probe: two fetches of a new page seconds apart differed; "
                "observed: changed like noise over several captures; user: a reset.",
            },
            "noted_at": TIME,
            "summary": {"type": "string"},
            "rules": _array({"type": "object"}),
            "alerted": {
                "type": "boolean",
                "description": "Always false: a note is recorded, never alerted.",
            },
        }
    ),
    "TextDiff": TEXT_DIFF,
    "LinkDiff": LINK_DIFF,
    "Diff": _object(
        {
            "page_id": {"type": "integer"},
            "url": {"type": "string"},
            "from": _ref("Version"),
            "to": _ref("Version"),
            "diff": _ref("TextDiff"),
            "links": _ref("LinkDiff"),
            "images": _ref("LinkDiff"),
            "events": _array(_ref("Change")),
        }
    ),
    "SearchResult": _object(
        {
            "query": {"type": "string"},
            "matching_versions": {"type": "integer"},
            "matching_pages": {"type": "integer"},
            "pages": _array(SEARCH_PAGE),
        }
    ),
}


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
                    enum=list(TARGET["status"]["enum"]),
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
            "schemas": SCHEMAS,
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
