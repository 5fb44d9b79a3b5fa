// openxms simulator UI: the Clock view (#/clock: the mode and now; with --clock manual, advance
// by seconds or to a time through POST /clock/advance) and the About view (#/about: GET
// /simulator/about: version, database, plans with connector, binds and queue, nodes). Loaded
// before app.js and started by it; uses its helpers.
"use strict";

const sys = { about: null, seq: 0 };

function renderClockPage() {
  const c = state.clock;
  if (!c || currentView !== "clock") return;
  const now = new Date(clockNowMs());
  $("clk-mode").textContent = c.manual ? "manual (frozen until moved)" : "real time";
  $("clk-now").textContent = now.toLocaleString();
  $("clk-now").setAttribute("datetime", now.toISOString());
  $("clk-iso").textContent = now.toISOString();
  $("clk-manual").hidden = !c.manual;
  $("clk-system").hidden = c.manual;
  if (c.manual && !$("clk-time").value) $("clk-time").value = localInput(now.toISOString()) + ":00";
}

async function moveClock(body) {
  $("clk-error").textContent = "";
  try {
    const c = await api("/clock/advance", { method: "POST", body });
    state.clock = { now_ms: c.now_ms, manual: c.manual, at: Date.now() };
    renderClock();
    renderClockPage();
    notice(`Clock now ${new Date(c.now_ms).toLocaleString()}.`);
  } catch (e) {
    $("clk-error").textContent = e.message;
  }
}

async function loadAbout() {
  const seq = ++sys.seq;
  let a;
  try {
    a = await api("/simulator/about");
  } catch (e) {
    if (seq === sys.seq) $("about-error").textContent = `Could not read it: ${e.message}`;
    return;
  }
  if (seq !== sys.seq) return;
  sys.about = a;
  $("about-error").textContent = "";
  planLists(a);
  if (currentView !== "about") return;
  const dl = $("about-fields");
  dl.replaceChildren();
  const field = (name, ...value) => dl.append(el("dt", { text: name }), el("dd", {}, ...value));
  field("Version", `openxms ${a.version}`);
  field("Node", el("code", { text: a.node_id }), ` (role ${a.role})`);
  field("Database", `${a.database.kind === "sqlite" ? "SQLite" : "PostgreSQL"} `, el("code", { text: a.database.where }));
  field("Clock", a.clock === "manual" ? "manual" : "real time");
  field("Handset simulator", a.simulator ? "runs on this node" : "not on this node (--role api)");
  const cell = (label, ...c) => el("td", { "data-label": label }, ...c);
  $("about-plans").replaceChildren(...a.plans.map((p) => el("tr", { "data-id": p.id },
    cell("Plan", el("code", { text: p.id })),
    cell("Rate", p.rate ? `${p.rate}/s` : "unlimited"),
    cell("Connector", p.connector),
    cell("State", connectorState(p)),
    cell("Queued", String(p.queued)),
    cell("Numbers", p.numbers.join(", ") || "–"),
    cell("Dispatched by", p.dispatched_by ? el("code", { text: p.dispatched_by }) : "no node"))));
  $("about-nodes").replaceChildren(...a.nodes.map((n) => el("tr", {},
    cell("Node", el("code", { text: n.node_id }), n.this ? " (this one)" : ""),
    cell("Plans it dispatches", n.plans.join(", ") || "none"),
    cell("Leases held until", n.lease_expires_at ? el("span", { title: "wall-clock time; renewed every 3 s", text: new Date(n.lease_expires_at).toLocaleTimeString() }) : "–"))));
}

function connectorState(p) {
  const s = p.connector_state;
  if (!s) return el("span", { class: "muted", text: p.dispatched_by ? "on its node" : "not running" });
  const text = p.connector === "smpp" ? `${s.binds_up} of ${s.binds} binds up to ${s.smsc}` : "running";
  return el("span", { class: `badge status ${s.ready ? "ok" : "bad"}`, text: `${s.ready ? "up" : "down"} · ${text}` });
}

// The reply form's "To" and "Service plan" suggest the plans' numbers and ids.
function planLists(a) {
  $("plan-numbers").replaceChildren(...a.plans.flatMap((p) => p.numbers.map((n) => el("option", { value: n, label: p.id }))));
  $("plan-ids").replaceChildren(...a.plans.map((p) => el("option", { value: p.id })));
}

function systemRoute(view) {
  if (view === "clock") { loadClock().then(renderClockPage); renderClockPage(); } else loadAbout();
}

function systemInit() {
  $("clk-by").addEventListener("submit", (e) => {
    e.preventDefault();
    const s = Number($("clk-seconds").value);
    if (!(s > 0)) { $("clk-error").textContent = "Give a number of seconds above 0."; return; }
    moveClock({ seconds: s });
  });
  $("clk-to").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("clk-time").value;  // datetime-local: the browser's local time
    if (!v || isNaN(new Date(v))) { $("clk-error").textContent = "Give a date and time."; return; }
    moveClock({ to: new Date(v).toISOString() });
  });
  setInterval(renderClockPage, 1000);
  loadAbout();  // the plans' numbers for the reply form
}

function aboutRefresh() {  // queued counts and binds move with every event
  if (currentView === "about") loadAbout();
}
