"""Who is calling: service plan API tokens and project OAuth2 access tokens
(https://developers.sinch.com/docs/sms/api-reference/authentication/).

Access tokens are JWTs (HS256, signed with a secret kept in the database so every node and
every restart accepts them) carrying `exp` and the access key they were issued to (`sub`):
a key removed from the configuration takes its tokens with it. The Node SDK refreshes 60 s
before `exp`; the Python SDK refreshes only when a request gets 401 with `WWW-Authenticate`
containing `expired`, which is what an expired token gets here.

The Conversation API (`project()`) also takes HTTP Basic `key_id:key_secret`, and tells a
valid credential for another project (403 PERMISSION_DENIED) from a bad one (401).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

import jwt

from ..clock import Clock
from ..config import Account
from ..errors import ApiError, Forbidden, OAuthError, Unauthorized
from ..ratelimit import TokenBucket
from ..sms.objects import Token

# Failed token requests per access key id: this many within the window, then 429 until the
# oldest failure leaves the window (brute force of a key secret is throttled; wall-clock time).
LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 60.0
_TRACKED_KEYS = 10_000  # failure histories kept at most (unknown key ids count too)

_EXPIRED = {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="Jwt expired"'}
_INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Auth:
    def __init__(self, accounts: Mapping[str, Account], secret: str, clock: Clock, ttl: int) -> None:
        self.accounts = accounts
        self.secret = secret
        self.clock = clock
        self.ttl = ttl
        self._keys = {a.key_id: a for a in accounts.values() if a.kind == "project"}
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._buckets = {
            a.id: TokenBucket(a.api_rate, burst=max(1.0, a.api_rate)) for a in accounts.values() if a.api_rate
        }

    def _limit(self, account: Account) -> Account:
        """The account's optional API rate (`api_rate` requests/s): 429 with Retry-After over it."""
        bucket = self._buckets.get(account.id)
        if bucket is not None and not bucket.take(1):
            raise ApiError(
                f"more than {account.api_rate:g} requests per second for {account.id}",
                code="too_many_requests",
                status=429,
                headers={"Retry-After": str(max(1, math.ceil(bucket.wait_time())))},
            )
        return account

    def check(self, account_id: str, authorization: str | None) -> Account:
        """The account behind `/xms/v1/{account_id}/...`, or Unauthorized."""
        account = self.accounts.get(account_id)
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthorized("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        credential = credential.strip()
        if account is None:
            raise Unauthorized("invalid credentials", headers=_INVALID)
        if account.kind == "plan":
            if account.token and hmac.compare_digest(credential.encode(), account.token.encode()):
                return self._limit(account)
            raise Unauthorized("invalid credentials", headers=_INVALID)
        claims = self._claims(credential)
        if claims.get("project_id") != account.id:
            raise Unauthorized("access token is not valid for this project", headers=_INVALID)
        return self._limit(account)

    def _claims(self, token: str) -> dict[str, Any]:
        """A valid, unexpired token's claims, issued to a key that still exists; else Unauthorized."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience="openxms",
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise Unauthorized("invalid access token", headers=_INVALID) from None
        key = self._keys.get(claims.get("sub") or "")
        if key is None or key.id != claims.get("project_id"):
            raise Unauthorized("the access key of this token no longer exists", headers=_INVALID)
        if claims.get("exp", 0) * 1000 <= self.clock.now_ms():
            raise Unauthorized("access token expired", code="unauthorized", headers=_EXPIRED)
        return claims

    def project(self, project_id: str, authorization: str | None) -> Account:
        """The project behind `/v1/projects/{project_id}/...`: a Bearer access token, or Basic
        key_id:key_secret. Unauthorized when the credential is bad, Forbidden when it is good
        but for another project."""
        scheme, _, credential = (authorization or "").partition(" ")
        scheme, credential = scheme.lower(), credential.strip()
        if scheme == "bearer" and credential:
            owner = self._claims(credential)["project_id"]
        elif scheme == "basic" and credential:
            try:
                key_id, _, secret = base64.b64decode(credential, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthorized("malformed Basic credentials", headers=_INVALID) from None
            key = self._keys.get(key_id)
            if key is None or not hmac.compare_digest(secret.encode(), (key.key_secret or "").encode()):
                raise Unauthorized("invalid credentials", headers={"WWW-Authenticate": "Basic"})
            owner = key.id
        else:
            raise Unauthorized(
                "missing credentials: Bearer access token or Basic key_id:key_secret",
                headers={"WWW-Authenticate": "Bearer"},
            )
        account = self.accounts.get(project_id)
        if owner != project_id or account is None:
            raise Forbidden(f"these credentials do not give access to project {project_id}", code="permission_denied")
        return self._limit(account)

    def _throttle(self, key: str) -> None:
        history = self._failures.get(key)
        if not history:
            return
        now = time.monotonic()
        while history and history[0] <= now - LOGIN_WINDOW_S:
            history.popleft()
        if len(history) >= LOGIN_FAILURES:
            wait = max(1, math.ceil(history[0] + LOGIN_WINDOW_S - now))
            raise OAuthError(
                f"too many failed attempts for this key; retry in {wait} s",
                code="slow_down",
                status=429,
                headers={"Retry-After": str(wait)},
            )

    def _failed(self, key: str) -> None:
        history = self._failures.pop(key, None) or deque(maxlen=LOGIN_FAILURES)
        history.append(time.monotonic())
        self._failures[key] = history  # most recent last
        while len(self._failures) > _TRACKED_KEYS:
            self._failures.popitem(last=False)

    def issue(self, key_id: str | None, key_secret: str | None, grant_type: str | None) -> Token:
        """`POST /oauth2/token` with client credentials."""
        if grant_type != "client_credentials":
            raise OAuthError("grant_type must be client_credentials", code="unsupported_grant_type")
        key = key_id or ""
        self._throttle(key)
        account = self._keys.get(key)
        if account is None or not hmac.compare_digest((key_secret or "").encode(), (account.key_secret or "").encode()):
            self._failed(key)
            raise OAuthError("Bad credentials", code="invalid_client", status=401)
        now = self.clock.now_ms() // 1000
        token = jwt.encode(
            {
                "iss": "openxms",
                "aud": "openxms",
                "sub": key_id,
                "project_id": account.id,
                "iat": now,
                "exp": now + self.ttl,
            },
            self.secret,
            algorithm="HS256",
        )
        return Token(access_token=token, expires_in=self.ttl, scope="", token_type="bearer")
