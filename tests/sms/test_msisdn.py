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
