"""Wiring only: settings -> store -> services -> engine -> HTTP app."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.applications import Starlette

from .clock import Clock, ManualClock
from .config import Account, Settings
from .connectors.base import Connector, Inbound
from .connectors.outcomes import OutcomeRules
from .connectors.simulator import Simulator
from .engine.callbacks import TargetPolicy
from .engine.engine import Engine
from .engine.wakeups import NoEngine, Wakeups
from .http import app as http_app
from .http.guard import Guard
from .ids import IdFactory
from .live import Live, Relay
from .metrics import HttpMetrics
from .services.auth import Auth
from .services.batches import BatchService
from .services.conversation.apps import AppService as ConversationApps
from .services.conversation.apps import provision as provision_apps
from .services.conversation.batches import BatchService as ConversationBatches
from .services.conversation.batches import FanOut
from .services.conversation.contacts import ContactService as ConversationContacts
from .services.conversation.conversations import ConversationService as ConversationConversations
from .services.conversation.inbound import ConversationInbound
from .services.conversation.messages import MessageService, Messaging
from .services.conversation.webhooks import WebhookService as ConversationWebhooks
from .services.groups import GroupService, auto_update_hook
from .services.inbounds import InboundService
from .services.reports import ReportService
from .store import meta, schema
from .store.db import Database, dialect_of, sqlite_path
from .store.engine_lock import EngineLock
from .store.live import PgRelay, SqliteRelay

log = logging.getLogger("openxms")


@dataclass
class Context:
    """Everything a route handler may reach (`request.app.state.ctx`)."""

    settings: Settings
    clock: Clock
    db: Database
    ids: IdFactory
    accounts: dict[str, Account]
    auth: Auth
    batches: BatchService
    reports: ReportService
    inbounds: InboundService
    groups: GroupService
    conversation_messages: MessageService
    conversation_batches: ConversationBatches
    conversation_apps: ConversationApps
    conversation_contacts: ConversationContacts
    conversation_webhooks: ConversationWebhooks
    conversation_conversations: ConversationConversations
    wakeups: Wakeups
    live: Live  # the UI's live events (this node's and, on PostgreSQL, the other nodes')
    simulator: Simulator | None = None
    engine: Engine | None = None
    dev_account: Account | None = None
    node_id: str = ""  # this node's id (node_id below): what its leases are held by
    # Set at shutdown: open UI event streams end at once instead of holding the server's exit.
    streams_closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def receive_inbound(self, mo: Inbound) -> dict[str, Any]:
        """An MO from the simulator API: through the engine (which wakes the callback sender) when
        this node runs one."""
        if self.engine is not None:
            return await self.engine.inbound(mo)
        return await self.inbounds.receive(mo)


def _dev_plan(tx) -> str:
    return meta.get_or_create(
        tx, "dev_service_plan", lambda: json.dumps({"id": "dev" + secrets.token_hex(6), "token": secrets.token_hex(16)})
    )


def prepare(
    settings: Settings, now_ms: int, live: Live | None = None
) -> tuple[Settings, Database, str, Account | None]:
    """Synchronous start-up: migrate, make the dev plan and OAuth secret if needed, bring the
    configured Conversation apps into the database. What commits is announced to `live`."""
    db = Database(
        settings.database,
        sqlite_synchronous=settings.sqlite_synchronous,
        on_commit=live.publish_many if live is not None else None,
    )
    applied = schema.migrate(db)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    secret = db.run_sync(meta.get_or_create, "oauth_secret", lambda: secrets.token_hex(32))
    dev = None
    if not settings.accounts:
        d = json.loads(db.run_sync(_dev_plan))
        dev = Account(id=d["id"], kind="plan", token=d["token"])
        settings = msgspec.structs.replace(settings, accounts=(dev,))
    if settings.conversation_apps:
        db.run_sync(provision_apps, settings.conversation_apps, {a.id: a for a in settings.accounts}, now_ms)
    return settings, db, secret, dev


def node_id(settings: Settings) -> str:
    """Stable across restarts of the same node, so a restarted node recognises (and renews) its
    own leases at once instead of waiting for them to expire. Processes sharing a port
    (`reuse_port`) are told apart by their pid: an API process holds no leases, and an engine
    among them should be given its own `node_id`."""
    if settings.node_id:
        return settings.node_id
    node = f"{socket.gethostname()}:{settings.port}"
    return f"{node}:{os.getpid()}" if settings.reuse_port else node


def relay(db: Database) -> Relay:
    """How this node's UI hears the others' events: several nodes on one PostgreSQL, or the
    processes of one SQLite file (an engine and API processes; a process cannot know whether
    others share its file, so every one relays: at most 10 small writes a second while events
    come, docs/benchmarks.md section 1)."""
    return PgRelay(db) if db.dialect == "postgresql" else SqliteRelay(db)


def build(settings: Settings) -> tuple[Starlette, Context]:
    clock: Clock = ManualClock() if settings.clock == "manual" else Clock()
    live = Live(node_id(settings))
    engine_lock = None
    if settings.role in ("all", "engine") and dialect_of(settings.database) == "sqlite":
        # One engine per SQLite file (store/engine_lock.py), checked before anything is written.
        engine_lock = EngineLock(sqlite_path(settings.database))
        engine_lock.take()
    settings, db, secret, dev = prepare(settings, clock.now_ms(), live)
    accounts = {a.id: a for a in settings.accounts}
    ids = IdFactory(clock)
    inbounds = InboundService(db, clock, ids, accounts, hooks=[auto_update_hook, ConversationInbound(ids)])
    messaging = Messaging(ids, accounts)
    simulator = engine = None
    if settings.role in ("all", "engine"):
        simulator = Simulator(db, clock, OutcomeRules.from_dict(settings.simulator or {}), announce_to=live.publish)
        engine = Engine(
            db,
            clock,
            accounts,
            node_id(settings),
            connectors(settings, db, clock, simulator),
            inbounds.receive,
            unknown_after_ms=settings.unknown_after_ms,
            callback_timeout=settings.callback_timeout,
            max_batch_recipients=settings.max_batch_recipients,
            callback_policy=TargetPolicy(settings.callbacks.allow, settings.callbacks.deny),
            due_work=[FanOut(ids, messaging)],
            retention_days=settings.retention.days,
            retention_interval=settings.retention.interval,
            retention_max_messages=settings.retention.max_messages,
        )
    wakeups: Wakeups = engine if engine is not None else NoEngine()
    ctx = Context(
        settings=settings,
        clock=clock,
        db=db,
        ids=ids,
        accounts=accounts,
        auth=Auth(accounts, secret, clock, settings.oauth_token_ttl),
        batches=BatchService(db, clock, ids, accounts, wakeups, settings.max_batch_recipients),
        reports=ReportService(db),
        inbounds=inbounds,
        groups=GroupService(db, clock, ids),
        wakeups=wakeups,
        conversation_messages=MessageService(db, clock, messaging, wakeups),
        conversation_batches=ConversationBatches(db, clock, ids, messaging, wakeups),
        conversation_apps=ConversationApps(db, clock, ids, accounts),
        conversation_contacts=ConversationContacts(db, clock, ids),
        conversation_webhooks=ConversationWebhooks(db, clock, ids),
        conversation_conversations=ConversationConversations(db, clock, ids),
        live=live,
        simulator=simulator,
        engine=engine,
        dev_account=dev,
        node_id=node_id(settings),
    )

    @asynccontextmanager
    async def lifespan(app):
        if engine_lock is not None:
            engine_lock.take()  # held since build(); taken again if an earlier lifespan ended
        await db.start()
        await live.start(relay(db))
        if engine is not None:
            await engine.start()
        try:
            yield
        finally:
            try:
                if engine is not None:
                    await engine.stop()
            finally:
                if engine_lock is not None:
                    engine_lock.release()
                await live.stop()
                await db.close()

    starlette_app = http_app.build(ctx, lifespan)
    templates = {getattr(r, "endpoint", None): getattr(r, "path", None) for r in reversed(starlette_app.routes)}
    served: Any = HttpMetrics(http_app.serve(starlette_app), templates.get)
    if settings.cors_origins:
        served = cors(served, settings.cors_origins)
    guarded = Guard(
        served,
        listen_host=settings.host,
        allowed_hosts=settings.allowed_hosts,
        control_token=settings.control_token,
        max_body_bytes=settings.max_body_bytes,
        max_inflight_body_bytes=settings.max_inflight_body_bytes,
    )
    return guarded, ctx  # type: ignore[return-value]


def cors(app: Any, origins: tuple[str, ...]) -> Any:
    """Browser pages of these origins may call the APIs: CORS headers on their responses, and
    their preflight OPTIONS requests answered (https://fetch.spec.whatwg.org/#http-cors-protocol).
    The headers a Sinch client sends are allowed; the ones it reads (Retry-After on a 429,
    WWW-Authenticate on a 401) are exposed."""
    from starlette.middleware.cors import CORSMiddleware

    class Cors(CORSMiddleware):
        def __getattr__(self, name: str) -> Any:  # the wrapped app's routes, state, ... (as the guard)
            return getattr(self.app, name)

    return Cors(
        app,
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        expose_headers=["Retry-After", "WWW-Authenticate", "Location", "X-Request-Id"],
        max_age=600,
    )


def connectors(settings: Settings, db: Database, clock: Clock, simulator: Simulator):
    """account -> connector: the shared simulator, or one SMPP connector per account."""
    cache: dict[str, Connector] = {}

    def connector_for(account: Account) -> Connector:
        if account.connector == "simulator":
            return simulator
        if account.id not in cache:
            from .connectors.smpp.connector import SmppConnector

            assert account.smpp is not None  # config.Account requires it for connector = "smpp"
            cache[account.id] = SmppConnector(account.id, account.smpp, db, clock)
        return cache[account.id]

    return connector_for
