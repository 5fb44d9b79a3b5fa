import pytest

from openxms.errors import ConstraintViolation, InvalidFormat
from openxms.sms import groups as g


def enc(d):
    return g.msgspec.json.encode(d)


def test_python_sdk_update_shape_keeps_the_name():
    u = g.validate_update(
        enc(
            {
                "add": ["+1202"],
                "remove": None,
                "name": None,
                "add_from_group": None,
                "remove_from_group": None,
                "auto_update": None,
            }
        )
    )
    assert u.add == ["1202"] and not u.set_name


def test_explicit_name_removal_still_works():
    assert g.validate_update(enc({"name": None})).set_name  # Node / curl
    assert g.validate_update(enc({"add": ["+1202"], "name": None})).set_name  # explicit, not the SDK shape
    sdk_all_null = {k: None for k in g.UPDATE_KEYS}
    assert g.validate_update(enc(sdk_all_null)).set_name  # groups.update(id, name=None)
    u = g.validate_update(enc({"name": "New"}))
    assert u.set_name and u.name == "New"
    assert not g.validate_update(enc({"add": ["+1202"]})).set_name


def test_group_limits():
    with pytest.raises(ConstraintViolation):
        g.validate_group(enc({"name": "x" * 21}))
    with pytest.raises(InvalidFormat):
        g.validate_group(enc({"members": ["nope"]}))
    with pytest.raises(ConstraintViolation):
        g.validate_group(enc({"child_groups": [f"G{i:09d}" for i in range(11)]}))
    with pytest.raises(ConstraintViolation):
        g.validate_group(enc({"auto_update": {"to": "1201", "add": {"first_word": "two words"}}}))
    ok = g.validate_group(
        enc({"members": ["+1201", "1201"], "auto_update": {"to": "+15551231234", "add": {"first_word": "JOIN"}}})
    )
    assert ok.members == ["1201"] and ok.auto_update == {"to": "15551231234", "add": {"first_word": "JOIN"}}


@pytest.mark.parametrize(
    "text,action",
    [
        ("join", "add"),
        ("JOIN now", "add"),
        ("stop", "remove"),
        ("  Stop  ", "remove"),
        ("hello", None),
        ("", None),
    ],
)
def test_keywords_case_insensitive(text, action):
    au = {"to": "1", "add": {"first_word": "JOIN"}, "remove": {"first_word": "STOP"}}
    assert g.keyword_action(au, text) == action


def test_second_word_must_match_when_configured():
    au = {"to": "1", "add": {"first_word": "BRAND", "second_word": "JOIN"}}
    assert g.keyword_action(au, "brand join") == "add"
    assert g.keyword_action(au, "brand") is None
