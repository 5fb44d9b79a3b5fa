"""`${name}` substitution in message trees."""

from __future__ import annotations

import copy

import msgspec
import pytest

from openxms.conversation import params as p
from openxms.conversation.params import placeholders, substitute


def test_every_string_value_is_substituted_keys_and_other_types_are_not():
    tree = {
        "text_message": {"text": "Hi ${name}, code ${code}"},
        "explicit_channel_message": {"SMS": "${name}!", "${name}": "key stays"},
        "list": ["${name}", 1, 2.5, True, None, {"deep": ["x${code}y"]}],
        "number": 7,
    }
    out = substitute(tree, {"name": "Ann", "code": "123"})
    assert out == {
        "text_message": {"text": "Hi Ann, code 123"},
        "explicit_channel_message": {"SMS": "Ann!", "${name}": "key stays"},
        "list": ["Ann", 1, 2.5, True, None, {"deep": ["x123y"]}],
        "number": 7,
    }


def test_template_parameters_inside_the_message_are_substituted():
    tree = {
        "template_message": {"omni_template": {"template_id": "t", "version": "1", "parameters": {"who": "${name}"}}}
    }
    assert substitute(tree, {"name": "Bo"})["template_message"]["omni_template"]["parameters"] == {"who": "Bo"}


def test_a_deep_copy_leaves_the_input_alone():
    tree = {"a": [{"b": "${x}"}], "c": {"d": "plain"}}
    before = copy.deepcopy(tree)
    out = substitute(tree, {"x": "1"})
    assert tree == before
    assert out["a"] is not tree["a"] and out["c"] is not tree["c"]
    out["c"]["d"] = "changed"
    assert tree["c"]["d"] == "plain"
    assert substitute(tree, {}) == tree and substitute(tree, {})["a"] is not tree["a"]
    assert substitute(tree, None) == tree


def test_one_pass_inserted_values_are_never_scanned_again():
    assert substitute("${a} ${b}", {"a": "${b}", "b": "B"}) == "${b} B"
    assert substitute("${a}", {"a": "${a}"}) == "${a}"
    assert substitute("${a}${a}", {"a": "$"}) == "$$"


def test_unknown_names_are_left_or_emptied():
    assert substitute("Hi ${name}, ${code}", {"name": "Bo"}) == "Hi Bo, ${code}"
    assert substitute("Hi ${name}, ${code}", {"name": "Bo"}, keep_unknown=False) == "Hi Bo, "


def test_placeholder_syntax():
    p = {"a": "A", "a b": "AB", "x.y-z": "X"}
    assert substitute("${a} ${a b} ${x.y-z}", p) == "A AB X"
    assert substitute("$a ${} ${a ${a}} {a} $${a}", p) == "$a ${} ${a A} {a} $A"
    assert substitute("\\1 ${a}", {"a": "\\g<0>"}) == "\\1 \\g<0>"  # values are literal, not re.sub templates


def test_placeholders():
    assert placeholders({"a": ["${x} ${y}", {"${key}": "${z}"}], "b": 1, "c": "${x}"}) == {"x", "y", "z"}
    assert placeholders("none here") == set()


def test_deep_trees_do_not_exhaust_the_stack():
    depth = 5000
    tree = "${a}"
    for i in range(depth):
        tree = [tree] if i % 2 else {"k": tree}
    out = substitute(tree, {"a": "A"})
    for i in reversed(range(depth)):
        out = out[0] if i % 2 else out["k"]
    assert out == "A"
    assert placeholders(tree) == {"a"}


JSON_TREES = [
    {"text_message": {"text": "Hi ${name}, ${missing} ${name}"}},
    {"card_message": {"title": "${a}", "choices": [{"text_message": {"text": "x${b}y"}}], "n": 3, "f": None}},
    {"t": ["${a}", ["${b}", {"k": "${a}${b}"}]], "u": '\\${a} and \\"${b}\\"'},
    {"t": "${ä-name} ${with space} ${x:y}"},
    {"t": "no placeholders", "e": "$ { a }", "o": "${"},
    {"t": "${a"},
    {"t": "${a", "u": "b}"},
    {"t": "${a", "u": "b} ${name}"},
]
JSON_PARAMS = [
    {},
    {"name": "Ann", "a": "1", "b": "2"},
    {"a": 'quote " backslash \\ newline \n tab \t', "b": "\u2028 \x7f \x00 é ${a}"},
    {"ä-name": "ok", "with space": "s", "x:y": "z", 'a","u":"b': "cross"},
]


@pytest.mark.parametrize("tree", JSON_TREES)
@pytest.mark.parametrize("params", JSON_PARAMS)
def test_json_substituter_gives_what_substitute_gives(tree, params):
    render = p.json_substituter(tree)
    assert render is not None
    assert msgspec.json.decode(render(params)) == p.substitute(tree, params)


@pytest.mark.parametrize(
    "tree",
    [{"${a}": "x"}, {"t": [{"k${b}": 1}]}, {"t": '${a"b}'}, {"t": "${a\\b}"}, {"t": "${a\nb}"}],
)
def test_json_substituter_declines_trees_where_it_could_differ(tree):
    assert p.json_substituter(tree) is None
