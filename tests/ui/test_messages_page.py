"""The Messages view in headless Chromium (Playwright, as in test_page.py): search among 10,000
messages, filters and deep links, keyboard navigation, the detail, a live status change, and
the layout at 375 px. Every wait is on the page's state, never a fixed sleep."""

from __future__ import annotations

import re
import time

import httpx

from .support import AUTH, live_server, wait_until
from .test_page import TIMEOUT_MS, chromium, page  # noqa: F401 - the browser fixtures


def send_many(s, n: int, body: str = "bulk message") -> None:
    for start in range(0, n, 1000):
        r = httpx.post(
            s.url + "/xms/v1/SP1/batches",
            headers=AUTH,
            json={
                "to": [f"+1301{start + i:06d}8" for i in range(min(1000, n - start))],
                "from": "12025550100",
                "body": body,
            },
            timeout=60,
        )
        assert r.status_code == 201, r.text


def messages(s, **params) -> list[dict]:
    return httpx.get(s.url + "/simulator/messages", params=params).json()["messages"]


def test_search_finds_one_message_among_ten_thousand(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        send_many(s, 10_000)
        needle = s.send(to="+12017770123", body="the one with a walrus", client_reference="ref-walrus")
        send_many(s, 10, body="after the needle")
        pg.goto(s.url + "/")  # Messages is the first view
        expect(pg.locator('.views a[data-view="messages"]')).to_have_attribute("aria-current", "page")
        rows = pg.locator("#msg-rows tr")
        expect(rows).to_have_count(50)
        expect(pg.locator("#msg-more")).to_be_visible()
        expect(rows.first.locator('[data-label="Text"]')).to_have_text("after the needle")

        search = pg.locator("#msg-q")
        for q in ("walrus", "770123", "+1 201 777 0123", needle["id"].lower(), "REF-WALR"):
            search.fill(q)
            expect(rows).to_have_count(1)
            expect(rows.first.locator('[data-label="To"]')).to_have_text("+12017770123")
            assert "q=" in pg.evaluate("location.hash")  # the search has a URL
        expect(rows.first.locator('[data-label="Text"]')).to_have_text("the one with a walrus")
        search.fill("no such message anywhere")
        expect(rows).to_have_count(0)
        expect(pg.locator("#msg-empty")).to_have_text("No message matches.")

        # the URL of a search opens the same search, and "Load more" pages on with the cursor
        pg.goto(s.url + "/#/messages?q=bulk")
        expect(rows).to_have_count(50)
        expect(search).to_have_value("bulk")
        pg.locator("#msg-more").click()
        expect(rows).to_have_count(100)
        ids = [int(i) for i in rows.evaluate_all("rs => rs.map(r => r.dataset.id)")]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 100

        # filters: status and plan; clearing brings everything back
        pg.locator("#msg-status").select_option("Failed")
        expect(rows).to_have_count(0)
        pg.locator("#msg-clear").click()
        expect(search).to_have_value("")
        expect(rows).to_have_count(50)
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def test_keyboard_detail_and_a_live_status_change(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        for i in range(3):
            s.send(to=f"+1201555010{i}", body=f"message {i}")
        wait_until(lambda: all(m["final"] for m in messages(s)) and len(messages(s)) == 3)
        pg.goto(s.url + "/#/messages")
        rows = pg.locator("#msg-rows tr")
        expect(rows).to_have_count(3)

        pg.keyboard.press("/")
        expect(pg.locator("#msg-q")).to_be_focused()
        pg.keyboard.press("Escape")  # leaves the field; keys move again
        expect(pg.locator("#msg-q")).not_to_be_focused()
        pg.keyboard.press("j")
        expect(rows.nth(0)).to_have_attribute("aria-selected", "true")
        pg.keyboard.press("j")
        pg.keyboard.press("ArrowDown")
        expect(rows.nth(2)).to_have_attribute("aria-selected", "true")
        pg.keyboard.press("k")
        expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
        expect(rows.nth(0)).to_have_attribute("aria-selected", "false")
        pg.keyboard.press("Enter")
        detail = pg.locator("#msg-detail")
        expect(detail).to_be_visible()
        expect(pg.locator("#msg-detail-title")).to_have_text("To +12015550101")
        expect(detail.locator("#msg-detail-body > .body")).to_have_text("message 1")
        expect(detail.locator(".timeline li .what")).to_have_text(
            ["Accepted", "Queued", "Dispatched: on the handset", "Receipt from the handset", "Final: Delivered · 0"]
        )
        expect(detail.locator("#msg-segments li")).to_have_text(["9 septetsmessage 1"])
        expect(detail.locator("#msg-callbacks")).to_have_text(
            "None: its batch asks for no delivery report callback, or has no callback URL."
        )
        expect(detail.locator("#msg-report")).to_contain_text('"type": "recipient_delivery_report_sms"')
        expect(detail.locator("#msg-report")).to_contain_text('"status": "Delivered"')
        opened = pg.evaluate("location.hash")
        assert re.fullmatch(r"#/messages/\d+", opened), opened
        pg.keyboard.press("Escape")
        expect(detail).to_be_hidden()
        assert pg.evaluate("location.hash") == "#/messages"

        # a deep link opens the message; its handset link switches to the Handsets view
        pg.goto(s.url + "/" + opened)
        expect(pg.locator("#msg-detail-title")).to_have_text("To +12015550101")
        detail.get_by_role("link", name="open +12015550101").click()
        expect(pg.locator("#view-handsets")).to_be_visible()
        expect(pg.locator("#title")).to_have_text("+12015550101")
        expect(pg.locator('.views a[data-view="handsets"]')).to_have_attribute("aria-current", "page")
        pg.keyboard.press("j")  # j/k move through the handsets too (newest first)
        expect(pg.locator("#title")).to_have_text("+12015550100")
        pg.keyboard.press("k")
        expect(pg.locator("#title")).to_have_text("+12015550101")
        pg.locator('.views a[data-view="messages"]').click()
        expect(rows).to_have_count(3)

        # live: a message to a slow handset (...0006) waits for its receipt; the clock moves, the
        # receipt arrives, and the row changes within a second of the server knowing it
        slow = s.send(to="+12015550006", body="slow one")
        expect(rows).to_have_count(4)
        expect(rows.first.locator(".badge.status")).to_have_text("Dispatched · 401")
        r = httpx.post(s.url + "/clock/advance", json={"seconds": 10})
        assert r.status_code == 200, r.text
        wait_until(lambda: messages(s, batch_id=slow["id"])[0]["status"] == "Delivered", timeout=5)
        t = time.monotonic()
        expect(rows.first.locator(".badge.status")).to_have_text("Delivered · 0", timeout=1000)
        assert time.monotonic() - t < 1.0

        # 375 px: rows stack as cards, nothing scrolls sideways
        pg.set_viewport_size({"width": 375, "height": 800})
        wait_until(lambda: pg.evaluate("document.documentElement.scrollWidth") <= 375)
        expect(pg.locator("#view-messages .msg-table thead")).to_be_hidden()
        box = rows.first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def test_the_detail_of_a_long_failed_message_and_the_callbacks_it_caused(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    from ..engine.receiver import Receiver
    from ..engine.test_delivery import plans_toml

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with Receiver() as rx, live_server(tmp_path, toml=plans_toml(rx.url)) as s:
        r = httpx.post(
            s.url + "/xms/v1/CB1/batches",
            headers=AUTH,
            json={
                "to": ["+12010000001"],  # ...0001: Failed 153
                "from": "12025550100",
                "body": "z" * 170,
                "delivery_report": "per_recipient",
            },
        )
        assert r.status_code == 201, r.text
        wait_until(lambda: len(rx.requests) == 2, timeout=5)  # Dispatched, Failed
        (m,) = messages(s)
        pg.goto(s.url + f"/#/messages/{m['id']}")
        detail = pg.locator("#msg-detail")
        steps = detail.locator("#msg-timeline li")
        expect(steps.locator(".what")).to_have_text(
            ["Accepted", "Queued", "Dispatched: on the handset", "Receipt from the handset", "Final: Failed · 153"]
        )
        expect(steps.last.locator(".more-info")).to_have_text(
            "Absent subscriber (HLR error) · temporary: may succeed if sent again"
        )
        ref = f"{m['id'] % 256:02x}"
        expect(detail.locator("#msg-segments li .udh code")).to_have_text(
            [f"05 00 03 {ref} 02 01", f"05 00 03 {ref} 02 02"]
        )
        expect(detail.locator("#msg-segments li > .muted")).to_have_text(["153 septets", "17 septets"])
        links = detail.locator("#msg-callbacks li a")
        expect(links).to_have_text(
            ["recipient_delivery_report_sms Dispatched 401", "recipient_delivery_report_sms Failed 153"]
        )
        expect(detail.locator("#msg-callbacks li .badge")).to_have_text(["done", "done"])
        links.last.click()  # the callback's own page
        expect(pg.locator("#view-callbacks")).to_be_visible()
        expect(pg.locator("#cb-detail-title")).to_contain_text("done")
        expect(pg.locator("#cb-detail-body pre.json").last).to_contain_text('"status": "Failed"')
        assert re.fullmatch(r"#/callbacks/\d+", pg.evaluate("location.hash"))
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def test_the_timeline_of_a_message_sent_over_smpp(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    from ..connectors.smpp.smsc_thread import SmscThread
    from ..engine.test_smpp_delivery import smpp_toml

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with SmscThread() as smsc, live_server(tmp_path, toml=smpp_toml(smsc.port)) as s:
        r = httpx.post(
            s.url + "/xms/v1/SM1/batches",
            headers={"Authorization": "Bearer TOKEN1"},
            json={"to": ["+12010000001"], "from": "12025550100", "body": "q" * 200},  # 2 parts; ...0001 fails
        )
        assert r.status_code == 201, r.text
        wait_until(lambda: (m := messages(s, service_plan_id="SM1")) and m[0]["final"], timeout=10)
        (m,) = messages(s, service_plan_id="SM1")
        detail = httpx.get(s.url + f"/simulator/messages/{m['id']}").json()
        submits = [t for t in detail["timeline"] if t["step"] == "submitted"]
        pg.goto(s.url + f"/#/messages/{m['id']}")
        steps = pg.locator("#msg-timeline li")
        expect(steps.locator(".what")).to_have_text(
            [
                "Accepted",
                "Queued",
                "submit_sm part 1/2",
                "submit_sm part 2/2",
                "Dispatched: accepted by the SMSC",
                re.compile(r"Receipt part [12]/2"),
                re.compile(r"Receipt part [12]/2"),
                "Final: Failed · 153",
            ]
        )
        expect(pg.locator('#msg-timeline li[data-step="submitted"] .more-info')).to_have_text(
            [f"message_id {t['message_id']} · sequence {t['sequence']}" for t in submits]
        )
        expect(pg.locator('#msg-timeline li[data-step="receipt"] .more-info').first).to_have_text(
            re.compile(r"(UNDELIV|DELIVRD) · err \d+")
        )
        udh = [p["udh"] for p in detail["segments"]]
        assert all(u and u.startswith("050003") for u in udh)  # 8-bit references, as sent
        expect(pg.locator("#msg-segments li .udh code")).to_have_text([" ".join(re.findall("..", u)) for u in udh])
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed
