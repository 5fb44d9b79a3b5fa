// openxms simulator UI: an optional browser notification for each new inbound message (an MO
// from a handset, over the simulator or SMPP, on this node or another), off by default. The
// choice is kept in this browser (localStorage); the browser asks for permission the first time.
// It notifies only while the page is not in view (another tab or window): in view, the page
// shows the message itself. Clicking a notification opens the handset's conversation.
// Loaded before app.js, started by it (notifyInit); app.js hands it the live events.
"use strict";

const NOTIFY_KEY = "openxms.notifyInbound";

function notifySupported() {
  return typeof window.Notification === "function";
}

function notifyWanted() {
  return notifySupported() && localStorage.getItem(NOTIFY_KEY) === "1" && Notification.permission === "granted";
}

function notifyRender() {
  const box = $("notify-inbound");
  box.checked = notifyWanted();
  if (!notifySupported()) {
    box.disabled = true;
    $("notify-label").title = "This browser has no notifications";
  } else if (Notification.permission === "denied") {
    $("notify-label").title = "Notifications are blocked for this page in the browser's settings";
  } else {
    $("notify-label").title = "A browser notification for each new inbound message, while the page is not in view";
  }
}

async function notifyToggle() {
  const box = $("notify-inbound");
  if (!box.checked) {
    localStorage.removeItem(NOTIFY_KEY);
    notifyRender();
    return;
  }
  let permission = Notification.permission;
  if (permission === "default") {
    try { permission = await Notification.requestPermission(); } catch { permission = "denied"; }
  }
  if (permission !== "granted") {
    localStorage.removeItem(NOTIFY_KEY);
    notice("Notifications are blocked for this page: allow them in the browser's site settings.", true);
  } else {
    localStorage.setItem(NOTIFY_KEY, "1");
  }
  notifyRender();
}

// A live event (app.js): an inbound message, when wanted and the page is out of view.
function notifyInbound(e) {
  if (e.event !== "inbound" || !notifyWanted() || document.visibilityState === "visible") return;
  const title = e.more ? `${plural(e.more, "more inbound message")}` : `SMS from ${plus(e.from || "?")}`;
  const n = new Notification(title, {
    body: e.more ? "" : `to ${plus(e.to || "?")}: ${e.text || ""}`,
    tag: e.id ? `openxms-inbound-${e.id}` : undefined,
  });
  n.onclick = () => {
    window.focus();
    if (e.from) location.hash = `#/handsets/${encodeURIComponent(digits(e.from))}`;
    n.close();
  };
}

function notifyInit() {
  $("notify-inbound").addEventListener("change", notifyToggle);
  notifyRender();
}
