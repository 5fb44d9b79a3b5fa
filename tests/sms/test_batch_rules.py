"""Validation of batch requests, pure (no HTTP, no store)."""

import pytest

from openxms.errors import ConstraintViolation
from openxms.sms import batches as b
from openxms.sms import dates

NOW = dates.parse("2030-01-01T00:00:00Z")


def req(**kw):
    return b.decode_batch(b.msgspec.json.encode({"to": ["+12017777777"], "body": "hi", **kw}))


def test_defaults():
    v = b.validate(req(), NOW)
    assert v.type == "mt_text" and v.delivery_report == "none" and v.send_at is None
    assert v.expire_at == NOW + b.MAX_EXPIRY_MS


def test_send_at_in_the_past_means_now_but_expiry_counts_from_send_at():
    v = b.validate(req(send_at="2029-12-31T00:00:00Z"), NOW)
    assert v.expire_at == dates.parse("2030-01-03T00:00:00Z")


def test_expiry_bounds():
    b.validate(req(send_at="2030-01-02T00:00:00Z", expire_at="2030-01-05T00:00:00Z"), NOW)  # exactly 3 days
    with pytest.raises(ConstraintViolation):
        b.validate(req(send_at="2030-01-02T00:00:00Z", expire_at="2030-01-05T00:00:00.001Z"), NOW)
    with pytest.raises(ConstraintViolation):
        b.validate(req(send_at="2030-01-02T00:00:00Z", expire_at="2030-01-02T00:00:00Z"), NOW)


def test_duplicates_in_to_are_sent_once():
    v = b.validate(req(to=["+12017777777", "12017777777", "0012017777777"]), NOW)
    assert v.to == ["12017777777"]


def test_update_merges_and_keeps_type():
    cur = b.validate(req(to=["+1201", "+1202"], delivery_report="full"), NOW)
    upd = b.decode_update(
        b.msgspec.json.encode(
            {"type": "mt_binary", "to_add": ["+1203"], "to_remove": ["1201"], "client_reference": "x"}
        )
    )
    new = b.apply_update(cur, upd, NOW)
    assert new.type == "mt_text" and new.to == ["1202", "1203"]
    assert new.delivery_report == "full" and new.client_reference == "x"


def test_doc_round_trip():
    v = b.validate(
        req(
            send_at="2030-01-02T00:00:00Z",
            max_number_of_message_parts=3,
            from_ton=1,
            parameters={"x": {"default": "y"}},
        ),
        NOW,
    )
    doc = b.to_doc("ID", v, NOW, NOW, False)
    back = b.from_doc(b.decode_doc(b.msgspec.json.encode(doc)), v.expire_explicit)
    assert b.to_doc("ID", back, NOW, NOW, False) == doc


def test_doc_keys_per_type():
    """Fields that do not apply to the type are left out; absent values are omitted, never null."""
    enc = b.msgspec.json.decode
    text = enc(b.msgspec.json.encode(b.to_doc("ID", b.validate(req(), NOW), NOW, NOW, False)))
    assert list(text) == [
        "id",
        "to",
        "canceled",
        "body",
        "type",
        "created_at",
        "modified_at",
        "delivery_report",
        "expire_at",
        "feedback_enabled",
        "flash_message",
    ]
    assert text["flash_message"] is False and text["created_at"] == "2030-01-01T00:00:00.000Z"
    binary = enc(
        b.msgspec.json.encode(
            b.to_doc(
                "ID",
                b.validate(
                    req(
                        type="mt_binary",
                        body="aGk=",
                        udh="00",
                        parameters={"x": {"default": "y"}},
                        from_ton=1,
                        **{"from": "s"},
                    ),
                    NOW,
                ),
                NOW,
                NOW,
                True,
            )
        )
    )
    assert list(binary) == [
        "id",
        "to",
        "from",
        "canceled",
        "body",
        "udh",
        "type",
        "created_at",
        "modified_at",
        "delivery_report",
        "expire_at",
        "feedback_enabled",
        "from_ton",
    ]
    media = enc(
        b.msgspec.json.encode(
            b.to_doc(
                "ID",
                b.validate(
                    req(
                        type="mt_media",
                        body={"url": "https://example.com/a.png"},
                        from_ton=1,
                        truncate_concat=True,
                        strict_validation=True,
                    ),
                    NOW,
                ),
                NOW,
                NOW,
                False,
            )
        )
    )
    assert media["body"] == {"url": "https://example.com/a.png"}
    assert "from_ton" not in media and "truncate_concat" not in media and "flash_message" not in media
    assert media["strict_validation"] is True
