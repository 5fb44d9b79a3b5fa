"""The callback sender's rules without a network: Sinch's retry schedule, what each HTTP
outcome leaves in the outbox, and the signature, checked by the Sinch Python SDK's own
validator."""

from __future__ import annotations

import json

import pytest
from sinch.domains.authentication.sinch_events.v1.authentication_validation import (
    validate_sinch_event_signature_with_nonce,
)
from sinch.domains.sms.sinch_events.v1.sms_sinch_event import SmsSinchEvent

from openxms.clock import ManualClock
from openxms.config import Account
from openxms.engine.callbacks import MAX_RETRIES, CallbackSender, outcome, retry_at, sign
from openxms.store import outbox
from openxms.store.db import Database

T0 = 1_700_000_000_000
SECRET = "KayakingTheSwell"


def test_retry_schedule_doubles_from_five_seconds_after_the_first_failure():
    expected_s = [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920]
    assert [(retry_at(T0, k) - T0) / 1000 for k in range(1, 16)] == expected_s
    assert MAX_RETRIES == 15
    assert retry_at(T0, 15) - T0 == 81_920_000  # 22 h 45 min 20 s: the last one


def due(attempts=0, first_failure_at=None):
    return outbox.Due(7, "A", "http://example.test/cb", "{}", attempts, first_failure_at, "http://example.test")


@pytest.mark.parametrize("code", [200, 201, 202, 204, 299])
def test_2xx_is_done(code):
    assert outcome(due(), code, None, T0) == outbox.Outcome(7, "done", 1, None, code, None, T0)
    # after failures: done, keeping when it first failed
    assert outcome(due(3, T0 - 5000), code, None, T0) == outbox.Outcome(7, "done", 4, T0 - 5000, code, None, T0)


@pytest.mark.parametrize("code", [300, 301, 400, 401, 403, 404, 410, 413, 422, 499])
def test_other_statuses_are_given_up_at_once(code):
    got = outcome(due(), code, None, T0)
    assert (got.state, got.attempts, got.first_failure_at, got.last_status, got.next_attempt_at) == (
        "failed",
        1,
        T0,
        code,
        T0,
    )
    assert got.last_error == f"HTTP {code}: not retried"
    later = outcome(due(4, T0), code, None, T0 + 80_000)  # a 4xx on a retry: given up too
    assert (later.state, later.attempts, later.first_failure_at) == ("failed", 5, T0)


@pytest.mark.parametrize(
    "code,error",
    [
        (500, None),
        (502, None),
        (503, None),
        (599, None),
        (429, None),
        (None, "ConnectError: refused"),
        (None, "ReadTimeout: timed out"),
    ],
)
def test_5xx_429_and_network_errors_are_retried_on_schedule(code, error):
    first = outcome(due(), code, error, T0)
    assert first == outbox.Outcome(7, "pending", 1, T0, code, error, T0 + 5_000)
    # retry 1 happens (late, even) and fails again: retry 2 is 10 s after the first failure,
    # not 10 s after retry 1
    second = outcome(due(1, T0), code, error, T0 + 7_000)
    assert second == outbox.Outcome(7, "pending", 2, T0, code, error, T0 + 10_000)


def test_a_callback_that_keeps_failing_is_tried_sixteen_times_then_dead():
    """Driven like the sender does: each attempt at the time it is due, fed back as the row."""
    row, now, times = due(), T0, []
    while True:
        got = outcome(row, 503, None, now)
        if got.state != "pending":
            break
        times.append(got.next_attempt_at - T0)
        row, now = due(got.attempts, got.first_failure_at), got.next_attempt_at
    assert times == [5_000 * 2**k for k in range(15)]
    assert (got.state, got.attempts, got.first_failure_at, got.last_status) == ("dead", 16, T0, 503)
    assert got.last_error == "HTTP 503: retries exhausted" and got.next_attempt_at == T0 + 81_920_000
    assert outcome(due(15, T0), None, "ConnectError: refused", now).last_error == "ConnectError: refused"


def sender(tmp_path, accounts, clock=None):
    return CallbackSender(
        Database(f"sqlite:///{tmp_path / 'cb.sqlite3'}"), clock or ManualClock(T0), accounts, "node-1", 5.0
    )


BODY = json.dumps(
    {"type": "delivery_report_sms", "batch_id": "01ABC", "statuses": [], "client_reference": "caf\u00e9 \u20ac"},
    ensure_ascii=False,
).encode()


def test_signed_headers_pass_the_sinch_sdk_validator(tmp_path):
    clock = ManualClock(T0 + 999)
    s = sender(tmp_path, {"A": Account(id="A", token="t", webhook_secret=SECRET)}, clock)
    headers = s.headers("A", BODY)
    assert headers["X-Sinch-Webhook-Signature-Timestamp"] == str(T0 // 1000)  # seconds, from the one clock
    assert headers["X-Sinch-Webhook-Signature-Algorithm"] == "HmacSHA256"
    assert SmsSinchEvent(SECRET).validate_authentication_header(headers, BODY)
    assert validate_sinch_event_signature_with_nonce(SECRET, headers, BODY.decode())
    assert not SmsSinchEvent("not-the-secret").validate_authentication_header(headers, BODY)
    assert not SmsSinchEvent(SECRET).validate_authentication_header(headers, BODY.replace(b"01ABC", b"01ABD"))
    for name in ("X-Sinch-Webhook-Signature-Nonce", "X-Sinch-Webhook-Signature-Timestamp"):
        tampered = {**headers, name: headers[name] + "0"}
        assert not SmsSinchEvent(SECRET).validate_authentication_header(tampered, BODY)
    again = s.headers("A", BODY)
    assert again["X-Sinch-Webhook-Signature-Nonce"] != headers["X-Sinch-Webhook-Signature-Nonce"]  # fresh nonce
    assert SmsSinchEvent(SECRET).validate_authentication_header(again, BODY)


def test_sign_is_hmac_sha256_over_body_nonce_timestamp():
    # the SDK computes the same value from the same three parts
    from sinch.domains.authentication.sinch_events.v1.authentication_validation import (
        calculate_sinch_event_signature,
        compute_signed_data,
    )

    expected = calculate_sinch_event_signature(compute_signed_data(BODY.decode(), "n0nce", "1700000000"), SECRET)
    assert sign(SECRET, BODY, "n0nce", "1700000000") == expected
    assert sign(SECRET, BODY, "n0nce", "1700000001") != expected


def test_no_secret_no_signature(tmp_path):
    s = sender(tmp_path, {"A": Account(id="A", token="t")})
    assert s.headers("A", BODY) == {"Content-Type": "application/json"}
    assert s.headers("gone", BODY) == {"Content-Type": "application/json"}  # an account no longer configured
