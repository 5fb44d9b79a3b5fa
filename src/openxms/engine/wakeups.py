"""How the rest of the server tells the engine that there is new work (so it need not poll).

Services call these after their write committed. On a node without an engine (`--role api`)
they do nothing: the node that runs the engine notices new work within its poll interval
(`dispatcher.IDLE_POLL`, the scheduler's `POLL_MS`).
"""

from __future__ import annotations

from typing import Protocol


class Wakeups(Protocol):
    def queue_changed(self, account_id: str) -> None:
        """Recipients of this account became queued (or were cancelled/changed)."""
        ...

    def schedule_changed(self) -> None:
        """A batch was scheduled, rescheduled, or the clock moved."""
        ...

    def callbacks_changed(self) -> None:
        """Callbacks were queued in the outbox."""
        ...


class NoEngine:
    """Wakeups for a node that runs no engine."""

    def queue_changed(self, account_id: str) -> None:
        pass

    def schedule_changed(self) -> None:
        pass

    def callbacks_changed(self) -> None:
        pass
