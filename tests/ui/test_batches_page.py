"""The Batches view in headless Chromium (Playwright, as in test_page.py): a scheduled batch
with its countdown is sent by "advance the clock to send_at", another is cancelled, and a batch
page shows its request, the parts per recipient of its dry run, the batch as the API returns it
and its recipients."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from .support import AUTH, live_server
from .test_page import TIMEOUT_MS, chromium, page  # noqa: F401 - the browser fixtures


def test_scheduled_batch_countdown_advance_and_cancel(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        now = httpx.get(s.url + "/clock").json()["now_ms"]
        send_at = (now // 1000 + 2 * 3600 + 5 * 60) * 1000  # 2 h 5 min ahead on the (manual) server clock
        when = datetime.fromtimestamp(send_at / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        later = s.send(to="+12017770021", body="see you later", send_at=when)
        doomed = s.send(to="+12017770022", body="never", send_at=when)
        sent = s.send(to="+12017770023", body="right now")

        pg.goto(s.url + "/#/batches")
        expect(pg.locator('.views a[data-view="batches"]')).to_have_attribute("aria-current", "page")
        rows = pg.locator("#bat-rows tr")
        expect(rows).to_have_count(3)
        expect(rows.locator('[data-label="State"]')).to_have_text(["done", "scheduled", "scheduled"])  # newest first
        expect(rows.nth(1).locator(".countdown")).to_have_text("sends in 2 h 5 min 0 s")
        expect(rows.nth(0).locator('[data-label="Recipients"]')).to_have_text("Delivered 1")

        # cancel one from its page
        rows.nth(1).get_by_role("link").click()
        assert pg.evaluate("location.hash") == f"#/batches/{doomed['id']}"
        expect(pg.locator("#bat-detail-title")).to_contain_text("scheduled")
        expect(pg.locator("#bat-request")).to_contain_text('"body": "never"')
        pg.once("dialog", lambda d: d.accept())
        pg.locator("#bat-cancel").click()
        expect(pg.locator("#bat-detail-title")).to_contain_text("cancelled")
        expect(pg.locator("#bat-recipient-rows .badge.status")).to_have_text(["Cancelled · 407"])

        # the other: the clock moves to its send_at, and it is sent
        pg.goto(s.url + f"/#/batches/{later['id']}")
        expect(pg.locator("#bat-detail-body .countdown")).to_have_text("sends in 2 h 5 min 0 s")
        expect(pg.locator("#bat-detail-body")).to_contain_text("No recipient is queued yet")
        pg.locator("#bat-advance").click()
        expect(pg.locator("#bat-recipient-rows .badge.status")).to_have_text(["Delivered · 0"])
        expect(pg.locator("#bat-detail-title")).to_contain_text("done")
        assert httpx.get(s.url + "/clock").json()["now_ms"] == send_at
        r = httpx.get(s.url + f"/xms/v1/SP1/batches/{later['id']}/delivery_report", headers=AUTH)
        assert r.json()["statuses"][0]["status"] == "Delivered"

        # Esc goes back to the list, where both now show what happened
        pg.keyboard.press("Escape")
        expect(rows.locator('[data-label="State"]')).to_have_text(["done", "cancelled", "done"])
        expect(pg.locator("#bat-rows .countdown")).to_have_count(0)
        assert re.fullmatch(r"#/batches", pg.evaluate("location.hash"))
        assert sent["id"] in pg.locator("#bat-rows").inner_text()
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def test_a_batch_page_shows_its_request_and_the_parts_per_recipient_of_its_dry_run(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        body = "Hello ${name} " + "✓" * 60  # UCS-2: 2 parts with the longer name, 1 with the shorter
        b2 = httpx.post(
            s.url + "/xms/v1/SP1/batches",
            headers=AUTH,
            json={
                "to": ["+12017770031", "+12017770032"],
                "from": "12025550100",
                "body": body,
                "parameters": {"name": {"+12017770031": "Bartholomew", "+12017770032": "Al"}},
            },
        ).json()
        expected = httpx.post(
            s.url + "/xms/v1/SP1/batches/dry_run?per_recipient=true",
            headers=AUTH,
            json=httpx.get(s.url + f"/simulator/batches/{b2['id']}").json()["request"],
        ).json()
        pg.goto(s.url + f"/#/batches/{b2['id']}")
        expect(pg.locator("#bat-request")).to_contain_text('"to": [')
        expect(pg.locator("#bat-request")).to_contain_text('"+12017770032": "Al"')
        rows = pg.locator("#bat-dry-rows tr")
        expect(rows).to_have_count(2)
        expect(rows.locator('[data-label="Parts"]')).to_have_text(
            [str(p["number_of_parts"]) for p in expected["per_recipient"]]
        )
        assert [p["number_of_parts"] for p in expected["per_recipient"]] == [2, 1]
        expect(rows.locator('[data-label="Encoding"]')).to_have_text(["UCS-2", "UCS-2"])
        expect(rows.first.locator('[data-label="Text"]')).to_contain_text("Hello Bartholomew ✓")
        expect(pg.locator("#bat-dry-total")).to_have_text("2 recipients, 3 message parts")
        # beside it, every recipient with its status
        expect(pg.locator("#bat-recipient-rows .badge.status")).to_have_text(["Delivered · 0", "Delivered · 0"])
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed
