"""The seam between the engine and whatever carries messages out (a connector).

The engine hands a connector the messages it claimed, already rendered, encoded and counted
(`Outbound`), and gets back, per message, whether the carrier took it (`Accepted`) or refused
it for good (`Refused`). What happens later comes back through the `Sink` the engine gives the
connector at start: delivery receipts (`Receipt`) and inbound messages (`Inbound`). The engine
never knows which connector it talks to; a new connector subclasses `Connector` and uses
nothing of the engine but `Sink`.

Delivery towards the carrier is at least once: after a crash, messages a connector may or may
not have sent are handed to it again (same `recipient_id`). A connector that can tell should
not send a copy; receipts for a recipient that is already final change nothing.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Protocol

import msgspec

from ..store.db import Tx


class Outbound(msgspec.Struct, frozen=True):
    """One recipient's message. The values crossing the seam are msgspec Structs: the engine
    makes one or more per message, at 0.7 us each where a frozen dataclass takes 2.5."""

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


class Accepted(msgspec.Struct, frozen=True):
    recipient_id: int


class Refused(msgspec.Struct, frozen=True):
    """The carrier refused the message at submit time (final, no receipt will come)."""

    recipient_id: int
    status: str
    code: int


class Receipt(msgspec.Struct, frozen=True):
    """A final outcome reported by the carrier for a recipient (Sinch status and code), and what
    the carrier knows of the message it delivered where it says (the simulator does; an SMPP
    receipt does not): a receipt can be applied before the dispatch that caused it is
    recorded, and then it fills these in."""

    recipient_id: int
    status: str
    code: int
    operator_status_at: int | None = None
    parts: int | None = None
    encoding: str | None = None


class Inbound(msgspec.Struct, frozen=True):
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
    """What a connector may call on the engine (the engine implements it)."""

    def apply_receipts(self, tx: Tx, items: list[Receipt], now: int) -> None:
        """Record receipts inside the connector's own write transaction (so the connector's
        bookkeeping, e.g. SMPP's id map, commits with the status change, or neither does)."""
        ...

    def receipts_applied(self) -> None:
        """Say that a transaction with `apply_receipts` committed: the callbacks it queued can go."""
        ...

    async def inbound(self, message: Inbound) -> dict[str, Any] | None:
        """Store an inbound message (and queue its callbacks); returns its Sinch object."""
        ...


class Connector(abc.ABC):
    """Carries messages out. One instance serves one account, unless `shared` is set (then one
    instance serves every account routed to it and starts with the engine, not with an
    account's dispatch lease)."""

    name: ClassVar[str]
    shared: ClassVar[bool] = False

    @abc.abstractmethod
    async def start(self, sink: Sink) -> None:
        """Connect (bind, open sessions); receipts and inbound messages go to `sink` from now on."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Disconnect cleanly; messages in flight are either answered or given back by raising
        from `submit`."""

    @abc.abstractmethod
    async def submit(self, messages: list[Outbound]) -> list[Accepted | Refused]:
        """Send these messages; one result per message, any order. Raise (e.g. ConnectionError)
        when none of them could be handed over: they go back to the queue and are retried."""

    async def wait_ready(self, timeout: float) -> bool:
        """Whether the connector can take messages now, waiting up to `timeout` s for it. The
        dispatcher claims nothing while this is false (e.g. no SMPP bind is up), so messages
        stay queued instead of being claimed and handed back."""
        return True

    def status(self) -> dict[str, Any]:
        """For `/readyz`: `{"ready": bool, ...}` with what an operator needs to see (e.g. binds
        up of binds configured). Not ready makes the server not ready."""
        return {"ready": True}
