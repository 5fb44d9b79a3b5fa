"""Webhooks: create, list per app, read, update, delete.

A webhook belongs to an app of the project (404 otherwise) and an app has at most 5 ("up to 5
webhooks per app", the reference's Webhooks text,
https://developers.sinch.com/docs/conversation/api-reference/conversation/tag/Webhooks/):
the sixth is a 400. The count is taken with the app's row locked (PostgreSQL) inside the
write, so concurrent creates cannot pass the limit together.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...clock import Clock
from ...conversation.webhooks import (
    MAX_WEBHOOKS_PER_APP,
    Webhook,
    apply_webhook_update,
    decode_webhook_create,
    new_webhook,
)
from ...errors import InvalidRequest, NotFound
from ...ids import IdFactory
from ...store.conversation import webhooks as store
from ...store.db import Database, Tx
from .apps import get_app, request_body


def _object(row: store.WebhookRow) -> Webhook:
    return msgspec.json.decode(row.doc, type=Webhook)


def _doc(w: Webhook) -> str:
    return msgspec.json.encode(w).decode()


def _get(tx: Tx, project_id: str, webhook_id: str) -> store.WebhookRow:
    row = store.get(tx, project_id, webhook_id)
    if row is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return row


class WebhookService:
    def __init__(self, db: Database, clock: Clock, ids: IdFactory) -> None:
        self.db, self.clock, self.ids = db, clock, ids

    async def create(self, project_id: str, raw: bytes) -> Webhook:
        request_body(raw)
        webhook = new_webhook(decode_webhook_create(raw), self.ids.new())
        await self.db.write(self._create, project_id, webhook, self.clock.now_ms())
        return webhook

    @staticmethod
    def _create(tx: Tx, project_id: str, w: Webhook, now: int) -> None:
        get_app(tx, project_id, w.app_id, for_update=True)
        if store.count(tx, w.app_id) >= MAX_WEBHOOKS_PER_APP:
            raise InvalidRequest(
                f"app {w.app_id} already has {MAX_WEBHOOKS_PER_APP} webhooks, the most an app can have"
            )
        store.insert(tx, store.WebhookRow(w.id, project_id, w.app_id, now, _doc(w)))

    async def of_app(self, project_id: str, app_id: str) -> list[Webhook]:
        return [_object(r) for r in await self.db.read(self._of_app, project_id, app_id)]

    @staticmethod
    def _of_app(tx: Tx, project_id: str, app_id: str) -> list[store.WebhookRow]:
        get_app(tx, project_id, app_id)
        return store.of_app(tx, project_id, app_id)

    async def get(self, project_id: str, webhook_id: str) -> Webhook:
        return _object(await self.db.read(_get, project_id, webhook_id))

    async def update(self, project_id: str, webhook_id: str, raw: bytes, update_mask: list[str] | None) -> Webhook:
        body = request_body(raw)
        return await self.db.write(self._update, project_id, webhook_id, body, update_mask)

    @staticmethod
    def _update(
        tx: Tx, project_id: str, webhook_id: str, body: dict[str, Any], update_mask: list[str] | None
    ) -> Webhook:
        webhook = apply_webhook_update(_object(_get(tx, project_id, webhook_id)), body, update_mask)
        store.update(tx, webhook_id, _doc(webhook))
        return webhook

    async def delete(self, project_id: str, webhook_id: str) -> None:
        if not await self.db.write(store.delete, project_id, webhook_id):
            raise NotFound(f"webhook {webhook_id} not found")
