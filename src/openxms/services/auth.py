"""Who is calling: service plan API tokens and project OAuth2 access tokens (spec §1.2).

Access tokens are JWTs (HS256, signed with a secret kept in the database so every node and
every restart accepts them) carrying `exp`: the Node SDK refreshes 60 s before `exp`; the
Python SDK refreshes only when a request gets 401 with `WWW-Authenticate` containing
`expired`, which is what an expired token gets here.
"""

from __future__ import annotations

import hmac
from typing import Mapping

import jwt

from ..clock import Clock
from ..config import Account
from ..errors import OAuthError, Unauthorized
from ..sms.objects import Token

_EXPIRED = {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="Jwt expired"'}
_INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Auth:
    def __init__(self, accounts: Mapping[str, Account], secret: str, clock: Clock, ttl: int) -> None:
        self.accounts = accounts
        self.secret = secret
        self.clock = clock
        self.ttl = ttl
        self._keys = {a.key_id: a for a in accounts.values() if a.kind == "project"}

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
                return account
            raise Unauthorized("invalid credentials", headers=_INVALID)
        try:
            claims = jwt.decode(credential, self.secret, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
                                audience="openxms")
        except jwt.PyJWTError:
            raise Unauthorized("invalid access token", headers=_INVALID) from None
        if claims.get("project_id") != account.id:
            raise Unauthorized("access token is not valid for this project", headers=_INVALID)
        if claims.get("exp", 0) * 1000 <= self.clock.now_ms():
            raise Unauthorized("access token expired", code="unauthorized", headers=_EXPIRED)
        return account

    def issue(self, key_id: str | None, key_secret: str | None, grant_type: str | None) -> Token:
        """`POST /oauth2/token` with client credentials."""
        if grant_type != "client_credentials":
            raise OAuthError("grant_type must be client_credentials", code="unsupported_grant_type")
        account = self._keys.get(key_id or "")
        if account is None or not hmac.compare_digest((key_secret or "").encode(), (account.key_secret or "").encode()):
            raise OAuthError("Bad credentials", code="invalid_client", status=401)
        now = self.clock.now_ms() // 1000
        token = jwt.encode({"iss": "openxms", "aud": "openxms", "sub": key_id, "project_id": account.id,
                            "iat": now, "exp": now + self.ttl}, self.secret, algorithm="HS256")
        return Token(access_token=token, expires_in=self.ttl, scope="", token_type="bearer")
