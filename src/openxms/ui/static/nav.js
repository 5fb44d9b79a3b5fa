// openxms simulator UI: the views and their URLs, and the keyboard.
//
// Every view and item has a URL (the hash): #/messages, #/messages/<id>, #/messages?q=...,
// #/batches, #/batches/<id>, #/callbacks, #/callbacks/<id>, #/handsets, #/handsets/<number>, #/inbounds,
// #/inbounds/<id>, #/groups, #/groups/<id>, #/rules, #/clock, #/about. The older #<number> links still open that handset.
// Keys (not while typing in a field): "/" search, j/k or arrows move, Enter opens, Esc closes,
// Delete purges the open handset (after a confirmation).
// Loaded before app.js, started by it (navInit).
"use strict";

const VIEWS = ["messages", "batches", "callbacks", "handsets", "inbounds", "groups", "rules", "clock", "about"];
let currentView = null;

function parseHash(hash) {
  const h = decodeURIComponent(hash.replace(/^#/, ""));
  if (/^\+?\d[\d\s]*$/.test(h)) return { view: "handsets", item: digits(h), params: new URLSearchParams() };
  const [path, query = ""] = h.split("?");
  const [, view = "", item = ""] = path.split("/");
  return { view: VIEWS.includes(view) ? view : "messages", item: item || null, params: new URLSearchParams(query) };
}

function showView(view) {
  if (view === currentView) return;
  currentView = view;
  for (const v of VIEWS) {
    $(`view-${v}`).hidden = v !== view;
    const tab = document.querySelector(`.views a[data-view="${v}"]`);
    if (v === view) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  document.title = `openxms · ${view}`;
}

function route() {
  const { view, item, params } = parseHash(location.hash);
  showView(view);
  if (view === "messages") {
    msgRoute(item && /^\d+$/.test(item) ? Number(item) : null, params);
  } else if (view === "batches") {
    batchRoute(item);
  } else if (view === "callbacks") {
    callbackRoute(item);
  } else if (view === "inbounds") {
    inboundRoute(item);
  } else if (view === "groups") {
    groupRoute(item);
  } else if (view === "rules") {
    rulesRoute();
  } else if (view === "clock" || view === "about") {
    systemRoute(view);
  } else if (item) {
    const n = digits(item);
    if (n && n !== state.selected) select(n, { push: false });
  }
}

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function moveHandset(delta) {
  const buttons = [...$("handsets").querySelectorAll("button.handset")];
  if (!buttons.length) return;
  let i = buttons.findIndex((b) => b.dataset.msisdn === state.selected);
  i = i < 0 ? 0 : Math.max(0, Math.min(buttons.length - 1, i + delta));
  buttons[i].click();
  buttons[i].focus();
}

function onKey(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector("dialog[open]")) return;  // a dialog has its own keys
  if (e.key === "Escape") {
    if (typing(e.target)) { e.target.blur(); return; }
    if (currentView === "messages" && closeMessage()) e.preventDefault();
    if (currentView === "batches" && bat.open !== null) { e.preventDefault(); location.hash = "#/batches"; }
    if (currentView === "callbacks" && cbs.open !== null) { e.preventDefault(); location.hash = "#/callbacks"; }
    if (currentView === "inbounds" && inb.open !== null) { e.preventDefault(); location.hash = "#/inbounds"; }
    if (currentView === "groups" && grp.open !== null) { e.preventDefault(); location.hash = "#/groups"; }
    return;
  }
  if (typing(e.target)) return;
  const messages = currentView === "messages";
  if (e.key === "/") {
    e.preventDefault();
    const field = { messages: "msg-q", batches: "bat-plan", callbacks: "cb-state", inbounds: "inb-number",
                    groups: "grp-plan", rules: "preview-number", clock: "clk-seconds", handsets: "search" }[currentView];
    if (field && !$(field).closest("[hidden]")) $(field).focus();
  } else if (e.key === "j" || e.key === "ArrowDown" || e.key === "k" || e.key === "ArrowUp") {
    e.preventDefault();
    const delta = e.key === "j" || e.key === "ArrowDown" ? 1 : -1;
    if (messages) msgMove(delta); else if (currentView === "handsets") moveHandset(delta);
  } else if (e.key === "Delete" && currentView === "handsets" && state.selected) {
    e.preventDefault();
    purge(state.selected);
  } else if (e.key === "Enter" && messages && !(e.target instanceof HTMLAnchorElement || e.target instanceof HTMLButtonElement)) {
    e.preventDefault();
    msgOpenSelected();
  }
}

function navInit() {
  window.addEventListener("hashchange", route);
  document.addEventListener("keydown", onKey);
  route();
}
