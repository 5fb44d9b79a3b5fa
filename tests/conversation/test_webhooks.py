"""Webhooks: target, target_type, triggers, client credentials, updates."""

import json

import msgspec
import pytest

from openxms.conversation import webhooks as w
from openxms.conversation.fields import decode_object
from openxms.errors import InvalidRequest

APP = "01K0APP0000000000000000000"
WID = "01K0WH00000000000000000000"
BASE = {"app_id": APP, "target": "https://hooks.example/conv", "triggers": ["MESSAGE_DELIVERY"]}


def create(**body):
    return w.new_webhook(w.decode_webhook_create(json.dumps({**BASE, **body}).encode()), WID)


def test_node_create_body_and_defaults():
    hook = create(triggers=["MESSAGE_DELIVERY", "MESSAGE_INBOUND", "MESSAGE_SUBMIT"], secret="s3cret")
    assert json.loads(msgspec.json.encode(hook)) == {
        "id": WID,
        "app_id": APP,
        "target": "https://hooks.example/conv",
        "target_type": "HTTP",
        "secret": "s3cret",
        "triggers": ["MESSAGE_DELIVERY", "MESSAGE_INBOUND", "MESSAGE_SUBMIT"],
    }
    assert w.sends(hook, "MESSAGE_INBOUND") and not w.sends(hook, "CONTACT_CREATE")


def test_dismiss_sends_nothing():
    hook = create(target_type="DISMISS")
    assert hook.target_type == "DISMISS" and not w.sends(hook, "MESSAGE_DELIVERY")


def test_targets():
    assert create(target="http://127.0.0.1:9000/cb").target == "http://127.0.0.1:9000/cb"
    assert create(target=" https://a.example/x ").target == "https://a.example/x"
    assert len(create(target="https://a.example/" + "x" * (742 - 18)).target) == 742


@pytest.mark.parametrize(
    "body,match",
    [
        ({"target": None}, "target is required"),
        ({"target": ""}, "target is required"),
        ({"target": "hooks.example/conv"}, "target must be an http or https URL"),
        ({"target": "ftp://hooks.example/"}, "target must be an http or https URL"),
        ({"target": "https://a.example/" + "x" * (742 - 17)}, "target is longer than 742"),
        ({"target": "https://conversation-api.eu.sinch.com/x"}, "not allowed"),
        ({"target": "https://CONVERSATION-API.us.sinch.com/x"}, "not allowed"),
        ({"target_type": "EMAIL"}, "target_type: invalid enum value"),
        ({"triggers": []}, "at least one trigger"),
        ({"triggers": None}, "at least one trigger"),
        ({"triggers": ["UNSPECIFIED_TRIGGER"]}, r"triggers\[0\]: UNSPECIFIED_TRIGGER is not a trigger"),
        (
            {"triggers": ["MESSAGE_DELIVERY", "BATCH_STATUS_UPDATE"]},
            r"triggers\[1\]: unknown trigger 'BATCH_STATUS_UPDATE'",
        ),
        ({"triggers": "MESSAGE_DELIVERY"}, "triggers: expected `array`"),
        ({"app_id": None}, "app_id is required"),
        ({"app_id": "my-app"}, "app_id is not a valid id"),
        ({"secret": 1}, "secret: expected `str`"),
        ({"client_credentials": {"client_id": "c", "client_secret": "s"}}, r"client_credentials\.endpoint is required"),
        (
            {"client_credentials": {"client_id": "", "client_secret": "s", "endpoint": "https://a.b/t"}},
            r"client_credentials\.client_id is required",
        ),
        (
            {"client_credentials": {"client_id": "c", "client_secret": "s", "endpoint": "nowhere"}},
            r"client_credentials\.endpoint must be an http",
        ),
        (
            {
                "client_credentials": {
                    "client_id": "c",
                    "client_secret": "s",
                    "endpoint": "https://a.b/t",
                    "scope": "x" * 1025,
                }
            },
            r"client_credentials\.scope is longer than 1024",
        ),
        (
            {
                "client_credentials": {
                    "client_id": "c",
                    "client_secret": "s",
                    "endpoint": "https://a.b/t",
                    "response_type": "x" * 65,
                }
            },
            r"client_credentials\.response_type is longer than 64",
        ),
    ],
)
def test_errors(body, match):
    with pytest.raises(InvalidRequest, match=match):
        w.decode_webhook_create(json.dumps({**BASE, **body}).encode())


def test_triggers_deduplicated_and_every_known_trigger_accepted():
    from openxms.conversation.types import TRIGGERS

    assert create(triggers=list(TRIGGERS) + ["MESSAGE_DELIVERY"]).triggers == list(TRIGGERS)


def test_client_credentials():
    cc = {"client_id": "c", "client_secret": "s", "endpoint": "https://auth.example/token"}
    hook = create(client_credentials=cc)
    assert hook.client_credentials == w.ClientCredentials("c", "s", "https://auth.example/token", "", "", "BASIC")
    assert (
        create(client_credentials={**cc, "token_request_type": "FORM"}).client_credentials.token_request_type == "FORM"
    )
    # "If not set or unrecognized, BASIC is used."
    assert (
        create(client_credentials={**cc, "token_request_type": "JWT"}).client_credentials.token_request_type == "BASIC"
    )
    assert "client_credentials" not in json.loads(msgspec.json.encode(create()))


def update(hook, body: bytes, mask):
    return w.apply_webhook_update(hook, decode_object(body), mask)


def test_node_update_triggers():
    hook = create(secret="s")
    out = update(hook, b'{"triggers":["MESSAGE_SUBMIT"]}', ["triggers"])
    assert out.triggers == ["MESSAGE_SUBMIT"] and out.secret == "s" and out.id == WID and out.target == hook.target


def test_update_rules():
    cc = {"client_id": "c", "client_secret": "s", "endpoint": "https://auth.example/token"}
    hook = create(secret="s", client_credentials=cc)
    assert update(hook, b'{"secret": null}', None).secret == ""
    assert update(hook, b"{}", ["client_credentials"]).client_credentials is msgspec.UNSET
    assert update(hook, b'{"target_type": "DISMISS"}', None).target_type == "DISMISS"
    assert update(hook, b'{"app_id": "01K0APP0000000000000000009"}', None).app_id == APP  # fixed at creation
    assert update(hook, b"{}", ["app_id", "id"]) == hook
    with pytest.raises(InvalidRequest, match="target is required"):
        update(hook, b'{"target": null}', ["target"])
    with pytest.raises(InvalidRequest, match="at least one trigger"):
        update(hook, b"{}", ["triggers"])
    with pytest.raises(InvalidRequest, match=r"triggers\[0\]: UNSPECIFIED_TRIGGER"):
        update(hook, b'{"triggers": ["UNSPECIFIED_TRIGGER"]}', None)
    with pytest.raises(InvalidRequest, match="update_mask: unknown field 'url'"):
        update(hook, b"{}", ["url"])
