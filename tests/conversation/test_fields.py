"""Request decoding and the PATCH field-mask rules shared by the resources."""

import msgspec
import pytest

from openxms.conversation import fields as f
from openxms.errors import InvalidRequest


def test_decode_object():
    assert f.decode_object(b'{"a": 1}') == {"a": 1}
    assert f.decode_object(b"") == {} and f.decode_object(b"  ") == {}
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        f.decode_object(b'{"a": ')
    with pytest.raises(InvalidRequest, match="must be a JSON object"):
        f.decode_object(b"[1]")


def test_strip_nulls_keeps_opaque_members():
    data = {"a": None, "b": {"c": None, "d": 1}, "l": [{"x": None}], "meta": {"k": None}, "gone": None}
    assert f.strip_nulls(data, ("meta",)) == {"b": {"d": 1}, "l": [{}], "meta": {"k": None}}
    assert f.strip_nulls({"meta": None}, ("meta",)) == {}


class Inner(msgspec.Struct):
    token: str


class Outer(msgspec.Struct):
    name: str = ""
    items: list[Inner] = []


@pytest.mark.parametrize(
    "data,text",
    [
        ({"name": 5}, "name: expected `str`, got `int`"),
        ({"items": [{}]}, "items[0].token is required"),
        ({"items": [{"token": 1}]}, "items[0].token: expected `str`, got `int`"),
        ({"items": 3}, "items: expected `array`, got `int`"),
    ],
)
def test_convert_names_the_field(data, text):
    with pytest.raises(InvalidRequest) as e:
        f.convert(data, Outer)
    assert e.value.text == text and e.value.status == 400


def test_convert_prefix_and_root():
    with pytest.raises(InvalidRequest, match=r"^message: expected `object`, got `int`$"):
        f.convert(5, Outer, "message")
    with pytest.raises(InvalidRequest, match=r"^request body: expected `object`"):
        f.convert(5, Outer)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/cb", "https://hooks.example/x?y=1", "HTTP://a.b"])
def test_urls_accepted(url):
    f.check_url(url, "target")


@pytest.mark.parametrize(
    "url", ["ftp://a.b/", "hooks.example/x", "http://", "http://a b/", "http://a:99999/", "", "http://[::1"]
)
def test_urls_refused(url):
    with pytest.raises(InvalidRequest, match="target"):
        f.check_url(url, "target")


def test_url_length():
    f.check_url("http://a.b/" + "x" * 731, "target", 742)
    with pytest.raises(InvalidRequest, match="longer than 742"):
        f.check_url("http://a.b/" + "x" * 732, "target", 742)


def test_ulids():
    assert f.is_ulid("01E3S8B6YCMRNR0GGM94H80ACX") and f.is_ulid("01e3s8b6ycmrnr0ggm94h80acx")
    assert f.is_ulid("01K0CON0000000000000000000") and f.is_ulid("01W4FFL35P4NC4K35SMSGROUP1")
    for bad in (
        "",
        "01E3S8B6YCMRNR0GGM94H80AC",
        "01E3S8B6YCMRNR0GGM94H80ACXX",
        "01E3S8B6YCMRNR0GGM94H80AC-",
        "01E3S8B6YCMRNR0GGM94H80AC\n",
        5,
    ):
        assert not f.is_ulid(bad)
    with pytest.raises(InvalidRequest, match="app_id is required"):
        f.check_ulid("", "app_id")
    with pytest.raises(InvalidRequest, match="app_id is not a valid id"):
        f.check_ulid("nope", "app_id")


def test_snake_case():
    assert f.snake_case("displayName") == "display_name"
    assert f.snake_case("retentionPolicy.ttlDays") == "retention_policy.ttl_days"
    assert f.snake_case("display_name") == "display_name"


CURRENT = {"id": "X", "name": "n", "tags": ["a"], "policy": {"kind": "K", "days": 5}, "ro": 1}
DEFAULTS = {"id": "", "name": "", "tags": [], "policy": {"kind": "D", "days": 180}, "ro": 0}
KW = dict(fields=("name", "tags", "policy"), read_only=("id", "ro"), defaults=DEFAULTS)


def test_patch_without_mask_writes_present_fields_and_null_clears():
    out = f.apply_patch(CURRENT, {"name": "m", "tags": None, "id": "Y", "ro": 9, "unknown": 1}, None, **KW)
    assert out == {**CURRENT, "name": "m", "tags": []}
    assert CURRENT["tags"] == ["a"]  # not modified


def test_patch_with_mask_writes_exactly_the_listed_fields():
    out = f.apply_patch(CURRENT, {"name": "m", "tags": ["b"]}, ["name"], **KW)
    assert out == {**CURRENT, "name": "m"}


def test_patch_mask_listed_but_absent_or_null_resets():
    assert f.apply_patch(CURRENT, {}, ["tags"], **KW)["tags"] == []
    assert f.apply_patch(CURRENT, {"name": None}, ["name"], **KW)["name"] == ""
    assert f.apply_patch(CURRENT, {}, ["policy"], **KW)["policy"] == {"kind": "D", "days": 180}


def test_patch_mask_nested_path_and_camel_case():
    out = f.apply_patch(CURRENT, {"policy": {"days": 9, "kind": "Z"}}, ["policy.days"], **KW)
    assert out["policy"] == {"kind": "K", "days": 9}
    out = f.apply_patch(CURRENT, {}, ["policy.days"], **KW)
    assert out["policy"] == {"kind": "K", "days": 180}
    kw = dict(fields=("display_name",), read_only=(), defaults={"display_name": ""})
    assert f.apply_patch({"display_name": "a"}, {"display_name": "b"}, ["displayName"], **kw) == {"display_name": "b"}


def test_patch_mask_read_only_paths_are_ignored_and_unknown_ones_refused():
    assert f.apply_patch(CURRENT, {"id": "Y"}, ["id", "ro"], **KW) == CURRENT
    for bad in (["nope"], ["policy.nope"], ["name.x"], ["policy."], ["tags.x"]):
        with pytest.raises(InvalidRequest, match="update_mask: unknown field"):
            f.apply_patch(CURRENT, {}, bad, **KW)
