"""The Conversation API's error body."""

import json

import pytest

from openxms import errors
from openxms.conversation.errors import body_for, error_body, grpc_status


@pytest.mark.parametrize(
    "status,name",
    [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (405, "UNIMPLEMENTED"),
        (409, "ALREADY_EXISTS"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (501, "UNIMPLEMENTED"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
        (418, "FAILED_PRECONDITION"),
        (502, "UNKNOWN"),
    ],
)
def test_grpc_names(status, name):
    assert grpc_status(status) == name


def test_body_is_wrapped_with_every_field():
    body = json.loads(error_body(400, "app_id is required"))
    assert body == {
        "error": {"code": 400, "message": "app_id is required", "status": "INVALID_ARGUMENT", "details": []}
    }


def test_details_and_override():
    d = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retry_delay": "1s"}]
    body = json.loads(error_body(409, "busy", d, grpc_status_name="ABORTED"))["error"]
    assert body["details"] == d and body["status"] == "ABORTED" and body["code"] == 409


def test_from_api_error():
    status, raw = body_for(errors.NotFound("app 01X not found"))
    assert status == 404
    assert json.loads(raw)["error"] == {
        "code": 404,
        "message": "app 01X not found",
        "status": "NOT_FOUND",
        "details": [],
    }
    assert body_for(errors.InvalidRequest("x", status=403))[0] == 403


def test_python_sdk_reads_the_error_message():
    from sinch.core.models.http_response import HTTPResponse
    from sinch.domains.conversation.api.v1.internal.base.conversation_endpoint import ConversationEndpoint
    from sinch.domains.conversation.exceptions import ConversationException

    response = HTTPResponse(status_code=400, headers={}, body=json.loads(error_body(400, "app_id is required")))
    with pytest.raises(ConversationException) as e:
        ConversationEndpoint._raise_for_error(None, response)
    assert "app_id is required  INVALID_ARGUMENT" in str(e.value)
