// distsync ops console: vanilla JS, no build step. Reads /_local/ops/* and re-renders every few seconds.
"use strict";

const API = "/_local/ops/";
const REFRESH_MS = 3000;
const STATUSES = ["in_flight", "delivered", "pending_approval", "rejected", "quarantined", "dead_lettered"];
const SVG_NS = "http://www.w3.org/2000/svg";
// outcome -> the status colour it is drawn in (the others have their own)
const DOT_COLOUR = { ok: "delivered", approved: "delivered", retrying: "pending_approval",
  redriven: "in_flight", released: "in_flight", replayed: "in_flight" };

const state = {
  expanded: new Set(),   // correlation ids whose timeline is open
  pending: new Set(),    // actions in progress ("redrive:<queue>", "approve:<id>", ...)
  timer: null,
  refreshing: false,
};

// ------------------------------------------------------------------------------------------- helpers
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function $(selector) { return document.querySelector(selector); }

async function api(path, options = {}) {
  const init = { headers: { Accept: "application/json" }, ...options };
  if (init.body !== undefined) init.headers["Content-Type"] = "application/json";
  const res = await fetch(API + path, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && (data.detail || data.title)) || `HTTP ${res.status}`);
  return data;
}

function post(path, body) {
  return api(path, { method: "POST", body: JSON.stringify(body || {}) });
}

function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const m = Math.floor(value / 60);
  return m < 60 ? `${m}m ${String(Math.round(value % 60)).padStart(2, "0")}s` : `${(value / 3600).toFixed(1)} h`;
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

// Lets a long CamelCase name wrap between its words rather than inside one.
function breakable(name) {
  return name.split(/(?<=[a-z0-9])(?=[A-Z])/).flatMap((part, i) => (i ? [document.createElement("wbr"), part] : [part]));
}

function clock(iso) { return iso.slice(11, 23); }

function label(status) { return status.replace(/_/g, " "); }

function statusBadge(status) {
  return el("span", { class: `status s-${status}`, "data-status": status }, label(status));
}

function toast(message, isError) {
  const box = $("#toast");
  box.textContent = message;
  box.className = isError ? "toast error" : "toast";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 4000);
}

function panelError(section, error) {
  const box = section.querySelector(".panel-error");
  box.hidden = !error;
  box.textContent = error ? `Could not load: ${error.message}` : "";
}

// Runs one operator action, keeps its button disabled meanwhile, then refreshes the page.
async function act(key, run, describe) {
  if (state.pending.has(key)) return;
  state.pending.add(key);
  await refresh();
  try {
    toast(describe(await run()));
  } catch (error) {
    toast(error.message, true);
  } finally {
    state.pending.delete(key);
    await refresh();
  }
}

// ------------------------------------------------------------------------------------------ charts
// Horizontal bars: rows of {label, value, cls, text}; scale from 0 to the largest value.
function barChart(rows, width = 300) {
  const rowH = 22, labelW = 104, valueW = 64, top = 2;
  const max = Math.max(...rows.map((r) => r.value || 0), 0) || 1;
  const barW = width - labelW - valueW;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${rows.length * rowH + top}`, role: "img" });
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const w = row.value ? Math.max(2, (row.value / max) * barW) : 0;
    chart.append(
      svg("text", { x: labelW - 8, y: y + 14, "text-anchor": "end", class: "axis-label" }, row.label),
      svg("rect", { x: labelW, y: y + 3, width: barW, height: 14, rx: 3, class: "track" }),
      svg("rect", { x: labelW, y: y + 3, width: w, height: 14, rx: 3, class: row.cls },
        svg("title", {}, `${row.label}: ${row.text}`)),
      svg("text", { x: labelW + barW + 6, y: y + 14, "data-value": row.label }, row.text),
    );
  });
  chart.setAttribute("aria-label", rows.map((r) => `${r.label} ${r.text}`).join(", "));
  return chart;
}

function renderLatency(figure, summary) {
  const chart = figure.querySelector(".chart");
  figure.querySelector(".n").textContent = summary.count ? `n = ${summary.count}` : "";
  if (!summary.count) {
    chart.replaceChildren(el("div", { class: "none" }, "no data yet"));
    return;
  }
  chart.replaceChildren(barChart([
    { label: "p50", value: summary.p50Seconds, cls: "bar-p50", text: seconds(summary.p50Seconds) },
    { label: "p95", value: summary.p95Seconds, cls: "bar-p95", text: seconds(summary.p95Seconds) },
    { label: "max", value: summary.maxSeconds, cls: "bar-max", text: seconds(summary.maxSeconds) },
  ]));
}

function renderStatusChart(figure, byStatus, total) {
  figure.querySelector(".n").textContent = `total ${total}`;
  figure.querySelector(".chart").replaceChildren(barChart(STATUSES.map((s) => ({
    label: label(s), value: byStatus[s] || 0, cls: `dot-${s}`, text: String(byStatus[s] || 0),
  })), 340));
}

// Hops placed on a time axis: where the time went, at a glance.
function timelineStrip(hops) {
  const width = 760, pad = 10;
  const t0 = Date.parse(hops[0].at), t1 = Date.parse(hops[hops.length - 1].at);
  const span = Math.max(1, t1 - t0);
  const x = (hop) => pad + ((Date.parse(hop.at) - t0) / span) * (width - 2 * pad);
  const strip = svg("svg", { class: "timeline-strip", viewBox: `0 0 ${width} 34`, preserveAspectRatio: "none", role: "img",
    "aria-label": `${hops.length} hops over ${seconds(span / 1000)}` });
  strip.append(svg("line", { x1: pad, x2: width - pad, y1: 12, y2: 12, class: "rail" }));
  for (const hop of hops) {
    strip.append(svg("circle", { cx: x(hop), cy: 12, r: 5, class: `dot-${hop.outcome}` },
      svg("title", {}, `${clock(hop.at)} ${hop.stage} ${hop.outcome}`)));
  }
  strip.append(
    svg("text", { x: pad, y: 31, class: "axis-label" }, clock(hops[0].at)),
    svg("text", { x: width - pad, y: 31, "text-anchor": "end", class: "axis-label" }, `+${seconds(span / 1000)}`),
  );
  return strip;
}

// ----------------------------------------------------------------------------------------- panels
function renderTransactions(data) {
  $("#tx-count").textContent = data.matched === data.total
    ? `${data.total} total` : `${data.matched} of ${data.total} match`;
  const rows = [];
  for (const tx of data.transactions) {
    const open = state.expanded.has(tx.correlationId);
    const last = tx.lastHop;
    rows.push(el("tr", {
      class: open ? "tx open" : "tx", "data-cid": tx.correlationId, "data-status": tx.status,
      "aria-expanded": String(open), tabindex: 0,
      onclick: () => toggle(tx.correlationId),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(tx.correlationId); } },
    },
    el("td", {}, el("span", { class: "twisty", "aria-hidden": "true" }, "▶")),
    el("td", { class: "cid" }, tx.correlationId),
    el("td", { class: "tx-status" }, statusBadge(tx.status)),
    el("td", { class: "mono bkey" }, tx.businessKey || "–"),
    el("td", { class: "last-hop" },
      el("span", { class: "what" }, el("span", { class: "stage-chip" }, last.stage), " ",
        el("span", { class: `outcome o-${last.outcome}` }, label(last.outcome))),
      el("span", { class: "detail", title: last.detail }, last.detail)),
    el("td", { class: "num muted", title: last.at }, ago(last.at))));
    if (open) rows.push(timelineRow(tx));
  }
  $("#tx-body").replaceChildren(...rows);
  $("#tx-empty").hidden = data.transactions.length > 0;
}

function timelineRow(tx) {
  let previous = null;
  const items = tx.hops.map((hop) => {
    const delta = previous === null ? "" : `+${((Date.parse(hop.at) - previous) / 1000).toFixed(2)}s`;
    previous = Date.parse(hop.at);
    const li = el("li", { "data-outcome": hop.outcome },
      el("span", { class: "at" }, clock(hop.at)),
      el("span", { class: "delta" }, delta),
      el("span", {}, el("span", { class: "stage-chip" }, hop.stage)),
      el("span", { class: `outcome o-${hop.outcome}` }, label(hop.outcome)),
      el("span", { class: "detail" }, hop.detail));
    li.style.setProperty("--dot", `var(--${DOT_COLOUR[hop.outcome] || hop.outcome}, #9aa6bd)`);
    return li;
  });
  return el("tr", { class: "timeline-row", "data-timeline-for": tx.correlationId },
    el("td", { colspan: 6 },
      timelineStrip(tx.hops),
      el("ol", { class: "timeline" }, items),
      el("div", { class: "muted" }, `${tx.hops.length} hops in ${seconds(tx.durationSeconds)}`,
        tx.eventType ? ` · ${tx.eventType}` : "")));
}

function toggle(cid) {
  if (state.expanded.has(cid)) state.expanded.delete(cid); else state.expanded.add(cid);
  refresh();
}

function renderDlqs(queues) {
  const total = queues.reduce((sum, q) => sum + q.depth, 0);
  $("#dlq-total").textContent = total ? `${total} message${total === 1 ? "" : "s"} waiting` : "all empty";
  $("#dlq-body").replaceChildren(...queues.map((q) => {
    const key = `redrive:${q.name}`;
    const busy = state.pending.has(key);
    return el("tr", { "data-queue": q.name, "data-source": q.source },
      el("td", { title: `${q.name}\nredrives to ${q.source}` },
        el("span", { class: "qname" }, breakable(q.pipeline))),
      el("td", { class: q.depth ? "num depth nonzero" : "num depth", "data-depth": q.depth }, String(q.depth)),
      el("td", { class: "num" }, el("button", {
        type: "button", class: "btn redrive", disabled: busy || q.depth === 0,
        title: `move every message back to ${q.source}`,
        onclick: () => act(key, () => post(`dlqs/${encodeURIComponent(q.name)}/redrive`, {}),
          (r) => `Redrove ${r.moved} message${r.moved === 1 ? "" : "s"} of ${q.pipeline} back to its queue`),
      }, busy ? "Redriving…" : "Redrive")));
  }));
}

function renderApprovals(items) {
  $("#apr-count").textContent = items.length ? String(items.length) : "";
  $("#apr-empty").hidden = items.length > 0;
  $("#apr-list").replaceChildren(...items.map((a) => {
    const decide = (decision) => act(`${decision}:${a.approvalId}`,
      () => post(`approvals/${encodeURIComponent(a.approvalId)}/${decision}`, { by: "ops-console" }),
      () => `${a.approvalId}: ${decision} sent`);
    const busy = state.pending.has(`approve:${a.approvalId}`) || state.pending.has(`reject:${a.approvalId}`);
    return el("li", { "data-approval": a.approvalId },
      el("div", { class: "item-title" }, el("strong", { class: "mono" }, `${a.itemId}@${a.locationId}`),
        el("span", { class: "outcome o-pending_approval" }, `${a.changePercent}% change`)),
      el("div", { class: "change" },
        `safety stock ${a.currentSafetyStock} → ${a.recommendedSafetyStock}, reorder point ${a.currentReorderPoint} → ${a.recommendedReorderPoint}`),
      el("div", { class: "impact" }, a.impactSummary || ""),
      el("div", { class: "item-meta" }, `${a.approvalId} · ${a.correlationId}`, a.requestedAt ? ` · ${ago(a.requestedAt)}` : ""),
      el("div", { class: "item-actions" },
        el("button", { type: "button", class: "btn primary approve", disabled: busy, onclick: () => decide("approve") }, "Approve"),
        el("button", { type: "button", class: "btn danger reject", disabled: busy, onclick: () => decide("reject") }, "Reject")));
  }));
}

function renderQuarantine(items) {
  $("#q-count").textContent = items.length ? String(items.length) : "";
  $("#q-empty").hidden = items.length > 0;
  $("#q-list").replaceChildren(...items.map((q) => {
    const key = `release:${q.quarantineId}`;
    return el("li", { "data-quarantine": q.quarantineId },
      el("div", { class: "item-title" }, el("strong", {}, q.eventType || "unknown event"),
        el("span", { class: "stage-chip" }, q.stage)),
      el("div", { class: "item-reason" }, q.reason),
      el("div", { class: "item-meta" }, `${q.correlationId}`, q.quarantinedAt ? ` · ${ago(q.quarantinedAt)}` : ""),
      el("div", { class: "item-actions" }, el("button", {
        type: "button", class: "btn release", disabled: state.pending.has(key),
        title: "put the event back on the bus to be validated again",
        onclick: () => act(key, () => post(`quarantine/${encodeURIComponent(q.quarantineId)}/release`, {}),
          (r) => `${r.quarantineId} released`),
      }, "Release")));
  }));
}

function renderKpis(k) {
  $("#kpi-window").textContent = `since ${k.window.from.slice(0, 16).replace("T", " ")} UTC`;
  for (const figure of document.querySelectorAll("figure[data-kpi]")) renderLatency(figure, k[figure.dataset.kpi]);
  renderStatusChart($("#kpi-status"), k.byStatus, k.transactions);
  renderAccuracy($("#kpi-accuracy"), k.inventoryVisibilityAccuracy);
}

// The newest accuracy run: its sentence, and the disagreeing item-locations it lists first.
function renderAccuracy(figure, found) {
  const a = found && found.unavailable ? null : found;  // {unavailable}: the report could not be read
  const table = figure.querySelector(".accuracy-table");
  figure.querySelector(".n").textContent = a ? `computed ${a.computedAt.slice(0, 16).replace("T", " ")} UTC` : "";
  const sentence = figure.querySelector(".accuracy-sentence");
  sentence.textContent = a ? a.sentence : found ? `unavailable: ${found.unavailable}` : "no run yet";
  sentence.className = `accuracy-sentence ${a && a.belowTarget ? "below" : ""}`;
  const rows = a ? a.disagreeingItemLocations : [];
  table.hidden = !rows.length;
  table.querySelector("tbody").replaceChildren(...rows.map((d) => el("tr", {},
    el("td", {}, d.itemId), el("td", {}, d.locationId), el("td", { class: "num" }, String(d.erpOnHand)),
    el("td", { class: "num" }, String(d.wmsOnHand)), el("td", {}, d.erpAsOf.slice(0, 16).replace("T", " ")),
    el("td", {}, d.wmsAsOf.slice(0, 16).replace("T", " ")))));
}

// ----------------------------------------------------------------------------------------- lineage
// Not auto-refreshed: asked for one item-location at a time (GET lineage/<item@location>).
async function explain(event) {
  event.preventDefault();
  const section = $("#lineage");
  const key = $("#why-key").value.trim();
  const since = $("#why-since").value;
  try {
    const doc = await api(`lineage/${encodeURIComponent(key)}${since ? `?since=${since}` : ""}`);
    panelError(section, null);
    renderLineage(doc);
  } catch (error) {
    $("#why-result").hidden = true;
    panelError(section, error);
  }
}

function renderLineage(doc) {
  const current = doc.current;
  $("#why-result").hidden = false;
  $("#why-explanation").textContent = current
    ? `${doc.businessKey}: ${current.explanation}`
    : `${doc.businessKey}: no change recorded in the ledger set the current parameters`;
  $("#why-chain").replaceChildren(...doc.chain.map((s) => {
    const values = Object.entries(s.values || {}).map(([k, v]) => `${k} ${v}`).join(", ");
    const li = el("li", { "data-step": s.step, title: `event ${s.eventId || "–"} caused by ${s.causationId || "–"}` },
      el("span", { class: "at" }, clock(s.at)),
      el("span", { class: "delta" }, s.actor),
      el("span", {}, el("span", { class: "stage-chip" }, s.stage)),
      el("span", { class: `outcome o-${s.outcome}` }, label(s.step)),
      el("span", { class: "detail" }, [values, s.comment ? `“${s.comment}”` : "", s.detail].filter(Boolean).join(" · ")));
    li.style.setProperty("--dot", `var(--${DOT_COLOUR[s.outcome] || s.outcome}, #9aa6bd)`);
    return li;
  }));
  const md = doc.masterData;
  $("#why-masterdata").textContent = md
    ? `ERP master data: ${Object.entries(md.values).map(([k, v]) => `${k} ${v}`).join(", ")}${md.explained ? " (explained above)" : ` — ${md.note}`}`
    : "";
  const earlier = doc.history.filter((c) => !current || c.correlationId !== current.correlationId || c.appliedAt !== current.at);
  $("#lineage .why-history").hidden = !earlier.length;
  $("#why-history").replaceChildren(...earlier.map((c) => el("tr", { "data-cid": c.correlationId },
    el("td", { class: "muted" }, c.at.slice(0, 19).replace("T", " ")), el("td", {}, label(c.status)),
    el("td", { class: "cid" }, c.correlationId), el("td", {}, c.summary || ""))));
}

// ----------------------------------------------------------------------------------------- refresh
function transactionsQuery() {
  const params = new URLSearchParams({ limit: "50" });
  const q = $("#tx-search").value.trim();
  const status = $("#tx-status").value;
  if (q) params.set("q", q);
  if (status) params.set("status", status);
  return `transactions?${params}`;
}

async function refresh() {
  if (state.refreshing) { state.again = true; return; }
  state.refreshing = true;
  clearTimeout(state.timer);
  const panels = [
    ["#transactions", transactionsQuery(), renderTransactions],
    ["#dlqs", "dlqs", renderDlqs],
    ["#approvals", "approvals?sort=impact", renderApprovals],  // the biggest move in days of cover first
    ["#quarantine", "quarantine", renderQuarantine],
    [".kpis", "kpis", renderKpis],
  ];
  const results = await Promise.allSettled(panels.map(([, path]) => api(path)));
  let failed = 0;
  results.forEach((result, i) => {
    const [selector, , render] = panels[i];
    const section = $(selector);
    if (result.status === "fulfilled") {
      render(result.value);
      if (section.querySelector(".panel-error")) panelError(section, null);
    } else {
      failed += 1;
      if (section.querySelector(".panel-error")) panelError(section, result.reason);
    }
  });
  const banner = $("#banner");
  banner.hidden = failed < panels.length;
  banner.textContent = failed === panels.length ? `The local stack does not answer: ${results[0].reason.message}` : "";
  $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  state.refreshing = false;
  if (state.again) { state.again = false; return refresh(); }
  schedule();
}

function schedule() {
  clearTimeout(state.timer);
  if ($("#auto").checked) state.timer = setTimeout(refresh, REFRESH_MS);
}

async function loadStackName() {
  try {
    const res = await fetch("/_local/info");
    if (res.ok) $("#stack-name").textContent = (await res.json()).stackName;
  } catch (_) { /* the refresh banner says it */ }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#refresh-now").addEventListener("click", refresh);
  $("#auto").addEventListener("change", schedule);
  let typing;
  $("#tx-search").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(refresh, 250); });
  $("#tx-status").addEventListener("change", refresh);
  $("#why-form").addEventListener("submit", explain);
  loadStackName().finally(refresh);  // the stack name first: queue names are shown without it
});
