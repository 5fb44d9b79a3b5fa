"""GSM-7 / UCS-2 detection, part counting at every boundary, and never splitting a pair.

The boundaries are where compatibility lives: the dry run, the 411 parts check and the SMPP
connector must all agree with each other and with the spec's §9.2 table."""

import random

import gsm0338  # noqa: F401 - registers the reference "gsm03.38" codec
import pytest

from openxms.sms import encoding as e

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXT = "\f^{}\\[~]|€"
EMOJI = "😀"


def ceil_parts(n: int, single: int, multi: int) -> int:
    return 1 if n <= single else -(-n // multi)


# -- tables ------------------------------------------------------------------------------


def test_tables_match_the_spec():
    assert len(GSM_BASIC) == 127 and set(e._BASIC) == set(GSM_BASIC)
    assert set(e._EXT) == set(GSM_EXT)


def test_tables_cover_everything_the_reference_codec_encodes():
    # The table builder only scans U+0000-03FF and the euro sign; prove nothing else is GSM
    # (the whole BMP, and a sample of the astral planes to keep the test fast).
    for cp in [*range(0x10000), *range(0x10000, 0x110000, 97)]:
        if 0xD800 <= cp < 0xE000 or cp == 0x1B:
            continue
        ch = chr(cp)
        try:
            ch.encode("gsm03.38")
        except UnicodeEncodeError:
            assert e.detect(ch) == e.UNICODE, hex(cp)
        else:
            assert e.detect(ch) == e.TEXT, hex(cp)


# -- detection ---------------------------------------------------------------------------


def test_mock_example():
    assert e.count_parts("Hello John!") == ("text", 1)


def test_one_non_gsm_character_flips_the_whole_message():
    assert e.detect("Hello") == e.TEXT
    assert e.detect(GSM_BASIC + GSM_EXT) == e.TEXT
    assert e.detect("Hello " + EMOJI) == e.UNICODE
    assert e.detect("ç") == e.UNICODE and e.detect("Ç") == e.TEXT  # only the capital is GSM
    assert e.detect("`") == e.UNICODE and e.detect("\t") == e.UNICODE
    assert e.count_parts("a" * 100 + "ç") == ("unicode", 2)
    assert e.count_parts("a" * 69 + "ж") == ("unicode", 1)
    assert e.count_parts("a" * 70 + "ж") == ("unicode", 2)


def test_empty_text_is_one_part():
    assert e.detect("") == e.TEXT
    assert e.split("") == [""] and e.split("", e.UNICODE) == [""] and e.split("", e.TEXT) == [""]
    assert e.count_parts("") == ("text", 1)
    assert e.truncate("") == "" and e.truncate("", e.UNICODE) == ""


def test_units():
    assert e.units("abc", e.TEXT) == 3
    assert e.units("a€{", e.TEXT) == 5
    assert e.units("жж", e.UNICODE) == 2
    assert e.units("ж" + EMOJI, e.UNICODE) == 3
    assert e.units("€", e.UNICODE) == 1  # the euro is one UTF-16 unit


# -- GSM-7 boundaries (spec §9.2 table) --------------------------------------------------

GSM_TABLE = [
    (1, 160, 1),
    (161, 306, 2),
    (307, 459, 3),
    (460, 612, 4),
    (613, 765, 5),
    (766, 918, 6),
    (919, 1071, 7),
    (1072, 1224, 8),
    (1225, 1377, 9),
    (1378, 1530, 10),
    (1531, 1683, 11),
    (1684, 1836, 12),
    (1837, 1989, 13),
    (1990, 2000, 14),
]
UCS2_TABLE = [
    (1, 70, 1),
    (71, 134, 2),
    (135, 201, 3),
    (202, 268, 4),
    (269, 335, 5),
    (336, 402, 6),
    (403, 469, 7),
    (470, 536, 8),
    (537, 603, 9),
    (604, 670, 10),
    (1944, 2000, 30),
]


@pytest.mark.parametrize("lo,hi,parts", GSM_TABLE)
def test_gsm_spec_table(lo, hi, parts):
    for n in (lo, hi):
        assert e.count_parts("a" * n) == ("text", parts)
        assert len(e.split("a" * n)) == parts
    if lo > 1:
        assert e.count_parts("a" * (lo - 1))[1] == parts - 1


@pytest.mark.parametrize("n,parts", [(160, 1), (161, 2), (306, 2), (307, 3), (2000, 14)])
def test_gsm_headline_boundaries(n, parts):
    assert e.count_parts("a" * n) == ("text", parts)


@pytest.mark.parametrize("k", range(1, 15))
def test_gsm_153_multiples(k):
    for n in (153 * k, 153 * k + 1):
        parts = e.split("a" * n)
        assert len(parts) == ceil_parts(n, 160, 153) == e.count_parts("a" * n)[1]
        if len(parts) > 1:
            assert all(len(p) == 153 for p in parts[:-1])


def test_gsm_every_length_up_to_2000_matches_ceil():
    for n in range(0, 2001):
        text = "x" * n
        assert e.count_parts(text) == ("text", max(1, ceil_parts(n, 160, 153)))
        assert e.split(text, e.TEXT) == e.split(text)  # the slow path agrees with the fast one


# -- UCS-2 boundaries --------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi,parts", UCS2_TABLE)
def test_ucs2_spec_table(lo, hi, parts):
    for n in (lo, hi):
        assert e.count_parts("ж" * n) == ("unicode", parts)
        assert len(e.split("ж" * n)) == parts


@pytest.mark.parametrize("n,parts", [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_headline_boundaries(n, parts):
    assert e.count_parts("ж" * n) == ("unicode", parts)


@pytest.mark.parametrize("k", range(1, 31))
def test_ucs2_67_multiples(k):
    for n in (67 * k, 67 * k + 1):
        assert e.count_parts("ж" * n) == ("unicode", ceil_parts(n, 70, 67))
        assert len(e.split("ж" * n)) == ceil_parts(n, 70, 67)


def test_ucs2_every_length_up_to_2000_matches_ceil():
    for n in range(1, 2001):
        text = "ж" * n
        assert e.count_parts(text) == ("unicode", ceil_parts(n, 70, 67))
        assert len(e.split(text)) == ceil_parts(n, 70, 67)


# -- escape pairs ------------------------------------------------------------------------


def test_extension_characters_count_two():
    assert e.units("€" * 80, e.TEXT) == 160
    assert e.count_parts("€" * 80) == ("text", 1)
    assert e.count_parts("€" * 81) == ("text", 2)
    assert e.count_parts("a" * 159 + "€") == ("text", 2)  # 161 septets
    assert e.count_parts("a" * 158 + "€") == ("text", 1)  # 160 septets
    assert e.split("€" * 81) == ["€" * 76, "€" * 5]  # 153 is odd: 76 pairs = 152 septets


def test_escape_pair_is_never_split():
    text = "a" * 152 + "€" + "b" * 100  # the euro would straddle septets 153/154
    parts = e.split(text)
    assert parts == ["a" * 152, "€" + "b" * 100]
    assert [e.units(p, e.TEXT) for p in parts] == [152, 102]
    exact = "a" * 151 + "€" + "b" * 100  # ends exactly on 153: stays in part 1
    assert e.split(exact)[0] == "a" * 151 + "€"


def test_an_escape_pair_can_add_a_part_beyond_ceil():
    heavy = "a" * 152 + "€" * 77  # 306 septets: ceil(306/153) says 2, a real split needs 3
    assert e.units(heavy, e.TEXT) == 306
    assert e.count_parts(heavy) == ("text", 3)
    assert len(e.split(heavy)) == 3


def test_multi_for_16_bit_references():
    parts = e.split("a" * 400, multi=152)
    assert [len(p) for p in parts] == [152, 152, 96]
    assert len(e.split("a" * 304, multi=152)) == 2
    assert e.split("a" * 151 + "€" + "b" * 20, multi=152) == ["a" * 151, "€" + "b" * 20]  # straddles 152
    assert e.split("a" * 160, multi=152) == ["a" * 160]  # one part needs no UDH
    assert e.split("ж" * 65 + EMOJI + "ж" * 10, multi=66) == ["ж" * 65, EMOJI + "ж" * 10]
    with pytest.raises(ValueError):
        e.split("a" * 200, multi=1)


# -- surrogate pairs ---------------------------------------------------------------------


def test_surrogate_pair_is_never_split():
    text = "ж" * 66 + EMOJI + "ж" * 10
    assert e.units(text, e.UNICODE) == 78
    assert e.split(text) == ["ж" * 66, EMOJI + "ж" * 10]
    assert e.split("ж" * 65 + EMOJI + "ж" * 10)[0] == "ж" * 65 + EMOJI  # ends exactly on 67


def test_emoji_count_two_units():
    assert e.count_parts(EMOJI * 35) == ("unicode", 1)  # 70 units
    assert e.count_parts(EMOJI * 36) == ("unicode", 2)  # 72 units
    assert e.split(EMOJI * 36) == [EMOJI * 33, EMOJI * 3]  # 67 is odd: 33 pairs = 66 units
    heavy = "ж" * 66 + EMOJI * 34  # 134 units: ceil says 2, a real split needs 3
    assert e.count_parts(heavy) == ("unicode", 3)
    assert e.count_parts("€" + EMOJI) == ("unicode", 1)  # the euro is a UCS-2 unit, not a GSM pair


# -- truncate ----------------------------------------------------------------------------


def test_truncate_fits_one_part_and_respects_pairs():
    assert e.truncate("a" * 400) == "a" * 160
    assert e.truncate("short") == "short"
    assert e.truncate("a" * 159 + "€") == "a" * 159
    assert e.truncate("a" * 158 + "€" + "b") == "a" * 158 + "€"
    assert e.truncate("€" * 100) == "€" * 80
    assert e.truncate("ж" * 400) == "ж" * 70
    assert e.truncate("ж" * 69 + EMOJI) == "ж" * 69
    assert e.truncate("ж" * 68 + EMOJI + "ж") == "ж" * 68 + EMOJI
    assert e.truncate(EMOJI * 40) == EMOJI * 35


def test_truncate_with_a_given_encoding():
    assert e.truncate("a" * 100, e.UNICODE) == "a" * 70
    assert e.truncate("ж" * 100, e.UNICODE) == "ж" * 70


# -- codecs ------------------------------------------------------------------------------


@pytest.mark.parametrize("ch", list(GSM_BASIC + GSM_EXT))
def test_every_gsm_character_matches_the_reference_codec(ch):
    raw = e.gsm7_encode(ch)
    assert raw == ch.encode("gsm03.38")
    assert len(raw) == (2 if ch in GSM_EXT else 1)
    assert e.gsm7_decode(raw) == ch == raw.decode("gsm03.38")


def test_gsm7_round_trip_whole_alphabet():
    text = GSM_BASIC + GSM_EXT
    raw = e.gsm7_encode(text)
    assert raw == text.encode("gsm03.38")
    assert e.gsm7_decode(raw) == text
    assert all(b < 0x80 for b in raw)
    assert e.gsm7_decode(bytes(b for b in range(128) if b != 0x1B)) == bytes(b for b in range(128) if b != 0x1B).decode(
        "gsm03.38"
    )


def test_gsm7_encode_rejects_non_gsm():
    with pytest.raises(ValueError, match="😀"):
        e.gsm7_encode("Hi " + EMOJI)
    with pytest.raises(ValueError):
        e.gsm7_encode("ç")


def test_gsm7_decode_tolerates_junk():
    assert e.gsm7_decode(b"A\x1b") == "A"  # trailing lone escape dropped
    assert e.gsm7_decode(b"\x1b\x41") == "A"  # undefined escape -> the basic character
    assert e.gsm7_decode(b"\x1b\x1bA") == " A"  # reserved double escape -> space
    assert e.gsm7_decode(b"\xc1\x1b\xe5") == "A€"  # bit 7 ignored, with and without escapes
    assert e.gsm7_decode(b"\xc1") == "A"
    assert e.gsm7_decode(b"") == ""


def test_ucs2_round_trip():
    text = "Привет " + EMOJI + " 世界 €"
    raw = e.ucs2_encode(text)
    assert raw == text.encode("utf-16-be")
    assert e.ucs2_encode(EMOJI) == b"\xd8\x3d\xde\x00"
    assert e.ucs2_decode(raw) == text
    assert e.ucs2_decode(b"\xd8\x3d\xde\x00") == EMOJI


def test_ucs2_decode_tolerates_junk():
    assert e.ucs2_decode(e.ucs2_encode("ab") + b"\x00") == "ab"  # odd length
    assert e.ucs2_decode(b"\xd8\x3d\x00a") == "\ufffda"  # lone high surrogate
    assert e.ucs2_decode(b"") == ""


# -- properties --------------------------------------------------------------------------


def test_random_texts_split_losslessly_within_budget():
    rng = random.Random(1234)
    alphabet = GSM_BASIC + GSM_EXT * 8 + "жё" + EMOJI + "🎉"
    pools = [GSM_BASIC, GSM_BASIC + GSM_EXT * 8, alphabet, "ж" + EMOJI * 3]
    for i in range(1200):
        pool = pools[i % len(pools)]
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 700)))
        for multi in (None, 152 if e.detect(text) == e.TEXT else 66):
            enc, n = e.count_parts(text)
            parts = e.split(text, multi=multi)
            assert "".join(parts) == text
            if multi is None:
                assert len(parts) == n
                assert e.split(text, enc) == parts
            single = 160 if enc == e.TEXT else 70
            budget = single if len(parts) == 1 else (multi or (153 if enc == e.TEXT else 67))
            assert all(e.units(p, enc) <= budget for p in parts)
            # greedy: no part could take the next part's first character
            for a, b in zip(parts, parts[1:], strict=False):
                assert e.units(a + b[0], enc) > budget
        t = e.truncate(text)
        assert text.startswith(t) and e.units(t, enc) <= (160 if enc == e.TEXT else 70)
        assert t == text or e.units(text[: len(t) + 1], enc) > (160 if enc == e.TEXT else 70)


def test_random_gsm_texts_round_trip_like_the_reference_codec():
    rng = random.Random(42)
    alphabet = GSM_BASIC + GSM_EXT
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        raw = e.gsm7_encode(text)
        assert raw == text.encode("gsm03.38")
        assert e.gsm7_decode(raw) == text
