"""The optional browser notification of new inbound messages, in headless Chromium: off by
default, on with the toggle (the permission granted), kept across reloads, shown only while the
page is out of view, and opening the handset when clicked. The browser's Notification,
EventSource and page-visibility APIs are the boundary: the page runs against recording wrappers
of them."""

from __future__ import annotations

import httpx

from .support import live_server, wait_until
from .test_page import TIMEOUT_MS, chromium, page  # noqa: F401 - the browser fixtures

# Record each notification the page makes (the real constructor still runs) and each live event
# it has handled, and let the test say whether the page is in view.
BOUNDARY = """
window.__notes = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    super(title, options);
    window.__notes.push({ title, body: options && options.body, tag: options && options.tag, note: this });
  }
};
window.__seen = [];  // the live events the page has handled
const RealEventSource = window.EventSource;
window.EventSource = class extends RealEventSource {
  set onmessage(fn) {
    super.onmessage = (m) => { fn(m); try { window.__seen.push(JSON.parse(m.data)); } catch { /* not JSON */ } };
  }
  get onmessage() { return super.onmessage; }
};
let __visibility = "visible";
Object.defineProperty(document, "visibilityState", { get: () => __visibility, configurable: true });
window.__setVisibility = (v) => { __visibility = v; };
"""


def reply(s, number: str, body: str) -> None:
    r = httpx.post(
        s.url + f"/simulator/handsets/{number}/messages",
        json={"to": "12025550100", "body": body, "service_plan_id": "SP1"},
    )
    assert r.status_code == 201, r.text


def notes(pg, n: int) -> None:
    """Until the page has made `n` notifications (the page's CSP forbids wait_for_function)."""
    wait_until(lambda: pg.evaluate("window.__notes.length") >= n, timeout=5)
    assert pg.evaluate("window.__notes.length") == n


def handled(pg, number: str) -> None:
    """Until the page has handled the live event of an inbound from `number`."""
    wait_until(lambda: number in pg.evaluate("window.__seen.filter(e => e.event === 'inbound').map(e => e.from)"), 5)


def test_inbound_notifications_are_opt_in_and_only_while_out_of_view(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        page.context.grant_permissions(["notifications"], origin=s.url)
        page.context.add_init_script(BOUNDARY)
        pg.goto(s.url + "/#/messages")
        toggle = pg.get_by_label("Notify inbound")
        expect(pg.locator("#live")).to_have_attribute("data-state", "live")
        expect(toggle).not_to_be_checked()  # off by default
        pg.evaluate("__setVisibility('hidden')")
        reply(s, "12017770091", "not yet")  # off: nothing
        handled(pg, "12017770091")
        toggle.check()
        expect(toggle).to_be_checked()
        assert pg.evaluate("localStorage.getItem('openxms.notifyInbound')") == "1"

        reply(s, "12017770092", "hello from the handset")
        notes(pg, 1)
        note = pg.evaluate("({ ...window.__notes[0], note: undefined })")
        assert note["title"] == "SMS from +12017770092"
        assert note["body"] == "to +12025550100: hello from the handset"
        assert note["tag"].startswith("openxms-inbound-")

        # in view: the page shows it, no notification; out of view again: the next one notifies
        pg.evaluate("__setVisibility('visible')")
        reply(s, "12017770093", "seen on the page")
        handled(pg, "12017770093")
        pg.evaluate("__setVisibility('hidden')")
        reply(s, "12017770094", "third")
        notes(pg, 2)
        assert pg.evaluate("window.__notes.map(n => n.title)") == ["SMS from +12017770092", "SMS from +12017770094"]

        # clicking a notification opens the handset's conversation
        pg.evaluate("window.__notes[1].note.onclick()")
        expect(pg.locator("#view-handsets")).to_be_visible()
        expect(pg.locator("#title")).to_have_text("+12017770094")

        # the choice survives a reload; switched off, nothing more
        pg.reload()
        expect(toggle).to_be_checked()
        toggle.uncheck()
        assert pg.evaluate("localStorage.getItem('openxms.notifyInbound')") is None
        pg.evaluate("__setVisibility('hidden')")
        reply(s, "12017770095", "off again")
        handled(pg, "12017770095")
        toggle.check()  # on again: the next one notifies, the one before did not
        reply(s, "12017770096", "on again")
        notes(pg, 1)  # a fresh page after the reload
        assert pg.evaluate("window.__notes[0].title") == "SMS from +12017770096"
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def test_a_refused_permission_leaves_the_toggle_off_and_says_why(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        pg.goto(s.url + "/")  # no permission granted: headless Chromium denies it
        toggle = pg.get_by_label("Notify inbound")
        toggle.click()
        expect(toggle).not_to_be_checked()
        expect(pg.locator("#notice")).to_contain_text("Notifications are blocked")
        assert pg.evaluate("localStorage.getItem('openxms.notifyInbound')") is None
        assert page.errors == [], page.errors
