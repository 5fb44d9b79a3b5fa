"""The Handsets view in headless Chromium (Playwright, as in test_page.py): the search asks the
server, so a handset far beyond the first page is found by part of its number or a word of its
text; unread counts show, clear when the handset is opened and stay cleared after a reload; a
new handset replies and its MO shows on the Inbounds page; Delete purges after a confirmation."""

from __future__ import annotations

import re

import httpx

from .support import live_server
from .test_page import TIMEOUT_MS, chromium, page  # noqa: F401 - the browser fixtures


def test_search_beyond_the_first_page_and_unread_counts(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        s.send(to="+46700000001", body="the walrus sleeps")
        s.send(to="+46700000001", body="and wakes up")
        s.send(to=[f"+1201555{i:04d}" for i in range(600)], body="bulk")  # 600 newer handsets
        pg.goto(s.url + "/#/handsets")
        handsets = pg.locator("#handsets .handset")
        expect(handsets).to_have_count(100)  # a page
        expect(pg.locator("#handsets-count")).to_have_text("(100+)")
        expect(pg.locator("#handsets-more")).to_be_visible()
        expect(pg.locator("#handsets .handset[data-msisdn='46700000001']")).to_have_count(0)

        search = pg.locator("#search")
        search.fill("0000001")  # part of the number
        expect(handsets.locator(".number")).to_have_text(["+46700000001"])
        unread = handsets.first.locator(".unread")
        expect(unread).to_have_text("2 unread")
        search.fill("WALRUS")  # a word of its text
        expect(handsets.locator(".number")).to_have_text(["+46700000001"])
        search.fill("nothing like it")
        expect(handsets).to_have_count(0)
        expect(pg.locator("#handsets-empty")).to_have_text("No handset matches.")
        search.fill("walrus")
        expect(handsets).to_have_count(1)

        # opening it reads it: the count goes, and stays gone after a reload
        handsets.first.click()
        expect(pg.locator("#thread .msg.mt")).to_have_count(2)
        expect(unread).to_have_count(0)
        wait = lambda: httpx.get(s.url + "/simulator/handsets", params={"q": "walrus"}).json()["handsets"][0]["unread"]  # noqa: E731
        assert page_waits_for(pg, wait, 0)
        pg.reload()
        search.fill("4670000")
        expect(handsets).to_have_count(1)
        expect(unread).to_have_count(0)
        # a message to another handset is unread there; one to the open handset is read at once
        s.send(to="+46700000002", body="for the other one")
        expect(handsets).to_have_count(2)
        expect(pg.locator("#handsets .handset[data-msisdn='46700000002'] .unread")).to_have_text("1 unread")
        s.send(to="+46700000001", body="seen as it arrives")
        expect(pg.locator("#thread .msg.mt")).to_have_count(3)
        assert page_waits_for(pg, wait, 0)

        # "Load more" pages on by cursor
        search.fill("")
        expect(handsets).to_have_count(100)
        pg.locator("#handsets-more").click()
        expect(handsets).to_have_count(200)
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def test_a_live_update_while_load_more_is_in_flight_keeps_the_page(tmp_path, page):  # noqa: F811
    """A live re-read that starts while "Load more" waits for its answer supersedes that request:
    it must bring the page asked for, not only the handsets already loaded."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        s.send(to=[f"+1201555{i:04d}" for i in range(300)], body="bulk")
        pg.goto(s.url + "/#/handsets")
        handsets = pg.locator("#handsets .handset")
        expect(handsets).to_have_count(100)
        expect(pg.locator("#live")).to_have_attribute("data-state", "live")
        held = []  # the "Load more" request, answered only after the live re-read
        pg.route(lambda url: "/simulator/handsets?" in url and "after=" in url, lambda route: held.append(route))
        pg.locator("#handsets-more").click()
        assert page_waits_for(pg, lambda: len(held), 1)
        reread = lambda r: "/simulator/handsets?" in r.url and "after=" not in r.url  # noqa: E731
        with pg.expect_response(reread):
            s.send(to="+46700000009", body="arrives meanwhile")  # its event re-reads the list
        held[0].continue_()
        expect(handsets).to_have_count(200)
        expect(handsets.first.locator(".number")).to_have_text("+46700000009")
        expect(pg.locator("#handsets-more")).to_be_visible()
        assert page.errors == [], page.errors


def page_waits_for(pg, fn, want, tries: int = 200) -> bool:
    """Until `fn() == want`, waiting on the page: Playwright's sync API runs route and dialog
    handlers only while it is called, so a plain sleep would never see a request that fires
    after the click has returned."""
    for _ in range(tries):
        if fn() == want:
            return True
        pg.wait_for_timeout(20)
    return False


def test_new_handset_replies_and_delete_purges(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        pg.goto(s.url + "/#/handsets")
        expect(pg.locator("#live")).to_have_attribute("data-state", "live")
        pg.locator("#new-handset").click()
        expect(pg.locator("#new-handset")).to_have_attribute("aria-expanded", "true")
        number = pg.locator("#new-handset-form").get_by_label("Number")
        number.fill("12")
        number.press("Enter")
        expect(pg.locator("#new-handset-error")).to_contain_text("5 to 15 digits")
        number.fill("+1 (201) 555-0199")
        number.press("Enter")
        expect(pg.locator("#title")).to_have_text("+12015550199")
        assert pg.evaluate("location.hash") == "#/handsets/12015550199"
        expect(pg.locator("#thread-empty")).to_contain_text("No messages on this handset yet")
        expect(pg.locator("#reply-to")).to_be_focused()
        pg.locator("#reply-to").fill("12025550100")
        pg.locator("#reply-plan").fill("SP2")
        pg.locator("#reply-body").fill("HELLO from a new phone")
        pg.locator("#reply button[type=submit]").click()
        expect(pg.locator("#thread .msg.mo .body")).to_have_text(["HELLO from a new phone"])

        # the MO is on the Inbounds page, and its page shows it as the SMS API returns it
        pg.locator('.views a[data-view="inbounds"]').click()
        rows = pg.locator("#inb-rows tr")
        expect(rows).to_have_count(1)
        expect(rows.first.locator('[data-label="From"]')).to_have_text("+12015550199")
        expect(rows.first.locator('[data-label="Plan"]')).to_have_text("SP2")
        expect(rows.first.locator('[data-label="Text"]')).to_have_text("HELLO from a new phone")
        rows.first.locator('[data-label="Text"] a').click()
        inbound = httpx.get(s.url + "/xms/v1/SP2/inbounds", headers={"Authorization": "Bearer TOKEN2"}).json()
        expect(pg.locator("#inb-json")).to_have_text(_pretty(inbound["inbounds"][0]))
        pg.keyboard.press("Escape")
        expect(rows).to_have_count(1)
        pg.locator("#inb-number").fill("12019999999")
        pg.locator("#inb-number").press("Enter")
        expect(rows).to_have_count(0)

        # Delete: asks, then purges the open handset
        s.send(to="+12015550188", body="to be deleted")
        pg.goto(s.url + "/#/handsets/12015550188")
        expect(pg.locator("#thread .msg.mt .badge.status")).to_have_text(["Delivered · 0"])
        asked: list[str] = []

        def answer(dialog, accept: bool) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        pg.once("dialog", lambda d: answer(d, False))
        pg.locator("#thread").focus()
        pg.keyboard.press("Delete")
        assert page_waits_for(pg, lambda: len(asked), 1)
        assert asked[0].startswith("Delete the messages of +12015550188?")
        assert httpx.get(s.url + "/simulator/handsets/12015550188/messages").json()["messages"]  # kept: said no
        pg.once("dialog", lambda d: answer(d, True))
        pg.keyboard.press("Delete")
        expect(pg.locator("#notice")).to_have_text(re.compile(r"^Deleted 1 message"))
        assert httpx.get(s.url + "/simulator/handsets/12015550188/messages").json()["messages"] == []
        expect(pg.locator("#handsets .handset")).to_have_count(0)
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def _pretty(doc: dict) -> str:
    import json

    return json.dumps(doc, indent=2, ensure_ascii=False)
