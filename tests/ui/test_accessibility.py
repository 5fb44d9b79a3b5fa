"""Accessibility of every view in headless Chromium, in the light and the dark theme: the
contrast of each piece of visible text against what is behind it (WCAG 2.2 AA: at least 4.5:1,
https://www.w3.org/TR/WCAG22/#contrast-minimum, computed from getComputedStyle as the page
renders it), and at 375 px wide (and 1280) no view scrolls sideways and every control lies within the
screen and can be focused.

The views are the header's tabs (whatever views the page has) and the pages within them: a
message's detail, a batch's page, a callback's page, a handset's conversation, and an error
notice."""

from __future__ import annotations

import httpx
import pytest

from ..engine.receiver import Receiver
from ..engine.test_delivery import plans_toml
from .support import AUTH, live_server, wait_until
from .test_page import TIMEOUT_MS, Page, chromium  # noqa: F401 - the browser fixture

# For every element with text of its own (a text node, a control's value or placeholder) that
# is rendered: its colour (with the opacity of it and its ancestors) over its background (the
# background colours from the canvas up to it, composited), and the contrast ratio of the two
# (https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio, #dfn-relative-luminance).
CONTRAST = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, below) => {
    const a = top.a + below.a * (1 - top.a);
    const mix = (k) => a ? (top[k] * top.a + below[k] * below.a * (1 - top.a)) / a : 0;
    return { r: mix("r"), g: mix("g"), b: mix("b"), a };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (x, y) => { const [a, b] = [lum(x), lum(y)].sort((p, q) => q - p); return (a + 0.05) / (b + 0.05); };
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  const canvas = dark ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a >= 1) break;
    }
    return layers.reverse().reduce((acc, c) => over(c, acc), canvas);
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) return false;  // .sr-only and friends
    const s = getComputedStyle(el);
    return s.visibility === "visible" && el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const out = [];
  const check = (el, fg, text) => {
    const bg = background(el);
    const c = parse(fg);
    if (!c) return;
    const painted = over({ ...c, a: c.a * opacity(el) }, bg);
    out.push({ el: name(el) + " < " + name(el.parentElement || el), text: text.slice(0, 40),
               ratio: Math.round(ratio(painted, bg) * 100) / 100,
               fg: fg, bg: `rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)})` });
  };
  for (const el of document.querySelectorAll("body *")) {
    if (["SCRIPT", "STYLE", "OPTION"].includes(el.tagName) || !shown(el)) continue;
    if (el.matches(":disabled")) continue;  // inactive controls are exempt (WCAG 1.4.3)
    const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
    if (own) check(el, getComputedStyle(el).color, own);
    for (const pseudo of ["::before", "::after"]) {  // generated text: the card layout's labels
      const ps = getComputedStyle(el, pseudo);
      if (!["none", "normal", '""'].includes(ps.content) && ps.display !== "none") check(el, ps.color, ps.content);
    }
    if (el.matches("input:not([type=checkbox]):not([type=radio]), textarea, select")) {
      if (el.value) check(el, getComputedStyle(el).color, el.value);
      else if (el.placeholder) check(el, getComputedStyle(el, "::placeholder").color, el.placeholder);
    }
  }
  return out;
}
"""

# How far the page scrolls sideways; each part of it that scrolls sideways itself (but
# a text field), or reaches past the right edge (cut off); each control outside the screen or
# not focusable.
NARROW = """
() => {
  const width = document.documentElement.clientWidth;
  const bad = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
  const controls = "a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex='-1'])";
  for (const el of document.querySelectorAll(controls)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not rendered
    if (!el.checkVisibility({ visibilityProperty: true }) || el.closest(".skip")) continue;
    const what = name(el) + " " + (el.textContent || el.value || "").trim().slice(0, 30);
    if (r.left < -0.5 || r.right > width + 0.5) bad.push(`${what}: x ${Math.round(r.left)}..${Math.round(r.right)}`);
    if (el.tabIndex < 0 && !el.disabled) bad.push(`${what}: not focusable`);
  }
  for (const el of document.querySelectorAll("body *")) {  // a part of the view that scrolls sideways
    const s = getComputedStyle(el);
    if (!["auto", "scroll"].includes(s.overflowX) || !el.checkVisibility()) continue;
    if (el.scrollWidth > el.clientWidth + 1 && !el.matches("textarea")) {
      bad.push(`${name(el)}.${el.className}: scrolls ${el.scrollWidth - el.clientWidth} px sideways`);
    }
  }
  for (const el of document.querySelectorAll("body *")) {  // or is cut off at the right edge
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 0.5 && el.checkVisibility() && !el.closest(".skip")) {
      bad.push(`${name(el)}: reaches x ${Math.round(r.right)}`);
    }
  }
  return { scroll: document.documentElement.scrollWidth - width, bad };
}
"""


def fill(s, rx) -> dict:
    """Something in every view: messages in each state, a long one, batches scheduled, done and
    cancelled, callbacks done and pending, a conversation with a reply and a Conversation app."""

    def post(plan: str, body: dict) -> dict:
        sender = "12025550100" if plan == "CB1" else "4915123456"
        r = httpx.post(f"{s.url}/xms/v1/{plan}/batches", headers=AUTH, json={"from": sender, **body})
        assert r.status_code == 201, r.text
        return r.json()

    post("SP1", {"to": ["+12015550008", "+46701230008"], "body": "Your code is 482913", "client_reference": "ref-1"})
    post("SP1", {"to": ["+12015550001"], "body": "fails: absent subscriber"})
    post("SP1", {"to": ["+12015550003"], "body": "rejected at submit"})
    post("SP1", {"to": ["+12015550006"], "body": "slow: stays dispatched"})
    post("SP1", {"to": ["+12015550009"], "type": "mt_binary", "body": "AAEC", "udh": "0605040b8423f0"})
    post("SP1", {"to": ["+12015550010"], "body": "flash", "flash_message": True})
    long = post("CB1", {"to": ["+12015550011"], "body": "Grüße ✓ " * 30, "delivery_report": "per_recipient"})
    scheduled = post("SP1", {"to": ["+12015550199"], "body": "later", "send_at": "2099-01-01T00:00:00Z"})
    doomed = post("SP1", {"to": ["+12015550198"], "body": "never", "send_at": "2099-01-01T00:00:00Z"})
    assert httpx.delete(f"{s.url}/xms/v1/SP1/batches/{doomed['id']}", headers=AUTH).status_code == 200
    r = httpx.post(
        f"{s.url}/simulator/handsets/12015550008/messages",
        json={"to": "4915123456", "body": "STOP", "service_plan_id": "SP1"},
    )
    assert r.status_code == 201, r.text
    wait_until(lambda: len(rx.requests) >= 2, timeout=5)
    messages = httpx.get(s.url + "/simulator/messages", params={"batch_id": long["id"]}).json()["messages"]
    callbacks = httpx.get(s.url + "/simulator/callbacks").json()["callbacks"]
    return {"message": messages[0]["id"], "batch": scheduled["id"], "callback": callbacks[-1]["id"]}


def views(s, pg, made: dict) -> list[str]:
    """Every tab of the header, and the pages within them."""
    pg.goto(s.url + "/")
    tabs = pg.eval_on_selector_all(".views a[data-view]", "as => as.map(a => a.getAttribute('href'))")
    assert "#/messages" in tabs and "#/handsets" in tabs, tabs
    return [
        *tabs,
        f"#/messages/{made['message']}",
        f"#/batches/{made['batch']}",
        f"#/callbacks/{made['callback']}",
        "#/handsets/12015550008",
    ]


def settle(pg) -> None:
    """Until the view has read what it shows (nothing busy, nothing "Loading…")."""
    wait_until(
        lambda: pg.evaluate(
            "!document.querySelector('[aria-busy=true]') && ![...document.querySelectorAll('.muted')]"
            ".some(e => e.checkVisibility() && e.textContent === 'Loading…')"
        ),
        timeout=5,
    )
    pg.wait_for_timeout(300)  # the live refresh after the first read (150 ms coalescing) lands


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_has_aa_contrast_in_both_themes(tmp_path, chromium, theme):  # noqa: F811
    with Receiver(statuses=[200, 503]) as rx, live_server(tmp_path, toml=plans_toml(rx.url)) as s:
        made = fill(s, rx)
        page = Page(chromium)
        try:
            pg = page.page
            pg.emulate_media(color_scheme=theme)
            failures: list[str] = []
            checked = 0

            def audit(where: str) -> None:
                nonlocal checked
                settle(pg)
                found = pg.evaluate(CONTRAST)
                checked += len(found)
                failures.extend(
                    f"{where}: {f['ratio']}:1 {f['el']} {f['text']!r} ({f['fg']} on {f['bg']})"
                    for f in found
                    if f["ratio"] < 4.5
                )

            for width in (1200, 375):  # the wide layout, and the narrow one (tables as cards)
                pg.set_viewport_size({"width": width, "height": 900})
                for view in views(s, pg, made):
                    pg.goto(s.url + "/" + view)
                    audit(f"{view} at {width} px")
            pg.evaluate("notice('Something went wrong', true)")  # an error notice
            audit("error notice")
            assert checked > 300, checked  # the pages really had text on them
            assert not failures, "\n".join(dict.fromkeys(failures))
            assert page.errors == [], page.errors
        finally:
            page.close()


@pytest.mark.parametrize("theme,width", [("light", 375), ("dark", 375), ("light", 1280)])
def test_no_view_scrolls_sideways_and_every_control_is_on_screen(tmp_path, chromium, theme, width):  # noqa: F811
    with Receiver() as rx, live_server(tmp_path, toml=plans_toml(rx.url)) as s:
        made = fill(s, rx)
        page = Page(chromium)
        try:
            pg = page.page
            pg.emulate_media(color_scheme=theme)
            pg.set_viewport_size({"width": width, "height": 800})
            problems: list[str] = []
            for view in views(s, pg, made):
                pg.goto(s.url + "/" + view)
                settle(pg)
                got = pg.evaluate(NARROW)
                if got["scroll"] > 0:
                    problems.append(f"{view}: scrolls {got['scroll']} px sideways")
                problems += [f"{view}: {b}" for b in got["bad"]]
            assert not problems, "\n".join(problems)
            # reachable: Tab walks to the header's tabs and the view's first control
            pg.goto(s.url + "/#/messages")
            settle(pg)
            reached = set()
            for _ in range(40):
                pg.keyboard.press("Tab")
                reached.add(pg.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
            assert {"Messages", "Batches", "msg-q"} <= reached, reached
            assert page.errors == [], page.errors
        finally:
            page.close()
