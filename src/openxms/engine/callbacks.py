"""Delivering the callback outbox with Sinch's retry schedule (Sinch's webhooks documentation,
https://developers.sinch.com/docs/sms/api-reference/sms/tag/Webhooks/).

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
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from .. import metrics
from ..clock import Clock
from ..config import Account
from ..store import outbox
from ..store.db import Database

log = logging.getLogger("openxms.callbacks")
# httpx logs every request's full URL at INFO: callback URLs carry credentials and API keys
# (user info, query values). Our own lines use `redact()`.
logging.getLogger("httpx").setLevel(logging.WARNING)
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


def outcome(row: outbox.Due, status: int | None, error: str | None, now: int, *, retry: bool = True) -> outbox.Outcome:
    """What an attempt that got HTTP `status` (None: no response, `error` says why) leaves behind:
    done on 2xx; retried on 5xx, 429 and network errors per the schedule above; given up at once
    on other 4xx and on errors no retry can cure (`retry=False`: a URL that cannot be sent to);
    dead after the last retry."""
    attempts = row.attempts + 1
    first_failure = row.first_failure_at
    if status is not None and 200 <= status < 300:
        return outbox.Outcome(row.id, "done", attempts, first_failure, status, None, now)
    if first_failure is None:
        first_failure = now
    retries_done = attempts - 1  # the first attempt is not a retry
    if not retry or not (status is None or status == 429 or status >= 500):
        return outbox.Outcome(
            row.id, "failed", attempts, first_failure, status, error or f"HTTP {status}: not retried", now
        )
    if retries_done >= MAX_RETRIES:
        return outbox.Outcome(
            row.id, "dead", attempts, first_failure, status, error or f"HTTP {status}: retries exhausted", now
        )
    return outbox.Outcome(
        row.id, "pending", attempts, first_failure, status, error, retry_at(first_failure, retries_done + 1)
    )


def redact(url: str) -> str:
    """A URL fit for a log line: no user info, no query values (they often carry keys)."""
    try:
        u = urlsplit(url)
        host = u.hostname or ""
        port = f":{u.port}" if u.port is not None else ""
    except ValueError:
        return "<invalid URL>"
    query = "&".join(p.split("=", 1)[0] + "=***" for p in u.query.split("&") if p) if u.query else ""
    return f"{u.scheme}://{host}{port}{u.path}" + (f"?{query}" if query else "")


class TargetPolicy:
    """The operator's `[callbacks]` allow/deny CIDR lists (default: everything allowed; it is
    self-hosted). A target is refused when an address its host resolves to is in a `deny`
    network and in no `allow` network. The check resolves the name itself, just before the
    POST: a name that resolves differently a moment later (DNS rebinding) is not caught, which
    is what a network-level egress rule is for."""

    def __init__(self, allow: tuple[str, ...] = (), deny: tuple[str, ...] = ()) -> None:
        self.allow = [ipaddress.ip_network(n, strict=False) for n in allow]
        self.deny = [ipaddress.ip_network(n, strict=False) for n in deny]

    async def refusal(self, url: str) -> str | None:
        """Why `url` may not be posted to, or None."""
        if not self.deny:
            return None
        u = httpx.URL(url)
        try:
            addresses = [ipaddress.ip_address(u.host)]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(u.host, u.port or 80, type=socket.SOCK_STREAM)
            except OSError:
                return None  # unresolvable: the POST fails (and is retried) like any network error
            addresses = [ipaddress.ip_address(i[4][0]) for i in infos]
        for a in addresses:
            if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
                a = a.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 on the wire
            net = next((n for n in self.deny if a in n), None)
            if net is not None and not any(a in n for n in self.allow):
                return f"{u.host} ({a}) is in {net}, denied by the callbacks policy"
        return None


# Errors that no retry can cure: the URL cannot be sent to at all.
_PERMANENT = (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, UnicodeError)


class CallbackSender:
    """Posts due callbacks: up to `concurrency` at once, at most `per_target` of them to one
    target (scheme://host:port), each within `timeout` seconds in total (connect, send, and the
    whole response), so a slow or dead receiver holds only its own callbacks back. Each post is
    settled on its own the moment it ends; whatever goes wrong with one callback fails that
    callback only."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts: Mapping[str, Account],
        node_id: str,
        timeout: float,
        concurrency: int = 64,
        per_target: int = 8,
        policy: TargetPolicy | None = None,
    ) -> None:
        self.policy = policy or TargetPolicy()
        self.db = db
        self.clock = clock
        self.accounts = accounts
        self.node_id = node_id
        self.timeout = timeout
        self.concurrency = concurrency
        self.per_target = per_target
        self.wakeup = asyncio.Event()
        self.delivered = 0
        self._in_flight: dict[str, int] = {}  # target -> posts running now
        self._tasks: set[asyncio.Task] = set()

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self) -> None:
        client: httpx.AsyncClient | None = None  # made at the first callback: its TLS context costs ~0.1 s of CPU
        await self.db.write(outbox.release_own, self.node_id, self.clock.now_ms())
        try:
            while True:
                self.wakeup.clear()
                free = self.concurrency - len(self._tasks)
                rows: list[outbox.Due] = []
                if free > 0:
                    try:
                        rows = await self.db.write(
                            outbox.claim,
                            self.node_id,
                            self.clock.now_ms(),
                            free,
                            VISIBILITY_MS,
                            self.per_target,
                            dict(self._in_flight),
                        )
                    except Exception:  # noqa: BLE001 - the database may be back at the next turn
                        log.exception("claiming callbacks failed")
                if rows:
                    client = client or self._client()
                    for row in rows:
                        self._start(client, row)
                if rows and len(rows) == free:
                    continue  # full: more may be due
                busy = [t for t, n in self._in_flight.items() if n >= self.per_target]
                try:
                    nxt = await self.db.read(outbox.next_due, busy)
                except Exception:  # noqa: BLE001
                    log.exception("reading the next callback time failed")
                    nxt = None
                limit = self.clock.now_ms() + 1000
                await self.clock.wait(limit if nxt is None else min(nxt, limit), self.wakeup)
        finally:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if client is not None:
                await client.aclose()

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        return httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, limits=limits, headers={"User-Agent": "openxms-callbacks"}
        )

    def _start(self, client: httpx.AsyncClient, row: outbox.Due) -> None:
        self._in_flight[row.target] = self._in_flight.get(row.target, 0) + 1
        task = asyncio.create_task(self._deliver(client, row), name=f"callback:{row.id}")
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._finished, target=row.target))

    def _finished(self, task: asyncio.Task, target: str) -> None:
        self._tasks.discard(task)
        n = self._in_flight.get(target, 1) - 1
        if n > 0:
            self._in_flight[target] = n
        else:
            self._in_flight.pop(target, None)
        self.wakeup.set()  # a slot is free

    async def _deliver(self, client: httpx.AsyncClient, row: outbox.Due) -> None:
        try:
            result = await self._post(client, row)
        except Exception as e:  # noqa: BLE001 - a bug in one callback must not stop the others
            log.exception("callback %d to %s failed unexpectedly", row.id, redact(row.url))
            result = outcome(row, None, f"internal error: {type(e).__name__}", self.clock.now_ms())
        if result.at is None:  # every attempt is recorded (the UI's Callbacks view lists them)
            result = result._replace(at=self.clock.now_ms())
        metrics.CALLBACKS.inc(("retry" if result.state == "pending" else result.state,))
        if result.state == "done":
            self.delivered += 1
        elif result.state != "pending":
            log.warning(
                "callback %d to %s %s: %s",
                row.id,
                redact(row.url),
                result.state,
                result.last_error,
                extra={"plan": row.account_id},
            )
        try:
            await self.db.write(outbox.settle, [result])
        except Exception:  # noqa: BLE001 - it stays claimed and is retried after VISIBILITY_MS
            log.exception("settling callback %d failed", row.id)

    def headers(self, account_id: str, body: bytes, secret: str | None = None) -> dict[str, str]:
        """Content type and, with a secret (the row's own, else the account's webhook secret),
        Sinch's signature headers."""
        headers = {"Content-Type": "application/json"}
        if secret is None:
            account = self.accounts.get(account_id)
            secret = account.webhook_secret if account is not None else None
        if secret:
            nonce = secrets.token_urlsafe(16)
            ts = str(self.clock.now_ms() // 1000)
            headers.update(
                {
                    "X-Sinch-Webhook-Signature": sign(secret, body, nonce, ts),
                    "X-Sinch-Webhook-Signature-Nonce": nonce,
                    "X-Sinch-Webhook-Signature-Timestamp": ts,
                    "X-Sinch-Webhook-Signature-Algorithm": "HmacSHA256",
                }
            )
        return headers

    async def _post(self, client: httpx.AsyncClient, row: outbox.Due) -> outbox.Outcome:
        body = row.payload.encode()
        code: int | None = None
        err: str | None = None
        retry = True
        refused = await self.policy.refusal(row.url)
        if refused is not None:
            return outcome(row, None, refused, self.clock.now_ms(), retry=False)
        headers = self.headers(row.account_id, body, row.secret)
        signed = {k: v for k, v in headers.items() if k.startswith("X-Sinch-Webhook-")}
        try:
            async with asyncio.timeout(self.timeout):
                resp = await client.post(row.url, content=body, headers=headers)
                code = resp.status_code
        except TimeoutError:
            err = f"no complete response within {self.timeout:g} s"
        except _PERMANENT as ex:
            err, retry = f"cannot send to this URL: {type(ex).__name__}: {ex}"[:500], False
        except httpx.HTTPError as ex:
            err = f"{type(ex).__name__}: {ex}"[:500]
        now = self.clock.now_ms()
        return outcome(row, code, err, now, retry=retry)._replace(
            at=now, headers=json.dumps(signed) if signed else None
        )
