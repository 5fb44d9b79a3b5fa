"""The sends' short way through the ASGI stack.

A send (`POST .../batches`, `messages:send`, a Conversation batch) is most of an API's traffic,
and Starlette's general path costs each one a middleware stack (its error middleware, its
exception middleware), the router and the route's request/response wrappers: several
coroutine frames, a context copy and an exception-handler lookup per request. `Hot` sits in
front of the Starlette app and runs the hot routes' endpoints itself, with what that path
gives them: the same scope entries (`app`, `router`, `route`, `endpoint`, `path_params`), the
same `Request`, and the same error handlers (`http/app.py`), so a hot request answers exactly
as it would through Starlette. Every other request, and any scope that is not plain HTTP, goes
to the Starlette app unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


class Hot:
    def __init__(
        self,
        app: Any,
        hot: Callable[[Route], bool],
        handlers: dict[Any, Callable[..., Any]],
    ) -> None:
        self.app = app
        # (method, regex, route): the hot routes have no converters but str (checked here)
        self._hot = [
            (m, r.path_regex, r)
            for r in app.routes
            if isinstance(r, Route) and hot(r)
            for m in sorted(r.methods or ())
            if m != "HEAD"
        ]
        for _, _, r in self._hot:
            assert all(type(c).__name__ == "StringConvertor" for c in r.param_convertors.values()), r.path
        self.handlers = handlers

    def __getattr__(self, name: str) -> Any:  # the wrapped app's routes, state, ... (as the guard)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method, path = scope["method"], scope["path"]
            for m, regex, route in self._hot:
                if m == method:
                    match = regex.match(path)
                    if match is not None:
                        await self._run(route, match.groupdict(), scope, receive, send)
                        return
        await self.app(scope, receive, send)

    async def _run(self, route: Route, params: dict[str, str], scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.app
        scope["router"] = self.app.router
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = params
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request)
        except Exception as exc:  # noqa: BLE001 - answered by the handler Starlette would pick
            response = await self._handler(exc)(request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Callable[..., Any]:
        for cls in type(exc).__mro__:  # Starlette looks the class up along its MRO too
            if cls in self.handlers:
                return self.handlers[cls]
        raise exc  # not an Exception subclass handlers cover: cannot happen (Exception is one)
