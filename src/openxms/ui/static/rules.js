// openxms simulator UI: the Rules view (#/rules): the outcome rules, edited and saved live
// (PUT /simulator/rules), their seed, and a preview of what a message to a number gets: the
// server's rules decide it (GET /simulator/rules/preview runs connectors/outcomes.py), nothing
// is computed here. Loaded before app.js and started by it; uses its helpers.
"use strict";

async function loadRules() {
  const err = $("rules-error"), save = $("rules-save");
  err.textContent = "";
  $("rules-saved").textContent = "";
  try {
    const r = await api("/simulator/rules");
    $("rules-json").value = JSON.stringify(r, null, 2);
    $("rules-seed").textContent = `(seed ${r.seed})`;
    save.disabled = false;
  } catch (e) {
    err.textContent = e.message;
    save.disabled = true;
  }
}

async function saveRules() {
  const err = $("rules-error"), saved = $("rules-saved");
  err.textContent = "";
  saved.textContent = "";
  try {
    const r = await api("/simulator/rules", { method: "PUT", body: $("rules-json").value });
    $("rules-json").value = JSON.stringify(r, null, 2);
    $("rules-seed").textContent = `(seed ${r.seed})`;
    saved.textContent = "Saved.";
    if ($("preview-number").value.trim()) previewRules();
  } catch (e) {
    err.textContent = e.message;  // the server's 400 text says what is wrong
  }
}

function outcomeText(o, withStatus = true) {  // withStatus false: beside a badge that says it
  const status = withStatus ? `${o.status} · ${o.code}, ` : "";
  if (o.code === 88 && !o.accept) return `${status}throttled at submit`;
  if (!o.accept) return `${status}refused at submit`;
  if (!o.receipt) return `accepted, no receipt ever comes (${o.status} · ${o.code} once the engine gives up)`;
  return status + (o.delay_ms ? `its receipt after ${o.delay_ms} ms` : "its receipt at once");
}

function chanceText(p) {
  const s = p.profile_settings || {};
  const parts = [];
  if (s.accept_probability !== undefined && s.accept_probability < 1) {
    parts.push(`${Math.round((1 - s.accept_probability) * 100)} % ${s.throttle ? "throttled" : "refused"}`);
  }
  if (s.failure_probability) parts.push(`${Math.round(s.failure_probability * 100)} % ${s.failure_status} ${s.failure_code}`);
  if (s.delay_ms && s.delay_ms[0] !== s.delay_ms[1]) parts.push(`delay ${s.delay_ms[0]}–${s.delay_ms[1]} ms`);
  return parts.join(", ");
}

async function previewRules(event) {
  if (event) event.preventDefault();
  const out = $("preview-result");
  const p = new URLSearchParams({ number: $("preview-number").value.trim() });
  const id = $("preview-id").value.trim();
  if (id) p.set("recipient_id", id);
  let r;
  try {
    r = await api(`/simulator/rules/preview?${p}`);
  } catch (e) {
    out.replaceChildren(el("p", { class: "error", text: e.message }));
    return;
  }
  const rule = r.rule ? el("code", { text: r.rule.match }) : null;
  const which = r.source === "rules" ? ["your rule ", el("code", { text: `rules[${r.index}]` }), " ", rule]
    : r.source === "magic_numbers" ? ["the magic number rule ", rule]
    : ["no rule: the default profile"];
  const lines = [
    el("p", { id: "preview-rule" }, el("strong", { text: `+${r.msisdn}` }), " matches ", ...which,
      r.profile ? ` → profile ${r.profile}` : " (a fixed outcome)"),
  ];
  if (r.outcome) {
    lines.push(el("p", { id: "preview-outcome" }, "Outcome on the handset: ",
      el("span", { class: `badge status ${STATUS_CLASS[r.outcome.status] || ""}`, text: `${r.outcome.status} · ${r.outcome.code}` }),
      " ", outcomeText(r.outcome, false)));
    if (r.chance) lines.push(el("p", { class: "muted", text: `Drawn for recipient id ${id} with seed and number: the same every run.` }));
  } else {
    lines.push(el("p", { id: "preview-outcome" }, `Depends on the message (${chanceText(r) || "a chance draw"}). `,
      "Give a recipient id (a message's id in the Messages view) to see the outcome it gets."));
  }
  if (r.smsc_outcome) {
    lines.push(el("p", { class: "muted", text: `Behind the bundled SMSC (openxms smsc): ${outcomeText(r.smsc_outcome)}, and the client resends it.` }));
  }
  out.replaceChildren(...lines);
}

function rulesRoute() {
  if (!rulesRoute.loaded) { rulesRoute.loaded = true; loadRules(); }
}

function rulesInit() {
  $("rules-reload").addEventListener("click", loadRules);
  $("rules-save").addEventListener("click", saveRules);
  $("preview-form").addEventListener("submit", previewRules);
  $("rules-json").addEventListener("keydown", (e) => {  // Ctrl/Cmd+S saves
    if (e.key === "s" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveRules(); }
  });
}
