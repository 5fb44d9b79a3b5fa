"""Errors the services raise; the HTTP layer renders them as Sinch's `{"code", "text"}`."""

from __future__ import annotations

from ..sms.batches import InvalidRequest  # noqa: F401 - re-exported: 400/403 with a Sinch code


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, text: str, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.text = text
        if code is not None:
            self.code = code
        self.headers = headers or {}


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text, code)


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"
