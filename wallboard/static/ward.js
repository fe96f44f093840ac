// The ward wallboard: one tile per bed, for a large screen read from across the ward.
import {
  Announcer, PendingActions, abnormalParams, alertAction, alertCause, alertStart, bedHref, chartLabel, compareAlerts,
  duration, el, every, followStream, hhmm, isHigh, keepFocus, kindWord, learnedPercent, learnedWords,
  naturalCompare, now, pathParts,
  pointsTone, promptWord, riskRank, riskTone, riskWord, saveName, savedName, setText, severityTone, severityWord,
  SESSION, logout, startClock, stateWords, toLogin, verified,
} from "/static/common.js";

const ward = pathParts()[1] || "";
const beds = new Map(); // bed → bed view
const pending = new PendingActions(() => render());
const announcer = new Announcer();
const SORT_KEY = "wallboard.sort";
const MAX_PARAMS = 4;
const MAX_ALERTS = 2;
const OBS_RANK = { missed: 3, late: 2, due: 1 };

let sortBy = "risk";
try { sortBy = localStorage.getItem(SORT_KEY) === "bed" ? "bed" : "risk"; } catch { /* default */ }

document.getElementById("ward-name").textContent = ward;
document.title = `Ward ${ward} · wallboard`;

// ---- sorting -----------------------------------------------------------------------------

function overdueMs(view) {
  const due = view.obs && view.obs.due ? Date.parse(view.obs.due) : NaN;
  return Number.isNaN(due) ? -Infinity : now() - due;
}

function byRisk(a, b) {
  return (!!b.patient - !!a.patient) ||
    riskRank(b.score) - riskRank(a.score) ||
    (OBS_RANK[b.obs && b.obs.status] || 0) - (OBS_RANK[a.obs && a.obs.status] || 0) ||
    (b.score ? b.score.total : -1) - (a.score ? a.score.total : -1) ||
    overdueMs(b) - overdueMs(a) ||
    b.open_alerts.length - a.open_alerts.length ||
    naturalCompare(a.bed, b.bed);
}

function byBed(a, b) {
  return naturalCompare(a.bed, b.bed);
}

const sortButton = document.getElementById("sort");
function showSort() {
  sortButton.textContent = sortBy === "risk" ? "Sorted by risk" : "Sorted by bed";
  sortButton.setAttribute("aria-pressed", String(sortBy === "bed"));
  sortButton.title = sortBy === "risk" ? "Sort by bed number instead" : "Sort by risk, then late obs";
  document.getElementById("beds").setAttribute("aria-label",
    sortBy === "risk" ? "Beds, highest risk first" : "Beds, in bed order");
}
sortButton.addEventListener("click", () => {
  sortBy = sortBy === "risk" ? "bed" : "risk";
  try { localStorage.setItem(SORT_KEY, sortBy); } catch { /* not remembered */ }
  showSort();
  render();
});
showSort();

// ---- tiles -------------------------------------------------------------------------------

function obsLine(view) {
  const obs = view.obs;
  const box = el("div", "obs");
  if (!obs) return box;
  const t = now();
  const status = obs.status || "unknown";
  box.classList.add(`obs-${status}`);
  const last = obs.last || obs.last_reading;
  const since = last ? `last ${duration(t - Date.parse(last))} ago` : "no full set yet";
  const due = obs.due ? Date.parse(obs.due) : null;
  let word;
  let detail;
  if (status === "missed") {
    word = "✖ MISSED";
    detail = `obs ${duration(t - due)} overdue`;
  } else if (status === "late") {
    word = "⚠ LATE";
    detail = `obs ${duration(t - due)} overdue`;
  } else if (status === "due") {
    word = "● DUE";
    detail = `obs due ${due <= t ? `${duration(t - due)} ago` : "now"}`;
  } else if (due) {
    word = null;
    detail = `next obs in ${duration(due - t)} (${hhmm(due)})`;
  } else {
    word = null;
    detail = "no obs interval set";
  }
  if (word) box.append(el("span", "obs-word", word));
  box.append(el("span", "obs-detail", detail), el("span", "obs-last", since));
  return box;
}

function trendMark(view) {
  const trend = view.trend;
  if (!trend) return null;
  const words = { up: "up from", down: "down from", same: "same as" }[trend.direction] || "was";
  const text = { up: `▲ up from ${trend.previous_total}`, down: `▼ down from ${trend.previous_total}`,
    same: "= no change" }[trend.direction] || `was ${trend.previous_total}`;
  const mark = el("span", `trend trend-${trend.direction}`, text);
  mark.title = `${words} ${trend.previous_total} at ${hhmm(trend.previous_time)}`;
  mark.setAttribute("aria-label", `trend: ${words} ${trend.previous_total}`);
  return mark;
}

function scoreBlock(score, view) {
  const block = el("div", "tile-score");
  const total = el("span", "total", score.complete ? score.total : `${score.total}+`);
  total.setAttribute("aria-label", `${score.system} ${score.complete ? "" : "at least "}${score.total}`);
  block.append(total);
  const words = el("span", "risk-words");
  words.append(el("span", "risk", riskWord(score.system, score.risk)));
  const trend = trendMark(view);
  if (trend) words.append(trend);
  block.append(words);
  return block;
}

function paramList(score) {
  const abnormal = abnormalParams(score);
  const list = el("ul", "params");
  list.setAttribute("aria-label", "Abnormal parameters");
  for (const p of abnormal.slice(0, MAX_PARAMS)) {
    const item = el("li", `param tone-${pointsTone(score.system, p.points)}`);
    item.append(el("span", "param-name", p.label));
    if (p.value !== null) item.append(el("span", "param-value", p.value || "?"));
    item.append(el("span", "param-points", `+${p.points}`));
    item.title = `${p.label} ${p.value ?? ""}: ${p.points} point${p.points === 1 ? "" : "s"}`;
    list.append(item);
  }
  if (abnormal.length > MAX_PARAMS) list.append(el("li", "param more", `+${abnormal.length - MAX_PARAMS} more`));
  return list;
}

// The learned risk: a model's estimate beside the score, never instead of it. Its own box
// (white, dashed, "≈"), never a risk colour, and the words "learned" and "estimate".
function learnedLine(learned) {
  const box = el("div", "learned");
  box.append(el("span", "learned-mark", "≈"), el("span", "learned-word", "Learned risk"),
    el("span", "learned-value", learnedPercent(learned.probability)),
    el("span", "learned-note", learned.shadow ? "estimate · shadow" : "estimate"));
  box.title = learnedWords(learned);
  return box;
}

function alertChip(alert) {
  const state = pending.get(alert.alert_id);
  const chip = el("li", `alert-chip sev-${severityTone(alert.severity)} state-${alert.state}`);
  chip.dataset.alertId = alert.alert_id;
  const icon = alert.state === "acknowledged" ? "✓" : "⚠";
  const age = duration(now() - alertStart(alert));
  const line = el("span", "alert-line");
  line.append(el("span", "alert-sev", `${icon} ${severityWord(alert.severity)}`));
  if (alert.kind !== "score") line.append(el("span", "alert-kind", kindWord(alert.kind)));
  const cause = alertCause(alert);
  if (cause) line.append(el("span", "alert-cause", `— ${cause}`));
  line.append(el("span", "alert-age", age));
  chip.append(line, el("span", "alert-state", stateWords(alert)));
  chip.title = alert.message || "";
  if (state && !state.error) {
    chip.append(el("span", "alert-pending", state.action === "ack" ? "Acknowledging…" : "Sending…"));
  } else if (alert.state !== "acknowledged") {
    const button = el("button", "ack", "Acknowledge");
    button.type = "button";
    button.dataset.focus = `ack-${alert.alert_id}`;
    button.setAttribute("aria-label", `Acknowledge ${severityWord(alert.severity)} alert, bed ${alert.bed}`);
    button.addEventListener("click", () => acknowledge(alert));
    chip.append(button);
  }
  if (state && state.error) chip.append(el("span", "alert-error", state.error));
  return chip;
}

function alertList(view) {
  const alerts = [...view.open_alerts].sort(compareAlerts);
  const list = el("ul", "tile-alerts");
  list.setAttribute("aria-label", "Open alerts");
  for (const alert of alerts.slice(0, MAX_ALERTS)) list.append(alertChip(alert));
  if (alerts.length > MAX_ALERTS) {
    const more = el("li", "alert-more");
    const link = el("a", null, `+${alerts.length - MAX_ALERTS} more open alert${alerts.length - MAX_ALERTS === 1 ? "" : "s"}`);
    link.href = "/outreach";
    more.append(link);
    list.append(more);
  }
  return list;
}

function tile(view) {
  const item = el("li", "tile");
  item.dataset.bed = view.bed;
  const patient = view.patient;
  const score = view.score;
  const link = el("a", "tile-link");
  link.href = bedHref(ward, view.bed);
  link.dataset.focus = `bed-${view.bed}`;
  const head = el("div", "tile-head");
  const number = el("span", "bed-no");
  number.append(el("span", "visually-hidden", "Bed "), view.bed);
  head.append(number);
  link.append(head);
  item.append(link);
  if (!patient) {
    item.classList.add("empty");
    head.append(el("span", "initials", "Empty"));
    link.title = `Bed ${view.bed}: empty`;
    if (view.open_alerts.length) item.append(alertList(view));
    return item;
  }
  head.append(el("span", "initials", patient.initials || "—"));
  const chartId = (score && score.chart) || patient.chart;
  const tag = el("span", "chart-tag", chartLabel(chartId, score && score.system) || patient.cohort || "");
  const scale2 = (score && score.spo2_scale === 2) || patient.spo2_scale === 2;
  if (scale2) tag.append(el("span", "scale2", "Scale 2"));
  head.append(tag);
  if (!score) {
    item.classList.add("noscore");
    link.append(el("div", "tile-score none", "No score yet"));
  } else {
    const tone = riskTone(score.system, score.risk);
    item.classList.add(`tone-${tone}`, `risk-${score.risk}`, `sys-${score.system.toLowerCase()}`);
    link.append(scoreBlock(score, view), paramList(score));
    for (const prompt of score.prompts || []) {
      link.append(el("div", "prompt", `⚑ ${promptWord(prompt)}`));
    }
    for (const query of score.queries || []) {
      // What the nurse should check: a reading outside the expected range, a chart not made
      // for this patient (text, never a colour alone).
      const line = el("div", "query", `? Check: ${query}`);
      line.title = query;
      link.append(line);
    }
    if (!score.complete) {
      const missing = (score.missing || []).map((key) => key.replaceAll("_", " "));
      link.append(el("div", "incomplete", `◐ Incomplete: missing ${missing.join(", ") || "some parameters"}`));
      item.classList.add("is-incomplete");
    }
    if (score.learned_risk) link.append(learnedLine(score.learned_risk));
  }
  link.append(obsLine(view));
  if (view.plan) {
    const limits = [view.plan.ceiling && `ceiling: ${view.plan.ceiling.replaceAll("-", " ")}`,
      view.plan.alert_from && `alerts from ${view.plan.alert_from.replaceAll("-", " ")}`].filter(Boolean);
    const plan = el("div", "plan", `☰ Plan · ${limits.join(" · ")}`);
    plan.title = `Escalation plan agreed by ${view.plan.by}: ${view.plan.reason}`;
    link.append(plan);
  }
  if (view.obs && OBS_RANK[view.obs.status]) item.classList.add(`obs-${view.obs.status}`);
  if (view.open_alerts.length) {
    item.classList.add("has-alert");
    item.append(alertList(view));
  }
  // The link is named by what it shows (WCAG 2.5.3); the summary is its description.
  link.title = `Bed ${view.bed}, ${patient.initials || "no initials"}: ` +
    (score ? `${score.system} ${score.total}, ${riskWord(score.system, score.risk)}` : "no score yet") +
    (score && score.learned_risk ? `, learned risk ${learnedPercent(score.learned_risk.probability)} (an estimate, not a score)` : "") +
    (view.obs && OBS_RANK[view.obs.status] ? `, observations ${view.obs.status}` : "");
  return item;
}

// ---- page --------------------------------------------------------------------------------

function summary(views) {
  const occupied = views.filter((v) => v.patient);
  const high = occupied.filter((v) => isHigh(v.score)).length;
  const late = occupied.filter((v) => v.obs && (v.obs.status === "late" || v.obs.status === "missed")).length;
  const alerts = views.reduce((n, v) => n + v.open_alerts.length, 0);
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return [plural(views.length, "bed"), `${occupied.length} occupied`, `${high} high`,
    `${late} late obs`, plural(alerts, "open alert")].join(" · ");
}

function render() {
  keepFocus(() => {
    const views = [...beds.values()].sort(sortBy === "risk" ? byRisk : byBed);
    document.getElementById("beds").replaceChildren(...views.map(tile));
    document.getElementById("empty").hidden = views.length > 0;
    setText(document.getElementById("summary"), summary(views));
  });
}

// ---- acknowledging -----------------------------------------------------------------------

const dialog = document.getElementById("who-dialog");
const whoInput = document.getElementById("who-input");
const whoError = document.getElementById("who-error");
let whoResolve = null;

function showWho() {
  setText(document.getElementById("who-name"), savedName() || "—");
}

function askWho(action) {
  whoInput.value = savedName();
  whoError.textContent = "";
  dialog.querySelector("button[type=submit]").textContent = action;
  dialog.showModal();
  whoInput.focus();
  return new Promise((resolve) => { whoResolve = resolve; });
}

document.getElementById("who-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = whoInput.value.trim();
  if (!name) {
    whoError.textContent = "Type your name.";
    return;
  }
  saveName(name);
  showWho();
  dialog.close();
  if (whoResolve) whoResolve(name);
  whoResolve = null;
});
document.getElementById("who-cancel").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => {
  if (whoResolve) whoResolve(null);
  whoResolve = null;
});
document.getElementById("who-change").addEventListener("click", () => askWho("Save"));

async function acknowledge(alert) {
  if (verified() && !SESSION.acts) {
    toLogin(true); // a wall screen: a short personal login, then back here to act
    return;
  }
  const name = verified() ? null : savedName() || (await askWho("Acknowledge"));
  if (!verified() && !name) return;
  pending.start(alert.alert_id, "ack", alert.state);
  const body = { via: "ward-board", severity: alert.severity };
  if (name) body.by = name; // only without login (marked unverified by the server)
  const result = await alertAction(alert.alert_id, "ack", body);
  if (result.ok) {
    pending.sent(alert.alert_id);
    if (SESSION.stepup) { // acted from a wall screen: back to display mode
      await logout();
      location.reload();
    }
  } else pending.fail(alert.alert_id, `Not acknowledged: HTTP ${result.status || "error"}: ${result.detail}`);
}

// ---- live --------------------------------------------------------------------------------

function announce() {
  announcer.update([...beds.values()].flatMap((v) => v.open_alerts.map((a) => ({ ward, ...a }))));
}

function applyView(view) {
  beds.set(view.bed, view);
  const open = new Map(view.open_alerts.map((a) => [a.alert_id, a]));
  for (const id of pending.items.keys()) {
    const alert = open.get(id);
    if (alert || [...beds.values()].every((v) => !v.open_alerts.some((a) => a.alert_id === id))) {
      pending.seen(id, alert || null);
    }
  }
}

if (verified()) document.querySelector(".who-line").hidden = true;
showWho();
startClock();
followStream(`/ws/wards/${encodeURIComponent(ward)}`, {
  snapshot(message) {
    beds.clear();
    for (const view of message.beds) applyView(view);
    render();
    announce();
  },
  changes(message) {
    for (const view of message.beds) applyView(view);
    render();
    announce();
  },
});
every(15000, render);
