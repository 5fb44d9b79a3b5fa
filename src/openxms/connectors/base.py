"""The small interface between the engine and whatever carries messages out.

The engine hands a connector the messages it claimed (already rendered, encoded and
counted) and gets back, per message, whether the carrier took it. What happens later
(delivery receipts, inbound messages) comes back through the `Sink` the engine gives the
connector at start. The engine never knows which connector it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ..store.db import Tx


@dataclass(frozen=True)
class Outbound:
    """One recipient's message."""

    recipient_id: int
    batch_id: str
    account_id: str
    msisdn: str
    sender: str | None
    type: str  # mt_text | mt_binary | mt_media
    text: str  # rendered text; base64 body for binary; media message for mt_media
    encoding: str  # "text" | "unicode"
    parts: int
    udh: str | None = None  # hex, binary only
    media: dict | None = None
    flash: bool = False
    from_ton: int | None = None
    from_npi: int | None = None
    expire_at: int = 0
    delivery_report: str = "none"


@dataclass(frozen=True)
class Accepted:
    recipient_id: int


@dataclass(frozen=True)
class Refused:
    """The carrier refused the message at submit time (final, no receipt will come)."""

    recipient_id: int
    status: str
    code: int


@dataclass(frozen=True)
class Receipt:
    """A final (or intermediate) outcome reported by the carrier for a recipient."""

    recipient_id: int
    status: str
    code: int
    operator_status_at: int | None = None


@dataclass(frozen=True)
class Inbound:
    """A mobile-originated message, already reassembled."""

    sender: str
    recipient: str  # the number it was sent to
    body: str  # text, or base64 for binary
    type: str = "mo_text"  # mo_text | mo_binary
    udh: str | None = None
    sent_at: int | None = None
    operator_id: str | None = None
    account_id: str | None = None  # when the connector knows it (otherwise: by number)


class Sink(Protocol):
    """Implemented by the engine."""

    async def receipts(self, items: list[Receipt], also: Callable[[Tx], Any] | None = None) -> None: ...

    async def inbound(self, message: Inbound) -> dict | None: ...


class Connector(Protocol):
    name: str

    async def start(self, sink: Sink) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, messages: list[Outbound]) -> list[Accepted | Refused]: ...

    # Optional: `async def wait_ready(timeout) -> bool`. A connector that can be down (SMPP
    # without a bind) lets the dispatcher wait for it instead of claiming and backing off.
