"""The official Sinch Python SDK against the real server process, both auth modes, every batch endpoint."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sinch.domains.sms.api.v1.exceptions import SmsException

from .conftest import PLAN, TOKEN, project_client


def test_send_get_list_update_replace_cancel_feedback(sdk):
    later = datetime.now(UTC) + timedelta(days=1)
    batch = sdk.sms.batches.send_sms(
        to=["+12017777777"],
        from_="+12015555555",
        body="Hi ${name}",
        parameters={"name": {"+12017777777": "John", "default": "there"}},
        delivery_report="full",
        send_at=later,
        feedback_enabled=True,
        client_reference="e2e",
    )
    assert batch.id and batch.to == ["12017777777"] and batch.type == "mt_text"
    assert batch.send_at is not None and batch.expire_at - batch.send_at == timedelta(days=3)

    got = sdk.sms.batches.get(batch_id=batch.id)
    assert got.id == batch.id and got.client_reference == "e2e"

    updated = sdk.sms.batches.update_sms(batch_id=batch.id, to_add=["+12018888888"], delivery_report="summary")
    assert updated.to == ["12017777777", "12018888888"] and updated.delivery_report == "summary"

    replaced = sdk.sms.batches.replace_sms(
        batch_id=batch.id, to=["+12019999999"], from_="x", body="new", send_at=later, feedback_enabled=True
    )
    assert replaced.id == batch.id and replaced.body == "new" and replaced.delivery_report == "none"

    canceled = sdk.sms.batches.cancel(batch_id=batch.id)
    assert canceled.canceled is True

    now_batch = sdk.sms.batches.send_sms(to=["+12017777777"], from_="x", body="now", feedback_enabled=True)
    assert sdk.sms.batches.send_delivery_feedback(batch_id=now_batch.id, recipients=["+12017777777"]) is None


def test_binary_and_dry_run(sdk):
    b = sdk.sms.batches.send_binary(
        to=["+12017777777"], from_="x", body=base64.b64encode(b"hello").decode(), udh="06050423F423F4"
    )
    assert b.type == "mt_binary" and b.udh == "06050423F423F4"
    dry = sdk.sms.batches.dry_run_sms(
        to=["+12017777777", "+12018888888"],
        from_="x",
        body="Hello ${n}!",
        parameters={"n": {"default": "you"}},
        per_recipient=True,
    )
    assert dry.number_of_recipients == 2 and dry.number_of_messages == 2
    assert dry.per_recipient[0].body == "Hello you!" and dry.per_recipient[0].encoding == "text"


def test_paginator_walks_every_page(sdk):
    ids = {
        sdk.sms.batches.send_sms(to=["+12017777777"], from_="x", body=f"m{i}", client_reference="pages").id
        for i in range(7)
    }
    page = sdk.sms.batches.list(page_size=3, client_reference="pages")
    assert len(page.content()) == 3 and page.has_next_page
    seen = [b.id for b in page.iterator()]
    assert len(seen) == 7 and set(seen) == ids


def test_errors_reach_the_sdk_as_sms_exceptions(sdk):
    with pytest.raises(SmsException) as e:
        sdk.sms.batches.get(batch_id="01XXXXXXXXXXXXXXXXXXXXXXXX")
    assert e.value.response_status_code == 404
    with pytest.raises(SmsException) as e:
        sdk.sms.batches.send_sms(to=[], from_="x", body="nobody")
    assert e.value.response_status_code == 400


def test_plain_http_and_expired_oauth_token_refresh(server):
    with server.http() as c:
        h = {"Authorization": f"Bearer {TOKEN}"}
        r = c.post(f"/xms/v1/{PLAN}/batches", json={"to": ["12017777777"], "body": "plain"}, headers=h)
        assert r.status_code == 201
        assert c.post(f"/xms/v1/{PLAN}/batches", content=b"{nope", headers=h).json()["code"] == "syntax_invalid_json"
        assert c.get(f"/xms/v1/{PLAN}/batches").status_code == 401
        assert c.get("/openapi.json").json()["openapi"] == "3.1.0"


def test_sdk_refreshes_an_expired_token(database_url, tmp_path):
    from .conftest import launch, stop

    s = launch(database_url, tmp_path, "--clock", "manual")
    try:
        client = project_client(s)
        client.sms.batches.send_sms(to=["+12017777777"], from_="x", body="first")
        httpx.post(s.url + "/clock/advance", json={"seconds": 3601})
        # the cached token is now expired: the SDK must get a 401 with "expired", refresh and retry
        b = client.sms.batches.send_sms(to=["+12017777777"], from_="x", body="second")
        assert b.body == "second"
    finally:
        stop(s)
