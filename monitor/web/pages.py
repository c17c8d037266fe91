"""The HTML pages: dashboard, search, a page's timeline, diffs and snapshots.

Stable URLs, so a diff or a snapshot can be cited:

- ``/``: every target, in natural order of names (bulletin-2 before bulletin-10), filtered
  by ``tag``, ``site``, ``status``, ``q`` (name or URL) and ``activity`` (``removed``: a
  removed page, a listing's articles included; ``day``/``week``/``month``: changed in
  that time), 100 a ``page``, each with a strip of its events per day (``days``: 30, 90)
- ``/search?q=...``: full-text search of every version
- ``/targets/{name}``: redirects to the target's own page
- ``/pages/{page_id}``: the page's timeline of versions and events
- ``/pages/{page_id}/diff/{from}/{to}``: a diff (``?view=side-by-side``, ``?full=1``)
- ``/pages/{page_id}/versions/{seq}``: a snapshot (``?view=text|source``), its headers and
  hashes; ``.../raw`` is the exact body, served sandboxed

Templates escape every value (Jinja2 autoescape); the only markup from elsewhere is the
differ's HTML, which escapes page text itself.
"""

from __future__ import annotations

import codecs
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor import history
from monitor.exceptions import EvidenceError, SearchQueryError, StorageError, UnknownTargetError
from monitor.history.activity import activity_since, window
from monitor.storage.models import Capture
from monitor.storage.store import Store
from monitor.timefmt import ago as ago
from monitor.timefmt import utc as utc
from monitor.web import charts, routing
from monitor.web.security import SNAPSHOT_CSP

logger = logging.getLogger(__name__)

#: How much of a captured body the "source" view shows.
SOURCE_LIMIT = 2_000_000
#: Targets on one page of the dashboard.
PAGE_SIZE = 100
#: The days a dashboard's strips can show (``?days=``), the first by default.
STRIP_DAYS = (30, 90)
#: Content types a snapshot shows as a page (in the sandbox); others are offered as a file.
RENDERED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "image/")


def size(count: int | None) -> str:
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"


def templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(utc=utc, ago=ago, size=size)
    return environment


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    environment: Environment = request.app.state.templates
    html = environment.get_template(name).render(request=request, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise HTTPException(400, f"not a number: {value!r}") from None


# --------------------------------------------------------------------------------------


def dashboard(request: Request) -> Response:
    store = _store(request)
    now = datetime.now(UTC)
    rows = history.target_rows(store)
    params = request.query_params
    chosen = {key: params.get(key) or None for key in ("tag", "site", "status", "q", "activity")}
    if chosen["activity"] and chosen["activity"] not in history.ACTIVITY:
        raise HTTPException(400, f"activity is one of {', '.join(history.ACTIVITY)}")
    days = _int(params.get("days")) or STRIP_DAYS[0]
    if days not in STRIP_DAYS:
        raise HTTPException(400, f"days is one of {', '.join(map(str, STRIP_DAYS))}")
    shown = history.filter_targets(
        rows, tag=chosen["tag"], site=chosen["site"], status=chosen["status"], text=chosen["q"]
    )
    shown = history.narrow_targets(store, shown, chosen["activity"], now)
    order = params.get("sort", "name")
    if order == "changed":
        shown.sort(key=lambda r: r.last_change or datetime.min.replace(tzinfo=UTC), reverse=True)
    elif order == "significance":
        shown.sort(key=lambda r: r.significance or -1.0, reverse=True)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    number = min(max(_int(params.get("page")) or 1, 1), pages)
    visible = shown[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    ids = [row.id for row in visible]
    per_day = history.daily_events(store, ids, days=days, now=now)
    empty = [history.Day(day) for day in window(days, now)]
    strips = {row.id: charts.strip(per_day.get(row.id, empty), row.name) for row in visible}
    notable = history.notable_pages(
        store, ids, removed=True, changed_since=activity_since(chosen["activity"] or "", now)
    )
    own = {row.id: row.page_id for row in visible}
    notable = {
        target: [line for line in lines if line.page_id != own[target]]
        for target, lines in notable.items()
    }
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return render(
        request,
        "dashboard.html.j2",
        rows=visible,
        matched=len(shown),
        first=(number - 1) * PAGE_SIZE + 1,
        total=len(rows),
        counts=counts,
        tags=sorted({tag for row in rows for tag in row.tags}, key=history.natural_key),
        sites=sorted({row.site for row in rows}, key=history.natural_key),
        statuses=history.STATUSES,
        activities=history.ACTIVITY,
        chosen=chosen,
        order=order,
        days=days,
        strip_days=STRIP_DAYS,
        strips=strips,
        notable=notable,
        pager=_pager(params, number, pages),
        prev_href=_with(params, page=number - 1 if number > 2 else None) if number > 1 else None,
        next_href=_with(params, page=number + 1) if number < pages else None,
        number=number,
        pages=pages,
        removed_link=_with(params, activity="removed", page=None),
        now=now,
    )


def _with(params: Any, **changes: str | int | None) -> str:
    """The dashboard's URL with its current query, some parameters changed (None: gone)."""
    query = {key: value for key, value in params.items() if value}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    return "/" + ("?" + urlencode(query) if query else "")


def _pager(params: Any, number: int, pages: int) -> list[tuple[int | None, str | None]]:
    """Links to the pages of the dashboard: the first, the last and those near this one;
    (None, None) where some are left out."""
    near = {1, pages, *range(max(1, number - 2), min(pages, number + 2) + 1)}
    links: list[tuple[int | None, str | None]] = []
    for page in sorted(near):
        if links and links[-1][0] is not None and page - (links[-1][0] or 0) > 1:
            links.append((None, None))
        links.append((page, _with(params, page=page if page > 1 else None)))
    return links


def search_page(request: Request) -> Response:
    from monitor.history.search import search
    from monitor.timefmt import parse_time

    params = request.query_params
    query = (params.get("q") or "").strip()
    target, tag, since = params.get("target") or "", params.get("tag") or "", params.get("since")
    result, problem = None, None
    if query:
        try:
            result = search(
                _store(request),
                query,
                targets=[target] if target else (),
                tags=[tag] if tag else (),
                since=parse_time(since) if since else None,
                limit=100,
            )
        except (SearchQueryError, EvidenceError) as exc:
            problem = str(exc)
    return render(
        request,
        "search.html.j2",
        status=400 if problem else 200,
        query=query,
        target=target,
        tag=tag,
        since=since or "",
        result=result,
        problem=problem,
    )


def target_page(request: Request) -> Response:
    name = request.path_params["name"]
    rows = history.target_rows(_store(request), [name])
    if not rows or rows[0].page_id is None:
        raise UnknownTargetError(f"no target named {name!r}")
    return RedirectResponse(f"/pages/{rows[0].page_id}", status_code=303)


def timeline_page(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    store = _store(request)
    days = _int(request.query_params.get("days")) or STRIP_DAYS[0]
    if days not in STRIP_DAYS:
        raise HTTPException(400, f"days is one of {', '.join(map(str, STRIP_DAYS))}")
    timeline = history.timeline(store, page_id)
    page = timeline.page
    return render(
        request,
        "page.html.j2",
        timeline=timeline,
        page=page,
        axis=_axis(timeline),
        bars=(
            charts.day_bars(history.listing_days(store, page_id, days=days))
            if page.role == "listing"
            else None
        ),
        days=days,
        strip_days=STRIP_DAYS,
        titles=history.page_titles(store, [sibling[0] for sibling in timeline.siblings]),
    )


def _axis(timeline: history.Timeline) -> charts.Chart | None:
    """The page's life on a time axis: from its first capture to its last check."""
    page = timeline.page
    moments = [v.captured_at for v in timeline.versions] + [e.detected_at for e in timeline.events]
    if not moments:
        return None
    start = min(moments)
    end = max([*moments, page.last_checked or start])
    return charts.axis(
        page.id,
        timeline.versions,
        timeline.events,
        history.outages(timeline.events),
        start=start,
        end=end,
    )


def diff_redirect(request: Request) -> Response:
    """``/pages/{id}/diff[?from=&to=]``: to the stable URL (the latest change by default)."""
    page_id = request.path_params["page_id"]
    seqs = [v.seq for v in history.version_summaries(_store(request), page_id)]
    if not seqs:
        raise UnknownTargetError(f"page {page_id} has no versions yet")
    to_seq = _int(request.query_params.get("to")) or seqs[-1]
    earlier = [seq for seq in seqs if seq < to_seq]
    from_seq = _int(request.query_params.get("from")) or (earlier[-1] if earlier else to_seq)
    kept = {k: v for k, v in request.query_params.items() if k in ("view", "full")}
    query = ("?" + urlencode(kept)) if kept else ""
    return RedirectResponse(f"/pages/{page_id}/diff/{from_seq}/{to_seq}{query}", status_code=303)


def diff_page(request: Request) -> Response:
    params = request.path_params
    view = request.query_params.get("view", "inline")
    if view not in ("inline", "side-by-side"):
        raise HTTPException(400, "view is inline or side-by-side")
    full = request.query_params.get("full") in ("1", "true", "yes")
    diff = history.diff_view(
        _store(request), params["page_id"], params["from_seq"], params["to_seq"]
    )
    context = None if full else 3
    labels = (
        f"v{diff.old.seq} · {utc(diff.old.captured_at)}",
        f"v{diff.new.seq} · {utc(diff.new.captured_at)}",
    )
    if view == "inline":
        body = diff.text.inline_html(context=context)
    else:
        body = diff.text.side_by_side_html(context=context, labels=labels)
    return render(
        request,
        "diff.html.j2",
        diff=diff,
        page=diff.page,
        view=view,
        full=full,
        body=Markup(body),  # the differ escapes all page text
        links=Markup(diff.links.to_html()),
        images=Markup(diff.images.to_html()),
        stats=diff.text.stats,
    )


def version_page(request: Request) -> Response:
    params = request.path_params
    view = request.query_params.get("view", "rendered")
    if view not in ("rendered", "text", "source"):
        raise HTTPException(400, "view is rendered, text or source")
    detail = history.version_detail(_store(request), params["page_id"], params["seq"])
    source = None
    if view == "source" and detail.capture.body_sha256 and detail.capture.body_stored:
        body = _store(request).body(detail.capture.body_sha256)
        try:
            source = body[:SOURCE_LIMIT].decode(detail.capture.encoding or "utf-8", "replace")
        except LookupError:  # an encoding name this Python does not know
            source = body[:SOURCE_LIMIT].decode("utf-8", "replace")
    content_type = detail.content_type.split(";")[0].strip().lower()
    return render(
        request,
        "version.html.j2",
        detail=detail,
        page=detail.page,
        view=view,
        source=source,
        source_cut=bool(source) and (detail.capture.body_size or 0) > SOURCE_LIMIT,
        renderable=content_type.startswith(RENDERED_TYPES) or not content_type,
    )


def raw_body(request: Request) -> Response:
    """The exact captured body of a version, sandboxed (see :func:`_sandboxed`)."""
    params = request.path_params
    detail = history.version_detail(_store(request), params["page_id"], params["seq"])
    name = f"page{detail.page.id}-v{detail.version.seq}"
    return _sandboxed(request, detail.capture, detail.content_type, name)


def capture_page(request: Request) -> Response:
    """One capture: the 404, redirect or soft 404 that showed a removal, say, with its
    status, redirect chain, headers and body (sandboxed), and the event it recorded."""
    params = request.path_params
    detail = history.capture_detail(_store(request), params["page_id"], params["capture_id"])
    content_type = str((detail.capture.headers or {}).get("content-type", ""))
    media = content_type.split(";")[0].strip().lower()
    return render(
        request,
        "capture.html.j2",
        detail=detail,
        page=detail.page,
        renderable=media.startswith(RENDERED_TYPES) or not media,
    )


def capture_raw(request: Request) -> Response:
    """The exact body of any stored capture, sandboxed."""
    params = request.path_params
    detail = history.capture_detail(_store(request), params["page_id"], params["capture_id"])
    content_type = str((detail.capture.headers or {}).get("content-type", ""))
    name = f"page{detail.page.id}-capture{detail.capture.id}"
    return _sandboxed(request, detail.capture, content_type, name)


def _sandboxed(request: Request, capture: Capture, content_type: str, name: str) -> Response:
    """The exact captured body, sandboxed: no script runs, nothing loads from elsewhere."""
    store = _store(request)
    if not capture.body_sha256 or not capture.body_stored:
        raise HTTPException(404, "the body of this capture was not stored")
    body = store.body(capture.body_sha256)
    declared = content_type.split(";")[0].strip().lower() or "text/html"
    download = request.query_params.get("download") in ("1", "true")
    headers = {
        "Content-Security-Policy": SNAPSHOT_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Body-SHA256": capture.body_sha256,
    }
    charset = _charset_label(capture.encoding)
    if declared.startswith(("text/html", "application/xhtml+xml")):
        media = f"text/html; charset={charset}"
    elif declared.startswith("text/"):
        media = f"text/plain; charset={charset}"
    elif declared.startswith("image/"):
        media = declared
    else:
        media, download = "application/octet-stream", True
    if download:
        extension = {"text/html": "html", "application/pdf": "pdf"}.get(declared, "bin")
        filename = f"{name}.{extension}"
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=media, headers=headers)


def _charset_label(encoding: str | None) -> str:
    """A browser's name for the capture's character set (Python's ``cp1251`` and
    ``euc_jp`` are ``cp1251`` and ``euc-jp`` there)."""
    try:
        return codecs.lookup(encoding or "utf-8").name.replace("_", "-")
    except LookupError:
        return "utf-8"


# --------------------------------------------------------------------------------------


def routes() -> list[Route]:
    routing.register()  # {name:id}: ids past the database integers match nothing
    return [
        Route("/", dashboard, name="dashboard"),
        Route("/search", search_page, name="search"),
        Route("/targets/{name}", target_page, name="target"),
        Route("/pages/{page_id:id}", timeline_page, name="page"),
        Route("/pages/{page_id:id}/diff", diff_redirect, name="diff_latest"),
        Route("/pages/{page_id:id}/diff/{from_seq:id}/{to_seq:id}", diff_page, name="diff"),
        Route("/pages/{page_id:id}/versions/{seq:id}", version_page, name="version"),
        Route("/pages/{page_id:id}/versions/{seq:id}/raw", raw_body, name="raw"),
        Route("/pages/{page_id:id}/captures/{capture_id:id}", capture_page, name="capture"),
        Route("/pages/{page_id:id}/captures/{capture_id:id}/raw", capture_raw, name="capture_raw"),
    ]


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))


async def _storage(request: Request, exc: Exception) -> Response:
    logger.error("database error on %s: %s", request.url.path, exc)
    return _error(request, 503, f"database error: {exc}")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail))


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        from starlette.responses import JSONResponse

        return JSONResponse({"error": message, "status": status}, status_code=status)
    if request.url.path.startswith("/feeds/"):
        from starlette.responses import PlainTextResponse

        return PlainTextResponse(message, status_code=status)
    return render(request, "error.html.j2", status=status, message=message, code=status)


def exception_handlers() -> dict[Any, Any]:
    return {
        UnknownTargetError: _not_found,
        SearchQueryError: _bad_request,
        EvidenceError: _bad_request,
        StorageError: _storage,
        HTTPException: _http,
    }
