"""A Conversation batch's status lifecycle, status reads and cancel request."""

import pytest

from openxms.conversation import batch_lifecycle as b
from openxms.errors import InvalidRequest
from openxms.sms import dates

BATCH = "01J9Z8K4M2Q7X3V5T6W8Y0A1BC"
NOW = dates.parse("2026-03-01T12:00:10Z")


# --- status ---------------------------------------------------------------------------------

STATES = ("SCHEDULED", "READY", "PROCESSED", "CANCELLED")
EDGES = {("SCHEDULED", "READY"), ("SCHEDULED", "CANCELLED"), ("READY", "PROCESSED")}


@pytest.mark.parametrize("current", STATES)
@pytest.mark.parametrize("new", STATES)
def test_status_machine(current, new):
    assert b.can_transition(current, new) is ((current, new) in EDGES)
    if (current, new) in EDGES:
        assert b.transition(current, new) == new
    else:
        with pytest.raises(b.InvalidTransition):
            b.transition(current, new)


def test_unknown_status_has_no_edges():
    assert not b.can_transition("DONE", "PROCESSED")


def test_status_object_is_spelled_meta_data():
    assert b.status_object(BATCH, {"campaign_id": "spring"}, "SCHEDULED", dates.parse("2026-03-01T12:05:00.123Z")) == {
        "batch_id": BATCH,
        "meta_data": {"campaign_id": "spring"},
        "status": "SCHEDULED",
        "send_after": "2026-03-01T12:05:00Z",
    }


def test_metadata_query():
    assert b.metadata_query({"metadataKey": "k", "metadataValue": "v"}) == ("k", "v")
    assert b.metadata_query({"metadata_key": "k", "metadata_value": ""}) == ("k", "")
    with pytest.raises(InvalidRequest, match="metadataKey is required"):
        b.metadata_query({"metadataValue": "v"})
    with pytest.raises(InvalidRequest, match="metadataValue is required"):
        b.metadata_query({"metadataKey": "k"})


# --- cancel ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,params,selector",
    [
        (b'{"batch_id": "01J9"}', None, b.CancelSelector(batch_id="01J9")),
        (b"", {"batch_id": "01J9"}, b.CancelSelector(batch_id="01J9")),
        (b'{"metadata_key": "k", "metadata_value": "v"}', None, b.CancelSelector(key="k", value="v")),
        (b'{"metadataKey": "k", "metadataValue": "v"}', None, b.CancelSelector(key="k", value="v")),
        (None, {"metadataKey": "k", "metadataValue": "v"}, b.CancelSelector(key="k", value="v")),
        (b"not json", {"metadata_key": "k", "metadata_value": "v"}, b.CancelSelector(key="k", value="v")),
        (b'{"batch_metadata": {"campaign_id": "spring"}}', None, b.CancelSelector(key="campaign_id", value="spring")),
        (b'{"batch_id": "01J9", "metadata_key": "k", "metadata_value": "v"}', None, b.CancelSelector(batch_id="01J9")),
        (b'{"metadata_key": "k", "metadata_value": "v"}', {"batch_id": "01J9"}, b.CancelSelector(batch_id="01J9")),
    ],
)
def test_cancel_forms(raw, params, selector):
    assert b.parse_cancel(raw, params) == selector


@pytest.mark.parametrize(
    "raw,params",
    [
        (b"", None),
        (None, None),
        (b"{", None),
        (b"[1]", None),
        (b'"x"', None),
        (b"{}", {}),
        (b'{"batch_id": 5}', None),
        (b'{"batch_id": " "}', None),
        (b'{"batch_metadata": {"a": "1", "b": "2"}}', None),
        (b'{"batch_metadata": {}}', None),
        (b'{"batch_metadata": {"a": 1}}', None),
        (b'{"batch_metadata": "a=1"}', None),
        (b'{"metadata_key": "", "metadata_value": "v"}', None),
        (b'{"metadata_key": "k"}', None),
        (b'{"metadataKey": "k", "metadataValue": 3}', None),
        (b'{"metadataKey": "k", "metadata_value": "v"}', None),
        (b"\xff\xfe", None),
    ],
)
def test_cancel_never_raises_and_malformed_cancels_nothing(raw, params):
    assert b.parse_cancel(raw, params) is None
