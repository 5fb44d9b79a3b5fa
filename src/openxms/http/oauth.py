"""`POST /oauth2/token`: client credentials (Basic key_id:key_secret, or form fields)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal
from urllib.parse import parse_qs

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ..errors import OAuthError
from ..sms.objects import Token
from .context import ctx
from .responses import json_response, read_body
from .spec import OAUTH, op, route


class TokenRequest(msgspec.Struct):
    """The form (RFC 6749 section 4.4.2); the client may authenticate with HTTP Basic instead."""

    grant_type: Annotated[str, msgspec.Meta(description="client_credentials")] | None = None
    client_id: Annotated[str, msgspec.Meta(description="the access key id (or Basic user)")] | None = None
    client_secret: Annotated[str, msgspec.Meta(description="the access key secret (or Basic password)")] | None = None


class TokenForm(msgspec.Struct):
    """The form as documented: `grant_type` must be client_credentials (RFC 6749 section 4.4.2).
    `TokenRequest` reads it more loosely, so that a wrong one gets OAuth2's
    `unsupported_grant_type` rather than a decoding error."""

    grant_type: Literal["client_credentials"]
    client_id: Annotated[str, msgspec.Meta(description="the access key id (or Basic user)")] | None = None
    client_secret: Annotated[str, msgspec.Meta(description="the access key secret (or Basic password)")] | None = None


@op(
    OAUTH,
    "OAuth2 client credentials token",
    body=TokenForm,
    response=Token,
    body_media="application/x-www-form-urlencoded",
)
async def token(request: Request) -> Response:
    c = ctx(request)
    raw = await read_body(request, 64 * 1024)
    form = msgspec.convert({k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}, TokenRequest)
    key_id, key_secret = form.client_id, form.client_secret
    scheme, _, cred = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            key_id, _, key_secret = base64.b64decode(cred.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("malformed Basic credentials", code="invalid_client", status=401) from None
    return json_response(c.auth.issue(key_id, key_secret, form.grant_type), headers={"Cache-Control": "no-store"})


routes = [route("POST", "/oauth2/token", token)]
