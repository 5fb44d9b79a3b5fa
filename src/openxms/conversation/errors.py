"""The Conversation API's error body.

Sinch documents `{"error": {"code", "message", "status", "details"}}` (the `runtimeError`
schema of the Conversation API reference,
https://developers.sinch.com/docs/conversation/api-reference/conversation/), i.e. the
google.rpc.Status JSON form used by gRPC-gateway services. Both official SDKs read
`body["error"]` and accept any `status` string; we use the canonical gRPC code names
(https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto), as Sinch's own
fixtures and overview examples do (`INVALID_ARGUMENT`, `UNAUTHENTICATED`, `NOT_FOUND`...).
"""

from __future__ import annotations

import msgspec

from ..errors import ApiError

# HTTP status -> canonical gRPC code name, per the HTTP mapping in google/rpc/code.proto.
GRPC_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    # gRPC-gateway answers a known path with the wrong method as codes.Unimplemented
    # (its default routing error handler); we keep the 405 status but name it the same way.
    405: "UNIMPLEMENTED",
    # code.proto maps both ALREADY_EXISTS and ABORTED to 409. Our 409s are "this already
    # exists" (a duplicate identity, a second active conversation); a caller meaning a
    # concurrency abort passes grpc_status="ABORTED".
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def grpc_status(status: int) -> str:
    """The gRPC code name for an HTTP status; other 4xx are FAILED_PRECONDITION and anything
    else UNKNOWN, as code.proto's table leaves them."""
    name = GRPC_STATUS.get(status)
    if name is not None:
        return name
    return "FAILED_PRECONDITION" if 400 <= status < 500 else "UNKNOWN"


def error_body(status: int, message: str, details: list | None = None, *, grpc_status_name: str | None = None) -> bytes:
    """`{"error": {"code": status, "message", "status": <gRPC name>, "details": []}}` as JSON bytes."""
    return msgspec.json.encode(
        {
            "error": {
                "code": status,
                "message": message,
                "status": grpc_status_name or grpc_status(status),
                "details": list(details) if details else [],
            }
        }
    )


def body_for(error: ApiError) -> tuple[int, bytes]:
    """The status and body for one of our `ApiError`s."""
    return error.status, error_body(error.status, error.text)
