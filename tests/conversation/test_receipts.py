"""SMS outcome -> Conversation receipt, and the callback bodies, parsed by the official Python SDK."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from openxms.conversation import receipts as r
from openxms.conversation.messages import AppMessage, TextMessage
from openxms.conversation.types import REASON_CODES, ChannelIdentity, Reason
from openxms.engine.callbacks import sign
from openxms.sms import statuses as st

APP, PROJECT = "01K0APP0000000000000000000", "proj1"
MSG, CONV, CONTACT = "01K0MSG0000000000000000000", "01K0CNV0000000000000000000", "01K0CON0000000000000000000"
SMS = ChannelIdentity(channel="SMS", identity="46701234567")
T0 = 1_772_359_202_100  # 2026-03-01T10:00:02.100Z
T1 = 1_772_359_202_500


# --- the mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, code, expected",
    [
        ("Queued", 400, None),
        ("Dispatched", 401, ("QUEUED_ON_CHANNEL", None)),
        ("Delivered", 0, ("DELIVERED", None)),
        ("DELIVERED", 0, ("DELIVERED", None)),  # any case, as the SMS API accepts
        ("Unknown", 401, None),
        ("Expired", 201, ("FAILED", "DELIVERY_TIMED_OUT")),
        ("Expired", 150, ("FAILED", "DELIVERY_TIMED_OUT")),  # the status decides, not the code
        ("Expired", None, ("FAILED", "DELIVERY_TIMED_OUT")),
        ("Rejected", 408, ("FAILED", "CHANNEL_REJECT")),
        ("Rejected", 999, ("FAILED", "CHANNEL_REJECT")),
        ("Rejected", 150, ("FAILED", "RECIPIENT_INVALID_CHANNEL_IDENTITY")),
        ("Rejected", 61, ("FAILED", "DELIVERY_REJECTED_DUE_TO_POLICY")),
        ("Failed", 153, ("FAILED", "RECIPIENT_NOT_REACHABLE")),
        ("Failed", 100, ("FAILED", "RECIPIENT_INVALID_CHANNEL_IDENTITY")),
        ("Failed", 15, ("FAILED", "DELIVERY_REJECTED_DUE_TO_POLICY")),
        ("Failed", None, ("FAILED", "RECIPIENT_NOT_REACHABLE")),
        ("Deleted", 150, ("FAILED", "RECIPIENT_INVALID_CHANNEL_IDENTITY")),
        ("Deleted", 5, ("FAILED", "RECIPIENT_NOT_REACHABLE")),
        ("Aborted", 402, ("FAILED", "RECIPIENT_NOT_REACHABLE")),
        ("Aborted", 403, ("FAILED", "INTERNAL_ERROR")),
        ("Aborted", 404, ("FAILED", "CHANNEL_FAILURE")),
        ("Aborted", 405, ("FAILED", "BAD_REQUEST")),
        ("Aborted", 406, ("FAILED", "DELIVERY_TIMED_OUT")),
        ("Aborted", 408, ("FAILED", "CHANNEL_REJECT")),
        ("Aborted", 410, ("FAILED", "CHANNEL_BAD_CONFIGURATION")),
        ("Aborted", 411, ("FAILED", "BAD_REQUEST")),
        ("Aborted", 412, ("FAILED", "CHANNEL_BAD_CONFIGURATION")),
        ("Aborted", 413, ("FAILED", "NO_PERMISSION")),
        ("Aborted", 499, ("FAILED", "RECIPIENT_NOT_REACHABLE")),
        ("Cancelled", 407, ("FAILED", "UNKNOWN")),
        ("Failed", 414, ("FAILED", "MEDIA_NOT_REACHABLE")),
        ("Rejected", 415, ("FAILED", "CHANNEL_REJECT")),
        ("Failed", 416, ("FAILED", "UNSUPPORTED_OPERATION")),
        ("Failed", 417, ("FAILED", "RECIPIENT_NOT_REACHABLE")),
        ("Failed", 418, ("FAILED", "MEDIA_TYPE_UNSUPPORTED")),
    ],
)
def test_sms_outcome_to_receipt(status, code, expected):
    out = r.from_sms(status, code)
    if expected is None:
        assert out is None
        return
    assert out.status == expected[0]
    assert (out.reason.code if out.reason else None) == expected[1]


def test_every_sms_status_and_code_maps():
    for status in st.ALL:
        for code in (None, 0, *st.STATUS_OF_CODE, 15, 150, 153, 999):
            out = r.from_sms(status, code)
            assert out is None or (out.status == "FAILED") == (out.reason is not None)
            assert out is None or out.reason is None or out.reason.code in REASON_CODES
    for code, status in st.STATUS_OF_CODE.items():  # the codes our engine writes, with their statuses
        out = r.from_sms(status, code)
        if status == st.QUEUED:
            assert out is None
        elif status == st.DISPATCHED:
            assert out == r.Outcome("QUEUED_ON_CHANNEL")
        else:
            assert out.status == "FAILED" and f"code {code}" in out.reason.description


def test_reason_description_names_the_sms_outcome():
    assert r.from_sms("Aborted", 411).reason == Reason(
        "BAD_REQUEST", "SMS Aborted, code 411 (more parts than SMS_MAX_NUMBER_OF_MESSAGE_PARTS)"
    )
    assert r.from_sms("Failed", 153).reason.description == "SMS Failed, code 153"
    assert r.from_sms("Failed", None).reason.description == "SMS Failed"
    assert r.from_sms("Deleted", 150).reason.description == "SMS Deleted, code 150 (invalid number)"


def test_not_an_sms_status():
    with pytest.raises(ValueError, match="not an SMS status"):
        r.from_sms("Sent", 0)


# --- payloads ----------------------------------------------------------------------------------


def test_delivery_event_shape():
    body = r.delivery_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        status="FAILED",
        channel_identity=SMS,
        accepted_ms=T1,
        event_ms=T0,
        reason=Reason("RECIPIENT_NOT_REACHABLE", "handset off"),
        conversation_id=CONV,
        contact_id=CONTACT,
        metadata="order-42",
        processing_mode="CONVERSATION",
        correlation_id="corr-9",
    )
    assert body == {
        "app_id": APP,
        "project_id": PROJECT,
        "accepted_time": "2026-03-01T10:00:02.500Z",
        "event_time": "2026-03-01T10:00:02.100Z",
        "message_metadata": "",
        "correlation_id": "corr-9",
        "message_delivery_report": {
            "message_id": MSG,
            "conversation_id": CONV,
            "status": "FAILED",
            "channel_identity": {"channel": "SMS", "identity": "46701234567", "app_id": ""},
            "contact_id": CONTACT,
            "metadata": "order-42",
            "processing_mode": "CONVERSATION",
            "reason": {
                "code": "RECIPIENT_NOT_REACHABLE",
                "description": "handset off",
                "sub_code": "UNSPECIFIED_SUB_CODE",
            },
        },
    }
    assert json.loads(r.encode(body)) == body


def test_reason_only_when_failing():
    common = dict(app_id=APP, project_id=PROJECT, message_id=MSG, channel_identity=SMS, accepted_ms=T1, event_ms=T0)
    for status in ("QUEUED_ON_CHANNEL", "DELIVERED", "READ"):
        report = r.delivery_event(status=status, reason=Reason("UNKNOWN"), **common)["message_delivery_report"]
        assert "reason" not in report
    switching = r.delivery_event(status="SWITCHING_CHANNEL", reason=Reason("CHANNEL_FAILURE", "x"), **common)
    assert switching["message_delivery_report"]["reason"]["code"] == "CHANNEL_FAILURE"
    no_reason = r.delivery_event(status="FAILED", **common)["message_delivery_report"]["reason"]
    assert no_reason == {"code": "UNKNOWN", "description": "", "sub_code": "UNSPECIFIED_SUB_CODE"}
    dispatch = r.delivery_event(status="DELIVERED", **common)["message_delivery_report"]
    assert (dispatch["conversation_id"], dispatch["contact_id"], dispatch["processing_mode"]) == ("", "", "DISPATCH")


def test_channel_identity_as_a_mapping():
    body = r.delivery_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        status="DELIVERED",
        accepted_ms=T1,
        event_ms=T0,
        channel_identity={"channel": "MESSENGER", "identity": "psid", "app_id": APP},
    )
    assert body["message_delivery_report"]["channel_identity"] == {
        "channel": "MESSENGER",
        "identity": "psid",
        "app_id": APP,
    }
    body = r.delivery_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        status="DELIVERED",
        accepted_ms=T1,
        event_ms=T0,
        channel_identity={"channel": "SMS", "identity": "1"},
    )
    assert body["message_delivery_report"]["channel_identity"]["app_id"] == ""


def test_inbound_event_shape():
    body = r.inbound_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        text="YES",
        channel_identity=SMS,
        sender_id="4610000000",
        accepted_ms=T1,
        event_ms=T0,
        conversation_id=CONV,
        contact_id=CONTACT,
        processing_mode="CONVERSATION",
        conversation_metadata={"_batch_id": "01J9", "k": "v"},
        correlation_id="corr-9",
    )
    assert body == {
        "app_id": APP,
        "project_id": PROJECT,
        "accepted_time": "2026-03-01T10:00:02.500Z",
        "event_time": "2026-03-01T10:00:02.100Z",
        "message_metadata": '{"_batch_id":"01J9","k":"v"}',
        "correlation_id": "corr-9",
        "message": {
            "id": MSG,
            "direction": "TO_APP",
            "contact_message": {"text_message": {"text": "YES"}},
            "channel_identity": {"channel": "SMS", "identity": "46701234567", "app_id": ""},
            "conversation_id": CONV,
            "contact_id": CONTACT,
            "metadata": "",
            "accept_time": "2026-03-01T10:00:02.500Z",
            "sender_id": "4610000000",
            "processing_mode": "CONVERSATION",
            "injected": False,
        },
    }
    plain = r.inbound_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        text="x",
        channel_identity=SMS,
        sender_id="1",
        accepted_ms=T1,
        event_ms=T0,
    )
    assert plain["message_metadata"] == "" and plain["message"]["processing_mode"] == "DISPATCH"
    empty = r.inbound_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        text="x",
        channel_identity=SMS,
        sender_id="1",
        accepted_ms=T1,
        event_ms=T0,
        conversation_metadata={},
    )
    assert empty["message_metadata"] == "{}"


def test_submit_event_shape():
    sent = AppMessage(text_message=TextMessage("Hello"))
    body = r.submit_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        submitted_message=sent,
        channel_identity=SMS,
        accepted_ms=T1,
        event_ms=T0,
        metadata="m",
        message_metadata="",
        correlation_id="c",
    )
    assert body["message_submit_notification"] == {
        "message_id": MSG,
        "conversation_id": "",
        "channel_identity": {"channel": "SMS", "identity": "46701234567", "app_id": ""},
        "contact_id": "",
        "submitted_message": {"text_message": {"text": "Hello"}},
        "metadata": "m",
        "processing_mode": "DISPATCH",
    }
    as_dict = r.submit_event(
        app_id=APP,
        project_id=PROJECT,
        message_id=MSG,
        channel_identity=SMS,
        accepted_ms=T1,
        event_ms=T0,
        submitted_message={"text_message": {"text": "Hello"}},
    )
    assert as_dict["message_submit_notification"]["submitted_message"] == {"text_message": {"text": "Hello"}}
    assert {k for k in body if k != "message_submit_notification"} == {
        "app_id",
        "project_id",
        "accepted_time",
        "event_time",
        "message_metadata",
        "correlation_id",
    }


# --- the official Python SDK parses them ---------------------------------------------------------


@pytest.fixture
def sdk_event():
    mod = pytest.importorskip("sinch.domains.conversation.sinch_events.v1")
    return mod.ConversationSinchEvent("s3cret")


def signed(body: bytes, secret="s3cret"):
    nonce, ts = "n0nce-1", "1772359202"
    return {
        "X-Sinch-Webhook-Signature": sign(secret, body, nonce, ts),
        "X-Sinch-Webhook-Signature-Nonce": nonce,
        "X-Sinch-Webhook-Signature-Timestamp": ts,
        "X-Sinch-Webhook-Signature-Algorithm": "HmacSHA256",
        "Content-Type": "application/json",
    }


def utc(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_sdk_parses_a_failed_delivery_receipt(sdk_event):
    from sinch.domains.conversation.models.v1.sinch_events import MessageDeliveryReceiptEvent

    md = json.dumps({"campaign": "spring", "_batch_id": "01J9Z8K4M2Q7X3V5T6W8Y0A1BC"})
    out = r.from_sms("Failed", 153)
    raw = r.encode(
        r.delivery_event(
            app_id=APP,
            project_id=PROJECT,
            message_id=MSG,
            status=out.status,
            reason=out.reason,
            channel_identity=SMS,
            accepted_ms=T1,
            event_ms=T0,
            metadata=md,
            correlation_id="corr-9",
            message_metadata='{"sms_batch_id":"01SMS"}',
        )
    )
    headers = signed(raw)
    assert sdk_event.validate_authentication_header(headers, raw)
    assert not sdk_event.validate_authentication_header(headers, raw + b" ")
    event = sdk_event.parse_event(raw, headers)
    assert isinstance(event, MessageDeliveryReceiptEvent)
    assert (event.app_id, event.project_id, event.correlation_id) == (APP, PROJECT, "corr-9")
    assert (event.accepted_time, event.event_time) == (utc(T1), utc(T0))
    assert event.message_metadata == '{"sms_batch_id":"01SMS"}'
    report = event.message_delivery_report
    assert (report.message_id, report.status, report.conversation_id, report.contact_id) == (MSG, "FAILED", "", "")
    assert (report.channel_identity.channel, report.channel_identity.identity) == ("SMS", "46701234567")
    assert json.loads(report.metadata)["_batch_id"] == "01J9Z8K4M2Q7X3V5T6W8Y0A1BC"
    assert report.processing_mode == "DISPATCH"
    assert (report.reason.code, report.reason.sub_code) == ("RECIPIENT_NOT_REACHABLE", "UNSPECIFIED_SUB_CODE")
    assert report.reason.description == "SMS Failed, code 153"


def test_sdk_parses_a_delivered_receipt(sdk_event):
    raw = r.encode(
        r.delivery_event(
            app_id=APP,
            project_id=PROJECT,
            message_id=MSG,
            status="DELIVERED",
            channel_identity=SMS,
            accepted_ms=T1,
            event_ms=T0,
            conversation_id=CONV,
            contact_id=CONTACT,
            processing_mode="CONVERSATION",
        )
    )
    event = sdk_event.parse_event(raw, signed(raw))
    report = event.message_delivery_report
    assert (report.status, report.reason, report.conversation_id, report.contact_id, report.processing_mode) == (
        "DELIVERED",
        None,
        CONV,
        CONTACT,
        "CONVERSATION",
    )


def test_sdk_parses_an_inbound_message(sdk_event):
    from sinch.domains.conversation.models.v1.sinch_events import MessageInboundEvent

    raw = r.encode(
        r.inbound_event(
            app_id=APP,
            project_id=PROJECT,
            message_id=MSG,
            text="STOP",
            channel_identity=SMS,
            sender_id="4610000000",
            accepted_ms=T1,
            event_ms=T0,
            conversation_id=CONV,
            contact_id=CONTACT,
            processing_mode="CONVERSATION",
            conversation_metadata={"_batch_id": "01J9"},
            correlation_id="corr-9",
        )
    )
    headers = signed(raw)
    assert sdk_event.validate_authentication_header(headers, raw)
    event = sdk_event.parse_event(raw, headers)
    assert isinstance(event, MessageInboundEvent)
    assert json.loads(event.message_metadata) == {"_batch_id": "01J9"} and event.correlation_id == "corr-9"
    message = event.message
    assert (message.id, message.direction, message.sender_id, message.injected) == (MSG, "TO_APP", "4610000000", False)
    assert message.contact_message.text_message.text == "STOP"
    assert (message.conversation_id, message.contact_id, message.accept_time) == (CONV, CONTACT, utc(T1))
    assert message.channel_identity.identity == "46701234567"


def test_sdk_parses_a_submit_notification(sdk_event):
    from sinch.domains.conversation.models.v1.sinch_events import MessageSubmitEvent

    sent = AppMessage(text_message=TextMessage("Hello"))
    raw = r.encode(
        r.submit_event(
            app_id=APP,
            project_id=PROJECT,
            message_id=MSG,
            submitted_message=sent,
            channel_identity=SMS,
            accepted_ms=T1,
            event_ms=T0,
            metadata="order-42",
        )
    )
    event = sdk_event.parse_event(raw, signed(raw))
    assert isinstance(event, MessageSubmitEvent)
    n = event.message_submit_notification
    assert (n.message_id, n.metadata, n.processing_mode) == (MSG, "order-42", "DISPATCH")
    assert n.submitted_message.text_message.text == "Hello"
    assert n.channel_identity.channel == "SMS"
