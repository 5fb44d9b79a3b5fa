"""ConfigError's words (`config_messages.py`): msgspec's errors in a TOML editor's terms."""

from __future__ import annotations

from typing import Literal

import msgspec
import pytest

from openxms.config_messages import describe


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    mode: Literal["fast", "safe"] = "safe"
    port: int = 8080


class Doc(msgspec.Struct, forbid_unknown_fields=True):
    server: Inner = msgspec.field(default_factory=Inner)
    plans: list[Inner] = []


def words(doc: dict, renamed: dict[str, str] | None = None) -> str:
    with pytest.raises(msgspec.ValidationError) as e:
        msgspec.convert(doc, Doc)
    return describe(str(e.value), doc, Doc, renamed or {})


def test_a_wrong_type_names_the_key_the_expected_type_and_the_value():
    assert words({"server": {"port": "eighty"}}) == 'server.port: expected an integer, got "eighty"'
    assert words({"plans": [{}, {"port": True}]}) == "plans[1].port: expected an integer, got true"


def test_a_choice_lists_the_values_allowed():
    assert words({"server": {"mode": "quick"}}) == 'server.mode: expected "fast" or "safe", got "quick"'


def test_unknown_keys_and_sections_are_told_apart():
    assert words({"server": {"prot": 1}}) == "unknown key 'server.prot'"
    assert words({"sever": {"port": 1}}) == "unknown section [sever]"
    assert words({"plan": [{"port": 1}]}) == "unknown section [[plan]]"


def test_a_renamed_key_is_named_as_the_file_has_it():
    assert words({"server": {"port": "x"}}, {"server.port": "server.listen_port"}).startswith("server.listen_port:")
