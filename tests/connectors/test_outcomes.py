"""Outcome rules: magic numbers, first match wins, profiles, seeded reproducibility, config."""

import json

import pytest

from openxms.connectors.outcomes import (
    BUILTIN_PROFILES,
    DEFAULT_RULES,
    Outcome,
    OutcomeRules,
    Profile,
    Rule,
    RulesError,
)

PLAIN = "12017777777"


def test_magic_numbers():
    r = OutcomeRules()
    assert r.decide(PLAIN, 1) == Outcome(True, "Delivered", 0, 0)
    assert r.decide("12010000001", 1) == Outcome(True, "Failed", 153, 0)
    assert r.decide("12010000002", 1) == Outcome(True, "Expired", 201, 0)
    assert r.decide("12010000003", 1) == Outcome(False, "Rejected", 408, 0, receipt=False)
    assert r.decide("12010000004", 1) == Outcome(True, "Deleted", 150, 0)
    assert r.decide("12010000005", 1) == Outcome(True, "Unknown", 401, 0, receipt=False)
    slow = r.decide("12010000006", 1)
    assert slow.accept and slow.status == "Delivered" and 2000 <= slow.delay_ms < 5000
    assert r.decide("12010000007", 1).status == "Delivered"
    assert r.decide("120100000010", 1).status == "Delivered"  # ends in 0010, not 0001


def test_smpp_state_follows_status():
    r = OutcomeRules()
    states = {n: r.decide(f"1201000000{n}", 1).smpp_state for n in range(1, 6)}
    assert states == {1: "UNDELIV", 2: "EXPIRED", 3: "REJECTD", 4: "DELETED", 5: "UNKNOWN"}
    assert r.decide(PLAIN, 1).smpp_state == "DELIVRD"


def test_msisdn_is_normalised_to_digits():
    r = OutcomeRules.from_dict({"rules": [{"match": "4670*", "status": "Failed"}]})
    assert r.decide("+12010000001", 1).status == "Failed"
    assert r.decide("+1 201 000 0004", 1).status == "Deleted"
    assert r.decide("+46 70 123", 1).status == "Failed"


def test_first_match_wins_and_user_rules_come_before_magic_numbers():
    r = OutcomeRules.from_dict(
        {
            "rules": [
                {"match": "*0001", "status": "Delivered"},
                {"match": "re:4670.*", "status": "Failed", "code": 15},
                {"match": "4670*", "status": "Expired"},
            ]
        }
    )
    assert r.decide("12010000001", 1).status == "Delivered"
    assert r.decide("46701234567", 1) == Outcome(True, "Failed", 15, 0)
    assert r.decide("12010000002", 1).status == "Expired"  # magic numbers still apply after
    assert OutcomeRules.from_dict({"default_rules": False}).decide("12010000001", 1).status == "Delivered"


@pytest.mark.parametrize(
    "match,hit,miss",
    [
        ("*0001", "46700001", "46700010"),
        ("4670*", "46701234", "14670123"),
        ("46701234567", "46701234567", "467012345678"),
        ("4670?234", "46701234", "467012345"),
        ("*[89]", "46708", "46707"),
        ("*", "1", None),
        ("re:1(20|30)\\d+", "1201", "1401"),
        ("re:12", "12", "123"),  # a regex must match the whole number
    ],
)
def test_pattern_kinds(match, hit, miss):
    r = OutcomeRules([Rule(match, status="Failed")])
    assert r.decide(hit, 1).status == "Failed"
    if miss is not None:
        assert r.decide(miss, 1).status == "Delivered"


def test_fixed_rule_defaults():
    r = OutcomeRules(
        [
            Rule("1"),
            Rule("2", status="Expired"),
            Rule("3", accept=False),
            Rule("4", receipt=False),
            Rule("5", delay_ms=3000),
            Rule("6", status="Unknown"),
        ]
    )
    assert r.decide("1", 0) == Outcome(True, "Delivered", 0, 0)
    assert r.decide("2", 0) == Outcome(True, "Expired", 201, 0)
    assert r.decide("3", 0) == Outcome(False, "Rejected", 408, 0, receipt=False)
    assert r.decide("4", 0) == Outcome(True, "Unknown", 401, 0, receipt=False)
    assert r.decide("5", 0) == Outcome(True, "Delivered", 0, 3000)
    assert r.decide("6", 0) == Outcome(True, "Unknown", 401, 0)  # a receipt saying UNKNOWN


def test_builtin_profiles():
    assert set(BUILTIN_PROFILES) == {"healthy", "slow", "flaky", "dead", "rejecting", "throttling"}

    def outs(profile, n=2000):
        r = OutcomeRules(default_profile=profile, seed=5)
        return [r.decide(PLAIN, k) for k in range(n)]

    assert set(outs("healthy")) == {Outcome(True, "Delivered", 0, 0)}
    assert set(outs("dead")) == {Outcome(True, "Unknown", 401, 0, receipt=False)}
    assert set(outs("rejecting")) == {Outcome(False, "Rejected", 408, 0, receipt=False)}
    slow = [o.delay_ms for o in outs("slow")]
    assert min(slow) >= 2000 and max(slow) < 5000 and 3300 < sum(slow) / len(slow) < 3700
    assert len(set(slow)) > 1000  # spread out, not a few fixed values
    flaky = outs("flaky", 10_000)
    assert {(o.status, o.code) for o in flaky} == {("Delivered", 0), ("Failed", 153)}
    assert 410 < sum(o.status == "Failed" for o in flaky) < 590  # 5% +- 4 sigma


def test_throttling_profile():
    r = OutcomeRules(default_profile="throttling", seed=3)
    outs = [r.decide(PLAIN, k) for k in range(1000)]
    throttled = [o for o in outs if o.throttled]
    assert 400 < len(throttled) < 600
    assert set(throttled) == {Outcome(False, "Rejected", 0x58, 0, receipt=False, throttled=True)}
    assert all(o == Outcome(True, "Delivered", 0, 0) for o in outs if not o.throttled)


def test_custom_profile_refusals_are_rejected():
    r = OutcomeRules.from_dict(
        {"seed": 1, "default_profile": "picky", "profiles": {"picky": {"accept_probability": 0.5}}}
    )
    refused = {r.decide(PLAIN, k) for k in range(200)} - {Outcome(True, "Delivered", 0, 0)}
    assert refused == {Outcome(False, "Rejected", 408, 0, receipt=False)}
    r = OutcomeRules.from_dict(
        {
            "default_profile": "no",
            "profiles": {"no": {"accept_probability": 0, "failure_status": "Rejected", "failure_code": 61}},
        }
    )
    assert r.decide(PLAIN, 1) == Outcome(False, "Rejected", 61, 0, receipt=False)


def test_flaky_probability_is_roughly_right():
    r = OutcomeRules.from_dict(
        {"seed": 1, "profiles": {"bad": {"failure_probability": 0.2, "failure_code": 15}}, "default_profile": "bad"}
    )
    failed = sum(r.decide(PLAIN, k) == Outcome(True, "Failed", 15, 0) for k in range(10_000))
    assert 1840 < failed < 2160  # 20% +- 4 sigma
    # over many numbers as well as many keys
    failed = sum(r.decide(str(12010000100 + i), 0).status == "Failed" for i in range(10_000))
    assert 1840 < failed < 2160


def test_reproducible_from_a_seed():
    a = OutcomeRules.from_dict({"seed": 42, "default_profile": "flaky"})
    b = OutcomeRules.from_dict({"seed": 42, "default_profile": "flaky"})
    c = OutcomeRules.from_dict({"seed": 43, "default_profile": "flaky"})
    keys = range(2000)
    outs = [a.decide(PLAIN, k) for k in keys]
    assert outs == [b.decide(PLAIN, k) for k in keys]
    assert outs == [a.decide(PLAIN, k) for k in reversed(keys)][::-1]  # order does not matter
    assert outs != [c.decide(PLAIN, k) for k in keys]
    assert outs != [a.decide("12017777778", k) for k in keys]  # the number is part of the draw
    assert a.decide(PLAIN, 7) == a.decide(PLAIN, "7")  # the key is used by its text


def test_accept_fail_and_delay_draws_are_independent():
    r = OutcomeRules.from_dict(
        {
            "seed": 9,
            "default_profile": "mix",
            "profiles": {"mix": {"accept_probability": 0.5, "failure_probability": 0.5, "delay_ms": [0, 1000]}},
        }
    )
    outs = [r.decide(PLAIN, k) for k in range(8000)]
    accepted = [o for o in outs if o.accept]
    failed = [o for o in accepted if o.status == "Failed"]
    assert 3700 < len(accepted) < 4300 and 0.45 < len(failed) / len(accepted) < 0.55
    late_failed = sum(o.delay_ms >= 500 for o in failed) / len(failed)
    assert 0.45 < late_failed < 0.55


def test_round_trip():
    d = {
        "seed": 9,
        "default_profile": "mine",
        "profiles": {"mine": {"delay_ms": [10, 20]}, "flaky": {"failure_probability": 0.5}},
        "rules": [{"match": "*77", "profile": "slow"}, {"match": "re:1.*9", "status": "Failed", "code": 15}],
    }
    r = OutcomeRules.from_dict(d)
    out = r.to_dict()
    assert json.loads(json.dumps(out)) == out  # JSON-safe
    assert out["rules"] == d["rules"] and out["default_rules"] is True
    assert out["profiles"]["mine"]["delay_ms"] == [10, 20] and out["profiles"]["flaky"]["failure_probability"] == 0.5
    assert set(out["builtin_profiles"]) == set(BUILTIN_PROFILES) and len(out["magic_numbers"]) == len(DEFAULT_RULES)
    again = OutcomeRules.from_dict(out)
    assert again.to_dict() == out and again.rules == r.rules and again.profiles == r.profiles
    for n in ("1201000077", "12010000001", "1209", PLAIN):
        assert [again.decide(n, k) for k in range(50)] == [r.decide(n, k) for k in range(50)]


def test_round_trip_keeps_order_and_dropped_defaults():
    r = OutcomeRules((*DEFAULT_RULES, Rule("*1", status="Failed")))  # magic numbers first, then a rule
    again = OutcomeRules.from_dict(r.to_dict())
    assert again.rules == r.rules
    r = OutcomeRules.from_dict({"default_rules": False, "rules": [{"match": "*0001", "status": "Failed", "code": 153}]})
    assert r.to_dict()["default_rules"] is False
    assert OutcomeRules.from_dict(r.to_dict()).rules == r.rules == (DEFAULT_RULES[0],)
    assert OutcomeRules().to_dict()["rules"] == [] and OutcomeRules.from_dict({}).rules == DEFAULT_RULES


def test_delay_ms_may_be_one_number():
    r = OutcomeRules.from_dict({"default_profile": "p", "profiles": {"p": {"delay_ms": 250}}})
    assert r.decide(PLAIN, 1).delay_ms == 250
    assert r.profiles["p"] == Profile("p", delay_ms=(250, 250))


@pytest.mark.parametrize(
    "bad,key,words",
    [
        ({"default_profile": "nope"}, "default_profile", "default profile"),
        ({"rules": [{"match": "*1", "profile": "nope"}]}, "rules[0].profile", "unknown profile"),
        ({"rules": [{"match": "*1", "status": "Happy"}]}, "rules[0].status", "unknown status"),
        ({"rules": [{"match": "*1", "status": "delivered"}]}, "rules[0].status", "unknown status"),
        ({"rules": [{"match": "re:("}]}, "rules[0].match", "bad regex"),
        ({"rules": [{"status": "Failed"}]}, "rules[0]", "match"),
        ({"rules": [{"match": ""}]}, "rules[0].match", "non-empty"),
        ({"rules": [{"match": 5}]}, "rules[0].match", "non-empty"),
        ({"rules": [{"match": "*1", "delay_ms": -1}]}, "rules[0].delay_ms", "non-negative integer"),
        ({"rules": [{"match": "*1", "code": "x"}]}, "rules[0].code", "non-negative integer"),
        ({"rules": [{"match": "*1", "accept": "no"}]}, "rules[0].accept", "true or false"),
        ({"rules": [{"match": "*1", "accept": False, "status": "Delivered"}]}, "rules[0].status", "Rejected"),
        ({"rules": [{"match": "*1", "profile": "slow", "status": "Failed"}]}, "rules[0]", "either"),
        ({"rules": [{"match": "*1", "colour": "red"}]}, "rules[0].colour", "unknown key"),
        ({"rules": {"match": "*1"}}, "rules", "list"),
        ({"rules": ["*1"]}, "rules[0]", "match"),
        ({"profiles": {"p": {"failure_probability": 1.5}}}, "profiles.p.failure_probability", "between 0 and 1"),
        ({"profiles": {"p": {"failure_probability": -0.1}}}, "profiles.p.failure_probability", "between 0 and 1"),
        ({"profiles": {"p": {"accept_probability": 2}}}, "profiles.p.accept_probability", "between 0 and 1"),
        ({"profiles": {"p": {"failure_probability": "0.5"}}}, "profiles.p.failure_probability", "between 0 and 1"),
        ({"profiles": {"p": {"delay_ms": [5, 1]}}}, "profiles.p.delay_ms", "min <= max"),
        ({"profiles": {"p": {"delay_ms": -5}}}, "profiles.p.delay_ms", "min <= max"),
        ({"profiles": {"p": {"delay_ms": [1, 2, 3]}}}, "profiles.p.delay_ms", "number of ms"),
        ({"profiles": {"p": {"delay_ms": "soon"}}}, "profiles.p.delay_ms", "number of ms"),
        ({"profiles": {"p": {"failure_status": "Sad"}}}, "profiles.p.failure_status", "unknown status"),
        ({"profiles": {"p": {"failure_code": -1}}}, "profiles.p.failure_code", "non-negative integer"),
        ({"profiles": {"p": {"receipt": "yes"}}}, "profiles.p.receipt", "true or false"),
        ({"profiles": {"p": {"colour": "red"}}}, "profiles.p.colour", "unknown key"),
        ({"profiles": {"p": 3}}, "profiles.p", "object"),
        ({"profiles": [1]}, "profiles", "object"),
        ({"seed": "abc"}, "seed", "integer"),
        ({"default_rules": "no"}, "default_rules", "true or false"),
        ({"rules": [{"match": "*1"}, {"match": "*2", "code": -1}]}, "rules[1].code", "non-negative"),
        ({"profiles": {"my profile": {"delay_ms": [5, 1]}}}, 'profiles."my profile".delay_ms', "min <= max"),
        ({"surprise": 1}, "surprise", "unknown key 'surprise'"),
    ],
)
def test_bad_rules_raise_value_error_naming_the_key(bad, key, words):
    with pytest.raises(RulesError, match=words) as e:
        OutcomeRules.from_dict(bad)
    assert e.value.key == key and isinstance(e.value, ValueError)


def test_bad_constructor_arguments_raise_value_error():
    with pytest.raises(ValueError, match="unknown profile"):
        OutcomeRules([Rule("*1", profile="nope")])
    with pytest.raises(ValueError, match="between 0 and 1"):
        OutcomeRules(profiles={"p": Profile("p", failure_probability=2.0)})
    with pytest.raises(ValueError, match="object"):
        OutcomeRules.from_dict([])  # type: ignore[arg-type]


def test_profile_names_follow_their_key():
    r = OutcomeRules(profiles={"mine": Profile("other", failure_probability=1.0)}, default_profile="mine")
    assert r.profiles["mine"].name == "mine"
    assert r.decide(PLAIN, 1).status == "Failed"


def test_explain_names_the_rule_decide_applies_and_its_outcome():
    rules = OutcomeRules.from_dict(
        {
            "seed": 3,
            "profiles": {"coin": {"failure_probability": 0.5}},
            "rules": [{"match": "4670*", "profile": "coin"}, {"match": "re:1201555000[12]", "status": "Deleted"}],
        }
    )
    for number in ("46701234567", "12015550001", "12015550002", "12015550003", "12019990005", "33123456789"):
        for key in range(30):
            e = rules.explain("+" + number, key)
            assert e.msisdn == number and e.outcome == rules.decide(number, key)
    coin = rules.explain("46701234567")
    assert (coin.source, coin.index, coin.profile.name, coin.chance, coin.outcome) == ("rules", 0, "coin", True, None)
    assert rules.explain("12015550001").index == 1  # the user's rule overrides the magic number
    magic = rules.explain("12015550003")
    assert (magic.source, magic.index, magic.rule, magic.chance) == ("magic_numbers", 2, DEFAULT_RULES[2], False)
    default = rules.explain("33123456789")
    assert (default.source, default.index, default.rule, default.profile.name) == (
        "default_profile",
        None,
        None,
        "healthy",
    )
    bare = OutcomeRules.from_dict({"default_rules": False, "rules": [{"match": "*1", "status": "Failed"}]})
    assert (bare.explain("12015550001").source, bare.explain("12015550003").source) == ("rules", "default_profile")
