from openxms.sms import msisdn


def test_normalize_strips_prefixes_and_noise():
    assert msisdn.normalize("+12017777777") == "12017777777"
    assert msisdn.normalize("0046 70-123 45 67") == "46701234567"
    assert msisdn.normalize("+48 737532793") == "48737532793"
    assert msisdn.normalize("(201) 777-7777") == "2017777777"
    assert msisdn.normalize(" 12017777777") == "12017777777"  # a `+` that arrived as a space
    for bad in ("", "+", "hello", "0701234567", "+1234567890123456", "12a4"):
        assert msisdn.normalize(bad) is None


def test_targets_fast_path_and_slow_path_agree():
    fast = msisdn.normalize_targets(["+12017777777", "12018888888"])
    assert fast == (["12017777777", "12018888888"], [])
    slow = msisdn.normalize_targets(["+1 201 777 7777", "01W4FFL35P4NC4K35SMSGROUP1", "bad!"])
    assert slow == (["12017777777", "01W4FFL35P4NC4K35SMSGROUP1"], ["bad!"])


def test_group_ids_and_senders():
    assert msisdn.is_group_id("01W4FFL35P4NC4K35SMSGROUP1")
    assert not msisdn.is_group_id("12017777777")
    assert msisdn.normalize_sender("+12015555555") == "12015555555"
    assert msisdn.normalize_sender("MyBrand") == "MyBrand"
    assert msisdn.normalize_sender("12345") == "12345"  # short code kept


def test_query_lists():
    assert msisdn.split_query_list(" 12015555555, 12016666666 ,") == ["12015555555", "12016666666"]
    assert msisdn.split_query_list(None) == []


def test_the_documented_pattern_accepts_exactly_what_normalize_does():
    import random
    import re

    pattern = re.compile(msisdn.PATTERN)
    rng = random.Random(7)
    alphabet = " \t().\u00a0/-+0123456789x"
    samples = [
        "+46 70-123 45 67",
        "0046701234567",
        "12",
        "1",
        "0",
        "+0046",
        "++1234",
        "(201) 555 0100",
        "1" * 15,
        "1" * 16,
        "00 1 2",
        "+",
    ]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 18))) for _ in range(20_000)]
    for v in samples:
        assert (pattern.fullmatch(v) is not None) == (msisdn.normalize(v) is not None), repr(v)


def test_split_targets_keeps_order_and_agrees_with_a_test_per_target():
    numbers = [f"1201{i:07d}" for i in range(50)]
    assert msisdn.split_targets(numbers) == (numbers, [])
    assert not msisdn.has_groups(numbers)
    mixed = ["12015550100", "01W4FFL35P4NC4K35SMSGROUP1", "12015550101", "01HZZZZZZZZZZZZZZZZZZZZZZZ"]
    assert msisdn.split_targets(mixed) == (
        ["12015550100", "12015550101"],
        ["01W4FFL35P4NC4K35SMSGROUP1", "01HZZZZZZZZZZZZZZZZZZZZZZZ"],
    )
    assert msisdn.has_groups(mixed)
    assert msisdn.split_targets(["01W4FFL35P4NC4K35SMSGROUP1"]) == ([], ["01W4FFL35P4NC4K35SMSGROUP1"])
    assert msisdn.split_targets([]) == ([], [])
    assert not msisdn.has_groups([])
    # what normalize_targets produces, split both ways
    targets, bad = msisdn.normalize_targets(["+46 70-123 45 67", "GROUPID0001", "0046701234568"])
    assert not bad
    assert msisdn.split_targets(targets) == (
        [t for t in targets if t.isdigit()],
        [t for t in targets if not t.isdigit()],
    )


def test_normalize_targets_fast_path_matches_the_slow_one():
    values = ["+12015550100", "12015550101", "+46701234567"]
    assert msisdn.normalize_targets(values) == (["12015550100", "12015550101", "46701234567"], [])
    # A value holding a newline would read as two numbers in the joined list: it is one bad value.
    assert msisdn.normalize_targets(["+12015550100\n+12015550101"]) == ([], ["+12015550100\n+12015550101"])
    assert msisdn.normalize_targets(["12015550100", "1\n2"]) == (["12015550100"], ["1\n2"])
