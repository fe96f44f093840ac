// The outreach console (issue 18): every open alert across the hospital as one card per
// patient (ward and bed), most urgent first, to acknowledge and resolve from a phone, a tablet
// or a ward PC. Filters by ward and by "mine" (alerts naming a role this person answers).
// While open, an alert that newly calls this person sounds and vibrates, again every few
// seconds, until it is seen (attention.js decides; this file only makes the noise). Everyone's
// actions come back live over the websocket, which reconnects by itself; the page says how old
// what it shows is.
import {
  Announcer, PendingActions, SESSION, alertAction, alertCause, alertStart, bedHref, compareAlerts, duration,
  el, every, followStream, hhmm, isCritical, keepFocus, kindWord, naturalCompare, now, saveName,
  savedName, setText, severityTone, severityWord, startClock, stateWords, verified, wardHref,
} from "/static/common.js";
import {
  REPEAT_MS, attend, calls, forget, mine, noticeKey, parseGrants, person,
} from "/static/attention.js";
import { ANSWERS, LADDER_ROLES } from "/vocabulary.js";

const alerts = new Map(); // alert_id → latest alert view
const announcer = new Announcer();
const told = new Map(); // alert_id → the roles its rungs named, as this console saw them
const pending = new PendingActions(() => render());
const nameInput = document.getElementById("name");
const roleSelect = document.getElementById("role");
const actorBox = document.getElementById("actor");
const notice = document.getElementById("notice");
const wardFilter = document.getElementById("ward-filter");
const mineButton = document.getElementById("mine");

// ---- storage (never throws: private mode just forgets) ------------------------------------

function stored(area, key, fallback) {
  try { return window[area].getItem(key) ?? fallback; } catch { return fallback; }
}

function store(area, key, value) {
  try {
    if (value === null) window[area].removeItem(key); else window[area].setItem(key, value);
  } catch { /* private mode */ }
}

// ---- who is looking -----------------------------------------------------------------------

const GRANTS = Array.isArray(SESSION.grants) ? SESSION.grants : parseGrants(SESSION.role);
const ROLE_KEY = "wallboard.outreach.role";

for (const [value, label] of [["", "as my login says"], ...LADDER_ROLES.map((r) => [r, r])]) {
  const option = el("option", null, label);
  option.value = value;
  roleSelect.append(option);
}

/** Who is looking: the login's roles, or (without login) the role picked here. */
function who() {
  const picked = verified() ? null : roleSelect.value || null;
  return person(GRANTS, { answersOf: ANSWERS, picked, acts: SESSION.acts !== false });
}

function describeActor() {
  const me = who();
  const roles = me.answers.length ? me.answers.join(", ") : "none: no alert sounds";
  const name = verified() ? SESSION.name : nameInput.value.trim() || "(name not given)";
  setText(document.getElementById("actor-summary"), `Acting as ${name} · alerts for ${roles}`);
  mineButton.title = `Only alerts naming: ${roles}`;
}

if (verified()) {
  // With a login, who acts is the session's verified identity and the role is the login's:
  // nothing to type or pick, one line saying so.
  const line = el("p", "actor actor-line");
  line.id = "actor-summary";
  actorBox.replaceWith(line);
}
nameInput.value = savedName();
roleSelect.value = stored("localStorage", ROLE_KEY, "");
if (!LADDER_ROLES.includes(roleSelect.value)) roleSelect.value = "";
actorBox.open = !verified() && !nameInput.value.trim();
nameInput.addEventListener("change", () => { saveName(nameInput.value.trim()); describeActor(); });
nameInput.addEventListener("input", () => { if (nameInput.value.trim()) showNotice(null); });
roleSelect.addEventListener("change", () => {
  store("localStorage", ROLE_KEY, roleSelect.value || null);
  describeActor();
  update();
});
describeActor();

function showNotice(text) {
  notice.hidden = !text;
  setText(notice, text || "");
}

/** The name typed in "Acting as", or null (and a prompt to type it). */
function actor() {
  if (verified()) return "(verified)"; // the server names the session's person, not this
  const name = nameInput.value.trim();
  if (!name) {
    showNotice("Type your name in “Your name” first: every action records who took it.");
    actorBox.open = true;
    nameInput.focus();
    return null;
  }
  saveName(name);
  return name;
}

// ---- filters ------------------------------------------------------------------------------

const WARD_KEY = "wallboard.outreach.ward";
const MINE_KEY = "wallboard.outreach.mine";
let wardChoice = stored("localStorage", WARD_KEY, "");
let mineOnly = stored("localStorage", MINE_KEY, "") === "1";

function showFilters() {
  const wards = [...new Set([...alerts.values()].map((a) => a.ward))];
  if (wardChoice && !wards.includes(wardChoice)) wards.push(wardChoice);
  wards.sort(naturalCompare);
  const options = [["", "All wards"], ...wards.map((w) => [w, w])];
  const have = [...wardFilter.options].map((o) => o.value).join("\n");
  if (have !== options.map(([v]) => v).join("\n")) {
    wardFilter.replaceChildren(...options.map(([value, label]) => {
      const option = el("option", null, label);
      option.value = value;
      return option;
    }));
  }
  wardFilter.value = wardChoice;
  mineButton.setAttribute("aria-pressed", String(mineOnly));
  setText(mineButton, mineOnly ? "✓ Mine only" : "Mine only");
}

wardFilter.addEventListener("change", () => {
  wardChoice = wardFilter.value;
  store("localStorage", WARD_KEY, wardChoice || null);
  render();
});
mineButton.addEventListener("click", () => {
  mineOnly = !mineOnly;
  store("localStorage", MINE_KEY, mineOnly ? "1" : null);
  render();
});

function shown(alert, me) {
  if (wardChoice && alert.ward !== wardChoice) return false;
  return !mineOnly || mine(alert, me, [...(told.get(alert.alert_id) || [])]);
}

// ---- cards --------------------------------------------------------------------------------

const SHAPES = { red: "⚠", orange: "◆", yellow: "▲", blue: "■", grey: "●" };

function badge(alert) {
  const tone = severityTone(alert.severity);
  const node = el("span", `sev-badge tone-${tone}`);
  const shape = el("span", "sev-shape", isCritical(alert.severity) ? "⚠" : SHAPES[tone] || "●");
  shape.setAttribute("aria-hidden", "true"); // the word says it; the shape is for the eye
  node.append(shape, " ", severityWord(alert.severity));
  return node;
}

/** Who the alert's ladder has told: its rung now, earlier rungs seen here, re-notifications. */
function toldWords(alert) {
  const seen = [...(told.get(alert.alert_id) || [])];
  const parts = [];
  if (alert.notify) {
    const step = alert.rung != null ? ` (escalation step ${alert.rung + 1})` : "";
    parts.push(`Told: ${alert.notify}${step}`);
    const earlier = seen.filter((r) => r !== alert.notify);
    if (earlier.length) parts.push(`before: ${earlier.join(", ")}`);
  } else if (seen.length) {
    parts.push(`Told: ${seen.join(", ")}`);
  } else if (alert.rung != null) {
    parts.push(`Escalation step ${alert.rung + 1} reached`);
  }
  if (alert.renotified) parts.push(`re-told ${alert.renotified}×`);
  return parts.join(" · ");
}

function item(alert, me, ringing) {
  const li = el("li", `alert-item state-${alert.state}`);
  li.dataset.alertId = alert.alert_id;
  const calling = ringing.has(noticeKey(alert));
  if (calls(alert, me)) li.classList.add("calls-me");
  const top = el("div", "alert-top");
  top.append(badge(alert), el("span", "kind", kindWord(alert.kind)));
  if (calls(alert, me)) {
    const mark = el("span", "for-you", calling ? "♪ For you" : "For you");
    if (calling) mark.setAttribute("aria-label", "For you, not yet seen");
    top.append(mark);
  }
  const age = el("span", "age", `open ${duration(now() - alertStart(alert))}`);
  age.dataset.start = String(alertStart(alert));
  top.append(age);
  const message = el("p", "message");
  const cause = alertCause(alert);
  if (cause) message.append(el("span", "alert-cause", cause));
  message.append(el("span", "alert-message", alert.message));
  const raised = alert.raised_at || alert.time;
  const toldText = toldWords(alert);
  const facts = el("p", "alert-facts");
  facts.append(el("span", "state", stateWords(alert)));
  if (toldText) facts.append(el("span", "alert-told", toldText));
  if (raised) facts.append(el("span", "alert-when", `alert since ${hhmm(raised)}`));
  li.append(top, message, facts, actions(alert));
  const state = pending.get(alert.alert_id);
  if (state && !state.error) li.setAttribute("aria-busy", "true");
  return li;
}

function actions(alert) {
  const box = el("div", "actions");
  if (SESSION.acts === false) return box; // a wall screen: view only
  const state = pending.get(alert.alert_id);
  const busy = !!state && !state.error;
  const where = `${severityWord(alert.severity)} alert, ward ${alert.ward} bed ${alert.bed || "unknown"}`;
  if (alert.state !== "acknowledged") {
    const ack = el("button", "act big-button ack-button", "Acknowledge");
    ack.type = "button";
    ack.dataset.focus = `ack-${alert.alert_id}`;
    ack.setAttribute("aria-label", `Acknowledge ${where}`);
    ack.disabled = busy;
    ack.addEventListener("click", () => acknowledge(alert));
    box.append(ack);
  }
  const resolve = el("button", "act big-button resolve-button", "Resolve…");
  resolve.type = "button";
  resolve.dataset.focus = `resolve-${alert.alert_id}`;
  resolve.setAttribute("aria-label", `Resolve ${where}`);
  resolve.disabled = busy;
  resolve.addEventListener("click", () => askResolve(alert));
  box.append(resolve);
  if (busy) {
    const words = state.action === "ack" ? "Acknowledging… waiting for the scorer" : "Resolving… waiting for the scorer";
    const note = el("span", "row-note pending", words);
    note.setAttribute("role", "status");
    box.append(note);
  } else if (state && state.error) {
    box.append(el("span", "row-note error", state.error));
  }
  return box;
}

/** One card per patient (ward and bed; an alert without a bed has its own), most urgent
 *  first: each card's alerts most urgent first, the cards by their most urgent alert. */
function groups(list) {
  const byPatient = new Map();
  for (const alert of [...list].sort(compareAlerts)) {
    const key = alert.bed ? `${alert.ward}\u0000${alert.bed}` : `\u0001${alert.alert_id}`;
    if (!byPatient.has(key)) byPatient.set(key, []);
    byPatient.get(key).push(alert);
  }
  return [...byPatient.values()];
}

function card(list, me, ringing) {
  const first = list[0];
  const tone = severityTone(first.severity);
  const li = el("li", `card tone-edge-${tone}`);
  if (isCritical(first.severity)) li.classList.add("critical");
  if (list.some((a) => a.state !== "acknowledged")) li.classList.add("waiting");
  if (list.some((a) => ringing.has(noticeKey(a)))) li.classList.add("ringing");
  li.dataset.ward = first.ward;
  li.dataset.bed = first.bed || "";
  const head = el("div", "card-head");
  const ward = el("a", "card-ward", `Ward ${first.ward}`);
  ward.href = wardHref(first.ward);
  head.append(ward);
  if (first.bed) {
    const bed = el("a", "card-bed", `Bed ${first.bed}`);
    bed.href = bedHref(first.ward, first.bed);
    bed.setAttribute("aria-label", `Patient view, ward ${first.ward} bed ${first.bed}`);
    head.append(bed);
  } else {
    head.append(el("span", "card-bed", "No bed"));
  }
  if (list.length > 1) head.append(el("span", "card-count", `${list.length} alerts`));
  const items = el("ul", "card-alerts");
  items.append(...list.map((alert) => item(alert, me, ringing)));
  li.append(head, items);
  return li;
}

function render() {
  const me = who();
  keepFocus(() => {
    showFilters();
    const all = [...alerts.values()];
    const visible = all.filter((a) => shown(a, me));
    const cards = groups(visible);
    document.getElementById("cards").replaceChildren(...cards.map((list) => card(list, me, ringing)));
    const empty = document.getElementById("empty");
    empty.hidden = visible.length > 0;
    setText(empty, all.length === 0 ? "No open alerts across the hospital."
      : `No open alerts match the filters (${all.length} hidden): ` +
        `${wardChoice ? `ward ${wardChoice}` : "all wards"}${mineOnly ? ", mine only" : ""}.`);
    const waiting = all.filter((a) => a.state !== "acknowledged").length;
    const severe = all.filter((a) => isCritical(a.severity)).length;
    setText(document.getElementById("summary"),
      `${all.length} open alert${all.length === 1 ? "" : "s"} · ${severe} emergency or rapid review · ${waiting} not acknowledged`);
  });
  showAttention();
}

function tickAges() {
  const t = now();
  for (const node of document.querySelectorAll("#cards .age")) {
    setText(node, `open ${duration(t - Number(node.dataset.start))}`);
  }
}

// ---- attention: sound and vibration until seen --------------------------------------------

const SEEN_KEY = "wallboard.outreach.seen";
const SOUND_KEY = "wallboard.outreach.sound";
const seen = new Set(JSON.parse(stored("sessionStorage", SEEN_KEY, "[]") || "[]"));
let ringing = new Set();
let repeat = null;
let audio = null;
let soundWanted = stored("sessionStorage", SOUND_KEY, "") === "on";
const soundButton = document.getElementById("sound");

function saveSeen() {
  store("sessionStorage", SEEN_KEY, JSON.stringify([...seen]));
}

/** Recompute what rings after any change; sound now for news, then every REPEAT_MS. */
function update() {
  const all = [...alerts.values()];
  for (const key of forget(seen, all)) seen.delete(key);
  saveSeen();
  const result = attend(all, who(), seen, ringing);
  ringing = new Set(result.ringing);
  if (result.sound) alarm("new", result.fresh);
  clearInterval(repeat);
  repeat = ringing.size ? setInterval(() => alarm("repeat", [...ringing]), REPEAT_MS) : null;
  render();
}

function showAttention() {
  const box = document.getElementById("attention");
  box.hidden = ringing.size === 0;
  const critical = [...alerts.values()].some((a) => ringing.has(noticeKey(a)) && isCritical(a.severity));
  box.classList.toggle("critical", critical);
  // An emergency interrupts a screen reader; anything else waits its turn.
  box.setAttribute("role", critical ? "alert" : "status");
  soundButton.classList.toggle("needed", ringing.size > 0 && !(audio && audio.state === "running"));
  const n = ringing.size;
  const me = who();
  const hidden = [...alerts.values()].filter((a) => ringing.has(noticeKey(a)) && !shown(a, me)).length;
  setText(document.getElementById("attention-text"),
    n ? `♪ ${n} alert${n === 1 ? "" : "s"} for you not yet seen${critical ? " — emergency" : ""}` +
      `${hidden ? ` (${hidden} hidden by the filters)` : ""}` : "");
}

document.getElementById("attention-seen").addEventListener("click", () => {
  for (const key of ringing) seen.add(key);
  update();
});

/** Make the noise: a tone (Web Audio, made here: no file), a vibration where the device has
 *  one. Dispatches `outreach-alarm` on the document with what rang and why (tests read it). */
function alarm(why, keys) {
  let sounded = false;
  if (audio && audio.state === "running") {
    const t = audio.currentTime;
    for (const [i, freq] of [[0, 880], [1, 660], [2, 880]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + i * 0.22);
      gain.gain.exponentialRampToValueAtTime(0.4, t + i * 0.22 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.22 + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.22);
      osc.stop(t + i * 0.22 + 0.2);
    }
    sounded = true;
  }
  let vibrated = false;
  // The browser refuses (and complains) before the person has touched the page once.
  if (typeof navigator.vibrate === "function" && touched()) {
    try { vibrated = navigator.vibrate([300, 150, 300]); } catch { vibrated = false; }
  }
  document.dispatchEvent(new CustomEvent("outreach-alarm", { detail: { why, keys, sounded, vibrated } }));
}

/** Whether the person has touched or typed on the page yet (vibration needs it). */
function touched() {
  const activation = navigator.userActivation;
  return activation ? activation.hasBeenActive : activatedHere;
}
let activatedHere = false;
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, () => { activatedHere = true; }, { once: true, capture: true });
}

function showSound() {
  const on = !!audio && audio.state === "running";
  soundButton.setAttribute("aria-pressed", String(on));
  soundButton.classList.toggle("on", on);
  soundButton.classList.toggle("needed", !on && ringing.size > 0);
  setText(soundButton, on ? "♪ Alert sound on (tap to test)"
    : soundWanted ? "Sound paused: tap to turn it back on" : "Tap to enable alert sound");
}

async function enableSound() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) {
    setText(soundButton, "No sound on this browser: keep the console in view");
    return;
  }
  if (!audio) {
    audio = new Context();
    audio.addEventListener("statechange", showSound);
  }
  try { await audio.resume(); } catch { /* still suspended: the button says so */ }
  showSound();
}

soundButton.addEventListener("click", async () => {
  const wasOn = !!audio && audio.state === "running";
  soundWanted = true;
  store("sessionStorage", SOUND_KEY, "on");
  await enableSound();
  if (wasOn) alarm("test", []);
});
// Remembered for the session: the browser still wants a gesture, so the first touch anywhere
// turns it back on after a reload.
if (soundWanted) {
  const again = () => { enableSound(); };
  document.addEventListener("pointerdown", again, { once: true, capture: true });
  document.addEventListener("keydown", again, { once: true, capture: true });
}
showSound();

// ---- actions ------------------------------------------------------------------------------

async function acknowledge(alert) {
  const by = actor();
  if (!by) return;
  showNotice(null);
  seen.add(noticeKey(alert)); // acting on it is seeing it
  update();
  pending.start(alert.alert_id, "ack", alert.state);
  const result = await alertAction(alert.alert_id, "ack", { by, via: "outreach", severity: alert.severity });
  if (result.ok) pending.sent(alert.alert_id);
  else pending.fail(alert.alert_id, `Not acknowledged: HTTP ${result.status || "error"}: ${result.detail}`);
}

const dialog = document.getElementById("resolve-dialog");
const reasonSelect = document.getElementById("resolve-reason");
const reasonText = document.getElementById("resolve-text");
const reasonError = document.getElementById("resolve-error");
let resolving = null;

function askResolve(alert) {
  if (!actor()) return;
  showNotice(null);
  resolving = alert;
  reasonSelect.value = "";
  reasonText.value = "";
  reasonError.textContent = "";
  setText(document.getElementById("resolve-what"),
    `${severityWord(alert.severity)} · ward ${alert.ward} bed ${alert.bed || "—"} · ${alert.message}`);
  showTextNeed();
  dialog.showModal();
  reasonSelect.focus();
}

function showTextNeed() {
  setText(document.getElementById("resolve-text-need"),
    reasonSelect.value === "other" ? "(required)" : "(optional)");
}
reasonSelect.addEventListener("change", showTextNeed);

document.getElementById("resolve-cancel").addEventListener("click", () => dialog.close());
document.getElementById("resolve-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const choice = reasonSelect.value;
  const text = reasonText.value.trim();
  if (!choice && !text) {
    reasonError.textContent = "Choose a reason, or write one.";
    reasonSelect.focus();
    return;
  }
  if (choice === "other" && !text) {
    reasonError.textContent = "Write the reason in Details.";
    reasonText.focus();
    return;
  }
  const reason = choice && choice !== "other" ? (text ? `${choice}: ${text}` : choice) : text;
  const alert = resolving;
  const by = actor();
  if (!alert || !by) return;
  dialog.close();
  seen.add(noticeKey(alert));
  update();
  pending.start(alert.alert_id, "resolve", alert.state);
  const result = await alertAction(alert.alert_id, "resolve", { by, reason, via: "outreach", severity: alert.severity });
  if (result.ok) pending.sent(alert.alert_id);
  else pending.fail(alert.alert_id, `Not resolved: HTTP ${result.status || "error"}: ${result.detail}`);
});
dialog.addEventListener("close", () => { resolving = null; });

// ---- live, and how old it is --------------------------------------------------------------

const STALE_MS = 15000; // status frames come every 2 s: 15 s without one is a dead zone
let lastHeard = null; // server time of the last frame of any kind

function heard() {
  lastHeard = now();
  showFreshness();
}

function showFreshness() {
  const node = document.getElementById("freshness");
  if (lastHeard === null) {
    setText(node, "Connecting…");
    node.className = "freshness";
    return;
  }
  const age = now() - lastHeard;
  const stale = age > STALE_MS || document.documentElement.dataset.stream === "down";
  node.className = stale ? "freshness stale" : "freshness";
  node.dataset.stale = String(stale);
  setText(node, stale
    ? `⚠ NOT LIVE: last update ${duration(age)} ago (${hhmm(lastHeard)}). Reconnecting… what you see may be out of date.`
    : `Live · updated ${age < 5000 ? "just now" : `${duration(age)} ago`}`);
}

function remember(alert) {
  if (!alert.notify) return;
  if (!told.has(alert.alert_id)) told.set(alert.alert_id, new Set());
  told.get(alert.alert_id).add(alert.notify);
}

startClock();
followStream("/ws/outreach", {
  snapshot(message) {
    heard();
    alerts.clear();
    for (const alert of message.alerts) {
      alerts.set(alert.alert_id, alert);
      remember(alert);
    }
    for (const id of [...told.keys()]) if (!alerts.has(id)) told.delete(id);
    for (const id of [...pending.items.keys()]) pending.seen(id, alerts.get(id) || null);
    update();
    announcer.update([...alerts.values()]);
  },
  changes(message) {
    heard();
    for (const alert of message.alerts) {
      if (alert.open === false || alert.state === "resolved") {
        alerts.delete(alert.alert_id);
        told.delete(alert.alert_id);
      } else {
        alerts.set(alert.alert_id, alert);
        remember(alert);
      }
      pending.seen(alert.alert_id, alerts.get(alert.alert_id) || null);
    }
    update();
    announcer.update([...alerts.values()]);
  },
  status() { heard(); },
});
every(30000, render);
setInterval(() => { tickAges(); showFreshness(); }, 1000);
showFreshness();
