"""The Starlette application: routes and the error handlers that keep every error Sinch-shaped."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..services.auth import OAuthError
from ..services.errors import ApiError
from ..sms.batches import InvalidRequest
from ..ui import routes as ui
from . import batches, control, docs, groups, inbounds, oauth, reports, simulator
from .responses import error, json_response

log = logging.getLogger("openxms.http")


async def _invalid(request: Request, exc: InvalidRequest) -> Response:
    return error(exc.status, exc.code, exc.text)


async def _oauth(request: Request, exc: OAuthError) -> Response:
    return json_response({"error": exc.code, "error_description": exc.text}, exc.status)


async def _api(request: Request, exc: ApiError) -> Response:
    return error(exc.status, exc.code, exc.text, exc.headers)


async def _http(request: Request, exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
    text = "no such resource" if exc.status_code == 404 else str(exc.detail)
    return error(exc.status_code, codes.get(exc.status_code, "error"), text, getattr(exc, "headers", None))


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error(500, "internal_error", "internal server error")


def sinch_routes() -> list:
    """Everything under /xms/v1/{account}: the Sinch SMS API."""
    return [*batches.routes, *reports.routes, *groups.routes, *inbounds.routes]


def build(context: Any, lifespan=None) -> Starlette:
    routes = [
        *oauth.routes,
        *docs.routes,
        # Flat routes (no Mount): one routing layer less on every API request.
        *[Route("/xms/v1/{account}" + r.path, r.endpoint, methods=r.methods) for r in sinch_routes()],
        *control.routes,
        *simulator.routes,
        *ui.routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            InvalidRequest: _invalid,
            OAuthError: _oauth,
            ApiError: _api,
            HTTPException: _http,
            Exception: _crash,
        },
    )
    app.state.ctx = context
    return app
