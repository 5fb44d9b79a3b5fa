"""The outer ASGI layer: who may reach the control plane, and how much request body the
server holds at once.

Control plane = the simulator API (`/simulator/...`), the clock (`/clock/...`) and the web UI.
They are unauthenticated by design on a developer's machine, which makes them a target for a
web page the developer happens to visit: with DNS rebinding (a hostile name resolving to
127.0.0.1) the browser talks to us as a same-origin peer, and a `text/plain` form POST needs
no preflight at all. So, for the control plane:

- the `Host` header must be a loopback name, the configured listen host, or one of
  `allowed_hosts` (`*` allows any): a rebound name is refused (403);
- a POST, PUT or PATCH must say `Content-Type: application/json`, which a cross-site form or
  `fetch` without preflight cannot send (415);
- with `control_token` set, mutating calls need `Authorization: Bearer <token>` (401).

Body memory: the bytes of request bodies received and not yet answered are counted across all
requests; a chunk that would take the count past `max_inflight_body_bytes` ends that request
with 503 and `Retry-After`, so a hundred slow 4 MB uploads cannot grow the process by hundreds
of megabytes. Bytes are counted as they arrive, not as declared, so uploads that only declare a
large `Content-Length` hold nothing. Errors use the format of the API the path belongs to.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp as ASGI
from starlette.types import Message, Receive, Scope, Send

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
BUSY = "openxms.body_refused"  # scope key: the guard cut this request's body (the cap was reached)
_READ = frozenset({b"host", b"content-length", b"content-type", b"authorization"})  # ASGI names are lower case


def is_control(path: str) -> bool:
    return path.startswith(("/simulator", "/clock", "/ui/")) or path == "/"


def host_name(raw: str) -> str:
    """The host of a Host header, lower-cased, without the port."""
    raw = raw.strip().lower()
    if raw.startswith("["):
        return raw[: raw.find("]") + 1] if "]" in raw else raw
    return raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw


def error_body(path: str, status: int, code: str, text: str) -> bytes:
    """The error in the format of the API `path` belongs to."""
    if path.startswith(("/v1/", "/conversationbatch/")):
        names = {
            400: "INVALID_ARGUMENT",
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            415: "INVALID_ARGUMENT",
            503: "UNAVAILABLE",
        }
        return json.dumps(
            {"error": {"code": status, "message": text, "status": names.get(status, "UNKNOWN"), "details": []}}
        ).encode()
    return json.dumps({"code": code, "text": text}).encode()


class Guard:
    def __init__(
        self,
        app: ASGI,
        *,
        listen_host: str,
        allowed_hosts: tuple[str, ...] = (),
        control_token: str | None = None,
        max_body_bytes: int,
        max_inflight_body_bytes: int,
    ) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.hosts = LOOPBACK | {host_name(h) for h in (listen_host, *allowed_hosts) if h != "*"}
        self.token = control_token.encode() if control_token else None
        self.max_body = max_body_bytes
        self.cap = max_inflight_body_bytes
        self.reserved = 0  # body bytes reserved by requests being served now

    def __getattr__(self, name: str) -> Any:  # the wrapped app's routes, state, ...
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            # PostgreSQL text cannot hold NUL, and no id or filter needs one (bodies: read_body)
            await _answer(
                send,
                path,
                400,
                "syntax_invalid_parameter_format",
                "the path or query contains a NUL character, which is not allowed",
            )
            return
        if is_control(path):  # only the control plane's requests need their headers read here
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ()) if k in _READ}
            refusal = self._control(method, headers, self._routable(scope))
            if refusal is not None:
                await _answer(send, path, *refusal)
                return
        if method not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        held = 0

        async def counted() -> Message:
            nonlocal held
            message = await receive()
            if message["type"] == "http.request":
                n = len(message.get("body", b""))
                if self.reserved + n > self.cap:
                    # Over the cap: the body reader sees the body end early and, seeing this
                    # flag, answers 503 in its API's format (http/responses.read_body).
                    scope[BUSY] = True
                    return {"type": "http.disconnect"}
                self.reserved += n
                held += n
            return message

        try:
            await self.app(scope, counted, send)
        finally:
            self.reserved -= held

    def _routable(self, scope: Scope) -> bool:
        """Whether a route takes this method on this path (else the app answers 404 or 405)."""
        if scope["method"] not in _MUTATING:
            return True
        return any(r.matches(scope)[0] == Match.FULL for r in getattr(self.app, "routes", ()))

    def _control(self, method: str, headers: dict[str, str], routable: bool = True) -> tuple[int, str, str] | None:
        host = host_name(headers.get("host", ""))
        if not self.any_host and host not in self.hosts:
            return (
                403,
                "forbidden_host",
                (
                    f"Host {host!r} may not use the control plane (loopback only); "
                    "start openxms with --allowed-host to add a name"
                ),
            )
        if method not in _MUTATING or not routable:
            return None
        if method in _WITH_BODY and headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return 415, "unsupported_media_type", "control calls take Content-Type: application/json"
        if self.token is not None:
            scheme, _, cred = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(cred.strip().encode(), self.token):
                return 401, "unauthorized", "this control call needs Authorization: Bearer <control token>"
        return None


async def _answer(
    send: Send,
    path: str,
    status: int,
    code: str,
    text: str,
    extra: dict[str, str] | None = None,
) -> None:
    body = error_body(path, status, code, text)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
