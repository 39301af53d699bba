// The operators' dashboard: sign-in, the live event stream and every view, in Korean or English.
// Every figure comes from the dashboard's own API under the session cookie; actions carry the session's CSRF token
// and are passed by the dashboard to the service that owns them.
import { bars, columns, shareBar } from "./charts.js";
import { date, dateTime, eventLabel, language, month, number, percent, setLanguage, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const PAGE = 50;
const REFRESH_MS = 30_000;
const WEEKS = 8;
const PROGRAMS = ["P1", "P2", "P3"];
const STAGES = ["submitted", "scored", "waitlisted", "rejected", "selected", "active", "withdrawn", "reclaimed",
  "completed"];

const state = { session: null, events: [], lastSeq: 0, source: null, timer: null, data: {} };

class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (state.session) headers[state.session.csrf_header] = state.session.csrf_token;
  }
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401 && state.session && path !== "/session") {
    signedOut(t("sessionEnded"));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function el(name, attributes = {}, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

// the last word to the operator, kept as a key so that it follows a change of language
function notice(key, values = {}, kind = "info") {
  state.notice = { key, values, kind };
  renderNotice();
}

function renderNotice() {
  const box = $("#notice");
  const { key, values, kind } = state.notice ?? { key: null };
  box.textContent = key ? t(key, values) : "";
  box.dataset.kind = kind ?? "info";
}

function table(headings, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { class: h.num ? "num" : undefined }, h.text ?? h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) =>
      (c instanceof Node ? el("td", {}, c) : el("td", { class: typeof c === "number" ? "num" : undefined },
        typeof c === "number" ? number(c) : String(c ?? "—"))))))));
}

function empty(container) {
  container.replaceChildren(el("p", { class: "muted" }, t("noData")));
}

function shortId(id) {
  return id ? id.slice(0, 8) : "—";
}

// ---- session ----------------------------------------------------------------------------------------------------

async function boot() {
  setLanguage(language());
  $("#lang").value = language();
  $("#lang").addEventListener("change", (e) => {
    setLanguage(e.target.value);
    renderAll();
  });
  $("#sign-in-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    startEvents();
    loadFunnel();
  });
  $("#filters").addEventListener("reset", () => setTimeout(() => { startEvents(); loadFunnel(); }, 0));
  $("#more-events").addEventListener("click", moreEvents);
  try {
    state.session = await api("/session");
    showBoard();
  } catch {
    showSignIn();
  }
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  $("#sign-in-error").textContent = "";
  try {
    state.session = await api("/session", {
      method: "POST", body: { client_id: form.get("client_id"), client_secret: form.get("client_secret") },
    });
    event.target.reset();
    showBoard();
  } catch (error) {
    $("#sign-in-error").textContent = t("signInFailed", { why: error.message });
  }
}

async function signOut() {
  try {
    await api("/session", { method: "DELETE" });
  } finally {
    signedOut("");
  }
}

function signedOut(message) {
  state.session = null;
  state.source?.close();
  clearInterval(state.timer);
  showSignIn();
  $("#sign-in-error").textContent = message;
}

function showSignIn() {
  $("#board").hidden = true;
  $("#sign-out").hidden = true;
  $("#who").textContent = "";
  $("#sign-in").hidden = false;
}

function showBoard() {
  $("#sign-in").hidden = true;
  $("#board").hidden = false;
  $("#sign-out").hidden = false;
  $("#who").dataset.client = state.session.client_id;
  $("#who").textContent = t("signedInAs", { who: state.session.client_id });
  // the events and the funnel first; the views, heavier, once those are on the page
  Promise.all([startEvents(), loadFunnel()]).then(() => {
    performance.mark("board-ready");
    loadViews();
  });
  state.timer = setInterval(loadViews, REFRESH_MS);
}

// ---- events -----------------------------------------------------------------------------------------------------

function filterQuery() {
  const query = new URLSearchParams();
  for (const [key, value] of new FormData($("#filters"))) if (value) query.set(key, value.trim());
  return query;
}

async function startEvents() {
  state.source?.close();
  const query = filterQuery();
  query.set("limit", String(PAGE));
  let page;
  try {
    page = await api(`/events?${query}`);
  } catch (error) {
    notice("failed", { why: error.message }, "error");
    return;
  }
  state.events = page.items;
  state.before = page.next_before;
  state.lastSeq = page.items.length ? page.items[0].seq : 0;
  renderEvents();
  follow();
}

function follow() {
  const query = filterQuery();
  query.set("after", String(state.lastSeq));
  liveState("connecting");
  const source = new EventSource(`/events/stream?${query}`);
  state.source = source;
  source.onopen = () => liveState("live");
  source.onerror = () => liveState("offline");
  source.addEventListener("platform-event", (message) => {
    const event = JSON.parse(message.data);
    state.lastSeq = Math.max(state.lastSeq, event.seq);
    state.events.unshift(event);
    $("#event-list .none")?.remove();
    $("#event-list").prepend(eventItem(event, true));
    scheduleFunnel();
  });
}

function liveState(name = $("#live").dataset.state) {
  $("#live").dataset.state = name;
  $("#live").textContent = t(name);
}

async function moreEvents() {
  if (!state.before) return;
  const query = filterQuery();
  query.set("limit", String(PAGE));
  query.set("before", String(state.before));
  const page = await api(`/events?${query}`);
  state.events.push(...page.items);
  state.before = page.next_before;
  $("#event-list").append(...page.items.map((e) => eventItem(e)));
  $("#more-events").hidden = !state.before;
}

function eventItem(event, fresh = false) {
  const who = [event.program, event.application_id ? shortId(event.application_id) : event.subject.slice(0, 8),
    ...(event.csps || [])].filter(Boolean).join(" · ");
  return el("li", {
    class: fresh ? "fresh" : undefined, dataset: { seq: event.seq, type: event.type, application: event.application_id ?? "" },
    onclick: () => event.application_id && openStory(event.application_id),
  }, el("span", { class: "when" }, dateTime(event.occurred_at)), el("span", { class: "what" }, eventLabel(event.type)),
  el("span", { class: "who" }, who));
}

function renderEvents() {
  const list = $("#event-list");
  list.replaceChildren(...state.events.map((e) => eventItem(e)));
  if (!state.events.length) list.append(el("li", { class: "none" }, t("noEvents")));
  $("#more-events").hidden = !state.before;
}

async function openStory(applicationId) {
  const story = await api(`/applications/${applicationId}/story`);
  state.data.story = story;
  renderStory();
  const dialog = $("#story");
  if (!dialog.open) dialog.showModal();
}

function renderStory() {
  const story = state.data.story;
  if (!story) return;
  $("#story-id").textContent = story.application_id;
  $("#story-stage").textContent = t("storyStage", { stage: story.stage ? t(`stage_${story.stage}`) : "—" });
  $("#story-events").replaceChildren(...story.events.map((e) => el("li", {},
    el("span", { class: "when" }, dateTime(e.occurred_at)), el("span", { class: "what" }, eventLabel(e.type)),
    el("pre", { class: "payload" }, JSON.stringify(e.payload, null, 1)))));
}

// ---- funnel -----------------------------------------------------------------------------------------------------

let funnelPending = null;
let viewsPending = null;
function scheduleFunnel() {
  // the funnel half a second after a burst of events; the views too, at most every few seconds
  clearTimeout(funnelPending);
  funnelPending = setTimeout(loadFunnel, 500);
  viewsPending ??= setTimeout(() => {
    viewsPending = null;
    loadViews();
  }, 3000);
}

async function loadFunnel() {
  const program = new FormData($("#filters")).get("program");
  state.data.funnel = await api(`/funnel${program ? `?program=${program}` : ""}`).catch(() => null);
  renderFunnel();
}

function renderFunnel() {
  const body = $("#funnel-body");
  const groups = state.data.funnel;
  if (!groups?.length) return empty(body);
  body.replaceChildren(...groups.map((group) => {
    const title = `${group.program ?? "—"} · ${group.call_id ? t("call", { id: shortId(group.call_id) }) : t("rolling")}`;
    const rows = group.stages.map((s) => ({
      label: t(`stage_${s.stage}`), value: s.applications,
      note: `${number(s.applications)} · ${number(s.gpus)} ${t("gpus")}`,
    }));
    return el("div", { class: "funnel-group", dataset: { program: group.program ?? "", call: group.call_id ?? "" } },
      el("h3", {}, title), bars(rows, { label: title }),
      table([t("level"), { text: t("applications"), num: true }, { text: t("gpus"), num: true }],
        group.stages.map((s) => [t(`stage_${s.stage}`), s.applications, s.gpus])));
  }));
}

// ---- the views refreshed on a timer -------------------------------------------------------------------------------

async function loadViews() {
  await Promise.all([loadPool(), loadBalance(), loadDemand(), loadReclaim(), loadDeadLetters(), loadCalls()]);
}

function renderAll() {
  if (!state.session) return;
  $("#who").textContent = t("signedInAs", { who: state.session.client_id });
  liveState();
  renderNotice();
  renderEvents();
  renderStory();
  renderFunnel();
  renderPool();
  renderBalance();
  renderDemand();
  renderReclaim();
  renderDeadLetters();
  renderCalls();
}

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

async function loadPool() {
  const today = new Date();
  const until = new Date(today.getTime() + (WEEKS * 7 - 1) * 86_400_000);
  const yearOn = new Date(today.getTime() + 365 * 86_400_000);  // supply for the demand chart's months too
  const start = new Date(today.getTime() - 12 * 7 * 86_400_000);
  const [occupancy, ...capacity] = await Promise.all([
    api(`/views/occupancy?start=${isoDay(start)}&end=${isoDay(until)}&step=week`).catch(() => null),
    ...PROGRAMS.map((p) => api(`/upstream/allocation/pools/${p}/capacity/daily?start=${isoDay(today)}&end=${isoDay(yearOn)}`)
      .then((rows) => rows.map((r) => ({ ...r, pool: p }))).catch(() => [])),
  ]);
  state.data.occupancy = occupancy;
  state.data.capacity = capacity.flat();
  renderPool();
  renderDemand();
}

function weeklyFree(rows) {
  // per pool and model, per week from today: the fewest GPUs free on any day of that week
  const first = rows.length ? Date.parse(rows.reduce((a, r) => (r.day < a ? r.day : a), rows[0].day)) : 0;
  const table = new Map();
  for (const row of rows) {
    const key = `${row.pool} · ${row.gpu_model}`;
    const week = Math.floor((Date.parse(row.day) - first) / (7 * 86_400_000));
    if (!table.has(key)) table.set(key, { total: row.total_gpus, weeks: new Array(WEEKS).fill(null) });
    const entry = table.get(key);
    entry.total = Math.max(entry.total, row.total_gpus);
    if (week < WEEKS) entry.weeks[week] = Math.min(entry.weeks[week] ?? Infinity, row.free_gpus);
  }
  return table;
}

function renderPool() {
  const body = $("#pool-body");
  const parts = [];
  const occupancy = state.data.occupancy;
  if (occupancy?.buckets?.length && occupancy.series.length) {
    parts.push(el("h3", {}, t("occupancy")), columns(
      occupancy.buckets.map((start, i) => ({ label: date(start), values: occupancy.series.map((s) => s.gpus[i]) })),
      occupancy.series.map((s) => ({ name: `${s.gpu_model} · ${s.csp}` })),
      { label: t("occupancy"), format: (v) => number(v, { maximumFractionDigits: 1 }) }));
  }
  const free = weeklyFree(state.data.capacity ?? []);
  if (free.size) {
    parts.push(el("h3", {}, t("capacity", { weeks: WEEKS })), table(
      [t("model"), { text: t("total"), num: true }, ...Array.from({ length: WEEKS }, (_, i) => ({ text: `+${i}`, num: true }))],
      [...free].map(([key, entry]) => [key, entry.total, ...entry.weeks.map((v) => v ?? "—")])));
  }
  if (!parts.length) return empty(body);
  body.replaceChildren(...parts);
}

async function loadBalance() {
  state.data.balance = await api("/views/balance").catch(() => null);
  renderBalance();
}

function sharesChart(title, parts) {
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  if (!total) return [];
  return [el("h3", {}, title), shareBar(parts, {
    label: title, format: (value, share) => `${number(value)} (${percent(share)})`,
  })];
}

const FACTS = { youth_company: "youth", regional_company: "regional", early_career: "earlyCareerTrack",
  non_capital_region: "nonCapital" };

function renderBalance() {
  const body = $("#balance-body");
  const balance = state.data.balance;
  if (!balance) return empty(body);
  // shares of GPUs allocated; before anything is allocated, of GPUs asked for
  const measure = balance.totals.gpus_allocated ? "gpus_allocated" : "gpus_requested";
  const label = (key) => ({ capital: t("capital"), non_capital: t("nonCapital"), others: t("others"),
    unknown: t("unknown"), none: "—" }[key] ?? t(`key_${key}`, {}, key));
  const asParts = (rows) => rows.map((r) => ({ label: label(r.key), value: r[measure] }));
  const parts = [el("p", { class: "muted" }, t(measure === "gpus_allocated" ? "sharesAllocated" : "sharesRequested")),
    ...sharesChart(t("region"), asParts(balance.by_region)),
    ...sharesChart(t("sector"), asParts(balance.by_sector)),
    ...sharesChart(t("size"), asParts(balance.by_company_size)),
    ...sharesChart(t("institution"), asParts(balance.by_institution)),
  ];
  const reserve = balance.early_career_reserve;
  if (reserve.length) {
    parts.push(el("h3", {}, t("earlyCareer")), table(
      [t("calls"), { text: t("reserved"), num: true }, { text: t("used"), num: true },
        { text: t("spilled"), num: true }, { text: t("wonInGeneral"), num: true }],
      reserve.map((r) => [`${r.program} · ${shortId(r.call_id)}`, r.reserve_gpus, r.reserve_gpus_used, r.spilled_over,
        r.won_in_general ?? "—"])));
  }
  const facts = balance.facts.filter((f) => f.program === "P1" || f.program === "P2");
  if (facts.length) {
    parts.push(el("h3", {}, t("youthRegional")), bars(facts.map((f) => ({
      label: `${f.program} ${t(FACTS[f.fact] ?? f.fact)}`, value: f.gpus_allocated,
      note: `${number(f.allocated)}/${number(f.applications)} · ${number(f.gpus_allocated)} ${t("gpus")} `
        + `(${percent(f.share_gpus_allocated)})`,
    })), { label: t("youthRegional") }));
  }
  body.replaceChildren(...parts);
}

async function loadDemand() {
  state.data.demand = await api("/views/demand").catch(() => null);
  renderDemand();
}

function renderDemand() {
  const body = $("#demand-body");
  const demand = state.data.demand;
  if (!demand) return empty(body);
  const parts = [];
  if (demand.series.length) {
    const supply = supplyByMonth(demand.months);
    parts.push(columns(
      demand.months.map((m, i) => ({ label: month(`${m}-01T00:00:00+09:00`), values: demand.series.map((s) => s.gpu_months[i]) })),
      demand.series.map((s) => ({ name: `${s.gpu_model} ${t("requested")}` })),
      { label: t("demand"), line: supply, lineName: t("supply"), format: (v) => number(v, { maximumFractionDigits: 0 }) }));
  }
  const waitlist = [...demand.waitlist.programs, { ...demand.waitlist.total, program: t("total") }];
  const days = (n) => (n === null || n === undefined ? "—" : t("days", { n: number(n, { maximumFractionDigits: 1 }) }));
  parts.push(el("h3", {}, t("waitlist")), table(
    [t("filterProgram"), { text: t("depth"), num: true }, { text: t("gpus"), num: true },
      { text: t("oldest"), num: true }, { text: t("median"), num: true }],
    waitlist.map((w) => [w.program, w.applications, w.gpus, days(w.oldest_days), days(w.median_days)])));
  body.replaceChildren(...parts);
}

function supplyByMonth(months) {
  // GPU-months of supply in the coming weeks: GPUs serving the pools, summed over the days known of a month,
  // over its length (null beyond what allocation was asked for)
  const rows = state.data.capacity ?? [];
  return months.map((key) => {
    const days = rows.filter((r) => r.day.startsWith(key));
    if (!days.length) return 0;
    const gpuDays = days.reduce((sum, r) => sum + r.total_gpus, 0);
    const known = new Set(days.map((r) => r.day)).size;
    return gpuDays / known;
  });
}

async function loadReclaim() {
  const [ladder, csps] = await Promise.all([api("/views/ladder").catch(() => null), api("/views/csps").catch(() => null)]);
  state.data.ladder = ladder;
  state.data.csps = csps;
  renderReclaim();
}

async function act(service, path, body, confirmText) {
  if (confirmText && !window.confirm(confirmText)) return false;
  try {
    await api(`/actions/${service}/${path}`, { method: "POST", body });
    notice("done");
    return true;
  } catch (error) {
    notice("failed", { why: error.message }, "error");
    return false;
  }
}

function renderReclaim() {
  const body = $("#reclaim-body");
  const rows = state.data.ladder?.items ?? [];
  if (!rows.length) empty(body);
  else {
    body.replaceChildren(table(
      [t("allocation"), t("filterProgram"), t("level"), t("rule"), { text: t("utilization"), num: true },
        { text: t("threshold"), num: true }, t("since"), ""],
      rows.map((r) => [
        el("a", { href: "#", onclick: (e) => { e.preventDefault(); openStory(r.application_id); } }, shortId(r.allocation_id)),
        r.program ?? "—",
        el("span", { class: `level-${r.level}` }, r.level === "reclaim" ? t("reclaimLevel") : t("warning")),
        t(`rule_${r.rule}`), `${number(r.utilization_pct, { maximumFractionDigits: 1 })}%`,
        `${number(r.threshold_pct, { maximumFractionDigits: 1 })}%`, dateTime(r.since),
        el("span", {},
          el("button", { class: "action", type: "button", dataset: { action: "reclaim" }, onclick: async () => {
            if (await act("allocation", `allocations/${r.allocation_id}/reclaim`, { reason: "operator" }, t("confirmReclaim"))) loadReclaim();
          } }, t("reclaimNow")), " ",
          el("button", { class: "action", type: "button", dataset: { action: "waive" }, onclick: async () => {
            if (await act("allocation", `allocations/${r.allocation_id}/waive`)) loadReclaim();
          } }, t("waive"))),
      ])));
  }
  const fresh = $("#freshness-body");
  const csps = state.data.csps?.items ?? [];
  if (!csps.length) return empty(fresh);
  fresh.replaceChildren(table(
    ["CSP", t("status"), t("lastSample"), t("since"), { text: t("allocation"), num: true }],
    csps.map((c) => [c.csp, el("span", { class: c.allocations_affected ? "state-stale" : "state-fresh" },
      !c.allocations_affected ? t("fresh") : c.reason === "silent" ? t("stale") : t("lowCoverage")),
    dateTime(c.last_sample_at), dateTime(c.detected_at), c.allocations_affected])));
}

async function loadDeadLetters() {
  state.data.deadLetters = await api("/dead-letters?limit=100").catch(() => null);
  renderDeadLetters();
}

function renderDeadLetters() {
  const body = $("#dead-letters-body");
  const rows = state.data.deadLetters?.items ?? [];
  if (!rows.length) return empty(body);
  body.replaceChildren(table(
    [t("topic"), t("consumer"), t("filterType"), t("reason"), t("parkedAt"), ""],
    rows.map((r) => {
      const place = `${r.topic}/${r.partition}/${r.offset}`;
      const why = [r.reason, r.error].filter(Boolean).join(": ").slice(0, 300) || "—";
      const action = r.redriven_at
        ? el("span", { dataset: { place, redriven: "yes" } }, `${t("redriven")} ${dateTime(r.redriven_at)}`)
        : el("button", {
          class: "action", type: "button", dataset: { action: "redrive", place, consumer: r.consumer ?? "" },
          onclick: async () => {
            const target = { topic: r.topic, partition: r.partition, offset: r.offset };
            if (await act(r.consumer, "dead-letters/redrive", target)) loadDeadLetters();
          },
        }, t("redrive"));
      return [place, r.consumer ?? "—", r.event_type ? eventLabel(r.event_type) : "—", why, dateTime(r.parked_at),
        action];
    })));
}

async function loadCalls() {
  state.data.calls = await api("/upstream/intake/calls?limit=50").catch(() => null);
  renderCalls();
}

function renderCalls() {
  const body = $("#calls-body");
  const rows = state.data.calls?.items ?? [];
  if (!rows.length) return empty(body);
  body.replaceChildren(table(
    [t("calls"), t("filterProgram"), t("opensAt"), t("closesAt"), t("status"), ""],
    rows.map((c) => [c.title, c.program, dateTime(c.opens_at), dateTime(c.closes_at), t(`call_${c.status}`, {}, c.status),
      c.status === "closed" ? "" : el("button", { class: "action", type: "button", dataset: { action: "close" },
        onclick: async () => {
          if (await act("intake", `calls/${c.id}/close`, undefined, t("confirmClose"))) loadCalls();
        } }, t("closeCall"))])));
}

boot();
