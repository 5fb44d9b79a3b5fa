"""Every delivery-report code the server can give has a meaning, from one table."""

from __future__ import annotations

from openxms.sms import codes, statuses


def test_every_sinch_code_and_every_code_the_engine_gives_has_its_own_meaning():
    produced = {v for k, v in vars(statuses).items() if k.startswith("C_")} | set(statuses.STATUS_OF_CODE)
    for code in produced:
        m = codes.meaning(code)
        assert m.code == code and code in codes.TABLE or code == 0, code
        assert "not in Sinch's list" not in m.name, code
    assert 409 not in codes.TABLE  # Sinch has no 409


def test_meanings_say_what_the_code_is_and_whether_sending_again_can_help():
    assert codes.meaning(153) == codes.Meaning(153, "Absent subscriber", "hlr", False)
    assert codes.meaning(150).permanent is True and codes.meaning(150).family == "hlr"
    assert codes.meaning(201).name.startswith("Absent subscriber") and codes.meaning(201).family == "msc"
    assert codes.meaning(15).name == "Screening block"
    assert codes.meaning(407).name.startswith("Cancelled") and codes.meaning(407).permanent is None
    assert codes.meaning(411).name.startswith("Exceeded parts limit")
    assert codes.meaning(254) == codes.meaning(250)._replace(code=254)


def test_code_zero_depends_on_the_status_and_unlisted_codes_get_their_family():
    assert codes.meaning(0).name == "Delivered"
    assert codes.meaning(0, "Delivered").name == "Delivered"
    assert codes.meaning(0, "Failed").name == "No error code given"
    assert codes.meaning(120) == codes.Meaning(120, "SMSC error 120 (not in Sinch's list)", "smsc", None)
    assert codes.meaning(420).family == "sinch"
    assert codes.meaning(9999).family == "unknown"
    assert codes.meaning(-1).family == "unknown"
