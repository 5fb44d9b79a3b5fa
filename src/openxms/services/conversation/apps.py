"""Conversation apps: create, read, update, delete, and the apps configured at start-up.

An app's SMS channel is one of our service plans: its credential is
`static_bearer {claimed_identity: <service plan id>, token: <that plan's API token>}`, as in
Sinch's own "create an SMS app" example
(https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/App/), and the
token proves the caller may send through the plan. The binding is stored beside the app
(`conv_apps.plan_id`): it is what the message path routes on. Credentials of other channels are
kept as given; nothing is delivered on them.

Also here, for every resource service: `request_body`, the one gate a request body passes
before the recursive rules of `conversation/` (null stripping, conversion, update masks, merge
patches) walk it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from ...clock import Clock
from ...config import Account, ConfigError, ConversationApp
from ...conversation import fields as f
from ...conversation.apps import App, ChannelCredential, StaticBearer, apply_app_update, decode_app_create, new_app
from ...errors import InvalidRequest, NotFound
from ...ids import IdFactory
from ...store.conversation import apps as store
from ...store.db import Database, Tx

# JSON nesting a request body may have. No Conversation object nests beyond a few levels; free
# JSON (`metadata_json`) gets room. The JSON decoder itself accepts about Python's recursion
# limit (1000), and the recursive walks after it need several frames per level.
MAX_DEPTH = 32


def request_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object (400 if it is not one), nested at most MAX_DEPTH levels (400)."""
    try:
        body = f.decode_object(raw)
    except RecursionError:
        body = None
    if body is None or _depth(body) > MAX_DEPTH:
        raise InvalidRequest(f"request body is nested deeper than {MAX_DEPTH} levels")
    return body


def _depth(value: Any) -> int:
    """How deep arrays and objects nest in a decoded JSON value (iteratively: any depth)."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_DEPTH:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((c, depth + 1) for c in children)
    return deepest


def _object(row: store.AppRow) -> App:
    return msgspec.json.decode(row.doc, type=App)


def _doc(app: App) -> str:
    return msgspec.json.encode(app).decode()


def unknown_app(app_id: str) -> NotFound:
    return NotFound(f"app {app_id} not found")


def get_app(tx: Tx, project_id: str, app_id: str, *, for_update: bool = False) -> store.AppRow:
    """The project's app, or 404 (another project's app is as unknown as a missing one)."""
    row = store.get(tx, project_id, app_id, for_update=for_update)
    if row is None:
        raise unknown_app(app_id)
    return row


def _sms(app: App) -> list[tuple[int, ChannelCredential]]:
    return [(i, c) for i, c in enumerate(app.channel_credentials) if c.channel == "SMS"]


def bound_plan(app: App, plans: Mapping[str, Account]) -> str | None:
    """The service plan the app's SMS credential names, checked against the plan's API token;
    None when the app has no SMS channel. 400 when the plan or token is wrong, without saying
    which (a wrong token must not confirm that a plan id exists)."""
    sms = _sms(app)
    if not sms:
        return None
    if len(sms) > 1:
        raise InvalidRequest("channel_credentials: an app has one SMS channel (one service plan)")
    i, c = sms[0]
    bearer = c.static_bearer
    assert isinstance(bearer, StaticBearer)  # the only credential SMS takes (conversation/apps.py)
    plan = plans.get(bearer.claimed_identity)
    if plan is None or not hmac.compare_digest(bearer.token.encode(), (plan.token or "").encode()):
        raise InvalidRequest(
            f"channel_credentials[{i}].static_bearer: claimed_identity must be a service plan id "
            "and token that plan's API token"
        )
    return plan.id


class AppService:
    def __init__(self, db: Database, clock: Clock, ids: IdFactory, accounts: Mapping[str, Account]) -> None:
        self.db, self.clock, self.ids = db, clock, ids
        self.plans = {a.id: a for a in accounts.values() if a.kind == "plan"}

    async def create(self, project_id: str, raw: bytes) -> App:
        request_body(raw)
        app = new_app(decode_app_create(raw), self.ids.new())
        plan_id = bound_plan(app, self.plans)
        row = store.AppRow(app.id, project_id, plan_id, self.clock.now_ms(), _doc(app))
        await self.db.write(store.insert, row)
        return app

    async def query(self, project_id: str) -> list[App]:
        return [_object(r) for r in await self.db.read(store.list_all, project_id)]

    async def get(self, project_id: str, app_id: str) -> App:
        return _object(await self.db.read(get_app, project_id, app_id))

    async def update(self, project_id: str, app_id: str, raw: bytes, update_mask: list[str] | None) -> App:
        body = request_body(raw)
        return await self.db.write(self._update, project_id, app_id, body, update_mask)

    def _update(self, tx: Tx, project_id: str, app_id: str, body: dict, update_mask: list[str] | None) -> App:
        row = get_app(tx, project_id, app_id, for_update=True)
        old = _object(row)
        app = apply_app_update(old, body, update_mask)
        plan_id = row.plan_id
        # The binding is checked when the SMS credential changes: a plan whose token was rotated
        # in the configuration keeps its apps until they are given the new token.
        if [c for _, c in _sms(app)] != [c for _, c in _sms(old)]:
            plan_id = bound_plan(app, self.plans)
        store.update(tx, app_id, plan_id, _doc(app))
        return app

    async def delete(self, project_id: str, app_id: str) -> None:
        if not await self.db.write(store.delete, project_id, app_id):
            raise unknown_app(app_id)


def provision(tx: Tx, apps: Iterable[ConversationApp], accounts: Mapping[str, Account], now: int) -> None:
    """Start-up: each configured app exists, owned by its project, its SMS channel the configured
    plan with that plan's current token. Only what the configuration says is written: an
    existing app keeps its other channels, and its name and mode unless they are configured."""
    for cfg in apps:
        plan = accounts[cfg.plan]  # config.load checked it names a service plan
        sms = ChannelCredential(channel="SMS", static_bearer=StaticBearer(cfg.plan, plan.token or ""))
        row = store.get_any(tx, cfg.id)
        if row is None:
            app = new_app(
                App(
                    display_name=cfg.display_name or cfg.id,
                    channel_credentials=[sms],
                    processing_mode=cfg.processing_mode or "DISPATCH",
                ),
                cfg.id,
            )
            store.insert(tx, store.AppRow(cfg.id, cfg.project, cfg.plan, now, _doc(app)))
            continue
        if row.project_id != cfg.project:
            raise ConfigError(
                f"conversation app {cfg.id} belongs to project {row.project_id} in the database, not {cfg.project}"
            )
        app = _object(row)
        creds = [c for c in app.channel_credentials if c.channel != "SMS"]
        at = next((i for i, c in enumerate(app.channel_credentials) if c.channel == "SMS"), 0)
        creds.insert(min(at, len(creds)), sms)
        changes: dict = {"channel_credentials": creds}
        if cfg.display_name is not None:
            changes["display_name"] = cfg.display_name
        if cfg.processing_mode is not None:
            changes["processing_mode"] = cfg.processing_mode
        app = new_app(msgspec.structs.replace(app, **changes), cfg.id)
        store.update(tx, cfg.id, cfg.plan, _doc(app))
