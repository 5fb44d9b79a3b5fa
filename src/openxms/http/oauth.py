"""`POST /oauth2/token`: client credentials (Basic key_id:key_secret, or form fields)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..services.auth import OAuthError
from .context import ctx
from .responses import json_response, read_body


async def token(request: Request) -> Response:
    c = ctx(request)
    raw = await read_body(request, 64 * 1024)
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    key_id, key_secret = form.get("client_id"), form.get("client_secret")
    scheme, _, cred = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            key_id, _, key_secret = base64.b64decode(cred.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "malformed Basic credentials") from None
    result = c.auth.issue(key_id, key_secret, form.get("grant_type"))
    return json_response(result, headers={"Cache-Control": "no-store"})


routes = [Route("/oauth2/token", token, methods=["POST"])]
