"""The simulator page really working in a browser: Debian's Chromium, headless, driven by
Playwright (https://playwright.dev/python/docs/api/class-browsertype#browser-type-launch).

Playwright's own browser builds cannot be downloaded here, so it drives /usr/bin/chromium. Every
check waits on the page's state (Playwright's `expect` retries until it holds or times out),
never on a fixed sleep: the page updates from its event stream, at its own pace. In CI a missing
Chromium or Playwright fails the test; elsewhere it is skipped, with the reason.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from .support import AUTH, live_server, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false") or os.environ.get("OPENXMS_CI") == "1"


def missing(reason: str):
    if in_ci():
        pytest.fail(f"{reason}; in CI the browser test must run (.ci/run installs Debian's chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        missing(f"Debian's chromium is not installed ({CHROMIUM}: apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A fresh browser context and page, recording what went wrong on it."""

    def __init__(self, browser) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []  # script errors, console errors (CSP violations among them)
        self.failed: list[tuple[str, str, int]] = []  # HTTP errors: (method, path, status)
        self.page.on("pageerror", lambda exc: self.errors.append(f"{exc.name}: {exc.message}"[:500]))
        self.page.on("console", self._console)
        self.page.on("response", self._response)

    def _console(self, msg) -> None:
        # Chromium logs every 4xx as "Failed to load resource"; those are checked, by request,
        # in `failed` instead.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource:"):
            self.errors.append(msg.text[:500])

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.append((response.request.method, urlsplit(response.url).path, response.status))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(chromium):
    p = Page(chromium)
    yield p
    p.close()


def test_page_in_headless_chromium(tmp_path, page):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        pg.goto(s.url + "/#/handsets")  # returns once the load event fired
        assert pg.evaluate("document.readyState") == "complete"
        expect(pg.locator("#live")).to_have_attribute("data-state", "live")
        # the first handset list loads independently of the stream: wait for it, too
        expect(pg.locator("#handsets-empty")).to_be_visible()

        # the live stream brings a new handset in without a reload
        s.send(to="+12017777778", body="render me 😀")
        handsets = pg.locator("#handsets .handset")
        expect(handsets.locator(".number")).to_have_text(["+12017777778"])
        handsets.first.click()
        mt = pg.locator("#thread .msg.mt")
        expect(mt.locator(".body")).to_have_text(["render me 😀"])
        assert pg.evaluate("location.hash") == "#/handsets/12017777778"
        expect(mt.locator(".badge.status")).to_have_text(["Delivered · 0"])
        badges = mt.first.locator(".badge").all_text_contents()
        assert "UCS-2" in badges and "1 part" in badges and "flash" not in badges
        expect(mt.first.locator(".who")).to_have_text("12025550100")

        # untrusted text stays text
        s.send(to="+12017777778", body='<img src=x onerror="window.pwned=1">GSM', flash_message=True)
        expect(mt).to_have_count(2)
        expect(pg.locator("#thread img")).to_have_count(0)
        assert pg.evaluate("window.pwned") is None
        expect(mt.last.locator(".body")).to_have_text(re.compile(r"^<img src=x"))
        badges = mt.last.locator(".badge").all_text_contents()
        assert "GSM-7" in badges and "flash" in badges

        # binary: UDH and data as hex
        s.send(to="+12017777778", type="mt_binary", body="3q2+7w==", udh="050003cc0201")
        binary = pg.locator("#thread .msg.mt .binary")
        expect(binary).to_contain_text("de ad be ef")
        expect(binary).to_contain_text("05 00 03 cc 02 01")

        # reply: "to" is prefilled with the last sender; the MO lands on the other side
        expect(pg.locator("#reply-to")).to_have_value("12025550100")
        body, send = pg.locator("#reply-body"), pg.locator("#reply button[type=submit]")
        body.fill("STOP")
        send.click()
        expect(pg.locator("#thread .msg.mo .body")).to_have_text(["STOP"])
        expect(pg.locator("#thread .msg").last).to_have_class(re.compile(r"\bmo\b"))
        inbound = httpx.get(s.url + "/xms/v1/SP1/inbounds", headers=AUTH).json()
        assert inbound["inbounds"][0]["body"] == "STOP" and inbound["inbounds"][0]["from"] == "12017777778"
        # the page clears the text once the send is done: typing before that would be wiped
        expect(body).to_have_value("")
        expect(send).to_be_enabled()

        # an unknown "to" shows the server's error
        pg.locator("#reply-plan").fill("NOPE")
        body.fill("x")
        send.click()
        expect(pg.locator("#reply-error")).to_contain_text("unknown service plan")

        # search filters by number
        s.send(to="+4670123456")
        expect(handsets).to_have_count(2)
        search = pg.locator("#search")
        search.fill("4670")
        expect(pg.locator("#handsets .number")).to_have_text(["+4670123456"])
        search.fill("")
        expect(handsets).to_have_count(2)

        # manual clock: advance buttons move the server clock
        expect(pg.locator("#clock-advance")).to_be_visible()
        before = httpx.get(s.url + "/clock").json()["now_ms"]
        pg.locator('#clock-advance [data-seconds="60"]').click()
        wait_until(lambda: httpx.get(s.url + "/clock").json()["now_ms"] == before + 60_000)

        # rules (their own view): the current rules load; invalid ones show the server's 400 text
        pg.locator('.views a[data-view="rules"]').click()
        rules_json, save = pg.locator("#rules-json"), pg.locator("#rules-save")
        expect(pg.locator("#view-rules")).to_be_visible()
        expect(rules_json).to_have_value(re.compile("magic_numbers"))
        rules_json.fill('{"bogus": 1}')
        save.click()
        expect(pg.locator("#rules-error")).to_contain_text("unknown key 'bogus'")
        rules_json.fill('{"seed": 7}')
        save.click()
        expect(pg.locator("#rules-saved")).to_have_text("Saved.")
        assert httpx.get(s.url + "/simulator/rules").json()["seed"] == 7
        expect(pg.locator("#rules-seed")).to_have_text("(seed 7)")
        pg.locator('.views a[data-view="handsets"]').click()  # back to the open handset
        expect(pg.locator("#title")).to_have_text("+12017777778")

        # purge this handset (confirm() answered yes); it keeps messages still waiting for their
        # receipt, so first wait until all three have theirs
        expect(mt.locator(".badge.status")).to_have_text(["Delivered · 0"] * 3)
        asked: list[str] = []

        def confirm(dialog) -> None:
            asked.append(dialog.message)
            dialog.accept()

        pg.once("dialog", confirm)
        pg.locator("#purge-one").click()
        expect(pg.locator("#notice")).to_have_text(re.compile(r"^Deleted 3 messages"))
        assert asked and asked[0].startswith("Delete the messages of +12017777778?")
        expect(handsets).to_have_count(1)
        assert httpx.get(s.url + "/simulator/handsets/12017777778/messages").json()["messages"] == []

        assert page.errors == [], page.errors  # no script errors, no CSP violations
        # and no failed request but the two the test made fail
        assert page.failed == [
            ("POST", "/simulator/handsets/12017777778/messages", 400),
            ("PUT", "/simulator/rules", 400),
        ], page.failed


APP = "01K0APP0000000000000000001"


def send(s, number: str, message: dict) -> str:
    """messages:send from APP to a handset; returns the message id."""
    from ..http.conversation.support import BASIC

    r = httpx.post(
        s.url + "/v1/projects/PROJ1/messages:send",
        headers=BASIC,
        json={
            "app_id": APP,
            "message": message,
            "channel_properties": {"SMS_SENDER": "12025550100"},
            "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}},
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["message_id"]


def test_conversation_messages_and_batches_in_headless_chromium(tmp_path, page):
    from playwright.sync_api import expect

    from ..http.conversation.support import BASIC, add_app

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        add_app(s.ctx, APP)
        pg.goto(s.url + "/#/handsets")
        expect(pg.locator("#live")).to_have_attribute("data-state", "live")
        expect(pg.locator("#conv-messages-empty")).to_be_visible()
        expect(pg.locator("#conv-batches-empty")).to_be_visible()

        # messages:send: the message shows in the panel, rendered for SMS, with its receipts
        message_id = send(s, "+12017771111", {"card_message": {"title": "Offer", "description": "20% <b>off</b>"}})
        rows = pg.locator("#conv-messages .conv-msg")
        expect(rows).to_have_count(1)
        expect(rows.first.locator(".body")).to_have_text("Offer\n20% <b>off</b>")
        expect(pg.locator("#conv-messages b")).to_have_count(0)  # text stays text
        expect(rows.first.locator(".badge.status")).to_have_text("DELIVERED")
        expect(rows.first.locator(".meta")).to_contain_text(APP)
        expect(rows.first.locator(".meta")).to_contain_text(message_id)

        # its handset, opened from the panel: the SMS is badged with the app and the status
        rows.first.locator("button.handset-ref").click()
        assert pg.evaluate("location.hash") == "#/handsets/12017771111"
        bubble = pg.locator("#thread .msg.mt")
        expect(bubble).to_have_count(1)
        expect(bubble.locator(".badge.conv-app")).to_have_text(f"Conversation · {APP}")
        expect(bubble.locator(".badge.conv-status")).to_have_text("DELIVERED")
        expect(bubble.locator(".meta")).to_contain_text(f"message {message_id}")

        # the handset answers: a TO_APP message of the app
        pg.locator("#reply-body").fill("YES")
        pg.locator("#reply button[type=submit]").click()
        expect(rows).to_have_count(2)
        expect(rows.first).to_have_class(re.compile(r"\bin\b"))
        expect(rows.first.locator(".body")).to_have_text("YES")
        expect(rows.first.locator(".dir")).to_have_text("From")

        # a plain SMS on the same handset has no Conversation badge
        s.send(to="+12017771111", body="plain")
        expect(bubble).to_have_count(2)
        expect(pg.locator("#thread .badge.conv-app")).to_have_count(1)

        # a small batch: its status, the counts of its messages, and (opened) its recipients
        token = httpx.post(s.url + "/oauth2/token", data={"grant_type": "client_credentials"}, headers=BASIC).json()
        b = httpx.post(
            s.url + "/conversationbatch/v1/projects/PROJ1/messages",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            json={
                "app_id": APP,
                "message": {"text_message": {"text": "Hi ${name}"}},
                "channel_properties": {"SMS_SENDER": "12025550100"},
                "batch_metadata": {"campaign": "spring"},
                "recipient_and_params": [
                    {
                        "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": n}]}},
                        "parameters": {"name": name},
                    }
                    for n, name in (("+12017772222", "Ann"), ("+12010000001", "Bo"))
                ],
            },
        )
        assert b.status_code == 200, b.text
        batch_id = b.json()["batch_id"]
        batch = pg.locator("#conv-batches .conv-batch")
        expect(batch).to_have_count(1)
        toggle = batch.locator(".conv-batch-toggle")
        expect(toggle.locator(".badge.status")).to_have_text("PROCESSED")
        expect(toggle).to_contain_text("2 recipients")
        expect(batch.locator(".badges .badge")).to_have_text(["DELIVERED 1", "FAILED 1"])
        expect(batch.locator(".meta")).to_contain_text("campaign=spring")
        expect(batch.locator(".meta")).to_contain_text(batch_id)
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.focus()  # by keyboard
        pg.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        recipients = pg.locator(f"#conv-batch-{batch_id} .conv-recipient")
        expect(recipients.locator(".handset-ref")).to_have_text(["+12017772222", "+12010000001"])
        expect(recipients.locator(".body")).to_have_text(["Hi Ann", "Hi Bo"])
        expect(recipients.locator(".badge.status")).to_have_text(["DELIVERED", "FAILED"])
        # the batch's messages are among the messages, too
        expect(rows).to_have_count(4)
        # a live re-render of the panel keeps the keyboard focus where it was
        pg.evaluate("document.activeElement.dataset.marked = 'yes'")
        send(s, "+12017773333", {"text_message": {"text": "another"}})
        expect(rows).to_have_count(5)
        assert pg.evaluate("document.activeElement.dataset.marked") is None  # a new element...
        expect(toggle).to_be_focused()  # ...for the same batch
        pg.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(pg.locator(f"#conv-batch-{batch_id}")).to_be_hidden()

        # only the open handset's
        only = pg.get_by_label("Only the open handset")
        only.check()
        expect(rows).to_have_count(2)  # the card and the reply of +12017771111
        pg.locator("#handsets .handset[data-msisdn='12017772222']").click()
        expect(rows).to_have_count(1)
        expect(rows.first.locator(".body")).to_have_text("Hi Ann")
        expect(pg.locator("#thread .badge.conv-status")).to_have_text(["DELIVERED"])
        only.uncheck()
        expect(rows).to_have_count(5)

        # 375 px wide: everything stacks, nothing scrolls sideways, the panel is there
        pg.set_viewport_size({"width": 375, "height": 800})
        expect(pg.locator("#conv")).to_be_visible()
        wait_until(lambda: pg.evaluate("document.documentElement.scrollWidth") <= 375)
        pg.locator("#conv-batches .conv-batch-toggle").click()
        expect(recipients).to_have_count(2)
        assert pg.evaluate("document.documentElement.scrollWidth") <= 375
        box = pg.locator("#conv").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375

        assert page.errors == [], page.errors
        assert page.failed == [], page.failed
