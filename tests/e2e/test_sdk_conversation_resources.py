"""The Sinch Python SDK (`sinch` 2.3.0) managing Conversation apps and contacts on the real server:
every call as the SDK really sends it (recorded from its HTTP session), and what comes back."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import KEY_ID, KEY_SECRET, PLAN, PROJECT, TOKEN

P = f"/v1/projects/{PROJECT}"


class Recorder:
    """What the SDK put on the wire: a response hook on its own requests session."""

    def __init__(self, client) -> None:
        self.calls: list[tuple[str, str, object]] = []
        self.schemes: list[str] = []  # the Authorization scheme of each call
        client.configuration.transport.http_session.hooks["response"].append(self._record)

    def _record(self, response, *args, **kwargs) -> None:
        req = response.request
        parts = urlsplit(req.url)
        body = req.body.decode() if isinstance(req.body, bytes) else req.body
        try:
            body = json.loads(body) if body else None
        except ValueError:
            pass  # the token request's form body
        self.calls.append((req.method, parts.path + (f"?{parts.query}" if parts.query else ""), body))
        self.schemes.append(req.headers.get("Authorization", "").partition(" ")[0])

    def last(self) -> tuple[str, str, object]:
        return self.calls[-1]

    def api(self) -> list[tuple[str, str, object]]:
        return [c for c in self.calls if c[1] != "/oauth2/token"]


def conversation_client(server):
    from sinch import SinchClient

    client = SinchClient(project_id=PROJECT, key_id=KEY_ID, key_secret=KEY_SECRET, conversation_region="eu")
    client.configuration.auth_origin = server.url
    client.configuration.conversation_domain = server.url
    return client, Recorder(client)


def test_apps_lifecycle_with_the_sdk(server):
    from sinch.domains.conversation.api.v1.exceptions import ConversationException

    client, rec = conversation_client(server)
    apps = client.conversation.apps
    a = apps.create(
        display_name="Shop",
        channel_credentials={"SMS": {"claimed_identity": PLAN, "token": TOKEN}},
        processing_mode="CONVERSATION",
        retention_policy={"retention_type": "PERSIST_RETENTION_POLICY", "ttl_days": 30},
        event_destination_settings={"secret_for_overridden_target": "sec"},
    )
    method, path, body = rec.last()
    assert (method, path) == ("POST", f"{P}/apps")
    assert body["channel_credentials"] == [
        {"channel": "SMS", "static_bearer": {"claimed_identity": PLAN, "token": TOKEN}}
    ]
    assert body["callback_settings"] == {"secret_for_overridden_callback_urls": "sec"}
    assert a.display_name == "Shop" and a.processing_mode == "CONVERSATION" and len(a.id) == 26
    assert a.channel_credentials.sms.claimed_identity == PLAN and a.channel_credentials.sms.state.status == "ACTIVE"
    assert a.retention_policy.ttl_days == 30 and a.event_destination_settings.secret_for_overridden_target == "sec"

    assert [x.id for x in apps.list().iterator()] == [a.id]
    assert rec.last()[:2] == ("GET", f"{P}/apps")
    assert apps.get(app_id=a.id).display_name == "Shop"

    u = apps.update(app_id=a.id, display_name="New name")
    assert rec.last() == ("PATCH", f"{P}/apps/{a.id}?update_mask=display_name", {"display_name": "New name"})
    assert u.display_name == "New name" and u.processing_mode == "CONVERSATION"
    u = apps.update(app_id=a.id, display_name=None)  # null in the mask: cleared
    assert rec.last() == ("PATCH", f"{P}/apps/{a.id}?update_mask=display_name", {"display_name": None})
    assert u.display_name == "" and apps.get(app_id=a.id).display_name == ""
    u = apps.update(
        app_id=a.id,
        display_name="N2",
        processing_mode="DISPATCH",
        channel_credentials={"SMS": {"claimed_identity": PLAN, "token": TOKEN}},
    )
    assert rec.last()[1] == f"{P}/apps/{a.id}?update_mask=channel_credentials%2Cdisplay_name%2Cprocessing_mode"
    assert (u.display_name, u.processing_mode, u.retention_policy.ttl_days) == ("N2", "DISPATCH", 30)

    with pytest.raises(ConversationException, match="INVALID_ARGUMENT"):
        apps.create(display_name="x", channel_credentials={"SMS": {"claimed_identity": PLAN, "token": "wrong"}})
    assert apps.delete(app_id=a.id) is None
    assert rec.last()[:2] == ("DELETE", f"{P}/apps/{a.id}")
    with pytest.raises(ConversationException, match="NOT_FOUND"):
        apps.get(app_id=a.id)
    assert list(apps.list().iterator()) == []


def test_contacts_lifecycle_and_paging_with_the_sdk(server):
    from sinch.domains.conversation.api.v1.exceptions import ConversationException

    client, rec = conversation_client(server)
    contacts = client.conversation.contacts
    c = contacts.create(
        channel_identities=[{"channel": "SMS", "identity": "46701234567"}],
        language="EN_US",
        display_name="Ann",
        metadata="m",
    )
    assert rec.last() == (
        "POST",
        f"{P}/contacts",
        {
            "channel_identities": [{"channel": "SMS", "identity": "46701234567"}],
            "language": "EN_US",
            "display_name": "Ann",
            "metadata": "m",
        },
    )
    assert (c.display_name, c.metadata, c.channel_identities[0].identity) == ("Ann", "m", "46701234567")
    more = [
        contacts.create(channel_identities=[{"channel": "SMS", "identity": f"+4670123456{i}"}], language="SV").id
        for i in range(8, 10)
    ]

    page = contacts.list(page_size=2)
    assert rec.last()[1] == f"{P}/contacts?page_size=2"
    assert [x.id for x in page.content()] == [c.id, more[0]] and page.has_next_page
    page2 = page.next_page()
    path = rec.last()[1]
    assert path.startswith(f"{P}/contacts?page_size=2&page_token=")
    assert [x.id for x in page2.content()] == [more[1]] and not page2.has_next_page
    assert [x.id for x in contacts.list(page_size=1).iterator()] == [c.id, *more]

    found = contacts.list(page_size=5, channel="SMS", identity="46701234567")
    assert rec.last()[1] == f"{P}/contacts?page_size=5&channel=SMS&identity=46701234567"
    assert [x.id for x in found.content()] == [c.id]
    assert contacts.get(contact_id=c.id).display_name == "Ann"

    u = contacts.update(contact_id=c.id, display_name="Bob", channel_priority=["SMS"])
    assert rec.last() == (
        "PATCH",
        f"{P}/contacts/{c.id}?update_mask=channel_priority%2Cdisplay_name",
        {"channel_priority": ["SMS"], "display_name": "Bob"},
    )
    assert (u.display_name, u.channel_priority, u.metadata) == ("Bob", ["SMS"], "m")
    contacts.update(contact_id=c.id, email="a@example.com")
    u = contacts.update(contact_id=c.id, email=None)
    assert rec.last() == ("PATCH", f"{P}/contacts/{c.id}?update_mask=email", {"email": None})
    assert u.email == "" and u.display_name == "Bob"

    merged = contacts.merge_contact(destination_id=c.id, source_id=more[0])
    assert rec.last() == ("POST", f"{P}/contacts/{c.id}:merge", {"source_id": more[0]})
    assert merged.id == c.id and merged.language == "EN_US"
    with pytest.raises(ConversationException, match="NOT_FOUND"):
        contacts.get(contact_id=more[0])

    assert contacts.delete(contact_id=c.id) is None
    assert rec.last()[:2] == ("DELETE", f"{P}/contacts/{c.id}")
    with pytest.raises(ConversationException, match="NOT_FOUND"):
        contacts.get(contact_id=c.id)
    with pytest.raises(ConversationException, match="ALREADY_EXISTS"):
        contacts.create(channel_identities=[{"channel": "SMS", "identity": "+46701234569"}], language="SV")
    # one token (Basic key:secret), then Bearer on every call
    assert [c[1] for c in rec.calls].count("/oauth2/token") == 1 and rec.calls[0][1] == "/oauth2/token"
    assert rec.schemes[0] == "Basic" and set(rec.schemes[1:]) == {"Bearer"}


def test_the_sdk_refreshes_an_expired_token(manual_server):
    client, rec = conversation_client(manual_server)
    client.conversation.contacts.create(
        channel_identities=[{"channel": "SMS", "identity": "46701234567"}], language="EN_US"
    )
    assert [c[1] for c in rec.calls].count("/oauth2/token") == 1
    r = httpx.post(manual_server.url + "/clock/advance", json={"seconds": 3601})
    assert r.status_code == 200, r.text
    assert [x.identity for x in client.conversation.contacts.list().content()[0].channel_identities] == ["46701234567"]
    # the 401 (WWW-Authenticate: ... expired) made it fetch a new token and retry once
    paths = [c[1] for c in rec.calls]
    assert paths[-3:] == [f"{P}/contacts", "/oauth2/token", f"{P}/contacts"]
