"""What each route declares about itself: the API it belongs to and its OpenAPI operation.

A handler carries `@op(API, "summary", ...)` next to its code; `route()` turns it into a flat
Starlette Route under the API's path prefix (no Mount: one routing layer less per request);
`http/openapi.py` builds the document's `paths` by walking the app's routes; and the error
handler in `http/app.py` asks the route's API how to write an error body, because each API
has its own: Sinch SMS `{"code", "text"}`
(https://developers.sinch.com/docs/sms/api-reference/status-codes/), OAuth2
`{"error", "error_description"}` (RFC 6749 section 5.2). The Conversation API, to be served
from /v1/projects/{project_id}/..., writes
`{"error": {"code": <status>, "message", "status": "INVALID_ARGUMENT", "details": []}}`
(https://developers.sinch.com/docs/conversation/api-reference/); it will be one more `Api`
with its own body Struct and `render` function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from msgspec import Struct
from starlette.requests import Request
from starlette.routing import Route

from ..errors import ApiError, OAuthError


class Error(Struct):
    """A Sinch SMS error body."""

    code: str
    text: str


class OAuth2Error(Struct):
    """An OAuth2 token endpoint error body (RFC 6749 section 5.2)."""

    error: str
    error_description: str


class ConversationErrorBody(Struct):
    code: int  # the HTTP status
    message: str
    status: str  # the gRPC code name: INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, ...
    details: list[dict[str, Any]]


class ConversationError(Struct):
    """A Conversation API error body (`runtimeError`)."""

    error: ConversationErrorBody


def conversation_error(exc: ApiError) -> ConversationError:
    from ..conversation.errors import grpc_status

    return ConversationError(ConversationErrorBody(exc.status, exc.text, grpc_status(exc.status), []))


def sinch_sms_error(exc: ApiError) -> Error:
    return Error(exc.code, exc.text)


def oauth2_error(exc: ApiError) -> OAuth2Error:
    return OAuth2Error(exc.code, exc.text)


@dataclass(frozen=True)
class Api:
    """A family of routes sharing a path prefix, an error body format and an authentication."""

    name: str  # also the default OpenAPI tag of its operations
    prefix: str  # prepended to the paths its modules declare
    error_type: type  # the error body Struct (for the document)
    render: Callable[[ApiError], Any]  # error -> body (an instance of error_type)
    security: tuple[dict, ...] = ()  # OpenAPI security requirements; () = no authentication
    errors: tuple[int, ...] = ()  # error statuses every operation of this API may answer

    @property
    def literal_prefix(self) -> str:
        """The prefix up to its first path parameter, to claim paths no route matched."""
        return self.prefix.split("{", 1)[0]


SMS = Api("sms", "/xms/v1/{service_plan_id}", Error, sinch_sms_error, ({"bearer": []},), (400, 401, 404, 429))
OAUTH = Api("oauth2", "", OAuth2Error, oauth2_error, ({"basic": []},), (400, 401, 429))
OPERATOR = Api("operator", "", Error, sinch_sms_error)
SIMULATOR = Api("simulator", "/simulator", Error, sinch_sms_error)
CONVERSATION = Api(
    "conversation",
    "/v1/projects/{project_id}",
    ConversationError,
    conversation_error,
    ({"bearer": []}, {"basic": []}),
    (400, 401, 403, 404, 429),
)
# Sinch serves the Batch API on its own host, with paths that collide with the Conversation
# API's (GET /messages/{id}); here it lives under a prefix on the same port.
CONVERSATION_BATCH = Api(
    "conversationbatch",
    "/conversationbatch/v1/projects/{project_id}",
    ConversationError,
    conversation_error,
    ({"bearer": []},),
    (400, 401, 403, 404, 429),
)
APIS = (SMS, OAUTH, OPERATOR, SIMULATOR, CONVERSATION, CONVERSATION_BATCH)
DEFAULT = OPERATOR  # paths that belong to no API (unknown paths outside every prefix)


@dataclass(frozen=True)
class Param:
    name: str
    where: str = "query"  # query | header | path
    type: str = "string"
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)  # extra JSON Schema: minimum, format, ...


def query(name: str, typ: str = "string", description: str = "", **schema: Any) -> Param:
    return Param(name, "query", typ, description, schema)


def header(name: str, description: str = "") -> Param:
    return Param(name, "header", description=description)


def path(name: str, description: str = "") -> Param:
    """Path parameters are found in the route's path; declare one only to describe it."""
    return Param(name, "path", description=description)


@dataclass(frozen=True)
class Op:
    api: Api
    summary: str
    status: int = 200  # the success status
    response: Any = None  # the type of the success body (a Struct, list[str], ...); None: no body
    body: Any = None  # the type of the request body; None: no body
    params: tuple[Param, ...] = ()  # query and header parameters (path ones come from the path)
    errors: tuple[int | tuple[int, str], ...] = ()  # error statuses beyond the API's, optionally described
    tag: str | None = None  # default: the API's name
    body_media: str = "application/json"
    response_media: str = "application/json"
    description: str | None = None  # default: the handler's docstring


def op(api: Api, summary: str, **kw: Any) -> Callable:
    """Declare a handler's operation: `@op(SMS, "Get a batch", response=Batch)`."""

    def deco(fn: Callable) -> Callable:
        kw.setdefault("description", (fn.__doc__ or "").strip() or None)
        kw["params"] = tuple(kw.get("params", ()))
        kw["errors"] = tuple(kw.get("errors", ()))
        fn.__op__ = Op(api, summary, **kw)  # type: ignore[attr-defined]
        return fn

    return deco


def operation(endpoint: Any) -> Op | None:
    return getattr(endpoint, "__op__", None)


def route(method: str, path_: str, endpoint: Callable) -> Route:
    """A Route for a handler declared with `@op`, under its API's prefix."""
    o = operation(endpoint)
    if o is None:
        raise TypeError(f"{endpoint.__qualname__} has no @op declaration")
    return Route(o.api.prefix + path_, endpoint, methods=[method])


_CONVERTER = re.compile(r"\{(\w+)(?::\w+)?\}")


def openapi_path(starlette_path: str) -> str:
    """`/a/{x:path}` -> `/a/{x}`."""
    return _CONVERTER.sub(r"{\1}", starlette_path)


def path_names(starlette_path: str) -> list[str]:
    return _CONVERTER.findall(starlette_path)


def api_for(request: Request) -> Api:
    """The API of the route that matched (fully, or by path only: a 405), else of the prefix."""
    route_ = request.scope.get("route")
    o = operation(getattr(route_, "endpoint", None))
    if o is not None:
        return o.api
    url_path = request.url.path
    claimed = [a for a in APIS if a.literal_prefix and url_path.startswith(a.literal_prefix)]
    return max(claimed, key=lambda a: len(a.literal_prefix)) if claimed else DEFAULT


def render(request: Request, exc: ApiError) -> Any:
    """The error body for `exc` in the format of the API `request` went to."""
    if isinstance(exc, OAuthError):
        return oauth2_error(exc)
    return api_for(request).render(exc)
