"""Conversations: create, update, metadata_json merge patch."""

import json

import msgspec
import pytest

from openxms.conversation import conversations as cv
from openxms.conversation.fields import decode_object
from openxms.errors import InvalidRequest

APP = "01K0APP0000000000000000000"
CON = "01K0CON0000000000000000000"
CNV = "01K0CNV0000000000000000000"


def create(**body):
    return cv.new_conversation(
        cv.decode_conversation_create(json.dumps({"app_id": APP, "contact_id": CON, **body}).encode()), CNV
    )


def test_create_defaults():
    assert json.loads(
        msgspec.json.encode(create(id="01XXXXXXXXXXXXXXXXXXXXXXXX", last_received="2020-01-01T00:00:00Z"))
    ) == {
        "id": CNV,
        "app_id": APP,
        "contact_id": CON,
        "active": True,
        "active_channel": "CHANNEL_UNSPECIFIED",
        "metadata": "",
        "metadata_json": {},
        "correlation_id": "",
        "last_received": "1970-01-01T00:00:00Z",
    }


def test_create_fields():
    x = create(active=False, active_channel="SMS", metadata="m", metadata_json={"a": {"b": None}}, correlation_id="c")
    assert (x.active, x.active_channel, x.metadata, x.metadata_json, x.correlation_id) == (
        False,
        "SMS",
        "m",
        {"a": {"b": None}},
        "c",
    )
    assert create(active=None).active is True


@pytest.mark.parametrize(
    "body,match",
    [
        ({"app_id": None}, "app_id is required"),
        ({"contact_id": ""}, "contact_id is required"),
        ({"app_id": "x"}, "app_id is not a valid id"),
        ({"active_channel": "FAX"}, "active_channel: invalid value"),
        ({"metadata": "m" * 1025}, "metadata is longer than 1024"),
        ({"correlation_id": "c" * 129}, "correlation_id is longer than 128"),
        ({"metadata_json": "{}"}, "metadata_json: expected `object`"),
        ({"active": "yes"}, "active: expected `bool`"),
    ],
)
def test_errors(body, match):
    with pytest.raises(InvalidRequest, match=match):
        cv.decode_conversation_create(json.dumps({"app_id": APP, "contact_id": CON, **body}).encode())


def update(x, body: bytes, mask=None, strategy="REPLACE"):
    return cv.apply_conversation_update(x, decode_object(body), mask, strategy)


def test_replace_and_merge_patch():
    x = create(metadata_json={"a": 1, "b": {"c": 2, "d": 3}})
    assert update(x, b'{"metadata_json":{"z":1}}').metadata_json == {"z": 1}
    assert update(
        x, b'{"metadata_json":{"b":{"c":null,"e":4},"a":null,"n":[1]}}', strategy="MERGE_PATCH"
    ).metadata_json == {"b": {"d": 3, "e": 4}, "n": [1]}
    assert update(x, b'{"metadata_json": null}', strategy="MERGE_PATCH").metadata_json == {}
    assert update(x, b'{"correlation_id": "c"}', strategy="MERGE_PATCH").metadata_json == x.metadata_json


def test_read_only_fields_stay():
    x = create()
    out = update(
        x,
        b'{"active": false, "app_id": "01K0APP0000000000000000009", "contact_id": "y", "id": "z",'
        b' "last_received": "2020-01-01T00:00:00Z", "metadata": "m"}',
    )
    assert out == msgspec.structs.replace(x, metadata="m")
    assert update(x, b"{}", ["active", "last_received"]) == x
    with pytest.raises(InvalidRequest, match="update_mask: unknown field"):
        update(x, b"{}", ["topic"])
    assert update(create(active_channel="SMS"), b"{}", ["active_channel"]).active_channel == "CHANNEL_UNSPECIFIED"


def test_merge_patch_rfc7386_examples():
    # RFC 7386 appendix A (a selection).
    assert cv.merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert cv.merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert cv.merge_patch({"a": "b"}, {"a": None}) == {}
    assert cv.merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert cv.merge_patch(["a", "b"], {"a": "b"}) == {"a": "b"}
    assert cv.merge_patch({"a": "foo"}, "bar") == "bar"
    assert cv.merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_strategy():
    assert cv.parse_strategy(None) == "REPLACE" and cv.parse_strategy("merge_patch") == "MERGE_PATCH"
    with pytest.raises(InvalidRequest, match="metadata_update_strategy"):
        cv.parse_strategy("APPEND")
