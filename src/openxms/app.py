"""Wiring only: settings -> store -> services -> engine -> HTTP app."""

from __future__ import annotations

import json
import logging
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.applications import Starlette

from .clock import Clock, ManualClock
from .config import Account, Settings
from .connectors.base import Inbound
from .connectors.outcomes import OutcomeRules
from .connectors.simulator import Simulator
from .engine import Engine
from .http import app as http_app
from .ids import IdFactory
from .services.auth import Auth
from .services.batches import BatchService
from .services.groups import GroupService, auto_update_hook
from .services.inbounds import InboundService
from .services.reports import ReportService
from .store import meta, schema
from .store.db import Database

log = logging.getLogger("openxms")


@dataclass
class Context:
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
    simulator: Simulator | None = None
    engine: Engine | None = None
    dev_account: Account | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def notify(self, account_id: str) -> None:
        """Wake the engine: new queued work for `account_id` ("" = a new schedule)."""
        if self.engine is not None:
            self.engine.notify(account_id)

    async def engine_inbound(self, mo: Inbound) -> dict:
        if self.engine is not None:
            return await self.engine.inbound(mo)
        return await self.inbounds.receive(mo)


def _dev_plan(tx) -> str:
    return meta.get_or_create(tx, "dev_service_plan", lambda: json.dumps(
        {"id": "dev" + secrets.token_hex(6), "token": secrets.token_hex(16)}))


def prepare(settings: Settings) -> tuple[Settings, Database, str, Account | None]:
    """Synchronous start-up: migrate, make the dev plan and OAuth secret if needed."""
    db = Database(settings.database, sqlite_synchronous=settings.sqlite_synchronous)
    applied = schema.migrate(db)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    secret = db.run_sync(meta.get_or_create, "oauth_secret", lambda: secrets.token_hex(32))
    dev = None
    if not settings.accounts:
        d = json.loads(db.run_sync(_dev_plan))
        dev = Account(id=d["id"], kind="plan", token=d["token"])
        settings = msgspec.structs.replace(settings, accounts=(dev,))
    return settings, db, secret, dev


def build(settings: Settings) -> tuple[Starlette, Context]:
    settings, db, secret, dev = prepare(settings)
    clock: Clock = ManualClock() if settings.clock == "manual" else Clock()
    accounts = {a.id: a for a in settings.accounts}
    ids = IdFactory(clock)
    ctx = Context(settings=settings, clock=clock, db=db, ids=ids, accounts=accounts,
                  auth=Auth(accounts, secret, clock, settings.oauth_token_ttl),
                  batches=BatchService(db, clock, ids, accounts), reports=ReportService(db),
                  inbounds=InboundService(db, clock, ids, accounts), groups=GroupService(db, clock, ids),
                  dev_account=dev)
    ctx.inbounds.hooks.append(auto_update_hook)
    ctx.batches.notify = ctx.notify
    run_engine = settings.role in ("all", "engine")
    if run_engine:
        ctx.simulator = Simulator(db, clock, OutcomeRules.from_dict(settings.simulator or {}))
        connectors = build_connectors(settings, ctx)
        ctx.engine = Engine(settings, db, clock, accounts, connectors, ctx.inbounds.receive)

    @asynccontextmanager
    async def lifespan(app):
        await db.start()
        if ctx.engine is not None:
            await ctx.engine.start()
        try:
            yield
        finally:
            if ctx.engine is not None:
                await ctx.engine.stop()
            await db.close()

    return http_app.build(ctx, lifespan), ctx


def build_connectors(settings: Settings, ctx: Context):
    """account -> connector: the shared simulator, or one SMPP connector per account."""
    cache: dict[str, Any] = {}

    def connector_for(account: Account):
        if account.connector == "simulator":
            return ctx.simulator
        if account.id not in cache:
            from .connectors.smpp.connector import SmppConnector

            cache[account.id] = SmppConnector(account.id, account.smpp, ctx.db, ctx.clock)
        return cache[account.id]

    return connector_for
