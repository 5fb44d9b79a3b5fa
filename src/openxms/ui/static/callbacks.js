// openxms simulator UI: the Callbacks view (GET /simulator/callbacks): the outbox, every callback
// with its target, state, attempts and next retry; a callback's page (#/callbacks/<id>) with its
// payload, each attempt (answer, time, the signature headers it carried) and "Retry now".
// Loaded before app.js and started by it; uses its helpers.
"use strict";

const CB_PAGE = 50;
const CB_MAX = 500;  // GET /simulator/callbacks answers a larger limit with a 400
const CB_STATE_CLASS = { done: "ok", pending: "pending", sending: "pending", failed: "bad", dead: "bad" };

const cbs = { rows: [], next: null, open: null, detail: null, seq: 0, loaded: false, pager: null };

const cbState = (s) => el("span", { class: `badge status ${CB_STATE_CLASS[s] || ""}`, text: s });

function cbAnswer(status, error) {
  return status !== null && status !== undefined ? `HTTP ${status}` : (error || "–");
}

async function loadCallbacks({ more = false, reset = false } = {}) {
  const seq = ++cbs.seq;
  cbs.pager ||= pager(CB_PAGE, CB_MAX);
  const p = new URLSearchParams({ limit: String(pageLimit(cbs.pager, cbs.rows.length, { more, reset })) });
  if ($("cb-state").value) p.set("state", $("cb-state").value);
  if (more && cbs.next) p.set("after", String(cbs.next));
  let data;
  try {
    data = await api(`/simulator/callbacks?${p}`);
  } catch (err) {
    if (seq === cbs.seq) $("cb-error").textContent = `Could not read the callbacks: ${err.message}`;
    return;
  }
  if (seq !== cbs.seq) return;
  $("cb-error").textContent = "";
  cbs.rows = more ? cbs.rows.concat(data.callbacks) : data.callbacks;
  cbs.next = data.next;
  const cell = (label, ...c) => el("td", { "data-label": label }, ...c);
  replaceKeepingFocus($("cb-rows"), cbs.rows.map((c) => el("tr", { "data-id": c.id },
    cell("State", cbState(c.state)),
    cell("Kind", el("a", { class: "msg-link", href: `#/callbacks/${c.id}`, "data-focus": `cb-${c.id}`, text: c.summary || c.kind })),
    cell("Target", el("code", { text: c.url })),
    cell("Attempts", String(c.attempts)),
    cell("Last answer", c.attempts ? cbAnswer(c.last_status, c.last_error) : "–"),
    cell("Next try", c.next_attempt_at ? timeEl(c.next_attempt_at) : "–"),
    cell("Created", timeEl(c.created_at)))));
  $("cb-count").textContent = cbs.rows.length ? `(${cbs.rows.length}${cbs.next ? "+" : ""})` : "";
  $("cb-empty").hidden = cbs.rows.length > 0;
  $("cb-more").hidden = !cbs.next;
}

async function loadCallback(id) {
  try {
    const c = await api(`/simulator/callbacks/${encodeURIComponent(id)}`);
    if (cbs.open !== id) return;
    cbs.detail = c;
    renderCallback();
  } catch (err) {
    if (cbs.open === id) $("cb-detail-body").replaceChildren(el("p", { class: "error", text: err.message }));
  }
}

async function retryNow() {
  const id = cbs.open;
  try {
    cbs.detail = await api(`/simulator/callbacks/${encodeURIComponent(id)}/retry`, { method: "POST", body: {} });
    notice("Retrying now.");
    renderCallback();
  } catch (err) {
    notice(`Retry: ${err.message}`, true);
  }
}

function renderCallback() {
  const c = cbs.detail;
  if (!c) return;
  $("cb-detail-title").replaceChildren(`Callback ${c.id} `, cbState(c.state));
  const dl = el("dl", { class: "fields" });
  const field = (name, ...value) => dl.append(el("dt", { text: name }), el("dd", {}, ...value));
  field("Kind", c.kind);
  field("Reports", c.summary);
  if (c.subject && c.kind !== "mo") {  // the messages it is about (an SMS batch, a Conversation carrier)
    const q = new URLSearchParams({ batch_id: c.subject });
    if (c.recipient) q.set("q", c.recipient);
    field("About", el("a", { href: `#/messages?${q}`, id: "cb-about",
                             text: c.recipient ? `the message to ${plus(c.recipient)}` : "the messages of its batch" }),
          " ", el("code", { text: c.subject }));
  }
  field("Plan / project", c.service_plan_id);
  field("URL", el("code", { text: c.url }));
  field("Created", timeEl(c.created_at));
  field("Next try", c.next_attempt_at ? timeEl(c.next_attempt_at) : "–");
  if (c.done_at) field(c.state === "done" ? "Delivered" : "Given up", timeEl(c.done_at));
  const history = c.history.map((a) => el("li", {},
    el("span", { class: "what", text: `#${a.attempt} ${cbAnswer(a.status, a.error)}` }), timeEl(a.at),
    Object.keys(a.headers).length
      ? el("pre", { class: "json", text: Object.entries(a.headers).map(([k, v]) => `${k}: ${v}`).join("\n") })
      : el("span", { class: "muted", text: "unsigned" })));
  $("cb-detail-body").replaceChildren(...[  // replaceChildren would write null as text
    el("div", { class: "bat-actions" }, ["pending", "failed", "dead"].includes(c.state)
      ? el("button", { type: "button", class: "primary", id: "cb-retry", onclick: retryNow, text: "Retry now" }) : null),
    dl,
    el("h3", { text: "Attempts" }),
    history.length ? el("ol", { class: "timeline", id: "cb-attempts" }, ...history)
      : el("p", { class: "muted", text: "Not posted yet." }),
    el("h3", { text: "Payload" }),
    el("pre", { class: "json", text: JSON.stringify(c.payload, null, 2) })].filter(Boolean));
}

function callbackRoute(id) {
  const n = id !== null && /^\d+$/.test(id) ? Number(id) : null;
  $("cb-list-part").hidden = n !== null;
  $("cb-detail").hidden = n === null;
  if (n !== null) {
    if (n !== cbs.open) { cbs.open = n; cbs.detail = null; $("cb-detail-body").replaceChildren(); }
    loadCallback(n);
  } else {
    cbs.open = null;
    cbs.loaded = true;
    loadCallbacks();
  }
}

function callbackInit() {
  $("cb-state").addEventListener("change", () => loadCallbacks({ reset: true }));
  $("cb-more").addEventListener("click", () => loadCallbacks({ more: true }));
  // Callback attempts make no simulator event: the view re-reads itself while it is shown.
  setInterval(() => { if (document.visibilityState === "visible") callbackRefresh(); }, 1000);
}

function callbackRefresh() {
  if (currentView !== "callbacks") return;
  if (cbs.open !== null) loadCallback(cbs.open); else if (cbs.loaded) loadCallbacks();
}
