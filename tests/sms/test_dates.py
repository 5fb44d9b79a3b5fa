import pytest

from openxms.sms import dates


@pytest.mark.parametrize(
    "raw,out",
    [
        ("2024-06-06T09:25:00Z", "2024-06-06T09:25:00.000Z"),
        ("2024-06-06T09:25:00.123456+02:00", "2024-06-06T07:25:00.123Z"),
        ("2024-06-07T09:25:00", "2024-06-07T09:25:00.000Z"),
        ("2024-06-06T09:25:00.000Z", "2024-06-06T09:25:00.000Z"),
        ("2014-10-02T09:30Z", "2014-10-02T09:30:00.000Z"),
        ("2014-06-23", "2014-06-23T00:00:00.000Z"),
        ("20140623TZ", "2014-06-23T00:00:00.000Z"),
        ("2022-10-02 09:34:18.542000+00:00", "2022-10-02T09:34:18.542Z"),
    ],
)
def test_parse_every_shape_the_sdks_send(raw, out):
    assert dates.format(dates.parse(raw)) == out


@pytest.mark.parametrize("raw", ["", "tomorrow", "2024-13-01T00:00:00Z", "2024-06-06T25:00:00Z"])
def test_parse_rejects(raw):
    with pytest.raises(ValueError):
        dates.parse(raw)


def test_millisecond_precision_is_kept():
    assert dates.parse("1970-01-01T00:00:01.999Z") == 1999
