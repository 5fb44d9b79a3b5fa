// openxms simulator UI: the Groups view (GET /simulator/groups): every plan's groups with their
// sizes and auto_update keywords; a group's page (#/groups/<id>) with its members (paged) and the
// group exactly as GET /xms/v1/{plan}/groups/{id} returns it. Loaded before app.js and started
// by it; uses its helpers. API data goes on the page as text.
"use strict";

const GRP_PAGE = 50;
const GRP_MAX = 500;  // GET /simulator/groups answers a larger limit with a 400
const GRP_MEMBERS = 100;
const GRP_MEMBERS_MAX = 1000;  // GET /simulator/groups/{id}, the same

const grp = { rows: [], next: null, open: null, members: [], mnext: null, seq: 0, mseq: 0, loaded: false, pager: null, mpager: null };

function keywords(auto) {
  if (!auto) return "–";
  const words = (k) => [k && k.first_word, k && k.second_word].filter(Boolean).join(" ");
  return [`to ${auto.to}`, auto.add && `join: ${words(auto.add)}`, auto.remove && `leave: ${words(auto.remove)}`]
    .filter(Boolean).join(" · ");
}

async function loadGroups({ more = false, reset = false } = {}) {
  const seq = ++grp.seq;
  grp.pager ||= pager(GRP_PAGE, GRP_MAX);
  const p = new URLSearchParams({ limit: String(pageLimit(grp.pager, grp.rows.length, { more, reset })) });
  const plan = $("grp-plan").value.trim();
  if (plan) p.set("service_plan_id", plan);
  if (more && grp.next) p.set("after", grp.next);
  let data;
  try {
    data = await api(`/simulator/groups?${p}`);
  } catch (err) {
    if (seq === grp.seq) $("grp-error").textContent = `Could not read the groups: ${err.message}`;
    return;
  }
  if (seq !== grp.seq) return;
  $("grp-error").textContent = "";
  grp.rows = more ? grp.rows.concat(data.groups) : data.groups;
  grp.next = data.next;
  const cell = (label, ...c) => el("td", { "data-label": label }, ...c);
  replaceKeepingFocus($("grp-rows"), grp.rows.map(({ service_plan_id: plan, group: g }) => el("tr", { "data-id": g.id },
    cell("Name", el("a", { class: "msg-link", href: `#/groups/${encodeURIComponent(g.id)}`, "data-focus": `grp-${g.id}`,
                           text: g.name || "(no name)" })),
    cell("Plan", plan),
    cell("Members", String(g.size)),
    cell("Auto update", keywords(g.auto_update)),
    cell("Created", timeEl(g.created_at)),
    cell("Id", el("code", { class: "batch", text: g.id })))));
  $("grp-count").textContent = grp.rows.length ? `(${grp.rows.length}${grp.next ? "+" : ""})` : "";
  $("grp-empty").hidden = grp.rows.length > 0;
  $("grp-more").hidden = !grp.next;
}

async function loadGroup(id, { more = false, reset = false } = {}) {
  const seq = ++grp.mseq;
  grp.mpager ||= pager(GRP_MEMBERS, GRP_MEMBERS_MAX);
  const p = new URLSearchParams({ limit: String(pageLimit(grp.mpager, grp.members.length, { more, reset })) });
  if (more && grp.mnext) p.set("after", grp.mnext);
  let d;
  try {
    d = await api(`/simulator/groups/${encodeURIComponent(id)}?${p}`);
  } catch (err) {
    if (grp.open === id && seq === grp.mseq) $("grp-detail-body").replaceChildren(el("p", { class: "error", text: err.message }));
    return;
  }
  if (grp.open !== id || seq !== grp.mseq) return;
  grp.members = more ? grp.members.concat(d.members) : d.members;
  grp.mnext = d.next;
  const g = d.group, auto = g.auto_update;
  $("grp-detail-title").replaceChildren(`Group ${g.name || ""} `, el("code", { text: g.id }));
  const dl = el("dl", { class: "fields" });
  const field = (name, ...value) => dl.append(el("dt", { text: name }), el("dd", {}, ...value));
  field("Plan", d.service_plan_id);
  field("Members", String(g.size));
  field("Created", timeEl(g.created_at));
  field("Modified", timeEl(g.modified_at));
  if (g.child_groups.length) field("Child groups", ...g.child_groups.map((c) => el("a", { href: `#/groups/${c}`, text: c + " " })));
  field("Auto update", auto ? `an MO to ${auto.to}` : "none");
  if (auto && auto.add) field("Joins with", el("code", { text: [auto.add.first_word, auto.add.second_word].filter(Boolean).join(" ") }));
  if (auto && auto.remove) field("Leaves with", el("code", { text: [auto.remove.first_word, auto.remove.second_word].filter(Boolean).join(" ") }));
  $("grp-detail-body").replaceChildren(...[
    dl,
    el("h3", { text: `Members (${grp.members.length}${grp.mnext ? ` of ${g.size}` : ""})` }),
    grp.members.length
      ? el("ul", { class: "members", id: "grp-members" }, ...grp.members.map((m) =>
          el("li", {}, el("a", { href: `#/handsets/${encodeURIComponent(m)}`, text: plus(m) }))))
      : el("p", { class: "muted", text: "No members." }),
    grp.mnext ? el("button", { type: "button", class: "more", id: "grp-members-more", onclick: () => loadGroup(id, { more: true }),
                               text: "More members" }) : null,
    el("h3", { text: `As GET /xms/v1/${d.service_plan_id}/groups/${g.id} returns it` }),
    el("pre", { class: "json", id: "grp-json", text: JSON.stringify(g, null, 2) })].filter(Boolean));
}

function groupRoute(id) {
  $("grp-list-part").hidden = id !== null;
  $("grp-detail").hidden = id === null;
  if (id !== null) {
    const other = id !== grp.open;
    if (other) { grp.open = id; grp.members = []; grp.mnext = null; $("grp-detail-body").replaceChildren(); }
    loadGroup(id, { reset: other });
  } else {
    grp.open = null;
    grp.loaded = true;
    loadGroups();
  }
}

function groupInit() {
  $("grp-plan").addEventListener("change", () => loadGroups({ reset: true }));
  $("grp-more").addEventListener("click", () => loadGroups({ more: true }));
}

function groupRefresh() {  // an MO keyword can change a group's members
  if (currentView !== "groups") return;
  if (grp.open !== null) loadGroup(grp.open); else if (grp.loaded) loadGroups();
}
