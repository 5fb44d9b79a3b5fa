"""The SMPP connection settings of one account: the `smpp` table of a service plan or project
(docs/smpp.md).

A leaf module (it imports nothing else of openxms), so the settings (`openxms.config`) can
declare `Account.smpp` with it and the client can use it without either importing the other.
`msgspec.convert` checks the types and ranges in the annotations (with the key path in the
error); `__post_init__` repeats the checks that matter for a `SmppConfig(...)` built in code,
which msgspec does not type-check.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Octet = Annotated[int, msgspec.Meta(ge=0, le=255)]  # TON, NPI, registered_delivery: 1-octet Integers (SMPP 3.4 §4.4.1)
AtLeastOne = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]

BIND_MODES = ("transceiver", "transmitter_receiver")
CONCATS = ("udh8", "udh16", "sar")


class SmppConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: Annotated[str, msgspec.Meta(min_length=1)]
    port: Port = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    bind_mode: Literal["transceiver", "transmitter_receiver"] = "transceiver"
    binds: AtLeastOne = 1
    window: AtLeastOne = 10
    throughput: Annotated[float, msgspec.Meta(ge=0)] = 0.0  # submits per second, 0 = unlimited
    enquire_link_interval: Seconds = 30.0
    response_timeout: Seconds = 10.0
    reconnect_min: Seconds = 1.0
    reconnect_max: Seconds = 60.0
    tls: bool = False
    tls_verify: bool = True
    source_ton: Octet | None = None
    source_npi: Octet | None = None
    dest_ton: Octet = 1
    dest_npi: Octet = 1
    concat: Literal["udh8", "udh16", "sar"] = "udh8"
    registered_delivery: Octet = 1
    service_type: str = ""
    receipt_wait: Seconds = 259_200.0  # s a sent part's id is kept for its receipt (Sinch's longest expiry)

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host is required")
        if self.bind_mode not in BIND_MODES:
            raise ValueError("bind_mode must be transceiver or transmitter_receiver")
        if self.concat not in CONCATS:
            raise ValueError("concat must be udh8, udh16 or sar")
        if self.binds < 1 or self.window < 1:
            raise ValueError("binds and window must be at least 1")
        if self.receipt_wait <= 0:
            raise ValueError("receipt_wait must be positive")
