"""The Callbacks view in headless Chromium (Playwright, as in test_page.py): a callback whose
receiver fails shows its attempt, answer, signature headers and next retry, and succeeds after
"Retry now"."""

from __future__ import annotations

import httpx

from ..engine.receiver import Receiver
from ..engine.test_delivery import plans_toml
from .support import AUTH, live_server
from .test_page import TIMEOUT_MS, chromium, page  # noqa: F401 - the browser fixtures


def test_failing_callback_attempts_and_retry_now(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with Receiver(statuses=[503]) as rx, live_server(tmp_path, toml=plans_toml(rx.url, secret="s3cret")) as s:
        r = httpx.post(
            s.url + "/xms/v1/CB1/batches",
            headers=AUTH,
            json={"to": ["+12017770041"], "from": "12025550100", "body": "report me", "delivery_report": "full"},
        )
        assert r.status_code == 201, r.text
        pg.goto(s.url + "/#/callbacks")
        rows = pg.locator("#cb-rows tr")
        expect(rows).to_have_count(1)
        expect(rows.first.locator('[data-label="State"]')).to_have_text("pending")
        expect(rows.first.locator('[data-label="Last answer"]')).to_have_text("HTTP 503")
        expect(rows.first.locator('[data-label="Target"]')).to_have_text(rx.url + "/dr")
        rows.first.get_by_role("link").click()
        attempts = pg.locator("#cb-attempts > li")
        expect(attempts).to_have_count(1)
        expect(attempts.first.locator(".what")).to_have_text("#1 HTTP 503")
        sent = rx.requests[0]["headers"]["X-Sinch-Webhook-Signature"]
        expect(attempts.first.locator("pre")).to_contain_text(f"X-Sinch-Webhook-Signature: {sent}")
        expect(pg.locator("#cb-detail-body pre.json").last).to_contain_text(r.json()["id"])  # the payload
        expect(pg.locator("#cb-detail-body dl")).not_to_contain_text("Next try–")  # a retry is scheduled
        pg.locator("#cb-retry").click()
        expect(pg.locator("#cb-detail-title")).to_contain_text("done")
        expect(attempts.locator(".what")).to_have_text(["#1 HTTP 503", "#2 HTTP 200"])
        expect(pg.locator("#cb-retry")).to_have_count(0)
        assert len(rx.requests) == 2
        # what it is about: its batch's messages, one click away
        expect(pg.locator("#cb-detail-body dl")).to_contain_text("delivery_report_sms (Delivered 1)")
        about = pg.locator("#cb-about")
        expect(about).to_have_text("the messages of its batch")
        about.click()
        expect(pg.locator("#view-messages")).to_be_visible()
        expect(pg.locator("#msg-rows tr")).to_have_count(1)
        expect(pg.locator("#msg-batch")).to_have_value(r.json()["id"])
        pg.go_back()
        expect(pg.locator("#cb-detail-title")).to_contain_text("done")
        pg.keyboard.press("Escape")
        expect(rows.first.locator('[data-label="State"]')).to_have_text("done")
        expect(rows.first.locator('[data-label="Kind"]')).to_have_text("delivery_report_sms (Delivered 1)")
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed
