"""The read-only JSON API: targets, pages, versions, changes, diffs and search.

Described by the OpenAPI document at ``/api/openapi.json`` (:mod:`monitor.web.openapi`,
also kept as ``schemas/openapi.json``). Errors are ``{"error": message, "status": code}``.
Captured text is returned as JSON strings, never as markup.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor import history
from monitor.exceptions import UnknownTargetError
from monitor.storage.store import Store
from monitor.timefmt import parse_time
from monitor.web import routing

logger = logging.getLogger(__name__)

MAX_LIMIT = 500


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _limit(request: Request, default: int) -> int:
    value = request.query_params.get("limit")
    if value is None:
        return default
    try:
        limit = int(value)
    except ValueError:
        raise HTTPException(400, f"limit: {value!r} is not a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise HTTPException(400, f"limit: must be between 1 and {MAX_LIMIT}")
    return limit


def _json(payload: Any) -> JSONResponse:
    return JSONResponse(payload)


def list_targets(request: Request) -> Response:
    params = request.query_params
    store = _store(request)
    rows = history.filter_targets(
        history.target_rows(store),
        tag=params.get("tag"),
        site=params.get("site"),
        status=params.get("status"),
        text=params.get("q"),
    )
    activity = params.get("activity") or None
    if activity is not None and activity not in history.ACTIVITY:
        raise HTTPException(400, f"activity: one of {', '.join(history.ACTIVITY)}")
    rows = history.narrow_targets(store, rows, activity)
    return _json({"targets": [row.to_json() for row in rows]})


def get_target(request: Request) -> Response:
    name = request.path_params["name"]
    store = _store(request)
    rows = history.target_rows(store, [name])
    if not rows:
        raise UnknownTargetError(f"no target named {name!r}")
    pages = store.resolve(name)
    return _json(
        {
            **rows[0].to_json(),
            "watched_pages": [
                {"id": page.id, "url": page.url, "role": page.role, "state": page.state}
                for page in pages
            ],
        }
    )


def get_page(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    timeline = history.timeline(_store(request), page_id)
    return _json(
        {
            **timeline.page.to_json(),
            "captures": timeline.captures,
            "versions": [version.to_json() for version in timeline.versions],
            "changes": [event.to_json() for event in _named(timeline.events, timeline.page)],
            "learning_notes": [note.to_json() for note in timeline.notes],
        }
    )


def _named(events: list[history.EventView], page: history.PageInfo) -> list[history.EventView]:
    for event in events:
        event.target, event.url, event.tags = page.target, page.url, page.tags
    return events


def list_versions(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    history.page_info(_store(request), page_id)  # 404 for an unknown page
    versions = history.version_summaries(_store(request), page_id)
    return _json({"page_id": page_id, "versions": [version.to_json() for version in versions]})


def get_version(request: Request) -> Response:
    params = request.path_params
    detail = history.version_detail(_store(request), params["page_id"], params["seq"])
    return _json(detail.to_json())


def get_diff(request: Request) -> Response:
    params = request.path_params
    diff = history.diff_view(
        _store(request), params["page_id"], params["from_seq"], params["to_seq"]
    )
    _named(diff.events, diff.page)
    return _json(diff.to_json())


def list_changes(request: Request) -> Response:
    params = request.query_params
    since = params.get("since")
    page_id = params.get("page_id")
    try:
        page = int(page_id) if page_id else None
    except ValueError:
        raise HTTPException(400, f"page_id: {page_id!r} is not a number") from None
    if page is not None and not 0 <= page <= routing.MAX_ID:
        raise HTTPException(400, f"page_id: {page_id!r} is not an id (too large)")
    events = history.recent_events(
        _store(request),
        target=params.get("target") or None,
        tag=params.get("tag") or None,
        page_id=page,
        kinds=params.getlist("kind"),
        since=parse_time(since) if since else None,
        limit=_limit(request, 50),
    )
    return _json({"changes": [event.to_json() for event in events]})


def search(request: Request) -> Response:
    from monitor.history.search import search as run_search

    params = request.query_params
    query = params.get("q")
    if not query:
        raise HTTPException(400, "q: the words to search for are required")
    since, until = params.get("since"), params.get("until")
    result = run_search(
        _store(request),
        query,
        targets=params.getlist("target"),
        tags=params.getlist("tag"),
        since=parse_time(since) if since else None,
        until=parse_time(until, end=True) if until else None,
        limit=_limit(request, 50),
    )
    return _json(result.to_json())


def openapi(request: Request) -> Response:
    from monitor.web.openapi import document

    return _json(document())


def routes() -> list[Route]:
    routing.register()  # {name:id}: ids past the database integers match nothing
    return [
        Route("/api/openapi.json", openapi, name="api_openapi"),
        Route("/api/targets", list_targets, name="api_targets"),
        Route("/api/targets/{name}", get_target, name="api_target"),
        Route("/api/pages/{page_id:id}", get_page, name="api_page"),
        Route("/api/pages/{page_id:id}/versions", list_versions, name="api_versions"),
        Route("/api/pages/{page_id:id}/versions/{seq:id}", get_version, name="api_version"),
        Route("/api/pages/{page_id:id}/diff/{from_seq:id}/{to_seq:id}", get_diff, name="api_diff"),
        Route("/api/changes", list_changes, name="api_changes"),
        Route("/api/search", search, name="api_search"),
    ]
