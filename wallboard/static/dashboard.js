// The safety dashboard (issue 16): every measure of a ward or of the hospital as a Making Data
// Count XmR chart drawn in SVG (mean, process limits, target, special-cause points coloured and
// shaped), its variation and assurance icons with words, a sentence on what changed, the
// numbers and denominators of each period, and the equity table beside it. The numbers are the
// server's (`/api/dashboard`, computed by `surveillance.dashboard`); this only draws them.
import { SESSION, el, setBanner, setText } from "/static/common.js";

const SVG = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;

const VARIATION = {
  common_cause: { tone: "common", letter: "", words: "Common cause — no significant change" },
  special_cause_improvement: { tone: "improvement", words: "Special cause — improvement" },
  special_cause_concern: { tone: "concern", words: "Special cause — concern" },
  special_cause_neutral_high: { tone: "neutral", letter: "H", words: "Special cause — higher, neither better nor worse" },
  special_cause_neutral_low: { tone: "neutral", letter: "L", words: "Special cause — lower, neither better nor worse" },
};
const ASSURANCE = {
  consistent_pass: { tone: "improvement", letter: "P", words: "Consistently passing the target" },
  consistent_fail: { tone: "concern", letter: "F", words: "Consistently failing the target" },
  inconsistent: { tone: "common", letter: "?", words: "Hit and miss: the target lies inside the process limits" },
};
const RULES = {
  "outside-limits": "a point outside the process limits",
  shift: "a run of 7 or more on one side of the mean",
  trend: "7 or more rising or falling in a row",
  "two-in-three": "2 of 3 points close to a process limit",
};
const DIMENSIONS = { sex: "Sex", ethnicity: "Ethnicity", age: "Age", imd: "Deprivation (IMD quintile)", needs: "Recorded needs" };

// ---- the request: the URL is the state (shareable, reloadable, printable) --------------------

function query() {
  const params = new URLSearchParams(location.search);
  return {
    ward: params.get("ward") || "",
    period: params.get("period") || "week",
    since: params.get("since") || "",
    until: params.get("until") || "",
  };
}

function apiUrl(q, format) {
  const params = new URLSearchParams();
  if (q.ward) params.set("ward", q.ward);
  params.set("period", q.period);
  if (q.since) params.set("since", q.since);
  if (q.until) params.set("until", q.until);
  params.set("format", format);
  return `/api/dashboard?${params}`;
}

function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

/** The date part of the server's time, in the hospital's zone as the server wrote it. */
function localDate(text, zone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(text));
}

// ---- numbers in words ------------------------------------------------------------------------

function num(value, digits = 1) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value; // "*": suppressed
  if (Number.isInteger(value)) return value.toLocaleString("en-GB");
  return value.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A measured value: always `digits` decimals (80.0, not 80), or * or – as given. */
function fixed(value, digits = 1) {
  if (typeof value !== "number") return num(value);
  return value.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function withUnit(value, measure) {
  if (value === null || value === undefined) return "–";
  if (measure.unit === "%") return `${fixed(value)} %`;
  return `${fixed(value)} ${measure.unit}`;
}

function periodLabel(point, period) {
  const start = new Date(point.start);
  const opts = period === "month" ? { month: "short", year: "numeric" } : { day: "numeric", month: "short" };
  const text = start.toLocaleDateString("en-GB", { ...opts, timeZone: "UTC" });
  return period === "week" ? `wk ${text}` : text;
}

function periodWords(period, point) {
  const label = periodLabel(point, period);
  if (period === "week") return `the week of ${label.slice(3)}`;
  if (period === "month") return label;
  return label;
}

/** One sentence: what the latest point says, from its type and rule. */
function whatChanged(measure, scope, period) {
  if (scope.spc_note) return `No chart: ${scope.spc_note.replace(/^not charted: /, "")}.`;
  const charted = scope.series.filter((p) => p.point_type);
  const last = charted[charted.length - 1];
  if (!last) return "No chart yet.";
  const when = periodWords(period, last);
  const value = withUnit(last.value, measure);
  if (last.point_type === "common_cause") {
    if (typeof last.lpl !== "number" || typeof last.upl !== "number") {
      return `No sign of change: ${when} (${value}), mean ${fixed(last.mean)}; ` +
        "there is no moving range to set process limits from.";
    }
    return `No sign of change: ${when} (${value}) is within the process limits ` +
      `(${fixed(last.lpl)} to ${fixed(last.upl)}) around the mean of ${fixed(last.mean)}.`;
  }
  const kind = VARIATION[last.point_type].words.replace("Special cause — ", "").toLowerCase();
  const side = last.value > last.mean ? "above" : "below";
  const rule = {
    "outside-limits": `${when} (${value}) is ${side} the ${side === "above" ? "upper" : "lower"} process limit`,
    shift: `${when} (${value}) ends a run of 7 or more ${period}s ${side} the mean of ${fixed(last.mean)}`,
    trend: `${when} (${value}) ends 7 or more ${period}s ${side === "above" ? "rising" : "falling"} in a row`,
    "two-in-three": `${when} (${value}) is one of 2 in 3 ${period}s close to the ${side === "above" ? "upper" : "lower"} limit`,
  }[last.rule] || `${when} (${value}) is a special cause`;
  return `Special cause, ${kind}: ${rule}.`;
}

// ---- icons: Making Data Count's variation and assurance, with their words -------------------

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function icon(kind, tone, letter, words) {
  const figure = el("div", `dash-icon tone-${tone}`);
  const art = svg("svg", { viewBox: "0 0 40 40", class: "dash-icon-art", "aria-hidden": "true" });
  art.append(svg("circle", { cx: 20, cy: 20, r: 17, class: "icon-ring" }));
  if (kind === "variation") {
    const ys = tone === "common" ? [22, 18, 23, 19, 21] : letter === "H" ? [27, 25, 21, 16, 12] : [13, 15, 19, 24, 28];
    art.append(svg("polyline", { points: ys.map((y, i) => `${9 + i * 5.5},${y}`).join(" "), class: "icon-line" }));
    ys.forEach((y, i) => art.append(svg("circle", { cx: 9 + i * 5.5, cy: y, r: 2, class: i >= 3 && tone !== "common" ? "icon-dot-special" : "icon-dot" })));
  }
  if (letter) art.append(svg("text", { x: 20, y: kind === "variation" ? 37 : 27, class: `icon-letter${kind === "variation" ? " small" : ""}`, "text-anchor": "middle" }, letter));
  figure.append(art, el("span", "dash-icon-words", words));
  return figure;
}

function variationIcon(measure, scope) {
  if (!scope.variation) return icon("variation", "none", "", "No SPC chart (too few periods)");
  const found = VARIATION[scope.variation];
  let letter = found.letter;
  if (letter === undefined) {
    const charted = scope.series.filter((p) => p.point_type);
    const last = charted[charted.length - 1];
    letter = last && last.value > last.mean ? "H" : "L";
  }
  const words = found.tone === "improvement" || found.tone === "concern"
    ? `${found.words} (${letter === "H" ? "higher" : "lower"})` : found.words;
  return icon("variation", found.tone, letter, words);
}

function assuranceIcon(measure, scope) {
  if (measure.target === null || measure.target === undefined) return icon("assurance", "none", "", "No target set");
  if (!scope.assurance) return icon("assurance", "none", "", `Target ${num(measure.target)}: not assessed`);
  const found = ASSURANCE[scope.assurance];
  return icon("assurance", found.tone, found.letter, `${found.words} (${num(measure.target)})`);
}

// ---- the chart ------------------------------------------------------------------------------

// A phone gets a narrower drawing, so its words stay readable when scaled to the screen.
const W = window.matchMedia("(max-width: 700px)").matches ? 520 : 960;
const H = 300;
const PAD = { left: 70, right: 20, top: 14, bottom: 42 };

function axisNumber(v) {
  return Number(v.toFixed(3)).toLocaleString("en-GB", { maximumFractionDigits: 3 });
}

function niceStep(span) {
  const raw = span / 5;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => raw <= s) || raw;
}

function chart(measure, scope, period) {
  const points = scope.series;
  const values = [];
  for (const p of points) {
    for (const v of [p.value, p.mean, p.lpl, p.upl]) if (typeof v === "number") values.push(v);
  }
  if (measure.target !== null && measure.target !== undefined) values.push(measure.target);
  // Zoomed to the data, the limits and the target (an SPC chart is read for its variation),
  // never below 0 nor, for a percentage, above 100.
  const ceiling = measure.unit === "%" ? 100 : Infinity;
  let low = values.length ? Math.min(...values) : 0;
  let high = values.length ? Math.max(...values) : 1;
  const spread = high - low || Math.max(Math.abs(high) * 0.2, 1);
  low = Math.max(0, low - spread * 0.12);
  high = Math.min(ceiling, high + spread * 0.12);
  const step = niceStep(high - low);
  low = Math.max(0, Math.floor(low / step) * step);
  high = Math.min(ceiling, Math.ceil(high / step) * step);
  if (high <= low) high = low + step;
  const n = points.length;
  const x = (i) => PAD.left + (n <= 1 ? (W - PAD.left - PAD.right) / 2 : (i * (W - PAD.left - PAD.right)) / (n - 1));
  const clamp = (v) => Math.min(high, Math.max(low, v));
  const y = (v) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - (clamp(v) - low) / (high - low));

  const art = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "spc", role: "img",
    "aria-label": `${measure.title}: XmR chart, ${n} ${period}s; the numbers are in the table below`,
  });
  // the axes and grid
  for (let v = low; v <= high + step / 1000; v += step) {
    art.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    art.append(svg("text", { x: PAD.left - 8, y: y(v) + 5, class: "axis", "text-anchor": "end" }, axisNumber(v)));
  }
  const every = Math.max(1, Math.ceil(n / 14));
  points.forEach((p, i) => {
    // every `every`-th period, and the last (then not the one just before it: no overlap)
    const last = i === n - 1;
    if ((i % every === 0 && (last || n - 1 - i >= every)) || last) {
      const anchor = n > 1 && i === 0 ? "start" : n > 1 && last ? "end" : "middle";
      art.append(svg("text", { x: x(i) + (anchor === "start" ? -6 : anchor === "end" ? 6 : 0), y: H - PAD.bottom + 22, class: "axis", "text-anchor": anchor }, periodLabel(p, period)));
    }
  });
  // the mean, the limits (dashed), the target (dash-dot): one path each, stepping where rebased
  // Joined across a period without a value: the chart is of the periods that have one.
  const line = (key, cls, label) => {
    const parts = [];
    points.forEach((p, i) => {
      if (typeof p[key] === "number") parts.push(`${parts.length ? "L" : "M"}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`);
    });
    if (parts.length) {
      const path = svg("path", { d: parts.join(" "), class: cls });
      path.append(svg("title", {}, label));
      art.append(path);
    }
  };
  line("upl", "limit", "upper process limit");
  line("lpl", "limit", "lower process limit");
  line("mean", "mean", "mean");
  if (measure.target !== null && measure.target !== undefined) {
    const ty = y(measure.target);
    art.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: ty, y2: ty, class: "target" }));
    art.append(svg("text", { x: W - PAD.right - 4, y: ty - 6, class: "axis target-label", "text-anchor": "end" }, `target ${num(measure.target)}`));
  }
  // the data: joined by a line (broken where a period has no value), then the points
  line("value", "data", measure.title);
  points.forEach((p, i) => {
    if (typeof p.value !== "number") return;
    const type = p.point_type || "common_cause";
    const tone = (VARIATION[type] || VARIATION.common_cause).tone;
    const cx = x(i);
    const cy = y(p.value);
    let shape;
    if (tone === "improvement") shape = svg("path", { d: `M${cx} ${cy - 10} L${cx + 10} ${cy} L${cx} ${cy + 10} L${cx - 10} ${cy} Z` });
    else if (tone === "concern") shape = svg("path", { d: `M${cx} ${cy - 10} L${cx + 10} ${cy + 7} L${cx - 10} ${cy + 7} Z` });
    else if (tone === "neutral") shape = svg("rect", { x: cx - 7, y: cy - 7, width: 14, height: 14 });
    else shape = svg("circle", { cx, cy, r: 5.5 });
    shape.setAttribute("class", `pt pt-${tone}${p.partial ? " partial" : ""}`);
    shape.setAttribute("data-type", type);
    const kind = type === "common_cause" ? "common cause" : `${VARIATION[type].words.toLowerCase()} (${RULES[p.rule] || p.rule})`;
    shape.append(svg("title", {}, `${periodLabel(p, period)}: ${withUnit(p.value, measure)} (${num(p.numerator)} of ${num(p.denominator)}) — ${kind}${p.partial ? "; period not over" : ""}`));
    art.append(shape);
  });
  return art;
}

// ---- tables ---------------------------------------------------------------------------------

/** A box that scrolls sideways on a phone: a named stop for the keyboard (WCAG 2.1.1). */
function scrollable(box, name) {
  box.tabIndex = 0;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", name);
}

function cell(tag, text, className) {
  const node = el(tag, className, text);
  if (tag === "th" && !className?.includes("row")) node.scope = "col";
  return node;
}

function seriesTable(measure, scope, period) {
  const wrap = el("div", "dash-series");
  scrollable(wrap, `${measure.title}: the numbers`);
  const table = el("table", "dash-numbers");
  table.append(el("caption", "visually-hidden", `${measure.title}: each ${period}'s numbers and denominators`));
  const head = el("tr");
  // Days are numbered, with the month at the first and at each month's start (narrow columns).
  const month = (p) => new Date(p.start).toLocaleDateString("en-GB", { month: "short", timeZone: "UTC" });
  head.append(cell("th", period === "day" ? "Day" : period === "week" ? "Week of" : "Month"));
  scope.series.forEach((p, i) => {
    let label = periodLabel(p, period).replace(/^wk /, "");
    if (period === "day" && i > 0 && month(p) === month(scope.series[i - 1])) label = label.split(" ")[0];
    head.append(cell("th", label + (p.partial ? "†" : "")));
  });
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  const rows = [
    ["value", `Value (${measure.unit})`, (p) => fixed(p.value)],
    ["numerator", "Numerator", (p) => num(p.numerator)],
    ["denominator", "Denominator", (p) => num(p.denominator)],
    ["admissions", "Admissions", (p) => num(p.admissions)],
    ["patient-days", "Patient-days", (p) => num(p.patient_days, 0)],
  ];
  for (const [key, label, get] of rows) {
    const tr = el("tr");
    tr.dataset.row = key;
    const th = el("th", "row", label);
    th.scope = "row";
    tr.append(th, ...scope.series.map((p) => el("td", `num${label.startsWith("Value") && p.point_type && p.point_type !== "common_cause" ? ` tone-text-${VARIATION[p.point_type].tone}` : ""}`, get(p))));
    body.append(tr);
  }
  table.append(thead, body);
  wrap.append(table);
  return wrap;
}

function equityTable(measure, scope) {
  const aside = el("aside", "dash-equity");
  scrollable(aside, `${measure.title}: equity`);
  const table = el("table", "dash-equity-table");
  table.append(el("caption", null, `Equity, ${scope.scope === "hospital" ? "the hospital" : `ward ${scope.scope}`}, the whole window`));
  const head = el("tr");
  for (const name of ["Group", "n / d", "Value", "95 % CI", "Ratio to hospital"]) head.append(cell("th", name));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const groups = new Map();
  for (const row of scope.equity) {
    if (!groups.has(row.dimension)) groups.set(row.dimension, []);
    groups.get(row.dimension).push(row);
  }
  for (const [dimension, rows] of groups) {
    const body = el("tbody");
    const title = el("tr", "dim");
    const th = el("th", "row", DIMENSIONS[dimension] || dimension);
    th.colSpan = 5;
    th.scope = "colgroup";
    title.append(th);
    body.append(title);
    for (const row of rows) {
      const tr = el("tr");
      const name = el("th", "row group", row.group);
      name.scope = "row";
      const ci = typeof row.ci_low === "number" ? `${fixed(row.ci_low)}–${fixed(row.ci_high)}` : row.ci_low === "*" ? "*" : "–";
      const ratio = fixed(row.ratio_to_hospital, 2);
      const marked = typeof row.ratio_to_hospital === "number" && typeof row.ci_low === "number" && measure.kind !== "median" && scope.value !== null
        && (row.ci_low > hospitalValue(measure) || row.ci_high < hospitalValue(measure));
      tr.append(name, el("td", "num", `${num(row.numerator)} / ${num(row.denominator)}`), el("td", "num", fixed(row.value)),
        el("td", "num", ci), el("td", `num${marked ? " differs" : ""}`, marked ? `≠ ${ratio}` : ratio));
      if (marked) tr.lastChild.title = "the hospital's rate lies outside this group's 95 % interval";
      body.append(tr);
    }
    table.append(body);
  }
  aside.append(table, el("p", "dash-small",
    "* hidden (a count of 1–7, or one that would reveal it). ≠ the hospital's value lies outside the group's 95 % interval."));
  return aside;
}

let HOSPITAL_VALUES = new Map();
function hospitalValue(measure) {
  return HOSPITAL_VALUES.get(measure.id);
}

// ---- the page -------------------------------------------------------------------------------

function measureBlock(measure, scope, period) {
  const block = el("section", "dash-measure");
  block.id = `m-${measure.id}`;
  block.setAttribute("aria-labelledby", `t-${measure.id}`);
  const head = el("header", "dash-measure-head");
  const title = el("h2", null, measure.title.charAt(0).toUpperCase() + measure.title.slice(1));
  title.id = `t-${measure.id}`;
  const direction = { increase: "higher is better", decrease: "lower is better", neutral: "no better direction" }[measure.improvement];
  const total = scope.value === null ? "no value in this window"
    : `${withUnit(scope.value, measure)} over the window (${num(scope.numerator)} of ${num(scope.denominator)}${typeof scope.ci_low === "number" ? `; 95 % CI ${fixed(scope.ci_low)}–${fixed(scope.ci_high)}` : ""})`;
  head.append(title, el("p", "dash-total", `${total} · ${direction}`));
  const icons = el("div", "dash-icons");
  icons.append(variationIcon(measure, scope), assuranceIcon(measure, scope));
  const said = el("p", "dash-changed", whatChanged(measure, scope, period));
  const left = el("div", "dash-chart");
  left.append(icons, said, chart(measure, scope, period), seriesTable(measure, scope, period));
  const defs = el("p", "dash-small", `Numerator: ${measure.numerator}. Denominator: ${measure.denominator}.`);
  left.append(defs);
  const body = el("div", "dash-measure-body");
  body.append(left, equityTable(measure, scope));
  block.append(head, body);
  return block;
}

function fillWards(select, wards, chosen, hospitalToo) {
  const options = [];
  if (hospitalToo) options.push(new Option("Whole hospital", ""));
  for (const ward of wards) options.push(new Option(`Ward ${ward}`, ward));
  if (chosen && !wards.includes(chosen)) options.push(new Option(`Ward ${chosen}`, chosen));
  select.replaceChildren(...options);
  select.value = chosen;
}

const mayHospital = SESSION.mode !== "oidc" || (SESSION.wards || []).includes("*");
let knownWards = (SESSION.wards || []).filter((w) => w !== "*");

async function load() {
  const q = query();
  if (!q.ward && !mayHospital && knownWards.length) q.ward = knownWards[0];
  const form = document.getElementById("pick");
  form.period.value = q.period;
  fillWards(form.ward, knownWards, q.ward, mayHospital);
  document.getElementById("csv").href = apiUrl(q, "csv");
  const notice = document.getElementById("notice");
  const loading = document.getElementById("loading");
  notice.hidden = true;
  loading.hidden = false;
  let board;
  try {
    const response = await fetch(apiUrl(q, "json"), { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
      throw new Error(detail);
    }
    board = await response.json();
    setBanner("http", null);
  } catch (error) {
    loading.hidden = true;
    setText(notice, `The dashboard cannot be shown: ${error.message}`);
    notice.hidden = false;
    document.getElementById("measures").replaceChildren();
    document.getElementById("about").hidden = true;
    return;
  }
  loading.hidden = true;
  const scopeName = q.ward || "hospital";
  if (!q.ward) {
    knownWards = board.scopes.filter((s) => s !== "hospital");
    fillWards(form.ward, knownWards, "", mayHospital);
  }
  const zone = board.timezone;
  form.since.value = localDate(board.since, zone);
  form.to.value = localDate(new Date(new Date(board.until).getTime() - 1).toISOString(), zone);
  // The monthly "ward to board" report of the chosen ward (or the hospital), for the month of
  // the window's last day: printable, drawn by the server (`/dashboard/report`).
  const report = document.getElementById("report");
  const reportParams = new URLSearchParams();
  if (q.ward) reportParams.set("ward", q.ward);
  reportParams.set("month", form.to.value.slice(0, 7));
  report.href = `/dashboard/report?${reportParams}`;
  const monthName = new Date(`${form.to.value.slice(0, 7)}-01T00:00:00Z`)
    .toLocaleDateString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
  setText(report, `Monthly report, ${monthName}`);
  report.hidden = false;
  setText(document.getElementById("scope-title"), q.ward ? `Ward ${q.ward}` : "Whole hospital");
  document.title = `Safety dashboard · ${q.ward ? `Ward ${q.ward}` : "Whole hospital"}`;
  const span = `${form.since.value} to ${form.to.value}`;
  setText(document.getElementById("summary"), `${span} · by ${board.period}`);
  setText(document.getElementById("window"),
    `${q.ward ? `Ward ${q.ward}` : "The whole hospital"}, ${span} inclusive (${zone}), one point per ${board.period}; ` +
    `everything as the store knew it at the end of the window. † a period not yet over.`);
  setText(document.getElementById("suppression"), board.suppression);
  document.getElementById("about").hidden = false;
  HOSPITAL_VALUES = new Map(board.measures.map((m) => [m.id, (m.scopes.find((s) => s.scope === "hospital") || {}).value]));
  const blocks = [];
  for (const measure of board.measures) {
    const scope = measure.scopes.find((s) => s.scope === scopeName);
    if (scope) blocks.push(measureBlock(measure, scope, board.period));
  }
  document.getElementById("measures").replaceChildren(...blocks);
  const missing = document.getElementById("missing");
  missing.replaceChildren(...(board.not_available || []).map((m) => el("p", null, `Not shown: ${m.id.replaceAll("_", " ")}. ${m.reason}`)));
  missing.hidden = !(board.not_available || []).length;
  document.body.dataset.ready = "true";
}

document.getElementById("pick").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const params = new URLSearchParams();
  if (form.ward.value) params.set("ward", form.ward.value);
  params.set("period", form.period.value);
  if (form.since.value) params.set("since", form.since.value);
  if (form.to.value) {
    const to = new Date(`${form.to.value}T00:00:00Z`);
    params.set("until", isoDate(new Date(to.getTime() + DAY_MS)));
  }
  history.pushState(null, "", `/dashboard?${params}`);
  document.body.dataset.ready = "false";
  load();
});
window.addEventListener("popstate", load);

load();
