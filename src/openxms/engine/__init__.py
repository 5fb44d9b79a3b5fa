"""The delivery engine: scheduler, per-account dispatchers, callback sender, connectors.

`Engine` (in `engine.py`) is re-exported lazily, so importing a small part of the package
(`engine.status`, `engine.callbacks`) does not import the whole engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["Engine"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
