"""The one error family of the API: what went wrong, with an HTTP status and a machine code.

Pure (no I/O, no HTTP library), so sms/, services/ and http/ all raise the same classes.
How an error is written on the wire is not decided here: each API chooses its body format
(`http/spec.py`): Sinch SMS answers `{"code", "text"}`
(https://developers.sinch.com/docs/sms/api-reference/status-codes/), the OAuth2 token
endpoint `{"error", "error_description"}` (RFC 6749 section 5.2).

Every class takes the same arguments: `text`, then keyword-only `code`, `status`, `headers`
overriding the class defaults, e.g. `Forbidden("unknown group id: x", code="unknown_group")`.
"""

from __future__ import annotations


class ApiError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self, text: str, *, code: str | None = None, status: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(text)
        self.text = text
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r}, code={self.code!r}, status={self.status})"


class InvalidRequest(ApiError):
    """400: the request cannot be served as sent."""

    status, code = 400, "bad_request"


class ConstraintViolation(InvalidRequest):
    """A value is missing, too long, too many or out of range."""

    code = "syntax_constraint_violation"


class InvalidFormat(InvalidRequest):
    """A malformed phone number, URL, timestamp or enum value."""

    code = "syntax_invalid_parameter_format"


class InvalidJson(InvalidRequest):
    """The body is not JSON, or JSON of the wrong types."""

    code = "syntax_invalid_json"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class OAuthError(ApiError):
    """An OAuth2 token endpoint error; `code` is the OAuth2 `error` (`invalid_client`, ...).
    Always written as an OAuth2 error body, whichever route raised it."""

    status, code = 400, "invalid_request"
