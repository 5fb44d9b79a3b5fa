"""The OpenAPI 3.1 description of our API, assembled from the msgspec types the server uses.

Request schemas are the real decoding types (`sms/batches.py`, `sms/groups.py`); response
schemas are declared here as Structs so `msgspec.json.schema_components` can emit them too.
msgspec writes datetimes as plain strings, so timestamps are declared as `Timestamp`
(a string with `format: date-time`). Tests validate live responses against this document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from .. import __version__
from ..services.batches import FeedbackRequest
from ..sms.batches import BatchRequest, UpdateRequest
from ..sms.groups import AutoUpdate, GroupRequest, GroupUpdate

Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
Status = Literal["Queued", "Dispatched", "Aborted", "Cancelled", "Rejected", "Deleted", "Delivered", "Failed",
                 "Expired", "Unknown"]


class Error(Struct):
    code: str
    text: str


class MediaBodyOut(Struct, omit_defaults=True):
    url: str
    message: str | None = None
    subject: str | None = None


class Batch(Struct, omit_defaults=True):
    id: str
    to: list[str]
    canceled: bool
    body: str | MediaBodyOut
    type: Literal["mt_text", "mt_binary", "mt_media"]
    created_at: Timestamp
    modified_at: Timestamp
    delivery_report: Literal["none", "summary", "full", "per_recipient", "per_recipient_final"]
    expire_at: Timestamp
    from_: str | None = field(default=None, name="from")
    parameters: dict[str, dict[str, str]] | None = None
    udh: str | None = None
    send_at: Timestamp | None = None
    callback_url: str | None = None
    client_reference: str | None = None
    feedback_enabled: bool | None = None
    flash_message: bool | None = None
    truncate_concat: bool | None = None
    max_number_of_message_parts: int | None = None
    from_ton: int | None = None
    from_npi: int | None = None
    strict_validation: bool | None = None


class BatchList(Struct):
    count: int
    page: int
    page_size: Annotated[int, Meta(description="number of items in this page")]
    batches: list[Batch]


class DryRunRecipient(Struct):
    recipient: str
    body: str
    number_of_parts: int
    encoding: Literal["text", "unicode"]


class DryRun(Struct, omit_defaults=True):
    number_of_recipients: int
    number_of_messages: int
    per_recipient: list[DryRunRecipient] | None = None


class StatusCount(Struct, omit_defaults=True):
    code: int
    status: Status
    count: int
    recipients: list[str] | None = None


class BatchDeliveryReport(Struct, omit_defaults=True):
    type: Literal["delivery_report_sms", "delivery_report_mms"]
    batch_id: str
    total_message_count: int
    statuses: list[StatusCount]
    client_reference: str | None = None


class RecipientDeliveryReport(Struct, omit_defaults=True):
    type: Literal["recipient_delivery_report_sms", "recipient_delivery_report_mms"]
    batch_id: str
    recipient: str
    code: int
    status: Status
    at: Timestamp
    operator_status_at: Timestamp | None = None
    client_reference: str | None = None
    number_of_message_parts: int | None = None


class DeliveryReportList(Struct):
    count: int
    page: int
    page_size: int
    delivery_reports: list[RecipientDeliveryReport]


class Group(Struct, omit_defaults=True):
    id: str
    size: int
    created_at: Timestamp
    modified_at: Timestamp
    child_groups: list[str]
    name: str | None = None
    auto_update: AutoUpdate | None = None


class GroupList(Struct):
    count: int
    page: int
    page_size: int
    groups: list[Group]


class InboundMessage(Struct, omit_defaults=True):
    type: Literal["mo_text", "mo_binary", "mo_media"]
    id: str
    from_: str = field(name="from")
    to: str = ""
    body: str = ""
    received_at: Timestamp = ""
    udh: str | None = None
    sent_at: Timestamp | None = None
    operator_id: str | None = None
    client_reference: str | None = None


class InboundList(Struct):
    count: int
    page: int
    page_size: int
    inbounds: list[InboundMessage]


class Token(Struct):
    access_token: str
    expires_in: int
    scope: str
    token_type: str


TYPES = [BatchRequest, UpdateRequest, FeedbackRequest, GroupRequest, GroupUpdate, Error, Batch, BatchList, DryRun,
         BatchDeliveryReport, RecipientDeliveryReport, DeliveryReportList, Group, GroupList, InboundMessage,
         InboundList, Token]


def _ref(t: type) -> dict:
    return {"$ref": f"#/components/schemas/{t.__name__}"}


def _json(t: Any) -> dict:
    schema = {"type": "array", "items": {"type": "string"}} if t is list else _ref(t)
    return {"content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": {"description": "Bad request (`syntax_invalid_json`, `syntax_constraint_violation`, "
                           "`syntax_invalid_parameter_format`)", **_json(Error)},
    "401": {"description": "Missing, wrong or expired token", **_json(Error)},
    "404": {"description": "Not found", **_json(Error)},
}


def _q(name: str, typ: str = "string", desc: str = "", **extra: Any) -> dict:
    return {"name": name, "in": "query", "required": False, "description": desc, "schema": {"type": typ, **extra}}


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_PAGE = [_q("page", "integer", "page number, from 0", minimum=0),
         _q("page_size", "integer", "items per page (default 30)", minimum=1, maximum=100)]
_DATES = [_q("start_date", desc="ISO-8601, default now - 24 h", format="date-time"),
          _q("end_date", desc="ISO-8601, exclusive", format="date-time")]


def _op(summary: str, ok: str, body: Any = None, resp: Any = None, params: list | None = None,
        extra: dict | None = None) -> dict:
    op: dict[str, Any] = {"summary": summary, "parameters": params or [],
                          "responses": {ok: {"description": summary, **(_json(resp) if resp else {})}, **_ERRORS}}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if extra:
        op["responses"].update(extra)
    return op


def document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(TYPES, ref_template="#/components/schemas/{name}")
    b, g = "/xms/v1/{service_plan_id}/batches", "/xms/v1/{service_plan_id}/groups"
    bid, gid = [_path("batch_id")], [_path("group_id")]
    paths = {
        b: {"post": _op("Send a batch", "201", BatchRequest, Batch, [{"name": "Idempotency-Key", "in": "header",
                        "required": False, "schema": {"type": "string"}, "description":
                        "repeat within 24 h with the same body returns the original batch; other body: 409"}],
                        {"409": {"description": "Idempotency-Key reused with another body", **_json(Error)}}),
            "get": _op("List batches", "200", resp=BatchList, params=_PAGE + _DATES + [
                _q("from", desc="comma-separated senders"), _q("to", desc="comma-separated recipients"),
                _q("client_reference")])},
        b + "/dry_run": {"post": _op("Dry run", "200", BatchRequest, DryRun, [
            _q("per_recipient", "boolean", "include per-recipient details"),
            _q("number_of_recipients", "integer", "max per-recipient entries (default 100)", minimum=0, maximum=1000)])},
        b + "/{batch_id}": {"get": _op("Get a batch", "200", resp=Batch, params=bid),
                            "post": _op("Update a batch", "200", UpdateRequest, Batch, bid),
                            "put": _op("Replace a batch", "200", BatchRequest, Batch, bid),
                            "delete": _op("Cancel a batch", "200", resp=Batch, params=bid)},
        b + "/{batch_id}/delivery_feedback": {"post": _op("Delivery feedback", "202", FeedbackRequest, params=bid)},
        b + "/{batch_id}/delivery_report": {"get": _op("Batch delivery report", "200", resp=BatchDeliveryReport,
                                                       params=bid + [_q("type", desc="summary | full"),
                                                                     _q("status", desc="comma list, any case"),
                                                                     _q("code", desc="comma list of integers")])},
        b + "/{batch_id}/delivery_report/{recipient_msisdn}": {"get": _op(
            "Recipient delivery report", "200", resp=RecipientDeliveryReport, params=bid + [_path("recipient_msisdn")])},
        "/xms/v1/{service_plan_id}/delivery_reports": {"get": _op(
            "List recipient delivery reports", "200", resp=DeliveryReportList, params=_PAGE + _DATES + [
                _q("status"), _q("code"), _q("client_reference")])},
        g: {"post": _op("Create a group", "201", GroupRequest, Group),
            "get": _op("List groups", "200", resp=GroupList, params=_PAGE)},
        g + "/{group_id}": {"get": _op("Get a group", "200", resp=Group, params=gid),
                            "post": _op("Update a group", "200", GroupUpdate, Group, gid),
                            "put": _op("Replace a group", "200", GroupRequest, Group, gid),
                            "delete": _op("Delete a group", "200", params=gid)},
        g + "/{group_id}/members": {"get": _op("Group members", "200", resp=list, params=gid)},
        "/xms/v1/{service_plan_id}/inbounds": {"get": _op("List inbound messages", "200", resp=InboundList,
                                                          params=_PAGE + _DATES + [_q("to"), _q("client_reference")])},
        "/xms/v1/{service_plan_id}/inbounds/{inbound_id}": {"get": _op("Get an inbound message", "200",
                                                                       resp=InboundMessage,
                                                                       params=[_path("inbound_id")])},
    }
    for item in paths.values():
        for op in item.values():
            op["parameters"] = [_path("service_plan_id")] + op["parameters"]
    paths["/oauth2/token"] = {"post": {
        "summary": "OAuth2 client credentials token", "security": [{"basic": []}],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": {"grant_type": {"const": "client_credentials"}},
            "required": ["grant_type"]}}}},
        "responses": {"200": {"description": "token", **_json(Token)},
                      "401": {"description": "bad credentials"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "openxms: Sinch-compatible SMS REST API", "version": __version__,
                 "description": "The Sinch SMS REST API (batches, delivery reports, groups, inbounds) served "
                                "by openxms. Service plan mode: `Authorization: Bearer <API token>` on "
                                "/xms/v1/{service_plan_id}. Project mode: the same paths with the project id "
                                "and an OAuth2 access token from /oauth2/token."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}, "basic": {"type": "http", "scheme": "basic"}}},
        "paths": paths,
    }
