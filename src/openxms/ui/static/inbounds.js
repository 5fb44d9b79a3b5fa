// openxms simulator UI: the Inbounds view (GET /simulator/inbounds): every MO of every plan,
// newest first, filtered by plan or number, "Load more" by cursor; an inbound's page
// (#/inbounds/<id>) with the object exactly as GET /xms/v1/{plan}/inbounds/{id} returns it.
// Loaded before app.js and started by it; uses its helpers. API data goes on the page as text.
"use strict";

const INB_PAGE = 50;
const INB_MAX_RELOAD = 500;

const inb = { rows: [], next: null, open: null, seq: 0, loaded: false, pager: null };

function inbParams(extra = {}) {
  const p = new URLSearchParams(extra);
  const plan = $("inb-plan").value.trim(), number = $("inb-number").value.trim();
  if (plan) p.set("service_plan_id", plan);
  if (number) p.set("number", number);
  return p;
}

async function loadInbounds({ more = false, reset = false } = {}) {
  const seq = ++inb.seq;
  inb.pager ||= pager(INB_PAGE, INB_MAX_RELOAD);
  const limit = pageLimit(inb.pager, inb.rows.length, { more, reset });
  const p = inbParams({ limit: String(limit) });
  if (more && inb.next) p.set("after", inb.next);
  let data;
  try {
    data = await api(`/simulator/inbounds?${p}`);
  } catch (err) {
    if (seq === inb.seq) $("inb-error").textContent = `Could not read the inbound messages: ${err.message}`;
    return;
  }
  if (seq !== inb.seq) return;
  $("inb-error").textContent = "";
  inb.rows = more ? inb.rows.concat(data.inbounds) : data.inbounds;
  inb.next = data.next;
  const cell = (label, ...c) => el("td", { "data-label": label }, ...c);
  replaceKeepingFocus($("inb-rows"), inb.rows.map(({ service_plan_id: plan, inbound: m }) => el("tr", { "data-id": m.id },
    cell("Received", timeEl(m.received_at)),
    cell("Plan", plan),
    cell("From", el("a", { href: `#/handsets/${encodeURIComponent(m.from)}`, text: plus(m.from) })),
    cell("To", m.to),
    cell("Text", el("a", { class: "msg-link", href: `#/inbounds/${encodeURIComponent(m.id)}`, "data-focus": `inb-${m.id}`,
                           text: m.type === "mo_binary" ? "(binary)" : preview(m.body) || "(empty)" })),
    cell("Type", m.type),
    cell("Id", el("code", { class: "batch", text: m.id })))));
  $("inb-count").textContent = inb.rows.length ? `(${inb.rows.length}${inb.next ? "+" : ""})` : "";
  $("inb-empty").hidden = inb.rows.length > 0;
  $("inb-more").hidden = !inb.next;
}

async function loadInbound(id) {
  let d;
  try {
    d = await api(`/simulator/inbounds/${encodeURIComponent(id)}`);
  } catch (err) {
    if (inb.open === id) $("inb-detail-body").replaceChildren(el("p", { class: "error", text: err.message }));
    return;
  }
  if (inb.open !== id) return;
  const m = d.inbound;
  $("inb-detail-title").replaceChildren(`From ${plus(m.from)} to ${m.to}`);
  const dl = el("dl", { class: "fields" });
  const field = (name, ...value) => dl.append(el("dt", { text: name }), el("dd", {}, ...value));
  field("Plan", d.service_plan_id);
  field("Received", timeEl(m.received_at));
  if (m.sent_at) field("Sent", timeEl(m.sent_at));
  field("Type", m.type);
  if (m.client_reference) field("Client reference", el("code", { text: m.client_reference }));
  if (m.operator_id) field("Operator", m.operator_id);
  field("Handset", el("a", { href: `#/handsets/${encodeURIComponent(m.from)}`, text: `open ${plus(m.from)}` }));
  $("inb-detail-body").replaceChildren(
    m.type === "mo_binary" ? binaryBody(m.body, m.udh) : el("div", { class: "body", text: m.body }),
    dl,
    el("h3", { text: `As GET /xms/v1/${d.service_plan_id}/inbounds/${m.id} returns it` }),
    el("pre", { class: "json", id: "inb-json", text: JSON.stringify(m, null, 2) }));
}

function inboundRoute(id) {
  $("inb-list-part").hidden = id !== null;
  $("inb-detail").hidden = id === null;
  if (id !== null) {
    if (id !== inb.open) { inb.open = id; $("inb-detail-body").replaceChildren(); }
    loadInbound(id);
  } else {
    inb.open = null;
    inb.loaded = true;
    loadInbounds();
  }
}

function inboundInit() {
  $("inb-filters").addEventListener("submit", (e) => { e.preventDefault(); loadInbounds({ reset: true }); });
  for (const id of ["inb-plan", "inb-number"]) $(id).addEventListener("change", () => loadInbounds({ reset: true }));
  $("inb-more").addEventListener("click", () => loadInbounds({ more: true }));
}

function inboundRefresh() {
  if (currentView !== "inbounds") return;
  if (inb.open !== null) loadInbound(inb.open); else if (inb.loaded) loadInbounds();
}
