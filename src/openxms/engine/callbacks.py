"""Delivering the callback outbox with Sinch's retry schedule (spec §7, peers §4.4).

- 2xx: done. 5xx, 429 and network errors: retried. Other 4xx: given up at once (Sinch does
  not retry them).
- Retry k (k = 1..15) happens 5 * 2^(k-1) seconds after the *first failure*: 5 s, 10 s,
  20 s, ... the 15th and last at 81,920 s (22 h 45 min), which is how Sinch words it.
- Optional signing with the account's `webhook_secret`: `X-Sinch-Webhook-Signature` =
  base64(HMAC-SHA256(secret, body + "." + nonce + "." + timestamp)), with the nonce and the
  timestamp in `-Nonce` and `-Timestamp` headers (what the Sinch SDKs' validators check).

Rows are claimed (`state = 'sending'`, due again after a visibility timeout) before posting
and settled after, so a callback whose sender died is picked up again. A callback can
therefore be posted twice around a crash, never lost.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING

import httpx

from ..store.db import Tx

if TYPE_CHECKING:
    from . import Engine

log = logging.getLogger("openxms.callbacks")
FIRST_RETRY_S = 5
MAX_RETRIES = 15
BATCH = 100
VISIBILITY_MS = 120_000  # a claimed callback is retried by anyone after this


def retry_at(first_failure_ms: int, retry_number: int) -> int:
    """When retry `retry_number` (1-based) is due."""
    return first_failure_ms + FIRST_RETRY_S * 1000 * 2 ** (retry_number - 1)


def sign(secret: str, body: bytes, nonce: str, timestamp: str) -> str:
    signed = body + b"." + nonce.encode() + b"." + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def _claim(tx: Tx, node: str, now: int, limit: int) -> list[tuple]:
    """Due callbacks, marked `sending` for VISIBILITY_MS: if this node dies while posting, they
    become due again after that (another node, or this one restarted, picks them up)."""
    lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
    rows = tx.all("SELECT id, account_id, url, payload, attempts, first_failure_at FROM outbox "
                  "WHERE state IN ('pending', 'sending') AND next_attempt_at <= ? "
                  f"ORDER BY next_attempt_at, id LIMIT ?{lock}", (now, limit))
    if rows:
        tx.executemany("UPDATE outbox SET state = 'sending', claimed_by = ?, next_attempt_at = ? WHERE id = ?",
                       [(node, now + VISIBILITY_MS, r[0]) for r in rows])
    return rows


def _settle(tx: Tx, results: list[tuple[int, str, int, int | None, int | None, str | None, int]]) -> None:
    """results: (id, state, attempts, first_failure_at, last_status, last_error, next_attempt_at)."""
    tx.executemany(
        "UPDATE outbox SET state = ?, attempts = ?, first_failure_at = ?, last_status = ?, last_error = ?, "
        "next_attempt_at = ?, claimed_by = NULL, done_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END "
        "WHERE id = ?",
        [(s, a, f, ls, le, nxt, s, nxt, i) for i, s, a, f, ls, le, nxt in results])


def _next_due(tx: Tx) -> int | None:
    return tx.scalar("SELECT min(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sending')")


def release_own(tx: Tx, node: str, now: int) -> int:
    """At start-up: callbacks this node was posting when it stopped are due now."""
    tx.execute("UPDATE outbox SET state = 'pending', claimed_by = NULL, next_attempt_at = ? "
               "WHERE state = 'sending' AND claimed_by = ?", (now, node))
    return tx.rowcount


class CallbackSender:
    def __init__(self, engine: "Engine", concurrency: int = 32) -> None:
        self.engine = engine
        self.wakeup = asyncio.Event()
        self.sem = asyncio.Semaphore(concurrency)
        self.client: httpx.AsyncClient | None = None
        self.delivered = 0

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self) -> None:
        e = self.engine
        self.client = httpx.AsyncClient(timeout=e.settings.callback_timeout, follow_redirects=False,
                                        headers={"User-Agent": "openxms-callbacks"})
        await e.db.write(release_own, e.node_id, e.clock.now_ms())
        try:
            while True:
                self.wakeup.clear()
                now = e.clock.now_ms()
                try:
                    rows = await e.db.write(_claim, e.node_id, now, BATCH)
                except Exception:  # noqa: BLE001
                    log.exception("claiming callbacks failed")
                    rows = []
                if rows:
                    results = await asyncio.gather(*(self._post(r) for r in rows))
                    await e.db.write(_settle, results)
                    continue
                nxt = await e.db.read(_next_due)
                limit = e.clock.now_ms() + 1000
                await e.clock.wait(limit if nxt is None else min(nxt, limit), self.wakeup)
        finally:
            await self.client.aclose()

    async def _post(self, row: tuple) -> tuple:
        oid, account_id, url, payload, attempts, first_failure = row
        body = payload.encode()
        headers = {"Content-Type": "application/json"}
        account = self.engine.accounts.get(account_id)
        if account is not None and account.webhook_secret:
            nonce = secrets.token_urlsafe(16)
            ts = str(self.engine.clock.now_ms() // 1000)
            headers.update({
                "X-Sinch-Webhook-Signature": sign(account.webhook_secret, body, nonce, ts),
                "X-Sinch-Webhook-Signature-Nonce": nonce,
                "X-Sinch-Webhook-Signature-Timestamp": ts,
                "X-Sinch-Webhook-Signature-Algorithm": "HmacSHA256",
            })
        code: int | None = None
        err: str | None = None
        async with self.sem:
            try:
                resp = await self.client.post(url, content=body, headers=headers)
                code = resp.status_code
            except httpx.HTTPError as ex:
                err = f"{type(ex).__name__}: {ex}"[:500]
        now = self.engine.clock.now_ms()
        attempts += 1
        if code is not None and 200 <= code < 300:
            self.delivered += 1
            return oid, "done", attempts, first_failure, code, None, now
        retryable = code is None or code == 429 or code >= 500
        if first_failure is None:
            first_failure = now
        retries_done = attempts - 1  # the first attempt is not a retry
        if not retryable:
            return oid, "failed", attempts, first_failure, code, err or f"HTTP {code}: not retried", now
        if retries_done >= MAX_RETRIES:
            return oid, "dead", attempts, first_failure, code, err or f"HTTP {code}: retries exhausted", now
        return oid, "pending", attempts, first_failure, code, err, retry_at(first_failure, retries_done + 1)
