"""The one error family of the API: what went wrong, with an HTTP status and a machine code.

Pure (no I/O, no HTTP library). How an error is written on the wire is decided by each API
(the Conversation API's body is in `conversation/errors.py`).
"""

from __future__ import annotations


class ApiError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, text: str, *, code: str | None = None, status: int | None = None,
                 headers: dict | None = None) -> None:
        super().__init__(text)
        self.text = text
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}


class InvalidRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"
