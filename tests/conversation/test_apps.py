"""Conversation apps: create, update (update_mask), and what the Python SDK can read back."""

import json

import msgspec
import pytest

from openxms.conversation import apps as a
from openxms.conversation.fields import decode_object
from openxms.errors import InvalidRequest

APP_ID = "01K0APP0000000000000000000"
SMS = {"channel": "SMS", "static_bearer": {"claimed_identity": "plan-7", "token": "tok-7"}}


def create(**body):
    return a.new_app(
        a.decode_app_create(json.dumps({"display_name": "Shop", "channel_credentials": [SMS], **body}).encode()), APP_ID
    )


def as_json(app):
    return json.loads(msgspec.json.encode(app))


def bad(match, **body):
    with pytest.raises(InvalidRequest, match=match) as e:
        create(**body)
    assert e.value.status == 400
    return e.value.text


def test_minimal_create_returns_every_documented_field_with_defaults():
    assert as_json(create()) == {
        "id": APP_ID,
        "display_name": "Shop",
        "channel_credentials": [
            {
                "channel": "SMS",
                "static_bearer": {"claimed_identity": "plan-7", "token": "tok-7"},
                "callback_secret": "",
                "state": {"status": "ACTIVE", "description": ""},
                "channel_known_id": "",
                "credential_ordinal_number": 0,
            }
        ],
        "processing_mode": "DISPATCH",
        "conversation_metadata_report_view": "NONE",
        "rate_limits": {"inbound": 25, "outbound": 25, "webhooks": 25},
        "retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 180},
        "dispatch_retention_policy": {"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 0},
        "smart_conversation": {"enabled": False},
        "queue_stats": {"outbound_size": 0, "outbound_limit": 500000},
        "callback_settings": {"secret_for_overridden_callback_urls": ""},
        "delivery_report_based_fallback": {"enabled": False, "delivery_report_waiting_time": 0},
        "message_retry_settings": {"retry_duration": 3600},
    }


def test_the_python_sdk_create_body_with_options():
    # Recorded from sinch 2.3.0 apps.create(...) with options.
    raw = (
        b'{"channel_credentials":[{"callback_secret":"cs","channel":"SMS","static_bearer":{"claimed_identity":'
        b'"plan1","token":"tok1"}}],"conversation_metadata_report_view":"FULL","display_name":"Probe2",'
        b'"retention_policy":{"retention_type":"PERSIST_RETENTION_POLICY","ttl_days":30},"processing_mode":'
        b'"CONVERSATION","smart_conversation":{"enabled":false},"callback_settings":'
        b'{"secret_for_overridden_callback_urls":"sec"}}'
    )
    app = a.new_app(a.decode_app_create(raw), APP_ID)
    assert app.channel_credentials[0].callback_secret == "cs"
    assert app.conversation_metadata_report_view == "FULL" and app.processing_mode == "CONVERSATION"
    assert (app.retention_policy.retention_type, app.retention_policy.ttl_days) == ("PERSIST_RETENTION_POLICY", 30)
    assert app.callback_settings.secret_for_overridden_callback_urls == "sec"
    assert a.sms_credentials(app) == a.StaticBearer("plan1", "tok1") and a.channels(app) == ["SMS"]


def test_explicit_nulls_unknown_fields_and_read_only_fields_on_create():
    app = create(
        processing_mode=None,
        retention_policy=None,
        future_field={"x": 1},
        id="01XXXXXXXXXXXXXXXXXXXXXXXX",
        rate_limits={"inbound": 1},
        queue_stats={"outbound_size": 9},
        channel_credentials=[{**SMS, "state": {"status": "FAILING"}, "channel_known_id": "k", "callback_secret": None}],
    )
    assert app.id == APP_ID and app.processing_mode == "DISPATCH" and app.retention_policy.ttl_days == 180
    assert app.rate_limits == a.RateLimits() and app.queue_stats == a.QueueStats()
    c = app.channel_credentials[0]
    assert c.state.status == "ACTIVE" and c.channel_known_id == "" and c.callback_secret == ""


def test_required_fields():
    for body in (
        {"channel_credentials": [SMS]},
        {"display_name": "", "channel_credentials": [SMS]},
        {"display_name": None, "channel_credentials": [SMS]},
        {"display_name": 3, "channel_credentials": []},
    ):
        with pytest.raises(InvalidRequest, match="display_name is required"):
            a.decode_app_create(json.dumps(body).encode())
    for body in ({"display_name": "x"}, {"display_name": "x", "channel_credentials": None}):
        with pytest.raises(InvalidRequest, match="channel_credentials is required"):
            a.decode_app_create(json.dumps(body).encode())
    assert a.decode_app_create(b'{"display_name": "x", "channel_credentials": []}').channel_credentials == []
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        a.decode_app_create(b"{")


@pytest.mark.parametrize(
    "cred,match",
    [
        ({"static_bearer": {"claimed_identity": "p", "token": "t"}}, r"channel_credentials\[0\]\.channel is required"),
        ({**SMS, "channel": "FAX"}, r"channel_credentials\[0\]\.channel: invalid enum value 'FAX'"),
        ({"channel": "SMS"}, r"channel_credentials\[0\]\.static_bearer is required for channel SMS"),
        ({**SMS, "static_token": {"token": "x"}}, "exactly one credential object"),
        ({"channel": "SMS", "static_token": {"token": "x"}}, "channel SMS takes static_bearer, not static_token"),
        ({"channel": "SMS", "static_bearer": {"claimed_identity": "p"}}, r"static_bearer\.token is required"),
        (
            {"channel": "SMS", "static_bearer": {"claimed_identity": " ", "token": "t"}},
            r"static_bearer\.claimed_identity must not be empty",
        ),
        (
            {"channel": "SMS", "static_bearer": {"claimed_identity": "p", "token": 5}},
            r"static_bearer\.token: expected `str`",
        ),
        ({**SMS, "callback_secret": "s" * 257}, r"callback_secret is longer than 256"),
        ({**SMS, "credential_ordinal_number": 256}, r"credential_ordinal_number must be between 0 and 255"),
        ({**SMS, "static_bearer": "x"}, r"static_bearer: expected `object`"),
        ("SMS", r"channel_credentials\[0\]: expected `object`"),
    ],
)
def test_credential_errors(cred, match):
    bad(match, channel_credentials=[cred])


def test_a_channel_twice_is_refused_unless_ordinals_differ():
    bad(r"channel_credentials\[1\]: channel SMS is configured twice", channel_credentials=[SMS, SMS])
    line = {"channel": "LINE", "line_credentials": {"token": "t", "secret": "s"}}
    app = create(channel_credentials=[line, {**line, "credential_ordinal_number": 1}])
    assert len(app.channel_credentials) == 2


def test_other_channels_are_stored_as_given_and_pending():
    messenger = {"channel": "MESSENGER", "static_token": {"token": "pg", "extra": None, "n": 1}}
    line_ent = {"channel": "LINE", "line_enterprise_credentials": {"line_japan": {"token": "t"}, "is_default": True}}
    app = create(channel_credentials=[SMS, messenger, line_ent])
    out = as_json(app)["channel_credentials"]
    assert out[1]["static_token"] == {"token": "pg", "extra": None, "n": 1}
    assert out[1]["state"] == {"status": "PENDING", "description": ""}
    assert out[2]["line_enterprise_credentials"] == line_ent["line_enterprise_credentials"]
    assert "static_bearer" not in out[1] and a.channels(app) == ["SMS", "MESSENGER", "LINE"]
    assert (
        a.new_app(
            a.decode_app_create(json.dumps({"display_name": "x", "channel_credentials": [messenger]}).encode()),
            APP_ID,
            active_channels={"MESSENGER"},
        )
        .channel_credentials[0]
        .state.status
        == "ACTIVE"
    )
    assert a.sms_credentials(a.new_app(a.App(display_name="x"), APP_ID)) is None


@pytest.mark.parametrize(
    "body,match",
    [
        ({"processing_mode": "BATCH"}, "processing_mode: invalid enum value"),
        ({"conversation_metadata_report_view": "ALL"}, "conversation_metadata_report_view: invalid enum value"),
        ({"retention_policy": {"retention_type": "FOREVER"}}, r"retention_policy\.retention_type: invalid enum"),
        ({"retention_policy": {"ttl_days": 3651}}, r"retention_policy\.ttl_days must be between 1 and 3650"),
        ({"retention_policy": {"ttl_days": "180"}}, r"retention_policy\.ttl_days: expected `int`, got `str`"),
        (
            {"dispatch_retention_policy": {"retention_type": "CONVERSATION_EXPIRE_POLICY"}},
            r"dispatch_retention_policy\.retention_type: invalid enum",
        ),
        (
            {"dispatch_retention_policy": {"ttl_days": 8}},
            r"dispatch_retention_policy\.ttl_days must be between 0 and 7",
        ),
        ({"message_retry_settings": {"retry_duration": 29}}, "retry_duration must be between 30 and 3600"),
        ({"message_retry_settings": {"retry_duration": 3601}}, "retry_duration must be between 30 and 3600"),
        (
            {"delivery_report_based_fallback": {"enabled": True, "delivery_report_waiting_time": 9}},
            "delivery_report_waiting_time must be between 10 and 259200",
        ),
        ({"delivery_report_based_fallback": {"delivery_report_waiting_time": 259201}}, "delivery_report_waiting_time"),
        ({"smart_conversation": {"enabled": "yes"}}, r"smart_conversation\.enabled: expected `bool`"),
        ({"callback_settings": {"secret_for_overridden_callback_urls": 1}}, "secret_for_overridden_callback_urls"),
    ],
)
def test_field_errors(body, match):
    bad(match, **body)


def test_ranges_and_zero_means_unset():
    app = create(
        retention_policy={"ttl_days": 0},
        message_retry_settings={"retry_duration": 0},
        dispatch_retention_policy={"ttl_days": 7},
        delivery_report_based_fallback={"enabled": True},
    )
    assert app.retention_policy.ttl_days == 180 and app.message_retry_settings.retry_duration == 3600
    assert app.dispatch_retention_policy.ttl_days == 7
    assert app.delivery_report_based_fallback == a.DeliveryReportBasedFallback(True, 0)
    assert (
        create(
            retention_policy={"retention_type": "PERSIST_RETENTION_POLICY", "ttl_days": 99999}
        ).retention_policy.ttl_days
        == 99999
    )
    assert (
        create(
            retention_policy={"ttl_days": 3650},
            message_retry_settings={"retry_duration": 30},
            delivery_report_based_fallback={"delivery_report_waiting_time": 10},
        ).retention_policy.ttl_days
        == 3650
    )


# --- updates: the exact requests the SDKs send ---------------------------------------------


def update(app, body: bytes, mask):
    return a.apply_app_update(app, decode_object(body), mask)


def test_python_update_one_field():
    app = create(processing_mode="CONVERSATION")
    out = update(app, b'{"display_name": "New name"}', ["display_name"])
    assert out.display_name == "New name" and out.processing_mode == "CONVERSATION" and out.id == APP_ID
    assert app.display_name == "Shop"  # the stored object is not modified


def test_python_update_to_null_clears_the_field():
    out = update(create(), b'{"display_name": null}', ["display_name"])
    assert out.display_name == "" and out.channel_credentials == create().channel_credentials


def test_python_update_several_fields_in_model_order():
    cred = {"channel": "SMS", "static_bearer": {"claimed_identity": "plan-8", "token": "tok-8"}}
    body = json.dumps({"channel_credentials": [cred], "display_name": "N2", "processing_mode": "DISPATCH"}).encode()
    out = update(
        create(processing_mode="CONVERSATION"), body, ["channel_credentials", "display_name", "processing_mode"]
    )
    assert out.display_name == "N2" and out.processing_mode == "DISPATCH"
    assert a.sms_credentials(out) == a.StaticBearer("plan-8", "tok-8")
    assert out.channel_credentials[0].state.status == "ACTIVE"


def test_node_update_without_mask_writes_what_the_body_has():
    app = create(processing_mode="CONVERSATION", retention_policy={"ttl_days": 30})
    out = update(app, b'{"display_name":"New"}', None)
    assert out.display_name == "New" and out.processing_mode == "CONVERSATION" and out.retention_policy.ttl_days == 30
    out = update(app, b'{"retention_policy": null, "processing_mode": null}', None)
    assert out.retention_policy.ttl_days == 180 and out.processing_mode == "DISPATCH"


def test_node_update_with_mask_resets_listed_fields_missing_from_the_body():
    out = update(create(processing_mode="CONVERSATION"), b'{"display_name":"New"}', ["display_name", "processing_mode"])
    assert out.display_name == "New" and out.processing_mode == "DISPATCH"


def test_mask_outside_the_body_is_not_written():
    out = update(create(), b'{"display_name":"New", "processing_mode": "CONVERSATION"}', ["processing_mode"])
    assert out.display_name == "Shop" and out.processing_mode == "CONVERSATION"


def test_update_read_only_and_unknown():
    app = create()
    out = update(
        app,
        b'{"id": "01XXXXXXXXXXXXXXXXXXXXXXXX", "rate_limits": {"inbound": 1}, "queue_stats": null, "unknown": 1}',
        None,
    )
    assert out == app
    assert update(app, b'{"id": "X"}', ["id", "rate_limits"]) == app
    with pytest.raises(InvalidRequest, match="update_mask: unknown field 'colour'"):
        update(app, b"{}", ["colour"])


def test_update_nested_mask_path():
    app = create(retention_policy={"retention_type": "CONVERSATION_EXPIRE_POLICY", "ttl_days": 30})
    out = update(app, b'{"retention_policy": {"ttl_days": 60}}', ["retention_policy.ttl_days"])
    assert out.retention_policy == a.RetentionPolicy("CONVERSATION_EXPIRE_POLICY", 60)
    out = update(app, b'{"retention_policy": {"ttl_days": 60}}', ["retention_policy"])
    assert out.retention_policy == a.RetentionPolicy("MESSAGE_EXPIRE_POLICY", 60)  # the object is replaced


def test_update_is_validated_like_a_create():
    app = create()
    with pytest.raises(InvalidRequest, match="processing_mode: invalid enum value"):
        update(app, b'{"processing_mode": "X"}', ["processing_mode"])
    with pytest.raises(InvalidRequest, match=r"static_bearer\.token is required"):
        update(app, b'{"channel_credentials": [{"channel": "SMS", "static_bearer": {"claimed_identity": "p"}}]}', None)
    assert update(app, b'{"channel_credentials": null}', None).channel_credentials == []


# --- the Python SDK can read what we return ------------------------------------------------


def test_python_sdk_parses_the_app():
    from sinch.domains.conversation.models.v1.apps.response.app_custom_response import AppCustomResponse
    from sinch.domains.conversation.models.v1.apps.response.app_response import AppResponse

    messenger = {"channel": "MESSENGER", "static_token": {"token": "pg"}}
    body = as_json(create(channel_credentials=[SMS, messenger], processing_mode="CONVERSATION"))
    parsed = AppCustomResponse.model_validate(body)
    assert parsed.id == APP_ID and parsed.processing_mode == "CONVERSATION"
    assert (parsed.channel_credentials.sms.claimed_identity, parsed.channel_credentials.sms.token) == (
        "plan-7",
        "tok-7",
    )
    assert parsed.channel_credentials.sms.state.status == "ACTIVE"
    assert parsed.channel_credentials.messenger.token == "pg"
    assert parsed.retention_policy.ttl_days == 180 and parsed.rate_limits.events == 25
    assert parsed.event_destination_settings.secret_for_overridden_target == ""
    assert parsed.queue_stats.outbound_limit == 500000 and parsed.message_retry_settings.retry_duration == 3600
    plain = AppResponse.model_validate(body)
    assert plain.display_name == "Shop" and plain.dispatch_retention_policy.ttl_days == 0


def test_python_sdk_parses_the_app_list():
    from sinch.domains.conversation.models.v1.apps.internal.list_apps_custom_response import ListAppsCustomResponse

    parsed = ListAppsCustomResponse.model_validate(
        {"apps": [as_json(create()), as_json(a.new_app(a.App(display_name="Empty"), "01K0APP0000000000000000001"))]}
    )
    assert [x.display_name for x in parsed.content] == ["Shop", "Empty"]
