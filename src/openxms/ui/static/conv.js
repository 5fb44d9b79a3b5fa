// openxms simulator UI: the Conversation API panel (its messages and batches) and the badges
// of a handset message that carries a Conversation message. Loaded before app.js and called
// by it once the page has started; it uses app.js's helpers (el, api, $, timeEl, plus, plural,
// notice, select, state). Like app.js, it puts API data on the page as text, never as markup.
"use strict";

const CONV_LIMIT = 50;
const CONV_BATCH_LIMIT = 20;
// Conversation delivery statuses (https://developers.sinch.com/docs/conversation/callbacks/);
// PENDING is the simulator API's own word for "no status reported yet".
const CONV_STATUS_CLASS = {
  DELIVERED: "ok", READ: "ok", FAILED: "bad", SWITCHING_CHANNEL: "warn", QUEUED_ON_CHANNEL: "pending",
  PENDING: "pending",
};
const BATCH_STATUS_CLASS = { PROCESSED: "ok", CANCELLED: "warn", SCHEDULED: "pending", READY: "pending" };

const conv = {
  key: "",              // what the panel last rendered (skip identical re-renders)
  seq: 0,               // ignore answers to superseded requests
  open: new Set(),      // batch ids whose recipients are shown
  details: new Map(),   // batch id -> its last detail answer
};

const convStatus = (s) => el("span", { class: `badge status ${CONV_STATUS_CLASS[s] || ""}`, text: s });

// Re-rendering a list must not drop the keyboard focus: the focused control is found again by
// its data-focus key.
function replaceKeepingFocus(container, children) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focus : null;
  container.replaceChildren(...children);
  if (key) {
    const again = container.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

function handsetButton(identity, focusKey) {
  if (!/^\d+$/.test(identity || "")) return el("span", { class: "handset-ref", text: identity || "(no handset)" });
  return el("button", { type: "button", class: "linkish handset-ref", "data-focus": focusKey,
                        "aria-label": `Open handset ${plus(identity)}`, onclick: () => select(identity) },
    plus(identity));
}

// -- on a handset's conversation ------------------------------------------------------------

// Badges of an SMS that carries a Conversation message: its app and its Conversation status.
function convBadges(m) {
  const c = m.conversation;
  if (!c) return [];
  return [
    el("span", { class: "badge conv-app", title: `Conversation API message of app ${c.app_id} (project ${c.project_id})` },
      "Conversation · ", el("code", { text: c.app_id })),
    el("span", { class: `badge conv-status ${CONV_STATUS_CLASS[c.status || "PENDING"] || ""}`,
                 title: "Conversation delivery status", text: c.status || "PENDING" }),
  ];
}

function convMeta(m) {
  const c = m.conversation;
  if (!c) return null;
  return [el("span", {}, "message ", el("code", { class: "batch", text: c.message_id })),
          c.batch_id ? el("span", {}, "Conversation batch ", el("code", { text: c.batch_id })) : null];
}

// -- the panel ------------------------------------------------------------------------------

async function loadConversation() {
  const seq = ++conv.seq;
  const only = $("conv-only").checked && state.selected;
  const q = new URLSearchParams({ limit: String(CONV_LIMIT) });
  if (only) q.set("identity", state.selected);
  let messages, batches;
  try {
    [messages, batches] = await Promise.all([
      api(`/simulator/conversation/messages?${q}`),
      api(`/simulator/conversation/batches?limit=${CONV_BATCH_LIMIT}`),
    ]);
  } catch (err) {
    if (seq === conv.seq) notice(`Could not read the Conversation messages: ${err.message}`, true);
    return;
  }
  if (seq !== conv.seq) return;
  const shown = new Set(batches.batches.map((b) => b.id));
  for (const id of conv.open) if (!shown.has(id)) conv.open.delete(id);
  await Promise.all([...conv.open].map((id) => loadBatch(id, seq)));
  if (seq !== conv.seq) return;
  renderConversation(messages.messages, batches.batches, only);
}

async function loadBatch(id, seq) {
  try {
    conv.details.set(id, await api(`/simulator/conversation/batches/${encodeURIComponent(id)}`));
  } catch (err) {
    if (seq === conv.seq) notice(`Could not read batch ${id}: ${err.message}`, true);
  }
}

function renderConversation(messages, batches, only) {
  const key = JSON.stringify([messages, batches, only, [...conv.open].map((id) => conv.details.get(id))]);
  if (key === conv.key) return;
  conv.key = key;
  $("conv-messages-count").textContent = messages.length ? `(${messages.length}${messages.length >= CONV_LIMIT ? "+" : ""})` : "";
  $("conv-batches-count").textContent = batches.length ? `(${batches.length}${batches.length >= CONV_BATCH_LIMIT ? "+" : ""})` : "";
  $("conv-messages-empty").hidden = messages.length > 0;
  $("conv-messages-empty").textContent = only
    ? `No Conversation messages to or from ${plus(only)}.`
    : "No Conversation messages yet. Messages sent with the Conversation API (messages:send, or a batch) and the handsets' replies to them appear here.";
  $("conv-batches-empty").hidden = batches.length > 0;
  replaceKeepingFocus($("conv-messages"), messages.map(convMessage));
  replaceKeepingFocus($("conv-batches"), batches.map(convBatch));
}

function convMessage(m) {
  const outbound = m.direction === "TO_CONTACT";
  const text = m.text !== null && m.text !== undefined
    ? el("div", { class: "body", text: m.text })
    : el("div", { class: "body muted", text: `(${m.content || "message"}, not sent)` });
  return el("li", { class: `conv-msg ${outbound ? "out" : "in"}`, "data-id": m.id },
    el("div", { class: "conv-top" },
      timeEl(m.accept_time),
      el("span", { class: "dir", text: outbound ? "App to" : "From" }),
      handsetButton(m.identity, `m-${m.id}`),
      outbound ? convStatus(m.status || "PENDING") : el("span", { class: "badge", text: "reply" })),
    text,
    el("div", { class: "meta" },
      el("span", {}, "app ", el("code", { text: m.app_id })),
      m.batch_id ? el("span", {}, "batch ", el("code", { text: m.batch_id })) : null,
      el("span", {}, "id ", el("code", { text: m.id }))));
}

function countBadges(b) {
  const entries = Object.entries(b.counts || {});
  const out = entries.map(([s, n]) => el("span", { class: `badge ${CONV_STATUS_CLASS[s] || ""}`, text: `${s} ${n}` }));
  if (b.replies) out.push(el("span", { class: "badge", text: plural(b.replies, "reply", "replies") }));
  if (!entries.length) out.push(el("span", { class: "muted", text: "no messages yet" }));
  return out;
}

function convBatch(b) {
  const open = conv.open.has(b.id);
  const regionId = `conv-batch-${b.id}`;
  const toggle = el("button", { type: "button", class: "conv-batch-toggle", "aria-expanded": open ? "true" : "false",
                                "aria-controls": regionId, "data-focus": `b-${b.id}`,
                                onclick: () => toggleBatch(b.id) },
    el("span", { class: `badge status ${BATCH_STATUS_CLASS[b.status] || ""}`, text: b.status }),
    el("span", { class: "what", text: plural(b.recipient_count, "recipient") }),
    el("span", { class: "when" }, "send after ", timeEl(b.send_after)));
  const metadata = Object.entries(b.metadata || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  const detail = conv.details.get(b.id);
  const region = el("ol", { id: regionId, class: "conv-recipients", "aria-label": `Recipients of batch ${b.id}`,
                            hidden: !open },
    ...(open && detail ? detail.recipients.map((r, i) => recipientItem(b.id, r, i)) : []));
  return el("li", { class: "conv-batch", "data-id": b.id },
    toggle,
    el("div", { class: "badges" }, ...countBadges(b)),
    el("div", { class: "meta" },
      el("span", {}, "app ", el("code", { text: b.app_id })),
      el("span", {}, "id ", el("code", { text: b.id })),
      metadata ? el("span", { text: metadata }) : null),
    region);
}

function recipientItem(batchId, r, i) {
  return el("li", { class: "conv-recipient" },
    el("div", { class: "conv-top" },
      handsetButton(r.identity || r.contact_id, `r-${batchId}-${i}`),
      r.message_id ? convStatus(r.status || "PENDING") : el("span", { class: "badge", text: "not sent yet" })),
    r.text !== null && r.text !== undefined ? el("div", { class: "body", text: r.text }) : null,
    r.message_id ? el("div", { class: "meta" }, el("span", {}, "message ", el("code", { text: r.message_id }))) : null);
}

function toggleBatch(id) {
  if (!conv.open.delete(id)) conv.open.add(id);
  loadConversation();  // reads the recipients of the batches now open
}

function convInit() {
  $("conv-only").addEventListener("change", () => { conv.key = ""; loadConversation(); });
}
