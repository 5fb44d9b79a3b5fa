// openxms handset simulator UI: plain DOM, no framework, no build step.
// Everything that comes from the API is put on the page with textContent or as an attribute
// value, never parsed as markup.
"use strict";

const THREAD_LIMIT = 200;
const HANDSET_PAGE = 100;
const HANDSET_MAX_RELOAD = 500;  // a live re-read covers at most this many handsets
const $ = (id) => document.getElementById(id);

const state = {
  handsets: [],        // what the list shows (GET /simulator/handsets?q=...), most recently reached first
  handsetsNext: null,  // the cursor of the page after the loaded ones
  handsetsSeq: 0,
  handsetsPager: pager(HANDSET_PAGE, HANDSET_MAX_RELOAD),  // how many "Load more" has asked for
  marked: {},          // msisdn -> the newest message id marked read from this page
  selected: null,      // msisdn, digits only
  threadKey: "",       // what the open conversation last rendered (skip identical re-renders)
  threadSeq: 0,        // ignore answers to superseded requests
  replyTo: { msisdn: null, edited: false },
  clock: null,         // {now_ms, manual, at: Date.now() when read}
};

// -- helpers ------------------------------------------------------------------------------

// A list paged by "Load more" remembers how many rows the user has asked to see: the first page
// plus one page per "Load more" since its filter last changed. A live re-read asks for all of
// them (up to the most one request returns), so it does not collapse the list; and when it starts
// while a "Load more" is in flight it supersedes that request (the newest answer wins), so it
// must bring the page that request was fetching.
function pager(page, max) {
  return { page, max, wanted: page };
}

function pageLimit(p, loaded, { more = false, reset = false } = {}) {
  if (more) {
    p.wanted = loaded + p.page;
    return p.page;
  }
  if (reset) p.wanted = p.page;
  return Math.min(p.max, p.wanted);
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

class ApiError extends Error {}

// With OPENXMS_CONTROL_TOKEN set on the server, changes need the token: asked once, kept in
// this browser (localStorage), sent as a Bearer token on every call that changes something.
const TOKEN_KEY = "openxms.controlToken";

async function api(path, { method = "GET", body } = {}, retried = false) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const token = localStorage.getItem(TOKEN_KEY);
  if (token && method !== "GET") init.headers.Authorization = `Bearer ${token}`;
  let r;
  try { r = await fetch(path, init); } catch { throw new ApiError("the server is not reachable"); }
  if (r.status === 401 && method !== "GET" && !retried) {
    const given = window.prompt("This server needs its control token (OPENXMS_CONTROL_TOKEN) for changes:");
    if (given) {
      localStorage.setItem(TOKEN_KEY, given.trim());
      return api(path, { method, body }, true);
    }
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) {
    const msg = data && (data.text || data.code) ? [data.code, data.text].filter(Boolean).join(": ") : text;
    throw new ApiError(msg || `${r.status} ${r.statusText}`);
  }
  return data;
}

const plus = (msisdn) => (/^\d+$/.test(msisdn) ? "+" + msisdn : msisdn);
const digits = (s) => String(s || "").replace(/\D/g, "");
const plural = (n, one, many = one + "s") => `${n} ${n === 1 ? one : many}`;

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// A <time>: the time of day when it is "today" on the server clock, date and time otherwise.
function timeEl(iso, cls) {
  if (!iso) return null;
  const d = new Date(iso);
  if (isNaN(d)) return el("time", { class: cls, text: iso });
  const ref = state.clock ? new Date(clockNowMs()) : new Date();
  const text = sameDay(d, ref) ? d.toLocaleTimeString() : d.toLocaleString();
  return el("time", { class: cls, datetime: iso, title: iso, text });
}

function hexOfBase64(b64) {
  try {
    return Array.from(atob(b64 || ""), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join(" ");
  } catch {
    return b64 || "";
  }
}

const spacedHex = (hex) => (String(hex || "").match(/../g) || []).join(" ");

let noticeTimer = null;
function notice(text, isError = false) {
  const n = $("notice");
  n.textContent = text;
  n.classList.toggle("is-error", isError);
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, isError ? 8000 : 4000);
}

// -- handsets -----------------------------------------------------------------------------

async function loadHandsets({ more = false, reset = false } = {}) {
  const seq = ++state.handsetsSeq;
  const limit = pageLimit(state.handsetsPager, state.handsets.length, { more, reset });
  const p = new URLSearchParams({ limit: String(limit) });
  const q = $("search").value.trim();
  if (q) p.set("q", q);
  if (more && state.handsetsNext) p.set("after", String(state.handsetsNext));
  let data;
  try {
    data = await api(`/simulator/handsets?${p}`);
  } catch (err) {
    if (seq === state.handsetsSeq) notice(`Could not read the handsets: ${err.message}`, true);
    return;
  }
  if (seq !== state.handsetsSeq) return;
  state.handsets = more ? state.handsets.concat(data.handsets) : data.handsets;
  state.handsetsNext = data.next;
  renderHandsets();
}

function lastText(h) {
  if (h.last_type === "mt_binary") return "(binary)";
  return preview(h.last_type === "mt_media" ? h.last_body.split("\n").pop() : h.last_body);
}

function renderHandsets() {
  const q = $("search").value.trim();
  const list = $("handsets");
  replaceKeepingFocus(list, state.handsets.map((h) => {
    const current = h.msisdn === state.selected;
    const unread = current ? 0 : h.unread;  // the open one is being read
    return el("li", {},
      el("button", { type: "button", class: "handset", "aria-current": current ? "true" : null, "data-focus": `h-${h.msisdn}`,
                     "data-msisdn": h.msisdn, onclick: () => select(h.msisdn) },
        el("span", { class: "top-line" },
          el("span", { class: "number", text: plus(h.msisdn) }),
          unread ? el("span", { class: "unread", title: `${plural(unread, "unread message")}`, text: String(unread) },
                      el("span", { class: "sr-only", text: " unread" })) : null),
        el("span", { class: "last", text: lastText(h) }),
        el("span", { class: "sub" },
          el("span", { class: "n", text: plural(h.messages, "message") }),
          timeEl(h.last_message_at, "when"))));
  }));
  const n = state.handsets.length;
  $("handsets-count").textContent = n ? `(${n}${state.handsetsNext ? "+" : ""})` : "";
  $("handsets-empty").hidden = n > 0;
  $("handsets-empty").textContent = q ? "No handset matches." : "No messages yet. Send a batch to any number and its handset shows up here.";
  $("handsets-more").hidden = !state.handsetsNext;
  // Open a number that has no messages yet (to send an unsolicited MO from it).
  const d = digits(q), open = $("open-number");
  const known = state.handsets.some((h) => h.msisdn === d);
  open.hidden = !(/^\+?[\d\s().-]+$/.test(q) && d.length >= 5 && d.length <= 15 && !known && d !== state.selected);
  open.textContent = `Open handset +${d}`;
  open.dataset.msisdn = d;
}

// The handset is shown: its messages up to the newest one shown are read (server-side, so the
// count survives a reload and is the same in every browser).
async function markRead(msisdn, newest) {
  if (!newest || currentView !== "handsets" || document.visibilityState !== "visible") return;
  const h = state.handsets.find((x) => x.msisdn === msisdn);
  if ((state.marked[msisdn] || 0) >= newest && !(h && h.unread)) return;
  state.marked[msisdn] = newest;
  try {
    const r = await api(`/simulator/handsets/${encodeURIComponent(msisdn)}/read`, { method: "POST", body: { through: newest } });
    if (h) { h.unread = r.unread; renderHandsets(); }
  } catch { state.marked[msisdn] = 0; }
}

function newHandset(event) {
  event.preventDefault();
  const raw = $("new-number").value.trim(), n = digits(raw);
  if (!/^\+?[\d\s().-]+$/.test(raw) || n.length < 5 || n.length > 15 || n[0] === "0") {
    $("new-handset-error").textContent = "A phone number: 5 to 15 digits, not starting with 0.";
    return;
  }
  $("new-handset-error").textContent = "";
  $("new-number").value = "";
  toggleNewHandset(false);
  select(n);
  $("reply-to").focus();
}

function toggleNewHandset(show) {
  $("new-handset-form").hidden = !show;
  $("new-handset").setAttribute("aria-expanded", String(show));
  if (show) $("new-number").focus();
}

function select(msisdn, { push = true } = {}) {
  if (!msisdn) return;
  if (msisdn !== state.selected) {
    state.selected = msisdn;
    state.threadKey = "";
    $("thread").replaceChildren();
    $("reply-error").textContent = "";
    $("reply-body").value = "";
    $("title").textContent = plus(msisdn);
    $("reply").hidden = false;  // a handset with no messages yet can still write (e.g. a new one)
  }
  if (push && location.hash !== "#/handsets/" + msisdn) history.replaceState(null, "", "#/handsets/" + msisdn);
  renderHandsets();
  loadThread();
  if ($("conv-only").checked) loadConversation();
}

// -- conversation -------------------------------------------------------------------------

const STATUS_CLASS = {
  Delivered: "ok", Failed: "bad", Rejected: "bad", Expired: "bad", Deleted: "bad", Aborted: "bad",
  Unknown: "warn", Dispatched: "pending", Queued: "pending", Scheduled: "pending",
};

function encodingBadge(m) {
  if (m.type === "mt_binary") return ["8-bit", "binary data (8-bit)"];
  return m.encoding === "unicode" ? ["UCS-2", "UCS-2 (Unicode) encoding"] : ["GSM-7", "GSM 03.38 7-bit encoding"];
}

function mediaBody(body) {
  // mt_media lands as "<url>\n<text>": the URL becomes a link when it is http(s).
  const [first, ...rest] = String(body || "").split("\n");
  let link = null;
  try {
    const u = new URL(first);
    if (u.protocol === "http:" || u.protocol === "https:") {
      link = el("a", { href: u.href, target: "_blank", rel: "noopener noreferrer", text: first });
    }
  } catch { /* not a URL */ }
  return el("div", { class: "body" }, link || first, rest.length ? "\n" + rest.join("\n") : null);
}

function binaryBody(body, udh) {
  return el("div", { class: "body binary" },
    el("span", { class: "label", text: "UDH " }), el("code", { text: udh ? spacedHex(udh) : "none" }), "\n",
    el("span", { class: "label", text: "Data " }), el("code", { text: hexOfBase64(body) || "(empty)" }));
}

function mtBubble(m) {
  const [enc, encTitle] = encodingBadge(m);
  const status = m.status || "?";
  const badges = el("div", { class: "badges" },
    el("span", { class: "badge", title: encTitle, text: enc }),
    el("span", { class: "badge", title: "SMS parts on the network", text: plural(m.parts || 1, "part") }),
    m.flash ? el("span", { class: "badge flash", title: "Flash SMS (class 0): shown at once, not stored", text: "flash" }) : null,
    m.type === "mt_media" ? el("span", { class: "badge", text: "media" }) : null,
    el("span", { class: `badge status ${STATUS_CLASS[status] || ""}`, title: "Delivery status and code",
                 text: `${status} · ${m.code ?? "–"}` }),
    m.outcome && m.outcome.status && m.outcome.status !== status
      ? el("span", { class: "badge planned", title: "What the outcome rules decided for this message",
                     text: `will be ${m.outcome.status} · ${m.outcome.code}` }) : null,
    ...convBadges(m));
  const body = m.type === "mt_binary" ? binaryBody(m.body, m.udh)
    : m.type === "mt_media" ? mediaBody(m.body) : el("div", { class: "body", text: m.body });
  const meta = el("div", { class: "meta" },
    timeEl(m.received_at),
    ...(convMeta(m) || [el("span", {}, "batch ", el("code", { class: "batch", text: m.batch_id || "–" }))]),
    m.service_plan_id ? el("span", { text: `plan ${m.service_plan_id}` }) : null);
  const via = m.conversation ? `, Conversation app ${m.conversation.app_id}` : "";
  return el("li", { class: `msg mt${m.conversation ? " conv" : ""}`, "aria-label": `From ${m.from || "unknown sender"}${via}` },
    el("div", { class: "who", text: m.from || "(no sender)" }), body, badges, meta);
}

function moBubble(m) {
  const body = m.type === "mo_binary" ? binaryBody(m.body, m.udh) : el("div", { class: "body", text: m.body });
  const meta = el("div", { class: "meta" },
    timeEl(m.received_at),
    m.client_reference ? el("span", { text: `ref ${m.client_reference}` }) : null,
    el("span", {}, "id ", el("code", { text: m.id || "–" })));
  return el("li", { class: "msg mo", "aria-label": `Reply to ${m.to}` },
    el("div", { class: "who", text: `To ${m.to}` }), body, meta);
}

function ordered(data) {
  // By time; a reply and the message it answers in the same millisecond: the message first.
  const items = [
    ...(data.messages || []).map((m) => ({ at: m.received_at || "", kind: 0, id: String(m.id), m })),
    ...(data.replies || []).map((m) => ({ at: m.received_at || "", kind: 1, id: String(m.id), m })),
  ];
  const num = (s) => (/^\d+$/.test(s) ? Number(s) : NaN);
  return items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind - b.kind
    || (isNaN(num(a.id)) ? a.id.localeCompare(b.id) : num(a.id) - num(b.id))));
}

async function loadThread() {
  const msisdn = state.selected;
  if (!msisdn) return;
  const seq = ++state.threadSeq;
  let data;
  try {
    data = await api(`/simulator/handsets/${encodeURIComponent(msisdn)}/messages?limit=${THREAD_LIMIT}`);
  } catch (err) {
    if (seq === state.threadSeq) notice(`Could not read +${msisdn}: ${err.message}`, true);
    return;
  }
  if (seq !== state.threadSeq || msisdn !== state.selected) return;  // the user moved on
  renderThread(data);
  markRead(msisdn, Math.max(0, ...(data.messages || []).map((m) => m.id)));
}

function renderThread(data) {
  const msisdn = data.msisdn;
  $("title").textContent = plus(msisdn);
  const mt = data.messages || [], mo = data.replies || [];
  const more = mt.length >= THREAD_LIMIT || mo.length >= THREAD_LIMIT ? ` (latest ${THREAD_LIMIT} of each shown)` : "";
  $("subtitle").textContent = `${plural(mt.length, "message")} received, ${plural(mo.length, "reply", "replies")} sent${more}`;
  $("purge-one").hidden = false;
  $("reply").hidden = false;
  $("thread-empty").hidden = mt.length + mo.length > 0;
  if (!mt.length && !mo.length) $("thread-empty").textContent = "No messages on this handset yet. You can still send a message from it below.";
  prefillReply(msisdn, mt);

  const key = JSON.stringify([msisdn, mt, mo]);
  if (key === state.threadKey) return;
  const thread = $("thread");
  const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
  const firstRender = !state.threadKey;
  state.threadKey = key;
  thread.replaceChildren(...ordered(data).map((i) => (i.kind === 0 ? mtBubble(i.m) : moBubble(i.m))));
  if (firstRender || atBottom) thread.scrollTop = thread.scrollHeight;
}

// "To": the last sender that wrote to this handset, unless the user typed something else.
function prefillReply(msisdn, mt) {
  const to = $("reply-to");
  if (state.replyTo.msisdn !== msisdn) state.replyTo = { msisdn, edited: false };
  if (state.replyTo.edited) return;
  const last = mt.find((m) => m.from);  // newest first
  to.value = last ? last.from : "";
  $("reply-plan").placeholder = last && last.service_plan_id ? `automatic (${last.service_plan_id})` : "automatic";
}

async function sendReply(event) {
  event.preventDefault();
  const msisdn = state.selected;
  if (!msisdn) return;
  const err = $("reply-error");
  err.textContent = "";
  const payload = { to: $("reply-to").value.trim(), body: $("reply-body").value };
  const plan = $("reply-plan").value.trim();
  if (plan) payload.service_plan_id = plan;
  const button = event.submitter || $("reply").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`/simulator/handsets/${encodeURIComponent(msisdn)}/messages`, { method: "POST", body: payload });
    $("reply-body").value = "";
    await Promise.all([loadThread(), loadHandsets()]);
    $("reply-body").focus();
  } catch (e) {
    err.textContent = `Not sent: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

// -- purge --------------------------------------------------------------------------------

async function purge(msisdn) {
  const what = msisdn ? `the messages of +${msisdn}` : "the messages of every handset";
  if (!confirm(`Delete ${what}?\n\nMessages still waiting for their delivery receipt are kept.`)) return;
  try {
    const r = await api(msisdn ? `/simulator/handsets/${encodeURIComponent(msisdn)}` : "/simulator/handsets",
                        { method: "DELETE" });
    notice(`Deleted ${plural(r.deleted, "message")}.`);
  } catch (e) {
    notice(`Purge failed: ${e.message}`, true);
  }
  state.threadKey = "";
  await loadHandsets();
  if (state.selected) await loadThread();
}

// -- clock --------------------------------------------------------------------------------

function clockNowMs() {
  const c = state.clock;
  return c.manual ? c.now_ms : c.now_ms + (Date.now() - c.at);
}

async function loadClock() {
  try {
    const c = await api("/clock");
    state.clock = { now_ms: c.now_ms, manual: c.manual, at: Date.now() };
  } catch {
    return;
  }
  renderClock();
}

function renderClock() {
  const c = state.clock;
  if (!c) return;
  const now = new Date(clockNowMs());
  const t = $("clock-now");
  t.textContent = now.toLocaleString();
  t.setAttribute("datetime", now.toISOString());
  $("clock-mode").textContent = c.manual ? "manual" : "real time";
  $("clock-mode").classList.toggle("warn", c.manual);
  $("clock-advance").hidden = !c.manual;
}

async function advance(seconds) {
  try {
    const c = await api("/clock/advance", { method: "POST", body: { seconds } });
    state.clock = { now_ms: c.now_ms, manual: c.manual, at: Date.now() };
    renderClock();
  } catch (e) {
    notice(`Clock: ${e.message}`, true);
  }
}

// -- live updates -------------------------------------------------------------------------

const pending = { handsets: false, thread: false, timer: null };

// Every event also re-reads the Conversation panel: a Conversation message on SMS lands, gets
// its receipts and its replies through the same events as any other SMS.
function refreshSoon({ handsets = true, thread = true } = {}) {  // coalesce bursts into one refresh
  pending.handsets ||= handsets;
  pending.thread ||= thread;
  if (pending.timer) return;
  pending.timer = setTimeout(async () => {
    const { handsets: h, thread: t } = pending;
    Object.assign(pending, { handsets: false, thread: false, timer: null });
    msgRefresh();
    batchRefresh();
    callbackRefresh();
    inboundRefresh();
    groupRefresh();
    aboutRefresh();
    await Promise.all([h ? loadHandsets() : null, t && state.selected ? loadThread() : null, loadConversation()]);
  }, 150);
}

function onEvent(message) {
  let e;
  try { e = JSON.parse(message.data); } catch { return; }
  if (e.event === "inbound") notifyInbound(e);
  if (Array.isArray(e.msisdns)) {
    refreshSoon({ handsets: true, thread: e.msisdns.includes(state.selected) });
  } else {
    refreshSoon();  // receipts (which do not say whose), overflow, anything new
  }
}

let source = null, retryDelay = 1000;
function setLive(s, text) {
  const live = $("live");
  live.dataset.state = s;
  live.textContent = text;
}

function listen() {
  if (source) source.close();
  source = new EventSource("/simulator/events");
  source.onopen = () => {
    retryDelay = 1000;
    setLive("live", "Live");
    refreshSoon();  // catch up on whatever happened while disconnected
    loadClock();
  };
  source.onmessage = onEvent;
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {  // the browser gave up: retry ourselves
      setLive("down", "Disconnected, retrying…");
      source.close();
      setTimeout(listen, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    } else {
      setLive("down", "Reconnecting…");  // EventSource retries by itself
    }
  };
}

// -- wiring -------------------------------------------------------------------------------

function init() {
  let typingTimer = null;
  $("search").addEventListener("input", () => {  // the server searches: wait for a pause in typing
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { state.handsets = []; loadHandsets({ reset: true }); }, 250);
  });
  $("search").addEventListener("keydown", async (e) => {
    if (e.key !== "Enter") return;
    clearTimeout(typingTimer);  // the pending search, made here at once
    state.handsets = [];
    await loadHandsets({ reset: true });
    const first = $("handsets").querySelector("button.handset");
    if (first) first.click();
    else if (!$("open-number").hidden) $("open-number").click();
  });
  $("open-number").addEventListener("click", (e) => select(e.currentTarget.dataset.msisdn));
  $("handsets-more").addEventListener("click", () => loadHandsets({ more: true }));
  $("new-handset").addEventListener("click", () => toggleNewHandset($("new-handset-form").hidden));
  $("new-handset-form").addEventListener("submit", newHandset);
  $("reply").addEventListener("submit", sendReply);
  $("reply-to").addEventListener("input", () => { state.replyTo.edited = true; });
  $("reply-body").addEventListener("keydown", (e) => {  // Ctrl/Cmd+Enter sends
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("reply").requestSubmit();
  });
  $("purge-one").addEventListener("click", () => purge(state.selected));
  $("purge-all").addEventListener("click", () => purge(null));
  for (const b of $("clock-advance").querySelectorAll("button")) {
    b.addEventListener("click", () => advance(Number(b.dataset.seconds)));
  }
  convInit();
  msgInit();
  batchInit();
  callbackInit();
  notifyInit();
  inboundInit();
  groupInit();
  rulesInit();
  systemInit();

  navInit();
  loadClock();
  loadHandsets();
  loadConversation();
  listen();
  setInterval(renderClock, 1000);
  setInterval(loadClock, 10000);  // another tab may move a manual clock
  // Safety net: events are hints and can be lost (a slow client, a node on SQLite without the
  // engine, a relay reconnecting): a slow re-read while visible.
  setInterval(() => { if (document.visibilityState === "visible") refreshSoon(); }, 15000);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refreshSoon(); });
}

init();
