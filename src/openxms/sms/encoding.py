"""GSM 03.38 (GSM-7) and UCS-2: which encoding a text needs, how many parts it takes, and
where it is cut.

Shared by the dry run, the dispatcher (`max_number_of_message_parts`, code 411) and the SMPP
connector. A plain `ceil(units / 153)` is the usual estimate for the dry
run, but a real SMSC never splits a GSM escape pair (an extension character is 2 septets) or
a UTF-16 surrogate pair (most emoji are 2 units), which can push a text into one more part
than ceil() says. We deliberately define `count_parts(text)` as `len(split(text))`, so the
dry run, the 411 check and what the SMPP connector really sends can never disagree. For text
without such pairs (nearly all of it) the two counts are identical.

The GSM tables are built once, at import, from the `gsm0338` package (the reference codec);
messages are then checked, counted and encoded with regexes and `str.translate`, ~20x faster
than calling the codec per message. Plain GSM text (no extension characters) is counted
without a Python-level loop.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec used to build the tables

Encoding = Literal["text", "unicode"]  # the dry run's spelling
TEXT: Final = "text"  # GSM-7
UNICODE: Final = "unicode"  # UCS-2
GSM_SINGLE, GSM_MULTI = 160, 153  # septets per part (153 = 160 minus a 6-byte UDH, 8-bit ref)
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units per part


def _tables() -> tuple[dict[str, int], dict[str, int]]:
    basic: dict[str, int] = {}
    ext: dict[str, int] = {}
    # Every GSM character lies below U+0400 (Latin-1, Greek) except the euro sign; a test
    # scans all of Unicode to keep this shortcut honest.
    for cp in [*range(0x400), 0x20AC]:
        ch = chr(cp)
        try:
            raw = ch.encode("gsm03.38")
        except UnicodeEncodeError:
            continue
        if len(raw) == 1 and raw != b"\x1b":
            basic.setdefault(ch, raw[0])
        elif len(raw) == 2 and raw[0] == 0x1B:
            ext.setdefault(ch, raw[1])
    return basic, ext


_BASIC, _EXT = _tables()
_EXT_SET = frozenset(_EXT)
_EXT_CHARS = tuple(_EXT)
_ENCODE = {ord(k): chr(v) for k, v in _BASIC.items()} | {ord(k): "\x1b" + chr(v) for k, v in _EXT.items()}
_DECODE = {v: k for k, v in _BASIC.items()}
_DECODE_EXT = {v: k for k, v in _EXT.items()}
# latin-1-decoded septet -> character, for escape-free data; bit 7 is ignored.
_DECODE_TABLE = {b: _DECODE.get(b & 0x7F, " ") for b in range(256)}
_GSM_RE = re.compile("[" + re.escape("".join(_BASIC) + "".join(_EXT)) + "]*")
_PLAIN_RE = re.compile("[" + re.escape("".join(_BASIC)) + "]*")  # GSM without extension characters
_EXT_RE = re.compile("[" + re.escape("".join(_EXT)) + "]")


def detect(text: str) -> Encoding:
    """TEXT if every character is in the GSM basic or extension table, else UNICODE: one
    character outside them turns the whole message into UCS-2."""
    return TEXT if _GSM_RE.fullmatch(text) else UNICODE


def _wide(text: str, encoding: str) -> int:
    """How many characters of `text` cost 2 units (escape pairs / surrogate pairs)."""
    if encoding == TEXT:
        # `search` finds the (rare) first one fast; `count` is then cheaper than `findall`.
        return 0 if _EXT_RE.search(text) is None else sum(map(text.count, _EXT_CHARS))
    return (len(text.encode("utf-16-le")) >> 1) - len(text)


def units(text: str, encoding: str) -> int:
    """Septets (extension characters count 2) or UTF-16 code units (astral characters count 2)."""
    return len(text) + _wide(text, encoding)


def _end(text: str, start: int, encoding: str, budget: int) -> int:
    """End of the longest piece from `start` within `budget` units that cuts no pair."""
    n = len(text)
    end = min(start + budget, n)
    w = _wide(text[start:end], encoding)
    if end - start + w <= budget:
        return end
    # Each character costs 1 or 2 units. Dropping `w` of the first `budget` characters always
    # fits; then add the next r // 2 characters while r >= 2 units remain (they cannot
    # overflow), and finally one more if it is a 1-unit character. O(log budget) slices.
    end -= w
    used = end - start + _wide(text[start:end], encoding)
    while budget - used >= 2 and end < n:
        piece = text[end : end + (budget - used) // 2]
        used += len(piece) + _wide(piece, encoding)
        end += len(piece)
    if used < budget and end < n:
        ch = text[end]
        if ch not in _EXT_SET if encoding == TEXT else ord(ch) <= 0xFFFF:
            end += 1
    return end


def split(text: str, encoding: str | None = None, *, multi: int | None = None) -> list[str]:
    """The segments `text` is sent as: `[text]` if it fits one part (160 septets / 70 units),
    else pieces of at most 153 / 67 (or `multi`, e.g. 152 / 66 with 16-bit concat refs), never
    cutting an escape pair or a surrogate pair. Empty text is one (empty) part."""
    n = len(text)
    plain = False
    if encoding is None:
        plain = _PLAIN_RE.fullmatch(text) is not None
        if plain and n <= GSM_SINGLE:
            return [text]
        encoding = TEXT if plain else detect(text)
    single, size = (GSM_SINGLE, GSM_MULTI) if encoding == TEXT else (UCS2_SINGLE, UCS2_MULTI)
    pairs = 0 if plain else _wide(text, encoding)
    if n + pairs <= single:
        return [text]
    if multi is not None:
        if multi < 2:
            raise ValueError("multi must be at least 2 units (one escape or surrogate pair)")
        size = multi
    if not pairs:  # nothing that must stay together: plain slicing
        return [text[i : i + size] for i in range(0, n, size)]
    parts, start = [], 0
    while start < n:
        end = _end(text, start, encoding, size)
        parts.append(text[start:end])
        start = end
    return parts


def count_parts(text: str) -> tuple[Encoding, int]:
    """(encoding, number of parts), by definition `len(split(text))` (see the module docstring)."""
    n = len(text)
    if _PLAIN_RE.fullmatch(text):  # the common case: no pairs, so ceil() is exact
        return TEXT, 1 if n <= GSM_SINGLE else -(-n // GSM_MULTI)
    encoding = detect(text)
    if encoding == UNICODE and units(text, UNICODE) == n:  # BMP only: no pairs either
        return UNICODE, 1 if n <= UCS2_SINGLE else -(-n // UCS2_MULTI)
    return encoding, len(split(text, encoding))


def concat_udh(ref: int, total: int, seq: int, bits: int = 8) -> bytes:
    """The User Data Header of part `seq` of `total` of a concatenated message: information
    element 0x00 (8-bit reference) or 0x08 (16-bit), 3GPP TS 23.040 9.2.3.24.1 / .8."""
    if bits == 8:
        return bytes([5, 0x00, 3, ref & 0xFF, total, seq])
    return bytes([6, 0x08, 4, (ref >> 8) & 0xFF, ref & 0xFF, total, seq])


def truncate(text: str, encoding: str | None = None) -> str:
    """The longest prefix that fits one part (`truncate_concat`), same no-split rules."""
    encoding = encoding or detect(text)
    return text[: _end(text, 0, encoding, GSM_SINGLE if encoding == TEXT else UCS2_SINGLE)]


def gsm7_encode(text: str) -> bytes:
    """Unpacked septets, one per byte (SMPP data_coding 0); extension characters as 0x1B + code.
    ValueError names the first character outside the GSM alphabet."""
    if not _GSM_RE.fullmatch(text):
        bad = next(ch for ch in text if ch not in _BASIC and ch not in _EXT_SET)
        raise ValueError(f"{bad!r} is not in the GSM 03.38 alphabet")
    return text.translate(_ENCODE).encode("latin-1")


def gsm7_decode(data: bytes) -> str:
    """Inverse of gsm7_encode, lenient because the bytes come from other peers: bit 7 is
    ignored; an escape to an undefined code decodes as that code's basic character (what
    3GPP TS 23.038 tells a handset to show); 0x1B 0x1B (reserved for another extension table)
    decodes as a space, as the spec says; a trailing lone 0x1B is dropped."""
    if b"\x1b" not in data and b"\x9b" not in data:
        return data.decode("latin-1").translate(_DECODE_TABLE)
    out, esc = [], False
    for b in data:
        b &= 0x7F
        if esc:
            out.append(_DECODE_EXT.get(b) or _DECODE.get(b, " "))
            esc = False
        elif b == 0x1B:
            esc = True
        else:
            out.append(_DECODE[b])
    return "".join(out)


def ucs2_encode(text: str) -> bytes:
    """UTF-16-BE (SMPP data_coding 8); astral characters as surrogate pairs."""
    return text.encode("utf-16-be")


def ucs2_decode(data: bytes) -> str:
    """UTF-16-BE with surrogate pairs joined; an odd trailing byte is ignored and a lone
    surrogate becomes U+FFFD (so the text can be stored as UTF-8)."""
    if len(data) % 2:
        data = data[:-1]
    return data.decode("utf-16-be", errors="replace")
