"""Delivery statuses and codes (https://developers.sinch.com/docs/sms/api-reference/status-codes/),
in one table.

Sinch's status set has two intermediate states (Queued 400, Dispatched 401) and final ones.
Where Sinch's pages disagree (407 is listed under Aborted in one, Cancelled in another), 407
is `Cancelled`, the status a cancelled recipient shows.
"""

from __future__ import annotations

QUEUED, DISPATCHED = "Queued", "Dispatched"
ABORTED, CANCELLED, REJECTED, DELETED = "Aborted", "Cancelled", "Rejected", "Deleted"
DELIVERED, FAILED, EXPIRED, UNKNOWN = "Delivered", "Failed", "Expired", "Unknown"

INTERMEDIATE = frozenset({QUEUED, DISPATCHED})
FINAL = frozenset({ABORTED, CANCELLED, REJECTED, DELETED, DELIVERED, FAILED, EXPIRED, UNKNOWN})
ALL = INTERMEDIATE | FINAL
_BY_LOWER = {s.lower(): s for s in ALL}

# Sinch REST codes
C_DELIVERED = 0
C_QUEUED = 400
C_DISPATCHED = 401
C_UNROUTABLE = 402
C_INTERNAL_ERROR = 403
C_TEMPORARY_FAILURE = 404
C_UNMATCHED_PARAMETER = 405
C_INTERNAL_EXPIRY = 406
C_CANCELLED = 407
C_INTERNAL_REJECT = 408
C_NO_ORIGINATOR = 410
C_PARTS_LIMIT = 411
C_UNPROVISIONED_REGION = 412
C_BLOCKED = 413

# The status each pre-flight / engine code comes with (Sinch's status-codes page; 413-418, which
# it names without a status, get the status their meaning implies).
STATUS_OF_CODE = {
    400: QUEUED,
    401: DISPATCHED,
    402: ABORTED,
    403: ABORTED,
    404: ABORTED,
    405: ABORTED,
    406: ABORTED,
    407: CANCELLED,
    408: ABORTED,
    410: ABORTED,
    411: ABORTED,
    412: ABORTED,
    413: ABORTED,
    414: FAILED,
    415: REJECTED,
    416: FAILED,
    417: FAILED,
    418: FAILED,
}


def canonical(status: str) -> str | None:
    """`DELIVERED` / `delivered` -> `Delivered`; None if not a status."""
    return _BY_LOWER.get(status.strip().lower())
