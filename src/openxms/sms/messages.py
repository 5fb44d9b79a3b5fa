"""What one recipient actually receives: parameters rendered, encoding chosen, parts counted.

Shared by the dry run and the dispatcher, so a dry run predicts exactly what is sent (and
which recipients would fail with 405 or 411).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from . import encoding, statuses
from . import parameters as params
from .batches import Batch
from .objects import DryRun, DryRunRecipient


@dataclass(frozen=True)
class Rendered:
    body: str  # text after substitution (and truncation); base64 for binary
    encoding: encoding.Encoding  # binary and media count as "text", one part
    parts: int
    error: int | None = None  # a Sinch code (405, 411) when this recipient must not be sent


class Template:
    """A batch body prepared once, rendered per recipient."""

    @classmethod
    def of(cls, b: Batch) -> Template:
        return cls(b.type, b.body, b.parameters, b.truncate_concat, b.max_parts, b.udh)

    def __init__(self, kind: str, body, parameters=None, truncate_concat=False, max_parts=None, udh=None):
        self.kind = kind
        self.body = body
        self.udh = udh
        self.truncate = bool(truncate_concat)
        self.max_parts = max_parts
        self.prepared = params.prepare(parameters) if kind != "mt_binary" else {}
        self._static: Rendered | None = None
        if kind == "mt_binary":
            self._static = Rendered(body, encoding.TEXT, 1)
        elif kind == "mt_text" and ("${" not in body or not self.prepared):
            self._static = self._text(body)

    def _text(self, text: str) -> Rendered:
        enc, parts = encoding.count_parts(text)
        if parts > 1 and self.truncate:
            text = encoding.truncate(text, enc)
            parts = 1
        if self.max_parts is not None and parts > self.max_parts:
            return Rendered(text, enc, parts, statuses.C_PARTS_LIMIT)
        return Rendered(text, enc, parts)

    def render(self, recipient: str, *, lenient: bool = False) -> Rendered:
        """`lenient` (dry run): an unmatched placeholder stays literal instead of failing."""
        if self._static is not None:
            return self._static
        if self.kind == "mt_media":
            message = self.body.get("message") or ""
            try:
                message = params.render(message, self.prepared, recipient)
            except params.Unmatched:
                if not lenient:
                    return Rendered(message, encoding.TEXT, 1, statuses.C_UNMATCHED_PARAMETER)
            return Rendered(message, encoding.TEXT, 1)
        try:
            text = params.render(self.body, self.prepared, recipient)
        except params.Unmatched:
            if not lenient:
                return Rendered(self.body, encoding.detect(self.body), 0, statuses.C_UNMATCHED_PARAMETER)
            text = self.body
        return self._text(text)

    def binary(self) -> tuple[bytes, bytes]:
        return base64.b64decode(self.body), bytes.fromhex(self.udh or "")


def dry_run(b: Batch, recipients: Sequence[str], per_recipient: bool, limit: int) -> DryRun:
    """What `POST /batches/dry_run` answers for batch `b` sent to `recipients` (its `to` with the
    groups resolved): the recipients, the parts they add up to and, with `per_recipient`, the
    first `limit` of them as each would receive it (an unmatched parameter stays literal)."""
    tpl = Template.of(b)
    messages = 0
    details: list[DryRunRecipient] = []
    for r in recipients:
        out = tpl.render(r, lenient=True)
        messages += out.parts
        if per_recipient and len(details) < limit:
            details.append(DryRunRecipient(r, out.body, out.parts, out.encoding))
    return DryRun(len(recipients), messages, details if per_recipient else None)
