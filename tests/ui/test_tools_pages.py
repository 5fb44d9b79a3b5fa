"""The Rules, Clock, About and Groups views in headless Chromium (Playwright, as in
test_page.py): the rules preview shows the outcome the simulator then really gives a message to
that number; the manual clock moves by seconds and to a time; About shows the plans and their
connector; a group shows its size, keywords and members as the SMS API returns them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from .support import AUTH, live_server, wait_until
from .test_page import TIMEOUT_MS, chromium, page  # noqa: F401 - the browser fixtures

RULES = {
    "seed": 11,
    "profiles": {"coin": {"failure_probability": 0.5, "failure_code": 60}},
    "rules": [{"match": "4670*", "profile": "coin"}],
}


def test_rules_preview_is_what_the_simulator_does(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        pg.goto(s.url + "/#/rules")
        rules_json = pg.locator("#rules-json")
        expect(pg.locator("#rules-seed")).to_have_text("(seed 0)")
        rules_json.fill(json.dumps(RULES))
        pg.locator("#rules-save").click()
        expect(pg.locator("#rules-saved")).to_have_text("Saved.")
        expect(pg.locator("#rules-seed")).to_have_text("(seed 11)")

        number, rid = pg.locator("#preview-number"), pg.locator("#preview-id")
        number.fill("+46 70 123 45 67")
        number.press("Enter")
        expect(pg.locator("#preview-rule")).to_have_text("+46701234567 matches your rule rules[0] 4670* → profile coin")
        expect(pg.locator("#preview-outcome")).to_contain_text("Depends on the message (50 % Failed 60)")
        number.fill("12015550001")
        number.press("Enter")
        expect(pg.locator("#preview-rule")).to_contain_text("the magic number rule *0001")
        expect(pg.locator("#preview-outcome .badge")).to_have_text("Failed · 153")

        # messages to coin numbers: each one ends as the preview of its id says
        s.send(to=[f"+4670123{i:04d}" for i in range(8)], body="toss")
        wait_until(lambda: _final(s) == 8, timeout=10)
        seen = set()
        for m in httpx.get(s.url + "/simulator/messages", params={"limit": 8}).json()["messages"]:
            number.fill(m["to"])
            rid.fill(str(m["id"]))
            pg.locator("#preview-form button[type=submit]").click()
            expect(pg.locator("#preview-rule")).to_contain_text(f"+{m['to']} matches")
            expect(pg.locator("#preview-outcome .badge")).to_have_text(f"{m['status']} · {m['code']}")
            seen.add(m["status"])
        assert seen == {"Delivered", "Failed"}
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed


def _final(s) -> int:
    return sum(m["final"] for m in httpx.get(s.url + "/simulator/messages", params={"limit": 50}).json()["messages"])


def test_clock_about_and_groups(tmp_path, page):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    pg = page.page
    with live_server(tmp_path) as s:
        pg.goto(s.url + "/#/clock")
        expect(pg.locator("#clk-mode")).to_have_text("manual (frozen until moved)")
        before = httpx.get(s.url + "/clock").json()["now_ms"]
        pg.locator("#clk-seconds").fill("90")
        pg.locator("#clk-by button").click()
        wait_until(lambda: httpx.get(s.url + "/clock").json()["now_ms"] == before + 90_000)
        expect(pg.locator("#clk-iso")).to_have_text(datetime.fromtimestamp((before + 90_000) / 1000, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z"))  # fmt: skip
        pg.evaluate("document.getElementById('clk-time').value = '2031-05-06T07:08:09'")  # the browser's local time
        pg.locator("#clk-to button").click()
        target = pg.evaluate("new Date('2031-05-06T07:08:09').getTime()")
        wait_until(lambda: httpx.get(s.url + "/clock").json()["now_ms"] == target)

        pg.goto(s.url + "/#/about")
        plans = pg.locator("#about-plans tr")
        expect(plans).to_have_count(2)
        expect(plans.first.locator('[data-label="Plan"]')).to_have_text("SP1")
        expect(plans.first.locator('[data-label="Connector"]')).to_have_text("simulator")
        expect(plans.first.locator('[data-label="State"]')).to_have_text("up · running")
        expect(plans.first.locator('[data-label="Dispatched by"]')).to_have_text(s.ctx.node_id)
        expect(pg.locator("#about-fields")).to_contain_text("SQLite")
        expect(pg.locator("#about-nodes tr")).to_have_count(1)

        g = httpx.post(
            s.url + "/xms/v1/SP1/groups",
            headers=AUTH,
            json={
                "name": "club",
                "members": [f"+1201555{i:04d}" for i in range(120)],
                "auto_update": {"to": "12025550100", "add": {"first_word": "join"}, "remove": {"first_word": "bye"}},
            },
        ).json()
        pg.goto(s.url + "/#/groups")
        rows = pg.locator("#grp-rows tr")
        expect(rows).to_have_count(1)
        expect(rows.first.locator('[data-label="Members"]')).to_have_text("120")
        expect(rows.first.locator('[data-label="Auto update"]')).to_have_text(
            "to 12025550100 · join: join · leave: bye"
        )
        rows.first.locator("a").click()
        members = pg.locator("#grp-members li")
        expect(members).to_have_count(100)
        pg.locator("#grp-members-more").click()
        expect(members).to_have_count(120)
        expect(pg.locator("#grp-json")).to_have_text(json.dumps(g, indent=2))
        # an MO keyword adds its sender, and the open group shows it
        r = httpx.post(
            s.url + "/simulator/handsets/12019990000/messages",
            json={"to": "12025550100", "body": "JOIN", "service_plan_id": "SP1"},
        )
        assert r.status_code == 201, r.text
        # "Load more" asked for two pages, so the live re-read brings all 121; the new one sorts last
        expect(pg.locator("#grp-detail-body h3").first).to_have_text("Members (121)")
        expect(members).to_have_count(121)
        expect(members.last).to_have_text("+12019990000")
        expect(pg.locator("#grp-members-more")).to_have_count(0)
        assert page.errors == [], page.errors
        assert page.failed == [], page.failed
