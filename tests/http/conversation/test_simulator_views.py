"""The simulator's read API for Conversation messages and batches (`/simulator/conversation/...`),
and the Conversation mark on handset messages, with messages made by really sending them through
the engine (SQLite and PostgreSQL)."""

from __future__ import annotations

import msgspec
import pytest
from starlette.testclient import TestClient

from openxms.http.simulator import HandsetMessages
from openxms.http.simulator_conversation import (
    SimConversationBatchDetail,
    SimConversationBatches,
    SimConversationMessages,
)
from openxms.sms import dates

from ..conftest import Api, make_api
from .support import BASIC, add_app, url

APP, APP2 = "01K0APP0000000000000000001", "01K0APP0000000000000000002"
B = "/conversationbatch/v1/projects/PROJ1/messages"
SENDER = {"SMS_SENDER": "+12025550100"}


@pytest.fixture
def conv(database_url, tmp_path):
    app, ctx = make_api(database_url, tmp_path)
    with TestClient(app) as client:
        api = Api(client, ctx)
        add_app(ctx, APP)
        add_app(ctx, APP2)
        token = client.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=BASIC).json()
        api.bearer = {"Authorization": f"Bearer {token['access_token']}"}
        yield api


def recipient(number: str) -> dict:
    return {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}}


def send(api, number: str, message: dict, app: str = APP, **extra) -> str:
    r = api.client.post(
        url("/messages:send"),
        headers=BASIC,
        json={"app_id": app, "recipient": recipient(number), "message": message, "channel_properties": SENDER, **extra},
    )
    assert r.status_code == 200, r.text
    return r.json()["message_id"]


def messages(api, status: int = 200, **params) -> dict:
    r = api.client.get("/simulator/conversation/messages", params=params)
    assert r.status_code == status, r.text
    if status == 200:
        msgspec.json.decode(r.content, type=SimConversationMessages, strict=True)  # as documented
    return r.json()


def batch_detail(api, batch_id: str) -> dict:
    r = api.client.get(f"/simulator/conversation/batches/{batch_id}")
    assert r.status_code == 200, r.text
    msgspec.json.decode(r.content, type=SimConversationBatchDetail, strict=True)
    return r.json()


def by_id(api, message_id: str) -> dict:
    return next(m for m in messages(api, limit=500)["messages"] if m["id"] == message_id)


def test_messages_newest_first_with_their_text_status_and_filters(conv):
    first = send(conv, "+12017771111", {"text_message": {"text": "Hello"}}, message_metadata="order-1")
    card = send(conv, "+12017772222", {"card_message": {"title": "Offer", "description": "20% off"}}, app=APP2)
    bad = send(conv, "+12017772222", {"template_message": {"omni_template": {"template_id": "nope", "version": "1"}}})
    conv.wait_for(lambda: by_id(conv, first)["status"] == "DELIVERED" and by_id(conv, card)["status"] == "DELIVERED")
    # the handset answers the last message it got from that number: a TO_APP message of APP2
    r = conv.client.post("/simulator/handsets/12017772222/messages", json={"to": "12025550100", "body": "YES"})
    assert r.status_code == 201, r.text

    got = messages(conv)
    assert got["next"] is None
    listed = got["messages"]
    assert [m["direction"] for m in listed] == ["TO_APP", "TO_CONTACT", "TO_CONTACT", "TO_CONTACT"]
    reply, failed, carded, hello = listed
    assert [failed["id"], carded["id"], hello["id"]] == [bad, card, first]
    assert hello == {
        **hello,
        "app_id": APP,
        "project_id": "PROJ1",
        "identity": "12017771111",
        "status": "DELIVERED",
        "content": "text_message",
        "text": "Hello",
        "metadata": "order-1",
        "batch_id": None,
    }
    assert carded["text"] == "Offer\n20% off" and carded["content"] == "card_message"  # as rendered for SMS
    assert failed["status"] == "FAILED" and failed["text"] is None and failed["content"] == "template_message"
    assert reply == {
        **reply,
        "app_id": APP2,
        "identity": "12017772222",
        "sender_id": "12025550100",
        "text": "YES",
        "content": "text_message",
        "status": None,
    }
    assert hello["accept_time"].endswith("Z")

    assert [m["id"] for m in messages(conv, app_id=APP2)["messages"]] == [reply["id"], card]
    assert [m["id"] for m in messages(conv, identity="+1 201 777 1111")["messages"]] == [first]
    assert messages(conv, app_id="01K0APP0000000000000000099")["messages"] == []

    # pages: `next` is the last id of a page, `after` continues from it
    seen, after = [], None
    while True:
        page = messages(conv, limit=3, **({"after": after} if after else {}))
        seen += [m["id"] for m in page["messages"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == [m["id"] for m in listed] and after == carded["id"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "x"},
        {"after": "a'b"},
        {"after": "x\x00"},
        {"app_id": "a" * 65},
        {"identity": "not-a-number"},
    ],
)
def test_bad_query_parameters_are_400s_in_the_simulators_format(conv, params):
    body = messages(conv, 400, **params)
    assert set(body) == {"code", "text"}


def test_a_handset_message_says_which_conversation_message_it_carries(conv):
    plain = conv.send(to=["+12017773333"], body="plain SMS")
    conv.wait_for(lambda: conv.client.get("/simulator/handsets/12017773333/messages").json()["messages"])
    mid = send(conv, "+12017773333", {"text_message": {"text": "From the app"}})
    got = conv.wait_for(
        lambda: (
            (m := conv.client.get("/simulator/handsets/12017773333/messages").json()["messages"])
            and len(m) == 2
            and m[0]["conversation"]["status"] == "DELIVERED"
            and m
        )
    )
    msgspec.json.decode(
        conv.client.get("/simulator/handsets/12017773333/messages").content, type=HandsetMessages, strict=True
    )
    app_msg, sms = got  # newest first
    assert sms["batch_id"] == plain["id"] and sms["conversation"] is None
    assert app_msg["body"] == "From the app" and app_msg["batch_id"] == mid
    assert app_msg["conversation"] == {
        "message_id": mid,
        "project_id": "PROJ1",
        "app_id": APP,
        "status": "DELIVERED",
        "batch_id": None,
    }
    # the long-poll answers with the same object
    waited = conv.client.get(
        "/simulator/handsets/12017773333/messages/wait", params={"after": sms["id"], "timeout": 1}
    ).json()
    assert waited["conversation"]["message_id"] == mid


def post_batch(api, numbers: list[str], **extra) -> str:
    body = {
        "app_id": APP,
        "message": {"text_message": {"text": "Hi ${name}"}},
        "channel_properties": {"SMS_SENDER": "12025550100"},
        "recipient_and_params": [
            {"recipient": recipient(n), "parameters": {"name": f"n{i}"}} for i, n in enumerate(numbers)
        ],
        "batch_metadata": {"campaign": "spring"},
        **extra,
    }
    r = api.client.post(B, json=body, headers=api.bearer)
    assert r.status_code == 200, r.text
    return r.json()["batch_id"]


def batches(api, **params) -> dict:
    r = api.client.get("/simulator/conversation/batches", params=params)
    assert r.status_code == 200, r.text
    msgspec.json.decode(r.content, type=SimConversationBatches, strict=True)
    return r.json()


def test_batches_with_counts_and_recipients(conv):
    sent = post_batch(conv, ["+12017771011", "+12017771012", "+12010000001"])  # ...0001 fails (absent subscriber)
    later = conv.ctx.clock.now_ms() + 3_600_000
    scheduled = post_batch(conv, ["+12017771021"], send_after=dates.format(later))
    conv.wait_for(lambda: batches(conv)["batches"][1]["counts"] == {"DELIVERED": 2, "FAILED": 1})
    conv.client.post("/simulator/handsets/12017771011/messages", json={"to": "12025550100", "body": "thanks"})

    listed = batches(conv)
    assert [b["id"] for b in listed["batches"]] == [scheduled, sent] and listed["next"] is None
    newest, done = listed["batches"]
    assert newest == {
        **newest,
        "status": "SCHEDULED",
        "counts": {},
        "recipient_count": 1,
        "replies": 0,
        "app_id": APP,
        "project_id": "PROJ1",
        "metadata": {"campaign": "spring"},
    }
    status = conv.client.get(f"{B}/{scheduled}", headers=conv.bearer).json()
    assert newest["send_after"][:19] == status["send_after"][:19] and newest["send_after"] > done["send_after"]
    assert done == {**done, "status": "PROCESSED", "recipient_count": 3, "replies": 1}

    d = batch_detail(conv, sent)
    assert [(r["identity"], r["status"], r["text"]) for r in d["recipients"]] == [
        ("12017771011", "DELIVERED", "Hi n0"),
        ("12017771012", "DELIVERED", "Hi n1"),
        ("12010000001", "FAILED", "Hi n2"),
    ]
    generated = {m["id"]: m for m in messages(conv, limit=500)["messages"] if m["batch_id"] == sent}
    assert [r["message_id"] for r in d["recipients"] if r["message_id"] not in generated] == []
    assert len(generated) == 4  # three sent, one reply

    # before its fan-out a batch lists the request's recipients, without message ids
    s = batch_detail(conv, scheduled)
    assert s["recipients"] == [
        {"identity": "12017771021", "contact_id": "", "message_id": None, "status": None, "text": None}
    ]
    conv.client.request("DELETE", B, json={"batch_id": scheduled}, headers=conv.bearer)
    assert batch_detail(conv, scheduled)["status"] == "CANCELLED"

    assert [b["id"] for b in batches(conv, limit=1)["batches"]] == [scheduled]
    assert batches(conv, limit=1)["next"] == scheduled
    assert [b["id"] for b in batches(conv, limit=1, after=scheduled)["batches"]] == [sent]
    assert batches(conv, app_id=APP2)["batches"] == []

    missing = conv.client.get("/simulator/conversation/batches/01NOPE0000000000000000000A")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert conv.client.get("/simulator/conversation/batches/bad%27id").status_code == 400
    assert conv.client.get("/simulator/conversation/batches", params={"limit": "201"}).status_code == 400
