"""Screenshots of the web UI's views for docs/simulator.md (docs/img/ui-*.png), taken with
Playwright and Debian's Chromium against a real server filled through the API. Not a test:

    .venv/bin/python -m tests.ui.screenshots [--dark]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ..engine.receiver import Receiver
from ..engine.test_delivery import plans_toml
from .support import AUTH, live_server
from .test_page import CHROMIUM, CHROMIUM_ARGS

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"
TEXTS = [
    "Your verification code is 482913",
    "Parcel 7731 is out for delivery today between 10:00 and 12:00",
    "Reminder: dentist appointment tomorrow at 09:30. Reply STOP to opt out",
    "Grüße aus Köln! Ihre Bestellung ist unterwegs 🚚",
    "Flash sale this weekend: 20% off everything in store",
]


def fill(s) -> dict:
    def post(plan: str, body: dict) -> dict:
        sender = "12025550100" if plan == "CB1" else "4915123456"  # CB1 owns 12025550100
        r = httpx.post(f"{s.url}/xms/v1/{plan}/batches", headers=AUTH, json={"from": sender, **body})
        assert r.status_code == 201, r.text
        return r.json()

    for i, text in enumerate(TEXTS):
        post("SP1", {"to": [f"+1201555{i:04d}8", f"+4670123{i:04d}8"], "body": text, "client_reference": f"order-{i}"})
    post("SP1", {"to": ["+12015550001"], "body": "This one fails (absent subscriber)"})
    now = httpx.get(s.url + "/clock").json()["now_ms"]
    later = datetime.fromtimestamp(now // 1000 + 5400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # in 1 h 30 min
    scheduled = post(
        "SP1",
        {
            "to": ["+12015550199", "+12015550198"],
            "body": "Hi ${name}, see you at 18:00 for the tasting. Bring a friend: tickets are at the door, "
            "and the first glass is on us. Reply STOP to opt out",
            "parameters": {"name": {"+12015550199": "Alexandra", "default": "there"}},
            "send_at": later,
        },
    )
    report = post("CB1", {"to": ["+12017770041"], "body": "report me", "delivery_report": "full"})
    detailed = post(
        "CB1",
        {
            "to": ["+12017770042"],
            "body": "Your table for 4 is booked for Friday at 19:30. We kept the window seat you asked for; "
            "tell us about allergies before Thursday, and if you are running late, reply LATE and we hold "
            "the table for 20 minutes. See you soon!",
            "delivery_report": "per_recipient",
        },
    )
    return {"scheduled": scheduled, "report": report, "detailed": detailed}


def shoot_pages(s, pg, suffix: str) -> None:
    """The Inbounds, Groups, Rules, Clock and About views."""
    from playwright.sync_api import expect

    for number, text in (("120155500028", "STOP"), ("46701230018", "JOIN"), ("12015550001", "Who is this?")):
        plan = "SP1" if number != "46701230018" else "SP2"
        httpx.post(
            f"{s.url}/simulator/handsets/{number}/messages",
            json={"to": "4915123456", "body": text, "service_plan_id": plan},
        )
    for plan, name, n in (("SP1", "VIP customers", 42), ("SP2", "Newsletter", 7)):
        auto = {"to": "4915123456", "add": {"first_word": "join"}, "remove": {"first_word": "stop"}}
        members = [f"+4670555{i:04d}" for i in range(n)]
        headers = {"Authorization": f"Bearer TOKEN{plan[-1]}"}
        httpx.post(
            f"{s.url}/xms/v1/{plan}/groups",
            headers=headers,
            json={"name": name, "members": members, "auto_update": auto},
        )
    pg.goto(s.url + "/#/inbounds")
    expect(pg.locator("#inb-rows tr")).to_have_count(3)
    pg.screenshot(path=OUT / f"ui-inbounds{suffix}.png")
    pg.goto(s.url + "/#/groups")
    expect(pg.locator("#grp-rows tr")).to_have_count(2)
    pg.locator("#grp-rows tr a").last.click()
    expect(pg.locator("#grp-members li")).to_have_count(42)
    pg.screenshot(path=OUT / f"ui-group{suffix}.png")
    pg.goto(s.url + "/#/rules")
    expect(pg.locator("#rules-json")).to_have_value(re.compile("magic_numbers"))
    pg.locator("#preview-number").fill("+1 201 555 0006")
    pg.locator("#preview-id").fill("3")
    pg.locator("#preview-number").press("Enter")
    expect(pg.locator("#preview-outcome .badge")).to_be_visible()
    pg.screenshot(path=OUT / f"ui-rules{suffix}.png")
    pg.goto(s.url + "/#/clock")
    expect(pg.locator("#clk-manual")).to_be_visible()
    pg.screenshot(path=OUT / f"ui-clock{suffix}.png")
    pg.goto(s.url + "/#/about")
    expect(pg.locator("#about-plans tr")).to_have_count(3)
    pg.screenshot(path=OUT / f"ui-about{suffix}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dark", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "-dark" if args.dark else ""
    tmp = Path(tempfile.mkdtemp(prefix="openxms-shots-"))
    # plans_toml's CB1 signs its callbacks and posts them to the receiver (which fails the first);
    # SP1 and SP2 are the test plans beside it.
    with (
        Receiver(statuses=[503]) as rx,
        live_server(tmp, toml=plans_toml(rx.url, secret="s3cret")) as s,
        sync_playwright() as p,
    ):
        made = fill(s)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ctx = browser.new_context(
            viewport={"width": 1280, "height": 760}, color_scheme="dark" if args.dark else "light"
        )
        pg = ctx.new_page()
        pg.goto(s.url + "/#/messages")
        expect(pg.locator("#msg-rows tr")).to_have_count(13)
        pg.locator("#msg-rows tr").first.locator("a").click()  # the long one, with its callbacks
        expect(pg.locator("#msg-detail .timeline li")).to_have_count(5)
        expect(pg.locator("#msg-callbacks li")).to_have_count(2)
        pg.screenshot(path=OUT / f"ui-messages{suffix}.png")
        pg.goto(s.url + "/#/batches")
        expect(pg.locator("#bat-rows tr")).to_have_count(9)
        pg.screenshot(path=OUT / f"ui-batches{suffix}.png")
        pg.goto(s.url + f"/#/batches/{made['scheduled']['id']}")
        expect(pg.locator("#bat-advance")).to_be_visible()
        expect(pg.locator("#bat-dry-rows tr")).to_have_count(2)
        pg.screenshot(path=OUT / f"ui-batch{suffix}.png")
        pg.goto(s.url + "/#/callbacks")
        expect(pg.locator("#cb-rows tr")).to_have_count(3)
        pg.locator("#cb-rows tr a").first.click()
        expect(pg.locator("#cb-attempts li")).to_have_count(1)
        pg.screenshot(path=OUT / f"ui-callback{suffix}.png")
        pg.goto(s.url + "/#/handsets/120155500028")
        expect(pg.locator("#thread .msg")).to_have_count(1)
        pg.screenshot(path=OUT / f"ui-handsets{suffix}.png")
        shoot_pages(s, pg, suffix)
        pg.set_viewport_size({"width": 375, "height": 760})
        pg.goto(s.url + "/#/messages")
        expect(pg.locator("#msg-rows tr")).to_have_count(13)
        pg.screenshot(path=OUT / f"ui-messages-375{suffix}.png")
        browser.close()
    print("written to", OUT)


if __name__ == "__main__":
    main()
