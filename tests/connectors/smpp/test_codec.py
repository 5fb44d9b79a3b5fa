"""PDU codec, receipts, parts: pure functions."""

import pytest

from openxms.connectors.smpp import parts, pdu, receipts
from openxms.sms import encoding


def roundtrip(p):
    return pdu.decode(pdu.encode(p))


@pytest.mark.parametrize(
    "cmd,fields",
    [
        (pdu.BIND_TRANSCEIVER, {"system_id": "sys", "password": "pw", "system_type": "t", "interface_version": 0x34}),
        (pdu.BIND_TRANSMITTER | pdu.RESP, {"system_id": "smsc"}),
        (
            pdu.SUBMIT_SM,
            {
                "source_addr": "1202",
                "destination_addr": "1201",
                "esm_class": 0x40,
                "data_coding": 8,
                "short_message": b"\x05\x00\x03\x01\x02\x01abc",
                "registered_delivery": 1,
            },
        ),
        (pdu.SUBMIT_SM | pdu.RESP, {"message_id": "abc123"}),
        (pdu.DELIVER_SM, {"source_addr": "1201", "destination_addr": "1202", "esm_class": 4, "short_message": b"id:1"}),
        (pdu.DELIVER_SM | pdu.RESP, {"message_id": ""}),
        (pdu.DATA_SM, {"source_addr": "1201", "destination_addr": "1202", "data_coding": 0}),
        (pdu.ENQUIRE_LINK, {}),
        (pdu.ENQUIRE_LINK | pdu.RESP, {}),
        (pdu.UNBIND, {}),
        (pdu.UNBIND | pdu.RESP, {}),
        (pdu.GENERIC_NACK, {}),
    ],
)
def test_round_trip_every_pdu(cmd, fields):
    p = pdu.Pdu(cmd, 42, 0, dict(fields), {pdu.TLV_USER_MESSAGE_REFERENCE: b"\x00\x07"} if cmd == pdu.SUBMIT_SM else {})
    back = roundtrip(p)
    assert (back.command_id, back.sequence, back.status) == (cmd, 42, 0)
    for k, v in fields.items():
        assert back.get(k) == v
    assert back.tlvs == p.tlvs


def test_golden_enquire_link_and_error_responses_have_no_body():
    assert pdu.encode(pdu.Pdu(pdu.ENQUIRE_LINK, 1)) == bytes.fromhex("00000010000000150000000000000001")
    err = pdu.encode(pdu.Pdu(pdu.SUBMIT_SM | pdu.RESP, 9, pdu.ESME_RTHROTTLED, {"message_id": "x"}))
    assert len(err) == 16 and pdu.decode(err).status == 0x58


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x00\x00\x10",
        bytes.fromhex("00000011000000150000000000000001") + b"x",
        bytes.fromhex("0000001400000004000000000000000161626364"),
    ],
)
def test_malformed_pdus_raise(raw):
    with pytest.raises(pdu.PduError):
        pdu.decode(raw)


def test_frame_buffer_splits_and_joins():
    a = pdu.encode(pdu.Pdu(pdu.ENQUIRE_LINK, 1))
    b = pdu.encode(pdu.Pdu(pdu.SUBMIT_SM | pdu.RESP, 2, 0, {"message_id": "m"}))
    fb = pdu.FrameBuffer()
    assert fb.feed(a[:5]) == []
    assert fb.feed(a[5:] + b[:3]) == [a]
    assert fb.feed(b[3:]) == [b]
    with pytest.raises(pdu.PduError):
        fb.feed(b"\x00\x10\x00\x00" + b"\x00" * 12)


def test_receipt_text_parsing_variants():
    f = receipts.parse_text(
        "id:0123ABC sub:001 dlvrd:001 submit date:2401011200 done date:240101120530 "
        "stat:DELIVRD err:000 text:hello world"
    )
    assert f["id"] == "0123ABC" and f["stat"] == "DELIVRD" and f["text"] == "hello world"
    assert receipts.parse_text("ID:5 Stat:UNDELIV Err:153")["stat"] == "UNDELIV"


def test_receipt_from_pdu_prefers_tlvs():
    p = pdu.Pdu(
        pdu.DELIVER_SM,
        fields={
            "esm_class": 4,
            "short_message": b"id:1 stat:UNDELIV err:001",
            "source_addr": "1201",
            "destination_addr": "1202",
        },
        tlvs={
            pdu.TLV_RECEIPTED_MESSAGE_ID: b"ff\x00",
            pdu.TLV_MESSAGE_STATE: b"\x02",
            pdu.TLV_NETWORK_ERROR_CODE: b"\x03\x00\x00",
        },
    )
    r = receipts.from_pdu(p)
    assert (r.message_id, r.state, r.err, r.final) == ("ff", "DELIVRD", 0, True)
    assert r.sinch() == ("Delivered", 0)
    text_only = pdu.Pdu(
        pdu.DELIVER_SM,
        fields={
            "esm_class": 4,
            "short_message": b"id:77 sub:001 dlvrd:000 submit date:2401011200 done date:2401011201 "
            b"stat:EXPIRED err:020 text:",
        },
    )
    r = receipts.from_pdu(text_only)
    assert (r.state, r.err, r.sinch()) == ("EXPIRED", 20, ("Expired", 20))
    assert receipts.from_pdu(pdu.Pdu(pdu.DELIVER_SM, fields={"short_message": b"hi"})) is None


def test_id_keys_match_hex_decimal_and_padding():
    assert receipts.id_keys("0001A2B")[0] == "1a2b"
    assert set(receipts.id_keys("6699")) >= {"6699", "1a2b"}  # decimal 6699 == hex 1a2b
    assert "6699" in receipts.id_keys("1a2b")
    assert receipts.id_keys("0") == ("0",)
    assert receipts.id_keys("msg-XYZ") == ("msg-xyz",)


def test_parts_gsm_ucs2_binary_flash():
    refs, addr = parts.References(), parts.Addressing()
    [one] = parts.build("1201", "12025550100", "hi €", "text", refs=refs, addr=addr)
    assert one["data_coding"] == 0 and one["short_message"] == encoding.gsm7_encode("hi €") and one["esm_class"] == 0
    assert (one["source_addr_ton"], one["source_addr_npi"]) == (1, 1)
    [alpha] = parts.build("1201", "MyBrand", "x", "text", refs=refs, addr=addr)
    assert alpha["source_addr_ton"] == 5
    [u] = parts.build("1201", "1202", "привет", "unicode", flash=True, refs=refs, addr=addr)
    assert u["data_coding"] == 0x18 and u["short_message"] == "привет".encode("utf-16-be")
    [b] = parts.build(
        "1201", "1202", None, "text", binary=b"\x01\x02", udh=b"\x06\x05\x04\x23\xf4\x23\xf4", refs=refs, addr=addr
    )
    assert b["data_coding"] == 4 and b["esm_class"] == 0x40 and b["short_message"].endswith(b"\x01\x02")


def test_concatenation_udh8_udh16_sar_and_refs_per_destination():
    refs = parts.References()
    text = "a" * 152 + "€" + "b" * 200
    p8 = parts.build("1201", "1202", text, "text", refs=refs, addr=parts.Addressing())
    assert len(p8) == 3
    udh, payload, concat = parts.parse_udh(p8[1]["short_message"])
    assert concat == (1, 3, 2) and encoding.gsm7_decode(payload).startswith("€")  # escape pair not split
    again = parts.build("1201", "1202", text, "text", refs=refs, addr=parts.Addressing())
    assert parts.parse_udh(again[0]["short_message"])[2][0] == 2  # next reference for the same handset
    other = parts.build("1203", "1202", text, "text", refs=refs, addr=parts.Addressing())
    assert parts.parse_udh(other[0]["short_message"])[2][0] == 1
    p16 = parts.build("1201", "1202", "a" * 400, "text", refs=refs, addr=parts.Addressing(concat="udh16"))
    assert all(len(p["short_message"]) - 7 <= 152 for p in p16) and parts.parse_udh(p16[0]["short_message"])[2][1] == 3
    sar = parts.build("1201", "1202", "ж" * 100, "unicode", refs=refs, addr=parts.Addressing(concat="sar"))
    assert len(sar) == 2 and sar[0]["esm_class"] == 0 and pdu.TLV_SAR_MSG_REF_NUM in sar[0]["_tlvs"]


def test_reference_wraps_at_255():
    refs = parts.References()
    seen = [refs.next("1201") for _ in range(300)]
    assert max(seen) == 255 and 0 not in seen


def test_surrogate_pairs_not_split_in_ucs2_parts():
    text = "ж" * 66 + "😀" + "ж" * 10
    ps = parts.build("1201", "1202", text, "unicode", refs=parts.References(), addr=parts.Addressing())
    decoded = [encoding.ucs2_decode(parts.parse_udh(p["short_message"])[1]) for p in ps]
    assert decoded == ["ж" * 66, "😀" + "ж" * 10]


def _deliver(fields, tlvs=None):
    return pdu.Pdu(
        pdu.DELIVER_SM, fields={"source_addr": "1201", "destination_addr": "1202", **fields}, tlvs=tlvs or {}
    )


def test_mo_reassembly_out_of_order_udh_and_sar():
    r = parts.Reassembler()
    built = parts.build("1202", "1201", "ж" * 100, "unicode", refs=parts.References(), addr=parts.Addressing())
    pieces = [_deliver({k: v for k, v in f.items() if k != "_tlvs"}) for f in built]
    assert r.feed(pieces[1]) is None
    m = r.feed(pieces[0])
    assert m.text == "ж" * 100 and m.parts == 2
    sar = parts.build("1202", "1201", "a" * 200, "text", refs=parts.References(), addr=parts.Addressing(concat="sar"))
    assert r.feed(_deliver({k: v for k, v in sar[0].items() if k != "_tlvs"}, sar[0]["_tlvs"])) is None
    m = r.feed(_deliver({k: v for k, v in sar[1].items() if k != "_tlvs"}, sar[1]["_tlvs"]))
    assert m.text == "a" * 200
    single = r.feed(_deliver({"data_coding": 4, "short_message": b"\x00\xff"}))
    assert single.text is None and single.binary == b"\x00\xff"


def test_mo_reassembly_times_out():
    r = parts.Reassembler(timeout=0)
    built = parts.build("1202", "1201", "a" * 200, "text", refs=parts.References(), addr=parts.Addressing())
    r.feed(_deliver({k: v for k, v in built[0].items() if k != "_tlvs"}))
    r._expire()
    assert r._pending == {}
