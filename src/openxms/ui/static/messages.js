// openxms simulator UI: the Messages view, every outbound message of every plan
// (GET /simulator/messages), searchable and filtered, newest first, "Load more" by cursor, and
// one message's detail. Loaded before app.js, started by it; uses its helpers (el, api, $,
// timeEl, plus, plural, notice, STATUS_CLASS, encodingBadge; CB_STATE_CLASS from callbacks.js). API
// data goes on the page as text.
"use strict";

const MSG_PAGE = 50;
const MSG_MAX_RELOAD = 500;  // a live re-read covers at most this many rows

const msgs = {
  rows: [],          // what the list shows, newest first
  next: null,        // the cursor of the page after the loaded ones
  selected: null,    // id of the selected row (keyboard)
  open: null,        // id of the message whose detail is shown
  seq: 0,            // ignore answers to superseded requests
  pager: null,       // how many rows "Load more" has asked for (pager() in app.js)
  filters: {},       // what the form says, as query parameters
};

const FILTER_FIELDS = ["q", "service_plan_id", "status", "code", "start_date", "end_date", "batch_id"];

function msgFiltersFromForm() {
  const f = {};
  const q = $("msg-q").value.trim();
  if (q) f.q = q;
  for (const [id, key] of [["msg-plan", "service_plan_id"], ["msg-status", "status"], ["msg-code", "code"],
                           ["msg-batch", "batch_id"]]) {
    const v = $(id).value.trim();
    if (v) f[key] = v;
  }
  for (const [id, key] of [["msg-from", "start_date"], ["msg-to", "end_date"]]) {
    const v = $(id).value;  // datetime-local: the browser's local time
    if (v && !isNaN(new Date(v))) f[key] = new Date(v).toISOString();
  }
  return f;
}

function localInput(iso) {  // ISO -> the value of a datetime-local input, in local time
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function msgFormFromFilters(f) {
  $("msg-q").value = f.q || "";
  $("msg-plan").value = f.service_plan_id || "";
  $("msg-status").value = f.status || "";
  $("msg-code").value = f.code || "";
  $("msg-batch").value = f.batch_id || "";
  $("msg-from").value = f.start_date ? localInput(f.start_date) : "";
  $("msg-to").value = f.end_date ? localInput(f.end_date) : "";
}

function msgQuery(extra = {}) {
  const p = new URLSearchParams();
  for (const k of FILTER_FIELDS) if (msgs.filters[k]) p.set(k, msgs.filters[k]);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

// The list's URL: #/messages?q=... (the open message: #/messages/<id>?q=...).
function msgHash() {
  const q = msgQuery();
  return "#/messages" + (msgs.open ? `/${msgs.open}` : "") + (q ? "?" + q : "");
}

async function loadMessages({ more = false, keep = false } = {}) {
  const seq = ++msgs.seq;
  msgs.pager ||= pager(MSG_PAGE, MSG_MAX_RELOAD);
  const limit = pageLimit(msgs.pager, msgs.rows.length, { more, reset: !keep });
  const extra = { limit: String(limit) };
  if (more && msgs.next) extra.after = String(msgs.next);
  $("msg-list").setAttribute("aria-busy", "true");
  let data;
  try {
    data = await api(`/simulator/messages?${msgQuery(extra)}`);
  } catch (err) {
    if (seq === msgs.seq) {
      $("msg-error").textContent = `Could not read the messages: ${err.message}`;
      $("msg-list").removeAttribute("aria-busy");
    }
    return;
  }
  if (seq !== msgs.seq) return;
  $("msg-error").textContent = "";
  $("msg-list").removeAttribute("aria-busy");
  msgs.rows = more ? msgs.rows.concat(data.messages) : data.messages;
  msgs.next = data.next;
  renderMessages();
}

function convOrPlan(m) {
  if (m.conversation) return el("span", { class: "badge conv-app", title: `Conversation app ${m.conversation.app_id}` },
    "app ", el("code", { text: m.conversation.app_id }));
  return el("span", { text: m.service_plan_id });
}

function statusBadge(m) {
  return el("span", { class: `badge status ${STATUS_CLASS[m.status] || ""}`, title: "Delivery status and code",
                      text: `${m.status} · ${m.code}` });
}

function preview(text) {
  const t = String(text ?? "");
  return t.length > 120 ? t.slice(0, 119) + "…" : t;
}

function msgRow(m) {
  const enc = m.encoding ? encodingBadge({ type: m.type, encoding: m.encoding })[0] : "–";
  const cell = (label, ...children) => el("td", { "data-label": label }, ...children);
  return el("tr", { "data-id": m.id, "aria-selected": m.id === msgs.selected ? "true" : "false",
                    onclick: (e) => { if (!e.target.closest("a")) openMessage(m.id); } },
    cell("Time", timeEl(m.created_at)),
    cell("Plan / app", convOrPlan(m)),
    cell("From", m.from || "–"),
    cell("To", plus(m.to)),
    cell("Text", el("a", { class: "msg-link", href: `#/messages/${m.id}${msgs.filters && msgQuery() ? "?" + msgQuery() : ""}`,
                           text: preview(m.body) || "(empty)" })),
    cell("Encoding", enc),
    cell("Parts", m.parts ?? "–"),
    cell("Status", statusBadge(m)),
    cell("Batch", el("code", { class: "batch", text: m.batch_id })));
}

function renderMessages() {
  const body = $("msg-rows");
  replaceKeepingFocus(body, msgs.rows.map((m) => {
    const row = msgRow(m);
    row.querySelector("a").dataset.focus = `msg-${m.id}`;
    return row;
  }));
  const n = msgs.rows.length;
  $("msg-count").textContent = n ? `(${n}${msgs.next ? "+" : ""})` : "";
  $("msg-empty").hidden = n > 0;
  $("msg-empty").textContent = Object.keys(msgs.filters).length
    ? "No message matches." : "No messages yet. Send a batch and it shows up here.";
  $("msg-more").hidden = !msgs.next;
  const plans = new Set(msgs.rows.map((m) => m.service_plan_id));
  $("msg-plans").replaceChildren(...[...plans].sort().map((p) => el("option", { value: p })));
  if (msgs.open) renderDetail();
}

// -- selection and keyboard (nav.js calls these) ------------------------------------------

function msgMove(delta) {
  const ids = msgs.rows.map((m) => m.id);
  if (!ids.length) return;
  let i = ids.indexOf(msgs.selected);
  i = i < 0 ? 0 : Math.max(0, Math.min(ids.length - 1, i + delta));
  msgs.selected = ids[i];
  for (const tr of $("msg-rows").children) {
    tr.setAttribute("aria-selected", String(Number(tr.dataset.id) === msgs.selected));
  }
  const tr = $("msg-rows").querySelector(`tr[data-id="${msgs.selected}"]`);
  if (tr) {
    tr.querySelector("a").focus();
    tr.scrollIntoView({ block: "nearest" });
  }
}

function msgOpenSelected() {
  if (msgs.selected !== null) openMessage(msgs.selected);
}

function openMessage(id) {
  msgs.open = id;
  msgs.selected = id;
  history.replaceState(null, "", msgHash());
  renderDetail();
  loadDetail(id);
}

function closeMessage() {
  if (msgs.open === null) return false;
  const id = msgs.open;
  msgs.open = null;
  $("msg-detail").hidden = true;
  history.replaceState(null, "", msgHash());
  const link = $("msg-rows").querySelector(`tr[data-id="${id}"] a`);
  if (link) link.focus();
  return true;
}

// -- one message --------------------------------------------------------------------------

async function loadDetail(id) {
  try {
    const m = await api(`/simulator/messages/${encodeURIComponent(id)}`);
    if (msgs.open !== id) return;
    msgs.detail = m;
    renderDetail();
  } catch (err) {
    if (msgs.open === id) $("msg-detail-body").replaceChildren(el("p", { class: "error", text: err.message }));
  }
}

const PERMANENCE = { true: "permanent: sending it again will not help", false: "temporary: may succeed if sent again" };

function meaningText(mn) {
  if (!mn) return "";
  const p = PERMANENCE[mn.permanent];
  return mn.name + (mn.family !== "sinch" ? ` (${mn.family.toUpperCase()} error)` : "") + (p ? ` · ${p}` : "");
}

// Whether a code's meaning says more than its status does (Delivered 0 says it all).
const telling = (m) => m.meaning && m.meaning.name !== m.status;

function stepText(s) {
  const part = s.parts > 1 ? ` part ${s.part}/${s.parts}` : "";
  switch (s.step) {
    case "accepted": return ["Accepted", ""];
    case "queued": return ["Queued", ""];
    case "submitted":
      return [`submit_sm${part}`, [`message_id ${s.message_id}`, s.sequence != null ? `sequence ${s.sequence}` : ""]
        .filter(Boolean).join(" · ")];
    case "dispatched":
      return s.connector === "simulator" ? ["Dispatched: on the handset", ""] : ["Dispatched: accepted by the SMSC", ""];
    case "receipt":
      return s.connector === "smpp" ? [`Receipt${part}`, `${s.state} · err ${s.err ?? "–"}`] : ["Receipt from the handset", ""];
    case "status":
      return [`${s.final ? "Final" : "Now"}: ${s.status} · ${s.code}`, telling(s) ? meaningText(s.meaning) : ""];
    default: return [s.step, ""];
  }
}

function timeline(m) {
  // The detail's steps; until it is read, what the list row says.
  const steps = m.timeline || [
    { step: "accepted", at: m.accepted_at }, { step: "queued", at: m.created_at },
    { step: "status", at: m.status_at, status: m.status, code: m.code, final: m.final },
  ];
  return el("ol", { class: "timeline", id: "msg-timeline" }, ...steps.map((s) => {
    const [what, more] = stepText(s);
    return el("li", { "data-step": s.step },
      el("span", { class: "what", text: what }), timeEl(s.at) || el("span", { class: "muted", text: "–" }),
      more ? el("span", { class: "more-info", text: more }) : null);
  }));
}

const UNIT_NAME = { septets: "septets", ucs2: "UCS-2 units", bytes: "bytes" };

function segmentsPart(m) {
  if (!m.segments) return [];
  return [el("h3", { text: `Parts (${m.segments.length})` }),
    el("ol", { class: "segments", id: "msg-segments" }, ...m.segments.map((p) =>
      el("li", {},
        el("span", { class: "muted", text: `${p.units} ${UNIT_NAME[p.unit] || p.unit}` }),
        p.udh ? el("span", { class: "udh" }, el("span", { class: "muted", text: " · UDH " }), el("code", { text: spacedHex(p.udh) })) : null,
        p.text !== null ? el("div", { class: "body", text: p.text }) : null)))];
}

function callbacksPart(m) {
  if (!m.callbacks) return [];
  const list = m.callbacks.length
    ? el("ul", { class: "msg-callbacks", id: "msg-callbacks" }, ...m.callbacks.map((c) => el("li", {},
      el("a", { href: `#/callbacks/${c.id}`, text: c.summary }), " ",
      el("span", { class: `badge status ${CB_STATE_CLASS[c.state] || ""}`, text: c.state }),
      el("div", { class: "muted" }, timeEl(c.created_at), ` · ${plural(c.attempts, "attempt")} · `, el("code", { text: c.url })))))
    : el("p", { class: "muted", id: "msg-callbacks", text: m.origin === "conversation"
      ? "None: no webhook of the app listens to MESSAGE_DELIVERY."
      : "None: its batch asks for no delivery report callback, or has no callback URL." });
  return [el("h3", { text: `Callbacks (${m.callbacks.length})` }), list];
}

function renderDetail() {
  const id = msgs.open;
  // The list's row is the freshest (live re-reads); the detail adds the timeline, the parts, the
  // report and the callbacks.
  const row = msgs.rows.find((r) => r.id === id);
  const m = msgs.detail && msgs.detail.id === id ? { ...msgs.detail, ...(row || {}) } : row;
  $("msg-detail").hidden = false;
  $("msg-detail-title").textContent = m ? `To ${plus(m.to)}` : `Message ${id}`;
  if (!m) { $("msg-detail-body").replaceChildren(el("p", { class: "muted", text: "Loading…" })); return; }
  const dl = el("dl", { class: "fields" });
  const field = (name, ...value) => dl.append(el("dt", { text: name }), el("dd", {}, ...value));
  field("Status", statusBadge(m), m.code_meaning && telling({ meaning: m.code_meaning, status: m.status })
    ? el("span", { class: "muted", text: ` ${meaningText(m.code_meaning)}` }) : null);
  field("From", m.from || "–");
  field("Plan", m.service_plan_id);
  if (m.conversation) {
    field("Conversation", `app ${m.conversation.app_id}, message `, el("code", { text: m.conversation.message_id }),
          ` (${m.conversation.status || "PENDING"})`);
  }
  field("Encoding", m.encoding ? encodingBadge(m)[1] : "not dispatched yet");
  field("Parts", String(m.parts ?? "–"));
  field("Batch", el("code", { text: m.batch_id }), " ",
        el("a", { href: `#/messages?batch_id=${encodeURIComponent(m.batch_id)}`, text: "all of this batch" }));
  if (m.client_reference) field("Client reference", el("code", { text: m.client_reference }));
  field("Handset", el("a", { href: `#/handsets/${encodeURIComponent(m.to)}`, text: `open ${plus(m.to)}` }));
  $("msg-detail-body").replaceChildren(...[  // replaceChildren would write null as text
    el("div", { class: "body", text: m.body ?? "" }),
    m.udh ? el("p", {}, el("span", { class: "muted", text: "UDH " }), el("code", { text: spacedHex(m.udh) })) : null,
    dl, el("h3", { text: "Timeline" }), timeline(m),
    ...segmentsPart(m),
    ...callbacksPart(m),
    m.delivery_report ? el("h3", { text: "Delivery report (as the API returns it)" }) : null,
    m.delivery_report ? el("pre", { class: "json", id: "msg-report", text: JSON.stringify(m.delivery_report, null, 2) }) : null,
  ].filter(Boolean));
}

// -- wiring -------------------------------------------------------------------------------

// Apply a route: #/messages[/<id>][?filters]
function msgRoute(id, params) {
  const f = {};
  for (const k of FILTER_FIELDS) if (params.get(k)) f[k] = params.get(k);
  const changed = JSON.stringify(f) !== JSON.stringify(msgs.filters);
  msgs.filters = f;
  if (changed || !msgs.loaded) {
    msgs.loaded = true;
    msgFormFromFilters(f);
    loadMessages();
  }
  if (id !== null && id !== msgs.open) openMessage(id);
  else if (id === null && msgs.open !== null) closeMessage();
}

let msgTyping = null;
function msgFiltersChanged() {  // typing: wait for a pause; other controls: at once
  msgs.filters = msgFiltersFromForm();
  history.replaceState(null, "", msgHash());
  loadMessages();
}

function msgInit() {
  $("msg-filters").addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(msgTyping); msgFiltersChanged(); });
  $("msg-q").addEventListener("input", () => { clearTimeout(msgTyping); msgTyping = setTimeout(msgFiltersChanged, 250); });
  for (const id of ["msg-plan", "msg-status", "msg-code", "msg-from", "msg-to", "msg-batch"]) {
    $(id).addEventListener("change", msgFiltersChanged);
  }
  $("msg-clear").addEventListener("click", () => { msgFormFromFilters({}); msgFiltersChanged(); });
  $("msg-more").addEventListener("click", () => loadMessages({ more: true }));
  $("msg-detail-close").addEventListener("click", closeMessage);
}

// A live event: re-read what is loaded (statuses change, new messages arrive on top).
function msgRefresh() {
  if (!msgs.loaded) return;
  loadMessages({ keep: true });
  if (msgs.open !== null) loadDetail(msgs.open);
}
