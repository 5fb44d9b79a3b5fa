"""Delivering the callback outbox with Sinch's retry schedule (spec §7, peers §4.4).

- 2xx: done. 5xx, 429 and network errors: retried. Other 4xx: given up at once (Sinch does
  not retry them).
- Retry k (k = 1..15) happens 5 * 2^(k-1) seconds after the *first failure*: 5 s, 10 s,
  20 s, ... the 15th and last at 81,920 s (22 h 45 min), which is how Sinch words it.
- Optional signing with the account's `webhook_secret`: `X-Sinch-Webhook-Signature` =
  base64(HMAC-SHA256(secret, body + "." + nonce + "." + timestamp)), with the nonce and the
  timestamp in `-Nonce` and `-Timestamp` headers (what the Sinch SDKs' validators check).

Rows are claimed (`state = 'sending'`, due again after a visibility timeout) before posting
and settled after, so a callback whose sender died is picked up again (`store/outbox.py`). A
callback can therefore be posted twice around a crash, never lost.

Why the retries live in the database and not in a retry library (tenacity, backoff): a retry
is due up to 22 hours after the first failure, so it must survive restarts and be picked up
by whichever node is alive; the outbox row is already the durable record of "this callback is
owed", so its `next_attempt_at` is the retry schedule, and one query finds what is due.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from typing import Mapping

import httpx

from ..clock import Clock
from ..config import Account
from ..store import outbox
from ..store.db import Database

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


def outcome(row: outbox.Due, status: int | None, error: str | None, now: int) -> outbox.Outcome:
    """What an attempt that got HTTP `status` (None: no response, `error` says why) leaves behind:
    done on 2xx; retried on 5xx, 429 and network errors per the schedule above; given up at once
    on other 4xx; dead after the last retry."""
    attempts = row.attempts + 1
    first_failure = row.first_failure_at
    if status is not None and 200 <= status < 300:
        return outbox.Outcome(row.id, "done", attempts, first_failure, status, None, now)
    if first_failure is None:
        first_failure = now
    retries_done = attempts - 1  # the first attempt is not a retry
    if not (status is None or status == 429 or status >= 500):
        return outbox.Outcome(row.id, "failed", attempts, first_failure, status,
                              error or f"HTTP {status}: not retried", now)
    if retries_done >= MAX_RETRIES:
        return outbox.Outcome(row.id, "dead", attempts, first_failure, status,
                              error or f"HTTP {status}: retries exhausted", now)
    return outbox.Outcome(row.id, "pending", attempts, first_failure, status, error,
                          retry_at(first_failure, retries_done + 1))


class CallbackSender:
    def __init__(self, db: Database, clock: Clock, accounts: Mapping[str, Account], node_id: str,
                 timeout: float, concurrency: int = 32) -> None:
        self.db = db
        self.clock = clock
        self.accounts = accounts
        self.node_id = node_id
        self.timeout = timeout
        self.wakeup = asyncio.Event()
        self.sem = asyncio.Semaphore(concurrency)
        self.delivered = 0

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self) -> None:
        client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                   headers={"User-Agent": "openxms-callbacks"})
        await self.db.write(outbox.release_own, self.node_id, self.clock.now_ms())
        try:
            while True:
                self.wakeup.clear()
                now = self.clock.now_ms()
                try:
                    rows = await self.db.write(outbox.claim, self.node_id, now, BATCH, VISIBILITY_MS)
                except Exception:  # noqa: BLE001
                    log.exception("claiming callbacks failed")
                    rows = []
                if rows:
                    results = await asyncio.gather(*(self._post(client, r) for r in rows))
                    await self.db.write(outbox.settle, results)
                    continue
                nxt = await self.db.read(outbox.next_due)
                limit = self.clock.now_ms() + 1000
                await self.clock.wait(limit if nxt is None else min(nxt, limit), self.wakeup)
        finally:
            await client.aclose()

    def headers(self, account_id: str, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        account = self.accounts.get(account_id)
        if account is not None and account.webhook_secret:
            nonce = secrets.token_urlsafe(16)
            ts = str(self.clock.now_ms() // 1000)
            headers.update({
                "X-Sinch-Webhook-Signature": sign(account.webhook_secret, body, nonce, ts),
                "X-Sinch-Webhook-Signature-Nonce": nonce,
                "X-Sinch-Webhook-Signature-Timestamp": ts,
                "X-Sinch-Webhook-Signature-Algorithm": "HmacSHA256",
            })
        return headers

    async def _post(self, client: httpx.AsyncClient, row: outbox.Due) -> outbox.Outcome:
        body = row.payload.encode()
        code: int | None = None
        err: str | None = None
        async with self.sem:
            try:
                resp = await client.post(row.url, content=body, headers=self.headers(row.account_id, body))
                code = resp.status_code
            except httpx.HTTPError as ex:
                err = f"{type(ex).__name__}: {ex}"[:500]
        result = outcome(row, code, err, self.clock.now_ms())
        if result.state == "done":
            self.delivered += 1
        return result
