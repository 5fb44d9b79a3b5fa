"""What a delivery-report `code` means, in one table.

Two families share the integer (https://developers.sinch.com/docs/sms/api-reference/status-codes/):
Sinch's own REST codes (0, 400-418: queued, dispatched, pre-flight failures, cancelled) and the
error codes of an operator's status report, which Sinch passes through (its SMPP error
specification, https://developers.sinch.com/docs/sms/smpp/error-specification/, after SMPP 3.4
Appendix B): 1-77 routing, screening, ESME and internal errors, 100-114 SMSC, 150-164 HLR,
200-217 MSC, 250-257 service barring, 300-399 ESME external errors. `permanent` is that
specification's "treated as": whether sending the same message again can help.

A code not listed gets its family's meaning (`meaning()` never fails: an SMSC may invent codes).
"""

from __future__ import annotations

from typing import NamedTuple


class Meaning(NamedTuple):
    code: int
    name: str
    family: str  # sinch | routing | screening | esme | internal | smsc | hlr | msc | esme external
    permanent: bool | None  # None: not a failure (0, 400, 401, 407) or not said


_SINCH = {
    400: ("Queued: waiting to be dispatched at the plan's rate", None),
    401: ("Dispatched: accepted by the SMSC, no final receipt yet", None),
    402: ("Message unroutable: no route to this destination", True),
    403: ("Internal error", True),
    404: ("Temporary delivery failure: may succeed if sent again", False),
    405: ("Unmatched parameter: a body parameter has no value for this recipient", True),
    406: ("Internal expiry: expired before it reached the SMSC", True),
    407: ("Cancelled before it reached the SMSC", None),
    408: ("Internal reject: the SMSC refused the message", True),
    410: ("Unmatched default originator: no sender for this recipient", True),
    411: ("Exceeded parts limit: more parts than max_number_of_message_parts", True),
    412: ("Unprovisioned region: the plan may not send to this region", True),
    413: ("Blocked: the account is blocked", True),
    414: ("Bad media: the media URL could not be fetched (MMS)", True),
    415: ("Rejected by the MMS gateway or network (MMS)", True),
    416: ("Not supported by the network (MMS)", True),
    417: ("Destination unreachable (MMS)", False),
    418: ("Content not recognised by the handset (MMS)", True),
}

# Operator codes: (first, last, family, name, permanent); one row per run of codes that share
# their meaning. P/T: permanent / temporary, as the error specification treats them.
P, T = True, False
_OPERATOR: list[tuple[int, int, str, str, bool | None]] = [
    (1, 3, "routing", "Internal routing error", P),
    (4, 4, "routing", "Internal routing error", T),
    (5, 8, "routing", "Internal routing error", P),
    (9, 9, "routing", "Unsupported numbering plan", P),
    (10, 10, "routing", "Unsupported type of number", P),
    (11, 11, "routing", "Message not delivered", P),
    (12, 12, "routing", "Dialling zone not found", P),
    (13, 13, "routing", "Not in the home zone and the IMSI is not allowed", P),
    (14, 14, "routing", "Not in the home zone and the IMSI lookup failed", T),
    (15, 15, "screening", "Screening block", P),
    (16, 16, "screening", "Terminating IMSI blocked", P),
    (17, 17, "routing", "Destination network type unknown", P),
    (18, 18, "esme", "ESME error", T),
    (19, 19, "screening", "Originating location mismatch", P),
    (40, 40, "internal", "Internal error", T),
    (50, 52, "internal", "Internal error", T),
    (53, 55, "internal", "Internal error", P),
    (56, 56, "internal", "Internal error", T),
    (60, 60, "screening", "Originator blocked", P),
    (61, 61, "screening", "Destination blocked", P),
    (62, 62, "screening", "Keyword blocked", P),
    (63, 63, "screening", "SC address blocked", P),
    (64, 64, "screening", "Blocked: quota exceeded", P),
    (65, 65, "screening", "Loop detected", P),
    (66, 66, "screening", "Data coding scheme blocked", P),
    (67, 67, "screening", "Information element identifier blocked", P),
    (70, 71, "esme", "Internal error", T),
    (72, 72, "esme", "Internal error", P),
    (73, 76, "esme", "Internal error", T),
    (77, 77, "esme", "IMSI lookup blocked", P),
    (100, 100, "smsc", "Unidentified subscriber", P),
    (101, 101, "smsc", "Facility not supported", T),
    (102, 102, "smsc", "System failure", T),
    (103, 103, "smsc", "Unexpected data value", P),
    (104, 104, "smsc", "Data missing", P),
    (105, 105, "smsc", "Equipment protocol error", P),
    (106, 106, "smsc", "Unknown service centre address", T),
    (107, 107, "smsc", "Service centre congestion", T),
    (108, 108, "smsc", "Invalid short message entity address", P),
    (109, 109, "smsc", "Not a subscriber of this service centre", T),
    (110, 110, "smsc", "Reject", P),
    (111, 111, "smsc", "Local cancel", T),
    (112, 112, "smsc", "Abort", T),
    (113, 113, "smsc", "Exception (internal)", P),
    (114, 114, "smsc", "Unknown error", T),
    (150, 150, "hlr", "Unknown subscriber: no such number", P),
    (151, 151, "hlr", "Call barred", P),
    (152, 152, "hlr", "Teleservice not provisioned: no SMS subscription", P),
    (153, 153, "hlr", "Absent subscriber", T),
    (154, 154, "hlr", "Facility not supported: no SMS in the visited network", P),
    (155, 155, "hlr", "System failure", T),
    (156, 156, "hlr", "Unexpected data value", P),
    (157, 157, "hlr", "Data missing", P),
    (158, 158, "hlr", "Memory capacity exceeded: the handset is full", T),
    (159, 159, "hlr", "Mobile subscriber not reachable", T),
    (160, 160, "hlr", "Reject", P),
    (161, 161, "hlr", "Local cancel", T),
    (162, 162, "hlr", "Abort", T),
    (163, 163, "hlr", "Exception (internal)", P),
    (164, 164, "hlr", "Unknown error", T),
    (200, 200, "msc", "Unidentified subscriber", T),
    (201, 201, "msc", "Absent subscriber: IMSI detached", T),
    (202, 202, "msc", "Absent subscriber: no page response", T),
    (203, 203, "msc", "Subscriber busy for MT SMS", T),
    (204, 204, "msc", "Facility not supported: no SMS on this SIM", P),
    (205, 205, "msc", "Illegal subscriber: authentication failed", P),
    (206, 206, "msc", "Illegal equipment: the handset is black-listed", P),
    (207, 207, "msc", "System failure", T),
    (208, 208, "msc", "Unexpected data value", P),
    (209, 209, "msc", "Data missing", P),
    (210, 210, "msc", "Memory capacity exceeded: the handset is full", T),
    (211, 211, "msc", "Equipment protocol error", T),
    (212, 212, "msc", "Equipment not short message equipped", T),
    (213, 213, "msc", "Reject", P),
    (214, 214, "msc", "Local cancel", T),
    (215, 215, "msc", "Abort", T),
    (216, 216, "msc", "Exception (internal)", P),
    (217, 217, "msc", "Unknown error", T),
    (250, 257, "screening", "Personal or operator service barring", P),
    (300, 300, "esme external", "Invalid destination address", P),
    (301, 301, "esme external", "Invalid destination numbering plan", P),
    (302, 302, "esme external", "Invalid destination type of number", P),
    (303, 303, "esme external", "Invalid destination flag", P),
    (304, 304, "esme external", "Invalid number of destinations", P),
    (310, 310, "esme external", "Invalid source address", P),
    (311, 311, "esme external", "Invalid source numbering plan", P),
    (312, 312, "esme external", "Invalid source type of number", P),
    (320, 320, "esme external", "ESME receiver permanent error", P),
    (321, 321, "esme external", "ESME receiver reject error", P),
    (322, 322, "esme external", "ESME receiver temporary error", None),
    (330, 330, "esme external", "Invalid command length", P),
    (331, 331, "esme external", "Invalid service type", P),
    (332, 332, "esme external", "Invalid operation", P),
    (333, 333, "esme external", "Operation not allowed", P),
    (334, 334, "esme external", "Invalid parameter", P),
    (335, 335, "esme external", "Parameter not allowed", P),
    (336, 336, "esme external", "Invalid parameter length", P),
    (337, 337, "esme external", "Invalid optional parameter", P),
    (338, 338, "esme external", "Optional parameter missing", P),
    (339, 339, "esme external", "Invalid validity parameter", P),
    (340, 340, "esme external", "Invalid scheduled delivery parameter", P),
    (341, 341, "esme external", "Invalid distribution list", P),
    (342, 342, "esme external", "Invalid message class", P),
    (343, 343, "esme external", "Invalid message length", P),
    (344, 344, "esme external", "Invalid message reference", P),
    (345, 345, "esme external", "Invalid number of messages", P),
    (346, 346, "esme external", "Invalid predefined message", P),
    (347, 347, "esme external", "Invalid priority", P),
    (348, 348, "esme external", "Invalid replace flag", P),
    (349, 349, "esme external", "Request failed", P),
    (350, 350, "esme external", "Invalid delivery report request", T),
    (360, 360, "esme external", "Message queue full", T),
    (361, 362, "esme external", "External error", T),
    (370, 370, "esme external", "Cannot find information", T),
    (399, 399, "esme external", "Unknown", T),
]

# Where a code nobody listed falls: its family by range.
_FAMILIES = [
    (1, 99, "operator", "Operator error"),
    (100, 149, "smsc", "SMSC error"),
    (150, 199, "hlr", "HLR error"),
    (200, 249, "msc", "MSC error"),
    (250, 299, "screening", "Screening error"),
    (300, 399, "esme external", "ESME external error"),
    (400, 499, "sinch", "Sinch REST code"),
]

TABLE: dict[int, Meaning] = {
    code: Meaning(code, name, "sinch", permanent) for code, (name, permanent) in _SINCH.items()
}
for first, last, family, name, permanent in _OPERATOR:
    for c in range(first, last + 1):
        TABLE[c] = Meaning(c, name, family, permanent)


def meaning(code: int, status: str | None = None) -> Meaning:
    """What `code` means (with `status`, for 0: delivered, or "no error" beside another status)."""
    if code == 0:
        if status in (None, "Delivered"):
            return Meaning(0, "Delivered", "sinch", None)
        return Meaning(0, "No error code given", "operator", None)
    found = TABLE.get(code)
    if found is not None:
        return found
    for first, last, family, name in _FAMILIES:
        if first <= code <= last:
            return Meaning(code, f"{name} {code} (not in Sinch's list)", family, None)
    return Meaning(code, f"Code {code} (not in Sinch's list)", "unknown", None)
