// openxms simulator UI: the Batches view (GET /simulator/batches): every SMS batch with its
// state, its recipients counted by status and, while scheduled, a countdown to its send_at; a
// batch's page (#/batches/<id>) with its request, the parts per recipient its dry run gives
// (GET /simulator/batches/<id>/dry_run: the server's dry-run code, not this script's), the batch
// as the API returns it, its recipients, Cancel and "advance the clock to send_at". Loaded before
// app.js and started by it; uses its helpers.
"use strict";

const BATCH_PAGE = 20;
const BATCH_MAX = 200;  // GET /simulator/batches answers a larger limit with a 400
const RECIPIENT_PAGE = 100;
const RECIPIENT_MAX = 500;  // GET /simulator/messages, the same
const BATCH_STATE_CLASS = { done: "ok", active: "pending", scheduled: "pending", cancelled: "warn", expired: "bad" };

const bat = { rows: [], next: null, open: null, detail: null, recipients: [], rnext: null, seq: 0, loaded: false, pager: null,
              rseq: 0, rpager: null,  // the open batch's recipients: ignore superseded answers, rows asked for
              dry: null, dryKey: "" };  // the dry run, and the batch version it is of

const stateBadge = (s) => el("span", { class: `badge status ${BATCH_STATE_CLASS[s] || ""}`, text: s });

function countdownText(sendAt) {
  if (!state.clock) return "";
  let s = Math.ceil((new Date(sendAt).getTime() - clockNowMs()) / 1000);  // whole seconds left, rounded up
  if (s <= 0) return "due now";
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  s %= 60;
  return "sends in " + [d && `${d} d`, (d || h) && `${h} h`, (d || h || m) && `${m} min`, `${s} s`].filter(Boolean).join(" ");
}

function countdown(b) {
  return b.state === "scheduled" ? el("span", { class: "countdown", "data-send-at": b.send_at, text: countdownText(b.send_at) }) : null;
}

function tickCountdowns() {
  for (const c of document.querySelectorAll(".countdown")) c.textContent = countdownText(c.dataset.sendAt);
}

function statusCounts(counts) {
  return el("span", { class: "badges" }, ...Object.entries(counts).map(([s, n]) =>
    el("span", { class: `badge ${STATUS_CLASS[s] || ""}`, text: `${s} ${n}` })));
}

function batchQuery(extra = {}) {
  const p = new URLSearchParams({ limit: String(BATCH_PAGE), ...extra });
  const plan = $("bat-plan").value.trim();
  if (plan) p.set("service_plan_id", plan);
  if ($("bat-scheduled").checked) p.set("scheduled", "true");
  return p.toString();
}

async function loadBatches({ more = false, reset = false } = {}) {
  const seq = ++bat.seq;
  bat.pager ||= pager(BATCH_PAGE, BATCH_MAX);
  const limit = String(pageLimit(bat.pager, bat.rows.length, { more, reset }));
  let data;
  try {
    data = await api(`/simulator/batches?${batchQuery(more && bat.next ? { limit, after: bat.next } : { limit })}`);
  } catch (err) {
    if (seq === bat.seq) $("bat-error").textContent = `Could not read the batches: ${err.message}`;
    return;
  }
  if (seq !== bat.seq) return;
  $("bat-error").textContent = "";
  bat.rows = more ? bat.rows.concat(data.batches) : data.batches;
  bat.next = data.next;
  renderBatches();
}

function toText(to) {
  return to.length > 2 ? `${plus(to[0])}, ${plus(to[1])} +${to.length - 2}` : to.map(plus).join(", ");
}

function renderBatches() {
  const cell = (label, ...c) => el("td", { "data-label": label }, ...c);
  replaceKeepingFocus($("bat-rows"), bat.rows.map((b) => el("tr", { "data-id": b.id },
    cell("State", stateBadge(b.state)),
    cell("Plan", b.service_plan_id),
    cell("To", toText(b.to)),
    cell("Text", el("a", { class: "msg-link", href: `#/batches/${b.id}`, "data-focus": `bat-${b.id}`,
                           text: preview(b.body) || "(empty)" })),
    cell("Recipients", b.recipients ? statusCounts(b.counts) : "not queued yet"),
    cell("Send at", timeEl(b.send_at), " ", countdown(b)),
    cell("Batch", el("code", { class: "batch", text: b.id })))));
  $("bat-count").textContent = bat.rows.length ? `(${bat.rows.length}${bat.next ? "+" : ""})` : "";
  $("bat-empty").hidden = bat.rows.length > 0;
  $("bat-more").hidden = !bat.next;
}

// -- one batch ----------------------------------------------------------------------------

async function loadBatchPage(id, { reset = false } = {}) {
  const seq = ++bat.rseq;
  bat.rpager ||= pager(RECIPIENT_PAGE, RECIPIENT_MAX);
  const limit = pageLimit(bat.rpager, bat.recipients.length, { reset });
  try {
    const [b, r] = await Promise.all([
      api(`/simulator/batches/${encodeURIComponent(id)}`),
      api(`/simulator/messages?batch_id=${encodeURIComponent(id)}&limit=${limit}`),
    ]);
    if (bat.open !== id || seq !== bat.rseq) return;
    bat.detail = b;
    bat.recipients = r.messages;
    bat.rnext = r.next;
    renderBatch();
    loadDryRun(b);
  } catch (err) {
    if (bat.open === id && seq === bat.rseq) $("bat-detail-body").replaceChildren(el("p", { class: "error", text: err.message }));
  }
}

// The dry run of the batch's request changes only with the batch (or its groups): read once per
// version of the batch, not on every live event.
async function loadDryRun(b) {
  const key = `${b.id}:${b.batch.modified_at}`;
  if (bat.dryKey === key) return;
  bat.dryKey = key;
  try {
    const d = await api(`/simulator/batches/${encodeURIComponent(b.id)}/dry_run?number_of_recipients=100`);
    if (bat.open !== b.id) return;
    bat.dry = d;
  } catch (err) {
    bat.dryKey = "";
    bat.dry = { error: err.message };
  }
  renderBatch();
}

function dryRunPart() {
  const d = bat.dry;
  if (!d) return [el("p", { class: "muted", text: "Loading…" })];
  if (d.error) return [el("p", { class: "error", text: `Could not compute the dry run: ${d.error}` })];
  const rows = d.per_recipient.map((p) => el("tr", {},
    el("td", { "data-label": "To" }, plus(p.recipient)),
    el("td", { "data-label": "Parts" }, String(p.number_of_parts)),
    el("td", { "data-label": "Encoding" }, p.encoding === "unicode" ? "UCS-2" : "GSM-7"),
    el("td", { "data-label": "Text", class: "dry-text" }, p.body)));  // all of it: what that handset gets
  const shown = d.per_recipient.length < d.number_of_recipients ? ` (the first ${d.per_recipient.length} shown)` : "";
  return [
    el("p", { class: "muted", id: "bat-dry-total",
              text: `${plural(d.number_of_recipients, "recipient")}, ${plural(d.number_of_messages, "message part")}${shown}` }),
    rows.length ? el("table", { class: "msg-table bat-dry" },
      el("thead", {}, el("tr", {}, ...["To", "Parts", "Encoding", "Text"].map((t) => el("th", { scope: "col", text: t })))),
      el("tbody", { id: "bat-dry-rows" }, ...rows)) : null,
  ];
}

async function moreRecipients() {
  const id = bat.open, seq = ++bat.rseq;
  const limit = pageLimit(bat.rpager, bat.recipients.length, { more: true });
  const r = await api(`/simulator/messages?batch_id=${encodeURIComponent(id)}&limit=${limit}&after=${bat.rnext}`);
  if (bat.open !== id || seq !== bat.rseq) return;
  bat.recipients = bat.recipients.concat(r.messages);
  bat.rnext = r.next;
  renderBatch();
}

async function batchAction(what) {
  const b = bat.detail;
  try {
    if (what === "cancel") {
      if (!confirm(`Cancel batch ${b.id}?\n\nMessages not sent yet end Cancelled.`)) return;
      await api(`/simulator/batches/${encodeURIComponent(b.id)}/cancel`, { method: "POST", body: {} });
      notice("Batch cancelled.");
    } else {
      const c = await api("/clock/advance", { method: "POST", body: { to: b.send_at } });
      state.clock = { now_ms: c.now_ms, manual: c.manual, at: Date.now() };
      renderClock();
      notice("Clock advanced to the batch's send_at.");
    }
  } catch (err) {
    notice(`${what === "cancel" ? "Cancel" : "Clock"}: ${err.message}`, true);
  }
  loadBatchPage(b.id);
}

function renderBatch() {
  const b = bat.detail;
  if (!b) return;
  $("bat-detail-title").replaceChildren("Batch ", el("code", { text: b.id }), " ", stateBadge(b.state));
  const dl = el("dl", { class: "fields" });
  const field = (name, ...value) => dl.append(el("dt", { text: name }), el("dd", {}, ...value));
  field("Plan", b.service_plan_id);
  field("From", b.from || "–");
  field("To", b.to.map(plus).join(", "));
  field("Send at", timeEl(b.send_at), " ", countdown(b));
  field("Expires", timeEl(b.expire_at));
  field("Created", timeEl(b.created_at));
  field("Delivery report", b.delivery_report + (b.callback_url ? ` → ${b.callback_url}` : ""));
  if (b.client_reference) field("Client reference", el("code", { text: b.client_reference }));
  field("Recipients", b.recipients ? statusCounts(b.counts) : "not queued yet");
  const manual = state.clock && state.clock.manual;
  const actions = el("div", { class: "bat-actions" },
    b.state === "scheduled" || b.state === "active"
      ? el("button", { type: "button", class: "danger", id: "bat-cancel", onclick: () => batchAction("cancel"), text: "Cancel batch" }) : null,
    b.state === "scheduled" && manual
      ? el("button", { type: "button", class: "primary", id: "bat-advance", onclick: () => batchAction("advance"),
                       text: "Advance the clock to send_at" }) : null,
    b.state === "scheduled" && !manual ? el("span", { class: "muted", text: "The clock runs in real time (start with --clock manual to move it)." }) : null);
  const rows = bat.recipients.map((m) => el("tr", {},
    el("td", { "data-label": "To" }, el("a", { href: `#/messages/${m.id}`, text: plus(m.to) })),
    el("td", { "data-label": "Status" }, statusBadge(m)),
    el("td", { "data-label": "Parts" }, String(m.parts ?? "–")),
    el("td", { "data-label": "Text" }, preview(m.body))));
  $("bat-detail-body").replaceChildren(...[  // replaceChildren would write null as text
    actions, dl,
    el("div", { class: "bat-columns" },
      el("section", { "aria-labelledby": "bat-request-h" },
        el("h3", { id: "bat-request-h", text: "The request (a send body that makes this batch)" }),
        el("pre", { class: "json", id: "bat-request", text: JSON.stringify(b.request, null, 2) })),
      el("section", { "aria-labelledby": "bat-dry-h" },
        el("h3", { id: "bat-dry-h", text: "Parts per recipient (its dry run)" }),
        ...dryRunPart())),
    el("h3", { text: "Recipients" }),
    rows.length ? el("table", { class: "msg-table bat-recipients" },
      el("thead", {}, el("tr", {}, ...["To", "Status", "Parts", "Text"].map((t) => el("th", { scope: "col", text: t })))),
      el("tbody", { id: "bat-recipient-rows" }, ...rows))
      : el("p", { class: "muted", text: "No recipient is queued yet: they are when the batch's send_at comes." }),
    bat.rnext ? el("button", { type: "button", class: "more", onclick: moreRecipients, text: "More recipients" }) : null,
    el("h3", { text: "The batch as the API returns it" }),
    el("pre", { class: "json", text: JSON.stringify(b.batch, null, 2) })].filter(Boolean));
}

// -- wiring -------------------------------------------------------------------------------

function batchRoute(id) {
  $("bat-list-part").hidden = id !== null;
  $("bat-detail").hidden = id === null;
  if (id !== null) {
    const other = id !== bat.open;
    if (other) {
      Object.assign(bat, { open: id, detail: null, recipients: [], dry: null, dryKey: "" });
      $("bat-detail-body").replaceChildren();
    }
    loadBatchPage(id, { reset: other });
  } else {
    bat.open = null;
    bat.loaded = true;
    loadBatches();
  }
}

function batchInit() {
  $("bat-plan").addEventListener("change", () => loadBatches({ reset: true }));
  $("bat-scheduled").addEventListener("change", () => loadBatches({ reset: true }));
  $("bat-more").addEventListener("click", () => loadBatches({ more: true }));
  setInterval(tickCountdowns, 1000);
}

function batchRefresh() {
  if (currentView !== "batches") return;
  if (bat.open !== null) loadBatchPage(bat.open); else if (bat.loaded) loadBatches();
}
