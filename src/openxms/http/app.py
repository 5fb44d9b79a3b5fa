"""The Starlette application: the routes, and the error handlers that write every error in the
format of the API its route belongs to (`http/spec.py`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ApiError
from ..ui import routes as ui
from . import (
    batches,
    control,
    docs,
    groups,
    inbounds,
    oauth,
    reports,
    simulator,
    simulator_about,
    simulator_batches,
    simulator_callbacks,
    simulator_conversation,
    simulator_inbounds,
    simulator_messages,
    spec,
)
from .conversation import apps as conversation_apps
from .conversation import batches as conversation_batches
from .conversation import contacts as conversation_contacts
from .conversation import conversations as conversation_conversations
from .conversation import messages as conversation_messages
from .conversation import webhooks as conversation_webhooks
from .hot import Hot
from .responses import json_response

log = logging.getLogger("openxms.http")


def _handlers() -> dict[Any, Callable[..., Any]]:
    # each handler takes the exception class it is registered for (Starlette dispatches by class)
    return {ApiError: _api, HTTPException: _http, Exception: _crash}


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


async def _api(request: Request, exc: ApiError) -> Response:
    return json_response(spec.render(request, exc), exc.status, exc.headers)


async def _http(request: Request, exc: HTTPException) -> Response:
    """Starlette's own errors: no route (404), or no such method on a route (405, with `Allow`)."""
    text = "no such resource" if exc.status_code == 404 else str(exc.detail)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed(request)}
    return await _api(
        request, ApiError(text, code=_HTTP_CODES.get(exc.status_code, "error"), status=exc.status_code, headers=headers)
    )


def _allowed(request: Request) -> str:
    """Every method the path has. Each method is its own Route (spec.route), and Starlette's 405
    names only the first route whose path matched; RFC 9110 section 15.5.6 wants all of them."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for r in request.app.routes:
        if isinstance(r, Route) and r.methods and r.path_regex.match(path):
            methods |= r.methods
    return ", ".join(sorted(methods))


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return await _api(request, ApiError("internal server error", code="internal_error", status=500))


# The sends, tried first: Starlette tries routes in order, one regex each, and a send is most
# of an API's traffic (messages:send was the 24th route, ~10 us of matching per request).
# Moving a route up changes nothing else as long as no other route matches its paths
# (tests/http/test_app.py checks that).
HOT = frozenset(
    {
        ("POST", "/xms/v1/{service_plan_id}/batches"),
        ("POST", "/v1/projects/{project_id}/messages:send"),
        ("POST", "/conversationbatch/v1/projects/{project_id}/messages"),
    }
)


def is_hot(r: Any) -> bool:
    return isinstance(r, Route) and any((m, r.path) in HOT for m in r.methods or ())


def hot_first(routes: list[Any]) -> list[Any]:
    return [r for r in routes if is_hot(r)] + [r for r in routes if not is_hot(r)]


def build(context: Any, lifespan=None) -> Starlette:
    routes = [
        *oauth.routes,
        *docs.routes,
        # Flat routes (no Mount): one routing layer less on every API request; each route
        # carries its API's prefix already (spec.route).
        *batches.routes,
        *reports.routes,
        *groups.routes,
        *inbounds.routes,
        *conversation_messages.routes,
        *conversation_batches.routes,
        *conversation_apps.routes,
        *conversation_webhooks.routes,
        *conversation_contacts.routes,
        *conversation_conversations.routes,
        *control.routes,
        *simulator.routes,
        *simulator_conversation.routes,
        *simulator_messages.routes,
        *simulator_batches.routes,
        *simulator_callbacks.routes,
        *simulator_inbounds.routes,
        *simulator_about.routes,
        *ui.routes,
    ]
    app = Starlette(
        routes=hot_first(routes),
        lifespan=lifespan,
        exception_handlers=_handlers(),
    )
    app.state.ctx = context
    return app


def serve(app: Starlette) -> Hot:
    """`app` with the hot routes answered without Starlette's middleware and router (`hot.py`)."""
    return Hot(app, is_hot, _handlers())
