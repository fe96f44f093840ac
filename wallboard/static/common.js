// Shared by every wallboard page: DOM helpers, words and colours for scores and alerts (from the
// vocabulary the server serves, never a copy of its own), the live websocket (snapshot, changes,
// status; reconnection with ?since=&epoch=), the banner, the clock corrected by the server's
// time, and alert actions. Plain ES module, same origin.
//
// Who is looking (issue 14): `SESSION` is the server's `/auth/me`, read before anything else: a
// person's name and roles (with a logout), an enrolled wall screen (view only; acting asks for
// a short personal login, then drops back), or a server without login (the DEMO / NO LOGIN
// banner on every page). Nobody: to the login. Every POST carries the session's CSRF token.
import { VOCABULARY } from "/vocabulary.js";

// ---- who is looking ----------------------------------------------------------------------

/** To the identity provider's login, back to this page after (`stepup`: a short session). */
export function toLogin(stepup = false) {
  const next = location.pathname + location.search;
  location.assign(`/auth/login?next=${encodeURIComponent(next)}${stepup ? "&stepup=1" : ""}`);
}

async function loadSession() {
  let response;
  try {
    response = await fetch("/auth/me", { cache: "no-store", credentials: "same-origin" });
  } catch {
    return { mode: "unknown", kind: "unknown", acts: false, csrf: null, name: "", banner: null };
  }
  if (response.status === 401) {
    toLogin();
    return new Promise(() => {}); // the page is leaving
  }
  return response.json();
}

export const SESSION = await loadSession();

/** Whether actions are named by a verified login (false on the demo and `--auth none`). */
export function verified() {
  return SESSION.mode === "oidc";
}

/** End the person's session (a wall screen drops back to display mode). */
export async function logout() {
  try {
    await fetch("/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": SESSION.csrf || "" },
      body: "{}",
      cache: "no-store",
    });
  } catch { /* the reload below asks again */ }
}

function showSession() {
  if (SESSION.banner) {
    const banner = document.createElement("div");
    banner.id = "mode-banner";
    banner.className = "mode-banner";
    banner.setAttribute("role", "note");
    banner.textContent = `⚠ ${SESSION.banner}`;
    document.body.prepend(banner);
  }
  const place = document.querySelector(".bar-tools") || document.querySelector(".bar");
  if (!place || SESSION.mode !== "oidc") return;
  const strip = document.createElement("span");
  strip.id = "session";
  strip.className = "session";
  if (SESSION.kind === "person") {
    const name = document.createElement("span");
    name.id = "session-name";
    name.className = "session-name";
    name.textContent = SESSION.name;
    name.title = SESSION.role;
    strip.append(name);
    const out = document.createElement("button");
    out.type = "button";
    out.id = "logout";
    out.className = "linkish";
    out.textContent = SESSION.stepup ? "Done (back to display)" : "Log out";
    out.addEventListener("click", async () => {
      await logout();
      if (SESSION.display) location.reload(); else location.assign("/auth/login?next=/");
    });
    strip.append(" ", out);
  } else if (SESSION.kind === "display") {
    strip.textContent = "Wall screen · view only";
  }
  place.append(strip);
}

showSession();

// ---- DOM ---------------------------------------------------------------------------------

/** An element with a class and text (null/undefined text: none). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** Replace a node's text only when it differs (keeps screen readers quiet). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function naturalCompare(a, b) {
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
}

/** `/wards/{ward}[/beds/{bed}]` of the current page, decoded. */
export function pathParts() {
  return location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
}

export function wardHref(ward) {
  return `/wards/${encodeURIComponent(ward)}`;
}

export function bedHref(ward, bed) {
  return `/wards/${encodeURIComponent(ward)}/beds/${encodeURIComponent(bed)}`;
}

// ---- clock (the server's, corrected) -----------------------------------------------------

let clockOffset = 0; // server time − browser time, ms

/** Now, on the server's clock (every message carries `server_time`). */
export function now() {
  return Date.now() + clockOffset;
}

export function noteServerTime(serverTime) {
  const t = Date.parse(serverTime);
  if (!Number.isNaN(t)) clockOffset = t - Date.now();
}

const HM = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short" });

export function hhmm(time) {
  return HM.format(new Date(time));
}

export function dayLabel(time) {
  return DAY.format(new Date(time));
}

/** "45 s", "12 min", "2 h 05 min", "3 d 4 h" for a length of time in ms (sign ignored). */
export function duration(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Keep `#clock` showing the time (server-corrected) every second. */
export function startClock() {
  const node = document.getElementById("clock");
  if (!node) return;
  const tick = () => {
    const t = now();
    setText(node, `${hhmm(t)}`);
    node.dateTime = new Date(t).toISOString();
    node.title = dayLabel(t);
  };
  tick();
  setInterval(tick, 1000);
}

// ---- the contract's words (served once by the server: ingest's vocabulary) ----------------

export { VOCABULARY };

const byId = (terms) => new Map(terms.map((term, rank) => [term.id, { ...term, rank }]));
const SEVERITIES = byId(VOCABULARY.severities);
const KINDS = byId(VOCABULARY.kinds);
const STATES = byId(VOCABULARY.states);
const RISKS = Object.fromEntries(Object.entries(VOCABULARY.risks).map(([system, terms]) => [system, byId(terms)]));

function risksOf(system) {
  return RISKS[system] || RISKS[VOCABULARY.default_risk_system];
}

// ---- scores: words and colours -----------------------------------------------------------

/** Rank of a score's risk for sorting (higher is worse; −1: none or unknown). */
export function riskRank(score) {
  if (!score) return -1;
  const term = risksOf(score.system).get(score.risk);
  return term ? term.rank : -1;
}

/** The colour (RCP conventions; PEWS has pink for high): white|yellow|orange|pink|red|grey. */
export function riskTone(system, risk) {
  const term = risksOf(system).get(risk);
  return term ? term.tone : "grey";
}

export function riskWord(system, risk) {
  const term = risksOf(system).get(risk);
  return term ? term.label : String(risk);
}

// ---- the learned risk (issue 15) ------------------------------------------------------------
// A model's estimate stored with a score: never a chart score, never in a risk colour, always
// marked "≈ … estimate" in words.

/** A probability as people read it: "12 %", "0.4 %" under 1 %. */
export function learnedPercent(probability) {
  const value = probability * 100;
  return `${value > 0 && value < 1 ? value.toFixed(1) : Math.round(value)} %`;
}

/** What the estimate is and is not, in words (for a tooltip or a screen reader). */
export function learnedWords(learned) {
  const why = learned.reasons && learned.reasons.length ? ` Why: ${learned.reasons.join("; ")}.` : "";
  const role = learned.shadow
    ? "In shadow: it does not change the score or the response, and raises no alert."
    : "Model alerts are on: it may raise a learned-risk alert of its own; the score and its response are the chart's.";
  return `Learned estimate, not a chart score: ${learnedPercent(learned.probability)} risk of deterioration ` +
    `within ${learned.horizon_hours} h (${learned.model || "model"}).${why} ${role}`;
}

/** Whether a risk counts as "high" in the ward summary (its system's top two: NEWS2 high,
 *  PEWS high or emergency). */
export function isHigh(score) {
  if (!score) return false;
  const risks = risksOf(score.system);
  const term = risks.get(score.risk);
  return !!term && (term.id === "high" || term.rank >= risks.size - 1);
}

/** The colour of a parameter's points on a chart: NEWS2 1 yellow, 2 orange, 3 red; PEWS 4 pink;
 *  maternity 2 amber, 8 red. */
export function pointsTone(system, points) {
  if (points === null || points === undefined) return "grey";
  if (points <= 0) return "white";
  if (system === "PEWS") return points === 1 ? "yellow" : points <= 3 ? "orange" : "pink";
  if (points === 1) return "yellow";
  if (points === 2) return "orange";
  return "red";
}

export const TONE_FILL = VOCABULARY.tones;

/** A short name of the chart in use: "NEWS2", "PEWS 5–12 y", "MEOWS". */
export function chartLabel(chartId, system) {
  if (!chartId) return system || "";
  if (chartId === "news2") return "NEWS2";
  if (chartId === "meows-send") return "MEOWS";
  if (chartId === "mews-subbe-2001") return "MEWS (Subbe)";
  const pews = /^pews-nhse-2023-(.+)$/.exec(chartId);
  if (pews) {
    const band = { "0-11m": "0–11 m", "1-4y": "1–4 y", "5-12y": "5–12 y", "13+y": "13+ y" };
    return `PEWS ${band[pews[1]] || pews[1]}`;
  }
  return `${system || ""} ${chartId}`.trim();
}

/** Every vital sign's and scored parameter's {short, long, unit}, by key. */
export const PARAMS = Object.fromEntries(VOCABULARY.vitals.map((v) => [v.key, v]));

export function paramLabel(key) {
  return (PARAMS[key] && PARAMS[key].short) || key.replaceAll("_", " ");
}

function num(value) {
  return typeof value === "number" ? String(Math.round(value * 10) / 10) : String(value);
}

/** The value of a scored parameter, written as a nurse would: "25", "95/60", "on O₂ (V)". */
export function paramValue(key, vitals) {
  if (!vitals) return "";
  switch (key) {
    case "air_or_oxygen":
      return vitals.on_oxygen === true ? "on O₂" : vitals.on_oxygen === false ? "air" : "";
    case "oxygen": {
      const device = vitals.oxygen_device || (vitals.on_oxygen ? "O₂" : "air");
      const level = vitals.oxygen_flow_lpm != null ? ` ${num(vitals.oxygen_flow_lpm)} L/min`
        : vitals.oxygen_percent != null ? ` ${num(vitals.oxygen_percent)} %` : "";
      return `${device}${level}`;
    }
    case "systolic_bp":
      if (vitals.systolic_bp == null) return vitals.bp_code || "";
      return vitals.diastolic_bp != null ? `${num(vitals.systolic_bp)}/${num(vitals.diastolic_bp)}`
        : num(vitals.systolic_bp);
    default:
      return vitals[key] == null ? "" : num(vitals[key]);
  }
}

/** Parameters scoring > 0, highest first: [{key, points, label, value}]. */
export function abnormalParams(score) {
  if (!score || !score.parameters) return [];
  return Object.entries(score.parameters)
    .filter(([, points]) => points > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([key, points]) => (key === "air_or_oxygen"
      ? { key, points, label: "On oxygen", value: null }
      : { key, points, label: paramLabel(key), value: paramValue(key, score.vitals) }));
}

// ---- alerts ------------------------------------------------------------------------------

/** Urgency rank of a severity: 0 most urgent; unknown ones after every known one. */
export function severityRank(severity) {
  const term = SEVERITIES.get(severity);
  return term ? term.rank : SEVERITIES.size;
}

export function severityWord(severity) {
  const term = SEVERITIES.get(severity);
  return term ? term.label : String(severity || VOCABULARY.unknown_severity.label);
}

/** The colour class of a severity: red, orange, yellow, blue or grey. */
export function severityTone(severity) {
  const term = SEVERITIES.get(severity);
  return term ? term.tone : VOCABULARY.unknown_severity.tone;
}

/** Whether a severity calls for the most urgent response (emergency, rapid review). */
export function isCritical(severity) {
  const term = SEVERITIES.get(severity);
  return !!term && term.critical;
}

export function alertStart(alert) {
  return Date.parse(alert.raised_at || alert.time);
}

/** Most severe first, then oldest first. */
export function compareAlerts(a, b) {
  return severityRank(a.severity) - severityRank(b.severity) || alertStart(a) - alertStart(b) ||
    naturalCompare(a.alert_id, b.alert_id);
}

const PROMPTS = byId(VOCABULARY.prompts);

/** A score's prompt in words (the vocabulary's label for `think-sepsis`, say). */
export function promptWord(prompt) {
  const term = PROMPTS.get(prompt);
  return term ? term.label : String(prompt).replaceAll("-", " ");
}

export function kindWord(kind) {
  const term = KINDS.get(kind);
  return term ? term.label : String(kind || "").replaceAll("-", " ");
}

/** What raised an alert and when: "raised by NEWS2 7 (high) at 09:30", with "upgraded from
 *  urgent" when a later score raised it higher; null when the event does not say. */
export function alertCause(alert) {
  const parts = [];
  if (alert.system && alert.total !== null && alert.total !== undefined) {
    const at = alert.scored_at || alert.raised_at || alert.time;
    const risk = alert.risk ? ` (${alert.risk})` : "";
    parts.push(`raised by ${alert.system} ${alert.total}${risk}${at ? ` at ${hhmm(at)}` : ""}`);
  }
  if (alert.previous_severity) {
    const times = alert.upgrades > 1 ? ` (${alert.upgrades} upgrades)` : "";
    parts.push(`upgraded from ${severityWord(alert.previous_severity).toLowerCase()}${times}`);
  }
  if (Array.isArray(alert.triggers) && alert.triggers.length) {
    parts.push(`red: ${alert.triggers.map(paramLabel).join(", ")}`);
  }
  return parts.length ? parts.join(" · ") : null;
}

export function stateWords(alert) {
  if (alert.state === "acknowledged") return `acknowledged by ${alert.by || "someone"}`;
  if (alert.state === "escalated") return `escalated${alert.notify ? ` to ${alert.notify}` : ""}: not acknowledged`;
  if (alert.state === "resolved") return `resolved by ${alert.by || "someone"}`;
  const term = STATES.get(alert.state);
  return term ? term.label : String(alert.state || "");
}

const NAME_KEY = "wallboard.name";

export function savedName() {
  try { return localStorage.getItem(NAME_KEY) || ""; } catch { return ""; }
}

export function saveName(name) {
  try { localStorage.setItem(NAME_KEY, name); } catch { /* private mode: ask again */ }
}

/** POST an acknowledgement or a resolution. Resolves to {ok, status, detail}; never throws. */
export async function alertAction(alertId, action, body) {
  try {
    const response = await fetch(`/api/alerts/${encodeURIComponent(alertId)}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": SESSION.csrf || "" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
    let detail = "";
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? data);
    } catch { detail = response.statusText; }
    return { ok: response.ok, status: response.status, detail };
  } catch (error) {
    return { ok: false, status: 0, detail: `cannot reach the wallboard server (${error.message})` };
  }
}

/** Actions sent but not yet seen coming back over the websocket, by alert id. */
export class PendingActions {
  constructor(onChange, timeoutMs = 20000) {
    this.items = new Map();
    this.onChange = onChange;
    this.timeoutMs = timeoutMs;
  }

  get(alertId) { return this.items.get(alertId); }

  start(alertId, action, fromState) {
    this.items.set(alertId, { action, fromState, error: null, timer: null });
    this.onChange();
  }

  fail(alertId, error) {
    const item = this.items.get(alertId) || { action: null };
    clearTimeout(item.timer);
    this.items.set(alertId, { ...item, error, timer: null, pending: false });
    this.onChange();
  }

  /** The POST was accepted: wait for the alert's new state, at most `timeoutMs`. */
  sent(alertId) {
    const item = this.items.get(alertId);
    if (!item) return;
    item.timer = setTimeout(() => {
      if (this.items.get(alertId) === item) {
        this.fail(alertId, "sent, but no change has come back from the scorer yet: check the feed");
      }
    }, this.timeoutMs);
  }

  /** An alert's new view arrived (null: gone): end what it answers. */
  seen(alertId, alert) {
    const item = this.items.get(alertId);
    if (!item) return;
    if (alert && alert.state === item.fromState && !item.error) return;
    clearTimeout(item.timer);
    this.items.delete(alertId);
  }

  clear(alertId) {
    const item = this.items.get(alertId);
    if (item) clearTimeout(item.timer);
    this.items.delete(alertId);
  }
}

// ---- banner ------------------------------------------------------------------------------

const bannerLines = new Map();

/** Set (or clear, with null) one line of the page's warning banner. */
export function setBanner(key, text) {
  if (text) bannerLines.set(key, text); else bannerLines.delete(key);
  const banner = document.getElementById("banner");
  if (!banner) return;
  const lines = [...bannerLines.values()];
  banner.hidden = lines.length === 0;
  setText(banner, lines.join(" · "));
  document.body.classList.toggle("degraded", lines.length > 0);
}

function feedBanner(feed) {
  if (!feed) return;
  setBanner("feed", feed.stale
    ? `⚠ Live feed stale: ${feed.reason || "no recent data"}. Data may be out of date.`
    : null);
  setBanner("store", feed.store_behind
    ? "⚠ Storage behind: the database is unreachable; live scores and alerts go on, " +
      "history and reports will catch up when it is back."
    : null);
}

// ---- live stream -------------------------------------------------------------------------

const FIRST_DELAY = 500;
const MAX_DELAY = 15000;
const SILENCE_MS = 10000; // status frames come every 2 s: silence this long is a dead socket

/**
 * Follow a websocket stream: `handlers.snapshot(msg)` for a snapshot (replace everything),
 * `handlers.changes(msg)` for changes, `handlers.status?(msg)` for status frames. Reconnects
 * with capped exponential backoff and `?since=SEQ&epoch=E`; shows the banner while down.
 */
export function followStream(path, handlers) {
  let seq = null;
  let epoch = null;
  let attempt = 0;
  let socket = null;
  let silence = null;
  let lostAt = null;

  const connectingNote = setTimeout(() => {
    if (seq === null) setBanner("socket", "Connecting to the wallboard server…");
  }, 2500);

  function watch() {
    clearTimeout(silence);
    silence = setTimeout(() => drop(socket), SILENCE_MS);
  }

  function drop(which) {
    if (which !== socket) return;
    socket = null;
    clearTimeout(silence);
    try { which.close(); } catch { /* already closing */ }
    if (lostAt === null) lostAt = now();
    document.documentElement.dataset.stream = "down";
    attempt += 1;
    if (attempt >= 2 && SESSION.mode === "oidc") checkSession();
    const delay = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1)) * (0.6 + Math.random() * 0.4);
    setBanner("socket", `⚠ Connection to the wallboard server lost at ${hhmm(lostAt)}: ` +
      `this screen is not live. Reconnecting${attempt > 1 ? ` (attempt ${attempt})` : ""}…`);
    setTimeout(open, delay);
  }

  function open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let url = `${scheme}://${location.host}${path}`;
    if (epoch !== null && seq !== null) url += `?since=${seq}&epoch=${encodeURIComponent(epoch)}`;
    const mine = new WebSocket(url);
    socket = mine;
    watch();
    mine.addEventListener("message", (event) => {
      if (mine !== socket) return;
      watch();
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.server_time) noteServerTime(message.server_time);
      if (attempt || lostAt !== null || seq === null) {
        document.documentElement.dataset.stream = "live";
        attempt = 0;
        lostAt = null;
        clearTimeout(connectingNote);
        setBanner("socket", null);
      }
      if (message.type === "snapshot") {
        seq = message.seq;
        epoch = message.epoch;
        feedBanner(message.feed);
        handlers.snapshot(message);
      } else if (message.type === "changes") {
        if (seq !== null && message.seq <= seq) return; // already applied
        seq = message.seq;
        handlers.changes(message);
      } else if (message.type === "status") {
        feedBanner(message.feed);
        if (handlers.status) handlers.status(message);
      }
    });
    mine.addEventListener("close", () => drop(mine));
    mine.addEventListener("error", () => drop(mine));
  }

  open();
}

/** A stream that keeps failing may be a session that ended (expired, logged out, a screen
 * revoked): ask, and go to the login (or reload to display mode) if so. */
async function checkSession() {
  try {
    const response = await fetch("/auth/me", { cache: "no-store" });
    if (response.status === 401) toLogin();
    else if (response.ok && (await response.json()).kind !== SESSION.kind) location.reload();
  } catch { /* the server is away: the banner says so */ }
}

/** Call `fn` now and every `ms`, and again when the page becomes visible. */
export function every(ms, fn) {
  fn();
  setInterval(fn, ms);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) fn(); });
}

/**
 * Says new alerts to a screen reader (issue 18): politely (`#announce-polite`, waits its turn),
 * an emergency or rapid review at once (`#announce-urgent`, role=alert). New: an alert id, or a
 * severity of it, not seen by this page before; the first call only learns what is open.
 */
export class Announcer {
  constructor() { this.known = null; }

  update(openAlerts) {
    const key = (alert) => `${alert.alert_id}|${alert.severity}`;
    const fresh = this.known === null ? [] : openAlerts.filter((a) => !this.known.has(key(a)));
    this.known = new Set([...(this.known || []), ...openAlerts.map(key)]);
    const say = (id, alerts) => {
      const node = document.getElementById(id);
      if (node && alerts.length) {
        node.textContent = alerts.map((a) => `New alert: ${severityWord(a.severity)}, ward ${a.ward} ` +
          `bed ${a.bed || "unknown"}${a.message ? `: ${a.message}` : ""}.`).join(" ");
      }
    };
    say("announce-urgent", fresh.filter((a) => isCritical(a.severity)));
    say("announce-polite", fresh.filter((a) => !isCritical(a.severity)));
  }
}

/** Keep keyboard focus on the element with the same data-focus key across a re-render. */
export function keepFocus(render) {
  const active = document.activeElement;
  const key = active && active.dataset ? active.dataset.focus : null;
  render();
  if (key) {
    const again = document.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again && again !== document.activeElement) again.focus({ preventScroll: true });
  }
}
