// The patient view: the observations charted over time as the RCP NEWS2 chart draws them (one
// strip per parameter, the chart's score bands shaded behind in the points colours), the
// aggregate score along the top, alerts on the time axis and listed alongside. Live.
import {
  PARAMS, TONE_FILL, VOCABULARY, chartLabel, dayLabel, duration, el, every, followStream, hhmm,
  learnedPercent, learnedWords, now,
  pathParts, pointsTone, promptWord, riskTone, riskWord, setText, severityWord, startClock, stateWords,
  wardHref,
} from "/static/common.js";

const [, ward = "", , bed = ""] = pathParts();
const SVG = "http://www.w3.org/2000/svg";
const HOURS = [6, 12, 24, 72];
const HISTORY_KEYS = VOCABULARY.history_keys;

let hours = Number(new URLSearchParams(location.search).get("hours"));
if (!HOURS.includes(hours)) hours = 24;

const state = {
  history: null, // the history response, scores growing live
  chart: null, // CHART of the latest score
  view: null, // the bed's live view from the ward stream
  loading: null,
  inFlight: false,
  alertsKey: null,
};

document.getElementById("ward-name").textContent = ward;
document.getElementById("bed-name").textContent = bed;
document.getElementById("ward-link").href = wardHref(ward);
document.getElementById("ward-link").textContent = `Ward ${ward} board`;
document.title = `${ward} bed ${bed} · patient view`;

// ---- loading -----------------------------------------------------------------------------

function showMessage(text) {
  const box = document.getElementById("message");
  box.hidden = !text;
  setText(box, text || "");
  document.getElementById("layout").hidden = !!text;
}

// Which patient is in the bed: the board's opaque `placement` token (the board's stream never
// carries the patient id); the history API gives the same token for the patient it read.
function viewPatient() {
  return state.view && state.view.patient ? state.view.patient.placement : null;
}

async function load() {
  const mine = Symbol("load");
  const asked = state.view ? viewPatient() : undefined;
  state.loading = mine;
  state.inFlight = true;
  try {
    await fetchHistory(mine);
  } finally {
    if (state.loading === mine) state.inFlight = false;
  }
  // The bed changed hands while the history was on its way: load the new patient's.
  if (state.loading === mine && asked !== undefined && viewPatient() !== asked) setTimeout(load, 300);
}

async function fetchHistory(mine) {
  let response;
  try {
    response = await fetch(`/api/wards/${encodeURIComponent(ward)}/beds/${encodeURIComponent(bed)}/history?hours=${hours}`,
      { cache: "no-store" });
  } catch (error) {
    if (state.loading === mine) showMessage(`Cannot reach the wallboard server (${error.message}). Retrying…`);
    setTimeout(() => { if (state.loading === mine) load(); }, 5000);
    return;
  }
  if (state.loading !== mine) return;
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (state.loading !== mine) return;
  const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
  if (response.status === 404) {
    state.history = null;
    renderHead();
    showMessage(`Bed ${bed} on ward ${ward} is empty: no patient to show. (${detail})`);
    return;
  }
  if (response.status === 503) {
    state.history = null;
    showMessage(`No history available: ${detail}. The live score is shown above when one arrives.`);
    renderHead();
    return;
  }
  if (!response.ok || !body) {
    showMessage(`The history could not be loaded: HTTP ${response.status}: ${detail}`);
    return;
  }
  state.history = body;
  const read = body.patient ? body.patient.placement : null;
  if (state.view && viewPatient() === read) takeLiveScore(state.view);
  if (body.chart) state.chart = body.chart;
  await ensureChart();
  showMessage(null);
  render();
}

/** Fetch the chart of the latest score when the history did not bring it. */
async function ensureChart() {
  const latest = latestScore();
  const id = latest && latest.chart;
  if (!id || (state.chart && state.chart.id === id)) return;
  const scale = latest.spo2_scale || 1;
  try {
    const response = await fetch(`/api/charts/${encodeURIComponent(id)}?spo2_scale=${scale}`, { cache: "no-store" });
    if (response.ok) state.chart = await response.json();
  } catch { /* drawn without bands */ }
}

function latestScore() {
  const scores = state.history ? state.history.scores : [];
  return scores.length ? scores[scores.length - 1] : (state.view && state.view.score) || null;
}

// ---- header and latest score ----------------------------------------------------------------

function renderHead() {
  const patient = (state.view && state.view.patient) || (state.history && state.history.patient) || null;
  const score = (state.view && state.view.score) || latestScore();
  const who = document.getElementById("who");
  const facts = document.getElementById("facts");
  facts.replaceChildren();
  if (!patient) {
    setText(who, "Empty bed");
  } else {
    setText(who, patient.initials || "—");
    const bits = [patient.cohort || "cohort unknown"];
    if (patient.age_band) bits.push(patient.age_band);
    if (patient.since) bits.push(`${patient.event === "transfer" ? "transferred in" : "admitted"} ${dayLabel(patient.since)} ${hhmm(patient.since)}`);
    facts.append(el("span", null, bits.join(" · ") + " "));
    const chartId = (score && score.chart) || patient.chart;
    if (chartId) facts.append(el("span", "chip", chartLabel(chartId, score && score.system)), " ");
    if ((score && score.spo2_scale === 2) || patient.spo2_scale === 2) facts.append(el("span", "chip scale2", "SpO₂ Scale 2"));
  }
  renderLatest(score);
  renderLearned();
}

// ---- the learned risk (issue 15) -------------------------------------------------------------

/** The newest score that carries a learned estimate: the live one, else the history's. */
function latestLearned() {
  const live = state.view && state.view.score;
  if (live && live.learned_risk) return live;
  const scores = state.history ? state.history.scores : [];
  for (let i = scores.length - 1; i >= 0; i -= 1) if (scores[i].learned_risk) return scores[i];
  return null;
}

function renderLearned() {
  const box = document.getElementById("learned");
  const score = latestLearned();
  if (!score) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const learned = score.learned_risk;
  box.hidden = false;
  const head = el("h2", null);
  head.id = "learned-title";
  head.append(el("span", "learned-mark", "≈ "), "Learned risk (an estimate, not a chart score): ",
    el("span", "learned-value", learnedPercent(learned.probability)),
    ` of deterioration within ${learned.horizon_hours} h`);
  const parts = [head];
  if (learned.reasons && learned.reasons.length) {
    parts.push(el("p", null, "Why the model says so:"));
    const list = el("ul", "learned-reasons");
    for (const reason of learned.reasons) list.append(el("li", null, reason));
    parts.push(list);
  } else {
    parts.push(el("p", null, "The model gave no reasons for this estimate."));
  }
  const role = learned.shadow
    ? "In shadow: it does not change the score or the response, and raises no alert."
    : "Model alerts are on: at the trust's threshold it raises a learned-risk alert of its own; the score and its response are the chart's.";
  parts.push(el("p", "learned-role", role));
  parts.push(el("p", "learned-model", `Model: ${learned.model || "unnamed"} · estimated with the ${score.system} ${score.total} at ${hhmm(score.time)}`));
  box.replaceChildren(...parts);
  box.title = learnedWords(learned);
}

function renderLatest(score) {
  const box = document.getElementById("latest");
  const view = state.view;
  if (!score) {
    box.hidden = true;
    setText(document.getElementById("summary"), "");
    return;
  }
  box.hidden = false;
  const tone = riskTone(score.system, score.risk);
  box.className = `latest tone-${tone}`;
  const total = el("span", "total", score.complete ? score.total : `${score.total}+`);
  const risk = el("span", "risk", riskWord(score.system, score.risk));
  const parts = [total, risk, el("span", null, `${score.system} at ${hhmm(score.time)} (${duration(now() - Date.parse(score.time))} ago)`)];
  if (score.monitoring) parts.push(el("span", null, `Monitoring: ${score.monitoring}`));
  const obs = view && view.obs;
  if (obs && obs.due) {
    const words = { missed: "✖ MISSED", late: "⚠ LATE", due: "● DUE" }[obs.status];
    const due = Date.parse(obs.due);
    const text = words ? `${words}: next obs were due ${hhmm(due)}, ${duration(now() - due)} ago`
      : `Next obs due ${hhmm(due)} (in ${duration(due - now())})`;
    const span = el("span", `obs obs-${obs.status}`);
    if (words) span.append(el("span", "obs-word", words.split(" ")[1]), " ");
    span.append(el("span", "obs-detail", words ? text.slice(words.length + 2) : text));
    parts.push(span);
  }
  if (!score.complete) parts.push(el("span", "incomplete", `◐ Incomplete: missing ${(score.missing || []).map((k) => k.replaceAll("_", " ")).join(", ")}`));
  for (const prompt of score.prompts || []) {
    parts.push(el("span", "prompt", `⚑ ${promptWord(prompt)}`));
  }
  for (const query of score.queries || []) parts.push(el("span", "query", `? Check: ${query}`));
  if (score.clinical_response) parts.push(el("p", "response", score.clinical_response));
  box.replaceChildren(...parts);
  setText(document.getElementById("summary"),
    `${score.system} ${score.total}${score.complete ? "" : "+"} · ${riskWord(score.system, score.risk)}` +
    (obs && ["due", "late", "missed"].includes(obs.status) ? ` · obs ${obs.status}` : ""));
}

// ---- SVG helpers ---------------------------------------------------------------------------

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function title(node, text) {
  node.append(svg("title", {}, text));
  return node;
}

function fmt(value) {
  return typeof value === "number" ? String(Math.round(value * 10) / 10) : String(value);
}

function bandLabel(band) {
  if (band.label) return band.label;
  const lo = band.low;
  const hi = band.high;
  if (lo === null && hi !== null) return `${band.high_inclusive ? "≤" : "<"}${fmt(hi)}`;
  if (hi === null && lo !== null) return `${band.low_inclusive ? "≥" : ">"}${fmt(lo)}`;
  if (lo === null && hi === null) return "any";
  return `${fmt(lo)}–${fmt(hi)}`;
}

// ---- strips --------------------------------------------------------------------------------

const ORDER = ["resp_rate", "resp_distress", "spo2", "air_or_oxygen", "oxygen", "systolic_bp",
  "diastolic_bp", "heart_rate", "crt_seconds", "consciousness", "temperature"];
const MIN_EXTENT = { spo2: 5, temperature: 1, crt_seconds: 2, resp_rate: 4, heart_rate: 15, systolic_bp: 20, diastolic_bp: 15 };
const LIMITS = { spo2: [50, 100], crt_seconds: [0, 20] };
const CATEGORY_ROWS = {
  air_or_oxygen: [["false", "Air"], ["true", "Oxygen"]],
  consciousness: [["A", "Alert"], ["C", "New confusion"], ["V", "Voice"], ["P", "Pain"], ["U", "Unresponsive"]],
  resp_distress: [["none", "None"], ["mild", "Mild"], ["moderate", "Moderate"], ["severe", "Severe"]],
};
const DEVICES = { air: "Air", NP: "Nasal prongs", FM: "Face mask", HB: "Head box", NRB: "Non-rebreather",
  V: "Venturi", HF: "High flow", CP: "CPAP", BiP: "BiPAP" };

/** What to draw: [{key, kind: "numeric"|"category", bands?, rows?, input}] in chart order. */
function stripsFor(chart, scores, spo2Scale) {
  const items = new Map();
  if (chart) {
    for (const item of chart.items) items.set(item.key, { kind: "numeric", key: item.key, input: item.input, item });
    for (const cat of chart.categories) items.set(cat.key, { kind: "category", key: cat.key, input: cat.input, points: cat.points });
  }
  const seen = new Set();
  for (const score of scores) {
    for (const key of Object.keys(score.parameters || {})) seen.add(key);
    for (const key of Object.keys(score.vitals || {})) seen.add(key);
  }
  const strips = [];
  for (const key of ORDER) {
    let strip = items.get(key);
    if (!strip) {
      if (key === "diastolic_bp") continue; // drawn in the BP strip
      if (!seen.has(key) && !(key === "oxygen" && seen.has("oxygen_device"))) continue;
      if (key === "air_or_oxygen" && !seen.has("on_oxygen")) continue;
      const numeric = ["resp_rate", "spo2", "systolic_bp", "heart_rate", "crt_seconds", "temperature"].includes(key);
      strip = numeric ? { kind: "numeric", key, input: key, item: null }
        : { kind: "category", key, input: key === "oxygen" ? "oxygen_device" : key === "air_or_oxygen" ? "on_oxygen" : key, points: null };
    }
    if (strip.kind === "numeric") {
      strip.bands = chooseBands(strip.item, key, spo2Scale);
      if (key === "spo2" && spo2Scale === 2 && strip.item) scale2(strip);
    }
    strips.push(strip);
  }
  return strips;
}

function chooseBands(item, key, spo2Scale) {
  if (!item) return [];
  const variants = item.variants;
  const fits = (v) => v.spo2_scale === null || v.spo2_scale === spo2Scale;
  // Scale 2: the on-oxygen variant covers the whole printed scale (88–92 scores 0 either way).
  const chosen = variants.find((v) => fits(v) && v.on_oxygen === true) || variants.find(fits) || variants[0];
  return chosen ? chosen.bands : [];
}

/**
 * SpO2 Scale 2 as the RCP chart prints it: ≤83, 84–85, 86–87, 88–92, then "≥93 on air" (0)
 * below the on-oxygen rows 93–94, 95–96, ≥97. Values are placed on a virtual axis: at or above
 * 93 on air into the "on air" row, on oxygen one unit up, into the oxygen rows.
 */
function scale2(strip) {
  const onO2 = strip.item.variants.find((v) => v.spo2_scale === 2 && v.on_oxygen === true);
  if (!onO2) return;
  const split = 92.5;
  const below = onO2.bands.filter((b) => b.high !== null && b.high < split);
  const above = onO2.bands.filter((b) => b.low !== null && b.low > split);
  if (!below.length || !above.length) return;
  const shift = (v) => (v === null ? null : v + 1);
  strip.bands = [
    ...below,
    { low: 93, low_inclusive: true, high: 93.5, high_inclusive: true, points: 0, label: "≥93 on air" },
    ...above.map((b) => ({ ...b, low: shift(b.low), high: shift(b.high), label: `${bandLabel(b)} on O₂` })),
  ];
  strip.limits = [50, 101];
  strip.place = (v, vitals) => {
    if (v < split) return v;
    if (vitals && vitals.on_oxygen === true) return Math.min(101, v + 1);
    return split + 0.1 + (Math.min(100, v) - split) / 7.5 * 1.1; // inside the "on air" row
  };
}

function valueOf(strip, vitals) {
  if (!vitals) return undefined;
  const value = vitals[strip.input];
  if (value === undefined || value === null) return undefined;
  return value;
}

function categoryRows(strip, scores, system) {
  if (CATEGORY_ROWS[strip.key]) {
    const rows = CATEGORY_ROWS[strip.key].filter(([key]) => (strip.points ? key in strip.points
      : !(system === "PEWS" && key === "C"))); // PEWS uses AVPU
    return rows.length ? rows : CATEGORY_ROWS[strip.key];
  }
  if (strip.points) return Object.keys(strip.points).map((key) => [key, key]);
  const values = [];
  for (const score of scores) {
    const v = valueOf(strip, score.vitals);
    if (v !== undefined && !values.includes(String(v))) values.push(String(v));
  }
  const order = Object.keys(DEVICES);
  values.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return values.map((v) => [v, DEVICES[v] || v]);
}

/**
 * The strip's value scale, as the RCP chart draws it: every band gets a row of its own (wide
 * bands up to three rows' height), linear within the band; open-ended bands reach as far as
 * the data. Returns the bands with their value ranges and `frac(v)` (0 bottom … 1 top).
 */
function numericScale(strip, values) {
  const bands = [...strip.bands].sort((a, b) => (a.low ?? -Infinity) - (b.low ?? -Infinity));
  const limits = strip.limits || LIMITS[strip.key] || [strip.key === "temperature" ? -Infinity : 0, Infinity];
  const dataMin = values.length ? Math.min(...values) : Infinity;
  const dataMax = values.length ? Math.max(...values) : -Infinity;
  const edges = [];
  for (let i = 1; i < bands.length; i += 1) {
    const hi = bands[i - 1].high;
    const lo = bands[i].low;
    edges.push(hi !== null && lo !== null ? (hi + lo) / 2 : hi ?? lo);
  }
  if (!edges.length) {
    const pad = MIN_EXTENT[strip.key] || 1;
    let min = values.length ? dataMin - pad : 0;
    let max = values.length ? dataMax + pad : 1;
    min = Math.max(min, limits[0]);
    max = Math.min(max, limits[1]);
    const ranges = bands.map(() => [min, max]);
    return { bands, ranges, min, max, rows: 6, frac: (v) => (v - min) / (max - min || 1) };
  }
  const inner = edges.slice(1).map((e, i) => e - edges[i]).sort((p, q) => p - q);
  const typical = inner.length ? inner[Math.floor(inner.length / 2)] : MIN_EXTENT[strip.key] || 1;
  const pad = Math.max(typical, MIN_EXTENT[strip.key] || 1);
  const min = Math.max(limits[0], Math.min(edges[0] - pad, dataMin - typical * 0.2));
  const max = Math.min(limits[1], Math.max(edges[edges.length - 1] + pad, dataMax + typical * 0.2));
  const ranges = bands.map((_, i) => [i === 0 ? min : edges[i - 1], i === bands.length - 1 ? max : edges[i]]);
  const weights = ranges.map(([lo, hi], i) =>
    (i === 0 || i === bands.length - 1) ? 1 : Math.min(3, Math.max(1, (hi - lo) / typical)));
  const total = weights.reduce((sum, w) => sum + w, 0);
  const starts = [];
  weights.reduce((sum, w, i) => { starts[i] = sum; return sum + w; }, 0);
  const frac = (v) => {
    const clamped = Math.min(max, Math.max(min, v));
    let i = ranges.findIndex(([lo, hi]) => clamped >= lo && clamped <= hi);
    if (i < 0) i = clamped < ranges[0][0] ? 0 : ranges.length - 1;
    const [lo, hi] = ranges[i];
    const within = hi > lo ? (clamped - lo) / (hi - lo) : 0.5;
    return (starts[i] + within * weights[i]) / total;
  };
  return { bands, ranges, min, max, rows: total, frac };
}

// ---- the chart -----------------------------------------------------------------------------

const GUTTER = 170;
const RIGHT = 14;
const AXIS = 24;

function timeTicks(t0, t1) {
  const span = (t1 - t0) / 3600000;
  const step = span <= 6 ? 1 : span <= 12 ? 2 : span <= 24 ? 3 : 12;
  const ticks = [];
  const first = new Date(t0);
  first.setMinutes(0, 0, 0);
  for (let t = first.getTime(); t <= t1; t += 3600000) {
    if (t < t0) continue;
    if (new Date(t).getHours() % step === 0) ticks.push(t);
  }
  return ticks;
}

function render() {
  renderHead();
  const history = state.history;
  if (!history) return;
  const box = document.getElementById("chart");
  const width = Math.max(640, Math.floor(box.clientWidth || 1000));
  const scores = history.scores;
  const chart = state.chart;
  const latest = latestScore();
  const system = (latest && latest.system) || (chart && chart.system) || "NEWS2";
  const spo2Scale = (latest && latest.spo2_scale) || (history.patient && history.patient.spo2_scale) || 1;
  const newest = scores.length ? Date.parse(scores[scores.length - 1].time) : 0;
  const t1 = Math.max(now(), newest + 60000);
  const t0 = t1 - hours * 3600000;
  const plotW = width - GUTTER - RIGHT;
  const x = (t) => GUTTER + ((t - t0) / (t1 - t0)) * plotW;
  const shown = scores.filter((s) => Date.parse(s.time) >= t0 - 60000);

  const root = svg("svg", { xmlns: SVG, role: "img", "aria-labelledby": "chart-title",
    "aria-describedby": "chart-desc", class: "obs-chart" });
  root.append(svg("title", { id: "chart-title" },
    `Observation chart, last ${hours} hours: ${shown.length} score${shown.length === 1 ? "" : "s"}`));
  // What the chart shows, in words (WCAG 1.1.1): the latest score and the range drawn.
  const totals = shown.map((s) => s.total).filter((t) => typeof t === "number");
  root.append(svg("desc", { id: "chart-desc" }, [
    latest ? `Latest: ${latest.system} ${latest.total}, ${riskWord(latest.system, latest.risk).toLowerCase()}` +
      ` at ${hhmm(latest.time)}.` : "No score yet.",
    totals.length ? `Scores in this period from ${Math.min(...totals)} to ${Math.max(...totals)}.` : "",
    "Each vital sign is drawn over its chart's scoring bands; the alerts are listed beside the chart.",
  ].filter(Boolean).join(" ")));
  const defs = svg("defs");
  const hatch = svg("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  hatch.append(svg("rect", { width: 6, height: 6, fill: "none" }), svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#000", "stroke-width": 2 }));
  defs.append(hatch);
  root.append(defs);

  let y = 0;
  const grid = svg("g", { class: "grid" });
  const layers = svg("g");
  root.append(grid, layers);

  // time axis (top)
  const ticks = timeTicks(t0, t1);
  const axisTop = svg("g", { class: "axis" });
  for (const t of ticks) {
    if (x(t1) - x(t) < 40) continue;
    const midnight = new Date(t).getHours() === 0;
    axisTop.append(svg("text", { x: x(t), y: 16, "text-anchor": "middle", "font-size": 13, "font-weight": midnight ? 700 : 400 },
      midnight ? dayLabel(t) : hhmm(t)));
  }
  axisTop.append(svg("text", { x: GUTTER - 8, y: 16, "text-anchor": "end", "font-size": 13, "font-weight": 700 }, "Time"));
  layers.append(axisTop);
  y += AXIS;

  // alerts strip
  const alertH = 28;
  const alertG = svg("g", { class: "strip strip-alerts", id: "strip-alerts" });
  alertG.append(svg("rect", { x: GUTTER, y, width: plotW, height: alertH, fill: "#f6f7f9", stroke: "#8795a1" }));
  alertG.append(svg("text", { x: 8, y: y + 19, "font-size": 14, "font-weight": 700 }, "Alerts"));
  for (const event of history.alerts || []) {
    const t = Date.parse(event.time);
    if (t < t0) continue;
    alertG.append(alertMarker(event, x(t), y + alertH / 2));
  }
  layers.append(alertG);
  y += alertH + 6;

  // aggregate score strip
  const scoreH = 76;
  const maxTotal = Math.max(system === "NEWS2" ? 10 : 8, ...shown.map((s) => s.total));
  const scoreG = svg("g", { class: "strip strip-score", id: "strip-score" });
  scoreG.append(svg("rect", { x: GUTTER, y, width: plotW, height: scoreH, fill: "#fff", stroke: "#8795a1" }));
  scoreG.append(svg("text", { x: 8, y: y + 20, "font-size": 14, "font-weight": 700 }, `${system} total`));
  scoreG.append(svg("text", { x: 8, y: y + 38, "font-size": 12 }, "bar colour = risk"));
  const barW = Math.max(3, Math.min(18, (plotW / Math.max(shown.length, 1)) * 0.7));
  let lastLabel = { x: -Infinity, total: null };
  shown.forEach((score, i) => {
    const bx = x(Date.parse(score.time));
    const h = Math.max(3, ((scoreH - 18) * score.total) / maxTotal);
    const tone = riskTone(score.system, score.risk);
    const bar = svg("rect", { class: `score-bar tone-${tone}`, x: bx - barW / 2, y: y + scoreH - h, width: barW, height: h,
      fill: TONE_FILL[tone], stroke: "#000", "stroke-width": 1 });
    title(bar, `${hhmm(score.time)}: ${score.system} ${score.total}${score.complete ? "" : " (incomplete)"}, ${riskWord(score.system, score.risk)}`);
    scoreG.append(bar);
    if (!score.complete) {
      scoreG.append(svg("rect", { x: bx - barW / 2, y: y + scoreH - h, width: barW, height: h, fill: "url(#hatch)", "pointer-events": "none" }));
    }
    const last = i === shown.length - 1;
    const room = bx - lastLabel.x >= 24 && (last || x(Date.parse(shown[shown.length - 1].time)) - bx >= 24);
    if (room && (score.total !== lastLabel.total || bx - lastLabel.x >= 80 || last)) {
      lastLabel = { x: bx, total: score.total };
      scoreG.append(svg("text", { x: bx, y: y + scoreH - h - 3, "text-anchor": "middle", "font-size": 12, "font-weight": 700 },
        `${score.total}${score.complete ? "" : "+"}`));
    }
  });
  layers.append(scoreG);
  y += scoreH + 6;

  // learned risk strip (issue 15): the estimates stored with the scores, dashed, never in a
  // risk colour, on a 0–100 % scale of its own
  const learnedShown = shown.filter((s) => s.learned_risk);
  if (learnedShown.length) {
    const g = learnedStrip(learnedShown, x, y, plotW);
    layers.append(g.node);
    y += g.height + 6;
  }

  // parameter strips
  for (const strip of stripsFor(chart, shown, spo2Scale)) {
    const g = strip.kind === "numeric"
      ? numericStrip(strip, shown, system, x, y, plotW)
      : categoryStrip(strip, shown, system, x, y, plotW);
    layers.append(g.node);
    y += g.height + 4;
  }

  // bottom axis and grid lines
  const axisBottom = svg("g", { class: "axis" });
  for (const t of ticks) {
    grid.append(svg("line", { x1: x(t), y1: AXIS - 4, x2: x(t), y2: y, stroke: "#c4ccd3", "stroke-width": 1 }));
    if (x(t1) - x(t) >= 40) axisBottom.append(svg("text", { x: x(t), y: y + 16, "text-anchor": "middle", "font-size": 13 }, hhmm(t)));
  }
  for (const event of history.alerts || []) {
    const t = Date.parse(event.time);
    if (t >= t0 && event.state === "raised") {
      grid.append(svg("line", { x1: x(t), y1: AXIS, x2: x(t), y2: y, stroke: "#d7192c", "stroke-width": 1.2, "stroke-dasharray": "5 4" }));
    }
  }
  grid.append(svg("line", { x1: x(t1), y1: AXIS - 4, x2: x(t1), y2: y, stroke: "#14212e", "stroke-width": 2 }));
  axisBottom.append(svg("text", { x: x(t1) - 2, y: y + 16, "text-anchor": "end", "font-size": 13, "font-weight": 700 }, "now"));
  layers.append(axisBottom);
  y += AXIS;

  root.setAttribute("viewBox", `0 0 ${width} ${y}`);
  root.setAttribute("width", String(width));
  root.setAttribute("height", String(y));
  box.replaceChildren(root);

  const notes = [];
  notes.push(chart
    ? `${chart.title} (${chartLabel(chart.id, chart.system)}): bands shaded in the chart's points colours; each band's range and points are written on the left.`
    : "No chart bands to shade: no score in this period.");
  if (system === "NEWS2" && spo2Scale === 2) notes.push("SpO₂ Scale 2, as on the RCP chart: 93 % or more on air is drawn in the “≥93 on air” row (0 points), on oxygen in the rows above it.");
  notes.push("Hatched bars: incomplete score (a lower bound). ▲ alert raised, ◆ acknowledged, ● resolved.");
  if (learnedShown.length) notes.push("≈ Learned risk: the model's estimate stored with each score (dashed line, hollow diamonds); an estimate beside the chart's score, never a score itself.");
  if (!shown.length) notes.unshift(`No observations in the last ${hours} hours.`);
  setText(document.getElementById("chart-note"), notes.join(" "));
  renderEvents();
}

const LEARNED_INK = "#2d1b4e";

function learnedStrip(scores, x, top, plotW) {
  const height = 64;
  const g = svg("g", { class: "strip strip-learned", id: "strip-learned" });
  g.append(svg("rect", { x: GUTTER, y: top, width: plotW, height, fill: "#fff", stroke: LEARNED_INK,
    "stroke-width": 1.2, "stroke-dasharray": "6 3" }));
  g.append(svg("text", { x: 8, y: top + 17, "font-size": 14, "font-weight": 700, "font-style": "italic", fill: LEARNED_INK }, "≈ Learned risk"));
  g.append(svg("text", { x: 8, y: top + 33, "font-size": 12, fill: LEARNED_INK }, "an estimate, not a score"));
  const shadow = scores[scores.length - 1].learned_risk.shadow;
  g.append(svg("text", { x: 8, y: top + 49, "font-size": 12, fill: LEARNED_INK }, shadow ? "in shadow" : "model alerts on"));
  const ly = (p) => top + height - 6 - p * (height - 12);
  for (const p of [0, 0.5, 1]) {
    g.append(svg("line", { x1: GUTTER, x2: GUTTER + plotW, y1: ly(p), y2: ly(p), stroke: "#d9d2e6", "stroke-width": 1 }));
    g.append(svg("text", { x: GUTTER - 6, y: ly(p) + 4, "text-anchor": "end", "font-size": 11, fill: LEARNED_INK }, `${p * 100} %`));
  }
  const points = scores.map((s) => [x(Date.parse(s.time)), ly(s.learned_risk.probability), s]);
  if (points.length > 1) {
    g.append(svg("polyline", { points: points.map(([px, py]) => `${px},${py}`).join(" "), fill: "none", stroke: LEARNED_INK,
      "stroke-width": 1.5, "stroke-dasharray": "5 3" }));
  }
  const dense = points.length > plotW / 8;
  points.forEach(([px, py, s], i) => {
    const r = dense ? 2.5 : 4.5;
    const mark = svg("path", { class: "learned-pt", d: `M${px},${py - r} L${px + r},${py} L${px},${py + r} L${px - r},${py} Z`,
      fill: "#fff", stroke: LEARNED_INK, "stroke-width": 1.5 });
    g.append(title(mark, `${hhmm(s.time)} ${learnedWords(s.learned_risk)}`));
    if (i === points.length - 1) {
      g.append(svg("text", { class: "learned-label", x: px - 6, y: Math.max(top + 12, py - 7), "text-anchor": "end", "font-size": 12,
        "font-weight": 700, fill: LEARNED_INK, "paint-order": "stroke", stroke: "#fff", "stroke-width": 3 }, learnedPercent(s.learned_risk.probability)));
    }
  });
  return { node: g, height };
}

function stripFrame(g, label, unit, y, height, plotW) {
  g.append(svg("text", { x: 8, y: y + 16, "font-size": 14, "font-weight": 700 }, label));
  if (unit) g.append(svg("text", { x: 8, y: y + 32, "font-size": 12 }, unit));
  g.append(svg("rect", { x: GUTTER, y, width: plotW, height, fill: "none", stroke: "#56636f", "stroke-width": 1.2, class: "frame" }));
}

function numericStrip(strip, scores, system, x, top, plotW) {
  const key = strip.key;
  const g = svg("g", { class: `strip strip-${key}`, id: `strip-${key}` });
  const place = (v, s) => (strip.place ? strip.place(v, s.vitals) : v);
  const values = [];
  for (const s of scores) {
    const v = valueOf(strip, s.vitals);
    if (typeof v === "number") values.push(place(v, s));
    if (key === "systolic_bp" && s.vitals && typeof s.vitals.diastolic_bp === "number") values.push(s.vitals.diastolic_bp);
  }
  const scale = numericScale(strip, values);
  const height = Math.max(key === "systolic_bp" ? 130 : 90, Math.round(scale.rows * 14));
  const y = (v) => top + height - scale.frac(v) * height;
  const outside = (v) => v < scale.min || v > scale.max;
  const info = PARAMS[key] || { long: key, unit: "" };
  // bands
  scale.bands.forEach((band, i) => {
    const [lower, upper] = scale.ranges[i];
    if (upper <= lower) return;
    const tone = pointsTone(system, band.points);
    const rect = svg("rect", { class: `band tone-${tone}`, x: GUTTER, y: y(upper), width: plotW, height: y(lower) - y(upper),
      fill: TONE_FILL[tone], stroke: "#b0b8c0", "stroke-width": 0.5 });
    title(rect, `${info.long} ${bandLabel(band)}: ${band.points} point${band.points === 1 ? "" : "s"}`);
    g.append(rect);
    const bandH = y(lower) - y(upper);
    if (bandH >= 11) {
      g.append(svg("text", { x: GUTTER - 6, y: (y(upper) + y(lower)) / 2 + 4, "text-anchor": "end", "font-size": Math.min(12, bandH - 1) },
        `${bandLabel(band)} · ${band.points}`));
    }
  });
  if (!scale.bands.length) {
    g.append(svg("rect", { class: "band tone-none", x: GUTTER, y: top, width: plotW, height, fill: "#fafbfc" }));
    g.append(svg("text", { x: GUTTER + 6, y: top + 12, "font-size": 11, fill: "#4a5561" }, `not scored on ${system === "PEWS" ? "PEWS" : "this chart"}`));
  }
  stripFrame(g, info.long, info.unit, top, height, plotW);
  // data
  const points = [];
  for (const s of scores) {
    const v = valueOf(strip, s.vitals);
    if (typeof v === "number") points.push([Date.parse(s.time), v, s]);
  }
  const at = (v, s) => y(place(v, s));
  if (key === "systolic_bp") {
    const denseBp = points.length > plotW / 8;
    for (const [t, sys, s] of points) {
      const dia = s.vitals.diastolic_bp;
      if (typeof dia === "number") {
        g.append(svg("line", { class: "bp-line", x1: x(t), y1: y(sys), x2: x(t), y2: y(dia), stroke: "#111", "stroke-width": denseBp ? 1 : 2 }));
        g.append(title(svg("path", { class: "pt-dia", d: chevron(x(t), y(dia), 1, denseBp), fill: "#111" }), `${hhmm(t)} diastolic ${fmt(dia)}`));
      }
    }
  } else if (points.length > 1) {
    g.append(svg("polyline", { points: points.map(([t, v, s]) => `${x(t)},${at(v, s)}`).join(" "), fill: "none", stroke: "#111",
      "stroke-width": points.length > plotW / 8 ? 1 : 1.5, "stroke-linejoin": "round" }));
  }
  const dense = points.length > plotW / 8;
  let lastLabel = { x: -Infinity, v: null };
  points.forEach(([t, v, s], i) => {
    const px = x(t);
    const py = at(v, s);
    const pts = s.parameters ? s.parameters[key] : undefined;
    const out = outside(place(v, s));
    const tip = `${hhmm(t)} ${info.long} ${key === "systolic_bp" && s.vitals.diastolic_bp != null ? `${fmt(v)}/${fmt(s.vitals.diastolic_bp)}` : fmt(v)}${info.unit ? ` ${info.unit}` : ""}` +
      (pts !== undefined ? `: ${pts} point${pts === 1 ? "" : "s"}` : "");
    const mark = key === "systolic_bp"
      ? svg("path", { class: "pt", d: chevron(px, py, -1, dense), fill: "#111" })
      : svg("circle", { class: "pt", cx: px, cy: py, r: out ? 4.5 : dense ? 1.8 : 3.6, fill: out ? "#fff" : "#111",
        stroke: "#111", "stroke-width": out ? 2 : dense ? 0 : 1 });
    g.append(title(mark, tip));
    const last = i === points.length - 1;
    const room = px - lastLabel.x >= 34 && (last || x(points[points.length - 1][0]) - px >= 34);
    if (room && (!dense || v !== lastLabel.v || px - lastLabel.x >= 90 || last)) {
      const above = py - top > 16;
      g.append(svg("text", { class: "pt-label", x: px, y: above ? py - 7 : py + 16, "text-anchor": "middle", "font-size": 11, "font-weight": 700,
        "paint-order": "stroke", stroke: "#fff", "stroke-width": 3 }, key === "systolic_bp" && s.vitals.diastolic_bp != null ? `${fmt(v)}/${fmt(s.vitals.diastolic_bp)}` : fmt(v)));
      lastLabel = { x: px, v };
    }
  });
  return { node: g, height };
}

/** A chevron at (x, y) pointing down (dir −1: systolic) or up (dir 1: diastolic), as on the RCP chart. */
function chevron(x, y, dir, small) {
  const w = small ? 3 : 6;
  const h = (small ? 4 : 7) * dir;
  return `M${x - w},${y + h} L${x},${y} L${x + w},${y + h} L${x + w},${y + h + 2 * dir} L${x},${y + 2 * dir} L${x - w},${y + h + 2 * dir} Z`;
}

function categoryStrip(strip, scores, system, x, top, plotW) {
  const key = strip.key;
  const g = svg("g", { class: `strip strip-${key}`, id: `strip-${key}` });
  const rows = categoryRows(strip, scores, system);
  const rowH = 17;
  const height = Math.max(rowH * Math.max(rows.length, 1), 34);
  const rowY = new Map(rows.map(([value], i) => [value, top + i * rowH]));
  const info = PARAMS[key] || { long: key, unit: "" };
  rows.forEach(([value, label], i) => {
    const points = strip.points ? strip.points[value] : undefined;
    const tone = points === undefined ? "none" : pointsTone(system, points);
    const rect = svg("rect", { class: `band tone-${tone}`, x: GUTTER, y: top + i * rowH, width: plotW, height: rowH,
      fill: TONE_FILL[tone] || "#fafbfc", stroke: "#b0b8c0", "stroke-width": 0.5 });
    title(rect, `${info.long} ${label}${points !== undefined ? `: ${points} point${points === 1 ? "" : "s"}` : ""}`);
    g.append(rect);
    g.append(svg("text", { x: GUTTER - 6, y: top + i * rowH + 13, "text-anchor": "end", "font-size": 12 },
      points !== undefined ? `${label} · ${points}` : label));
  });
  g.append(svg("text", { x: 8, y: top + 14, "font-size": 14, "font-weight": 700 }, info.long));
  g.append(svg("rect", { x: GUTTER, y: top, width: plotW, height: rows.length * rowH || height, fill: "none", stroke: "#56636f", "stroke-width": 1.2 }));
  for (const s of scores) {
    const v = valueOf(strip, s.vitals);
    if (v === undefined) continue;
    const ry = rowY.get(String(v));
    if (ry === undefined) continue;
    const t = Date.parse(s.time);
    const pts = s.parameters ? s.parameters[key] : undefined;
    g.append(title(svg("circle", { class: "pt", cx: x(t), cy: ry + rowH / 2, r: 4, fill: "#111" }),
      `${hhmm(t)} ${info.long}: ${v}${pts !== undefined ? ` (${pts} point${pts === 1 ? "" : "s"})` : ""}`));
  }
  return { node: g, height: Math.max(rows.length * rowH, rowH) };
}

function alertMarker(event, cx, cy) {
  const shapes = {
    raised: [`M${cx},${cy - 9} L${cx + 9},${cy + 7} L${cx - 9},${cy + 7} Z`, "#d7192c"],
    escalated: [`M${cx},${cy - 10} L${cx + 10},${cy + 8} L${cx - 10},${cy + 8} Z`, "#6b0010"],
    acknowledged: [`M${cx},${cy - 9} L${cx + 8},${cy} L${cx},${cy + 9} L${cx - 8},${cy} Z`, "#f7a21b"],
  };
  let mark;
  if (shapes[event.state]) {
    const [d, fill] = shapes[event.state];
    mark = svg("path", { class: `alert-mark ev-${event.state}`, d, fill, stroke: "#000", "stroke-width": 1.2 });
  } else {
    mark = svg("circle", { class: `alert-mark ev-${event.state}`, cx, cy, r: 7, fill: "#2e7d32", stroke: "#000", "stroke-width": 1.2 });
  }
  return title(mark, eventText(event));
}

function eventText(event) {
  const who = event.state === "raised" ? "raised" : event.state === "escalated" ? "escalated" : stateWords(event);
  const reason = event.reason ? `: ${event.reason}` : "";
  return `${hhmm(event.time)} ${severityWord(event.severity)} ${event.kind} alert ${who}${reason}. ${event.message || ""}`.trim();
}

function renderEvents() {
  const list = document.getElementById("events");
  const events = [...((state.history && state.history.alerts) || [])].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const symbol = { raised: "▲", escalated: "▲", acknowledged: "◆", resolved: "●" };
  list.replaceChildren(...events.map((event) => {
    const item = el("li", `ev-${event.state}`);
    item.append(el("span", "ev-time", `${symbol[event.state] || "•"} ${hhmm(event.time)}`));
    const what = event.state === "raised" ? `${severityWord(event.severity)} alert raised`
      : event.state === "escalated" ? `${severityWord(event.severity)} alert escalated`
        : `${severityWord(event.severity)} alert ${stateWords(event)}`;
    item.append(el("strong", null, what));
    if (event.reason) item.append(el("div", null, `Reason: ${event.reason}`));
    if (event.message) item.append(el("div", null, event.message));
    return item;
  }));
  document.getElementById("no-events").hidden = events.length > 0;
}

// ---- hours ---------------------------------------------------------------------------------

function showHours() {
  for (const button of document.querySelectorAll(".hours button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.hours) === hours));
  }
}
for (const button of document.querySelectorAll(".hours button")) {
  button.addEventListener("click", () => {
    hours = Number(button.dataset.hours);
    const url = new URL(location.href);
    url.searchParams.set("hours", String(hours));
    history.replaceState(null, "", url);
    showHours();
    load();
  });
}
showHours();

// ---- live ----------------------------------------------------------------------------------

// The bed's live score joins the history when it is newer than the history's last: on every
// frame, and once a history arrives (a score that came while it was being read, before the
// store had it, would otherwise be lost until the next one).
function takeLiveScore(view) {
  const score = view ? view.score : null;
  if (!score || !state.history) return;
  const scores = state.history.scores;
  const last = scores[scores.length - 1];
  if (!last || (Date.parse(score.time) > Date.parse(last.time) && score.obs_msg_id !== last.obs_msg_id)) {
    const entry = {};
    for (const key of HISTORY_KEYS) entry[key] = score[key] ?? null;
    // As the history API does: plot what this reading measured, never a continuous patient's
    // carried-over snapshot values (`measured`; a nurse's set measured all its `vitals`).
    if (score.measured) entry.vitals = score.measured;
    scores.push(entry);
    if (!state.chart || state.chart.id !== score.chart) ensureChart().then(render);
  }
}

function onView(view) {
  const before = state.view;
  state.view = view;
  const pid = view.patient ? view.patient.placement : null;
  const loadedPid = state.history && state.history.patient ? state.history.patient.placement : null;
  const alertsKey = view.open_alerts.map((a) => `${a.alert_id}:${a.state}:${a.seq}`).join(",");
  const alertsChanged = state.alertsKey !== null && alertsKey !== state.alertsKey;
  state.alertsKey = alertsKey;
  if (pid !== loadedPid) {
    if (!state.inFlight && (before !== null || pid)) load();
    renderHead();
    return;
  }
  if (!state.history) {
    renderHead();
    return;
  }
  takeLiveScore(view);
  if (alertsChanged) {
    clearTimeout(state.reloadTimer);
    state.reloadTimer = setTimeout(load, 400); // the alert events come from the store
  }
  render();
}

startClock();
load();
followStream(`/ws/wards/${encodeURIComponent(ward)}`, {
  snapshot(message) {
    const view = message.beds.find((b) => b.bed === bed);
    onView(view || { bed, patient: null, score: null, obs: null, open_alerts: [] });
  },
  changes(message) {
    const view = message.beds.find((b) => b.bed === bed);
    if (view) onView(view);
  },
});
every(60000, () => { if (state.history) render(); });
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (state.history) render(); }, 150);
});
