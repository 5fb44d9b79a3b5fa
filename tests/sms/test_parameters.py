import pytest

from openxms.sms import parameters as p


def test_lookup_by_normalised_msisdn_then_default():
    prepared = p.prepare({"name": {"+12017777777": "John", "default": "there"}})
    assert p.render("Hi ${name}!", prepared, "12017777777") == "Hi John!"
    assert p.render("Hi ${name}!", prepared, "12018888888") == "Hi there!"


def test_unmatched_parameter_raises_for_that_recipient_only():
    prepared = p.prepare({"code": {"12017777777": "1234"}})
    assert p.render("Code ${code}", prepared, "12017777777") == "Code 1234"
    with pytest.raises(p.Unmatched) as e:
        p.render("Code ${code}", prepared, "12018888888")
    assert e.value.key == "code"


def test_unknown_placeholders_stay_literal_and_keys_are_case_sensitive():
    prepared = p.prepare({"Name": {"default": "X"}})
    assert p.render("${name} ${Name} ${}", prepared, "1") == "${name} X ${}"
    assert p.render("no placeholders", {}, "1") == "no placeholders"


def test_several_placeholders_and_repeats():
    prepared = p.prepare({"a": {"default": "1"}, "b.c": {"default": "2"}})
    assert p.render("${a}${b.c}${a}", prepared, "9") == "121"


def test_validate_limits():
    assert p.validate({"k": {"default": "x" * 160}}) is None
    assert "160" in p.validate({"k": {"default": "x" * 161}})
    assert p.validate({"k" * 17: {"default": "x"}}) is not None
