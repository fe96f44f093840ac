// The outreach console: every open alert across the hospital, most severe then oldest first,
// to acknowledge and resolve. Everyone's actions come back live over the websocket.
import {
  PendingActions, alertAction, alertCause, alertStart, bedHref, compareAlerts, duration, el, every,
  followStream, isCritical, keepFocus, kindWord, now, saveName, savedName, setText, severityTone,
  severityWord, startClock, stateWords, verified, wardHref,
} from "/static/common.js";

const alerts = new Map(); // alert_id → latest alert view
const pending = new PendingActions(() => render());
const nameInput = document.getElementById("name");
const notice = document.getElementById("notice");

// With a login, who acts is the session's verified identity: no name to type.
if (verified()) document.querySelector(".actor").hidden = true;
nameInput.value = savedName();
nameInput.addEventListener("change", () => saveName(nameInput.value.trim()));
nameInput.addEventListener("input", () => { if (nameInput.value.trim()) showNotice(null); });

function showNotice(text) {
  notice.hidden = !text;
  setText(notice, text || "");
}

/** The name typed at the top, or null (and a prompt to type it). */
function actor() {
  if (verified()) return "(verified)"; // the server names the session's person, not this
  const name = nameInput.value.trim();
  if (!name) {
    showNotice("Type your name in “Your name” first: every action records who took it.");
    nameInput.focus();
    return null;
  }
  saveName(name);
  return name;
}

// ---- table -------------------------------------------------------------------------------

function row(alert) {
  const tr = el("tr", `state-${alert.state}`);
  tr.dataset.alertId = alert.alert_id;
  const sev = el("td", "sev");
  const badge = el("span", `sev-badge tone-${severityTone(alert.severity)}`,
    `${isCritical(alert.severity) ? "⚠ " : ""}${severityWord(alert.severity)}`);
  sev.append(badge);
  const wardCell = el("td", "ward");
  const wardLink = el("a", null, alert.ward);
  wardLink.href = wardHref(alert.ward);
  wardCell.append(wardLink);
  const bedCell = el("td", "bed");
  if (alert.bed) {
    const bedLink = el("a", null, `Bed ${alert.bed}`);
    bedLink.href = bedHref(alert.ward, alert.bed);
    bedLink.setAttribute("aria-label", `Patient view, ward ${alert.ward} bed ${alert.bed}`);
    bedCell.append(bedLink);
  } else {
    bedCell.textContent = "—";
  }
  const stateCell = el("td", "state");
  stateCell.append(el("span", "state-word", stateWords(alert)));
  const age = el("td", "age", duration(now() - alertStart(alert)));
  age.dataset.start = String(alertStart(alert));
  const message = el("td", "message");
  const cause = alertCause(alert);
  if (cause) message.append(el("span", "alert-cause", cause));
  message.append(el("span", "alert-message", alert.message));
  tr.append(sev, wardCell, bedCell, el("td", "kind", kindWord(alert.kind)), message, stateCell, age,
    actions(alert));
  return tr;
}

function actions(alert) {
  const cell = el("td", "actions");
  const state = pending.get(alert.alert_id);
  const busy = !!state && !state.error;
  const where = `${severityWord(alert.severity)} alert, ward ${alert.ward} bed ${alert.bed || "unknown"}`;
  if (alert.state !== "acknowledged") {
    const ack = el("button", "act ack-button", "Acknowledge");
    ack.type = "button";
    ack.dataset.focus = `ack-${alert.alert_id}`;
    ack.setAttribute("aria-label", `Acknowledge ${where}`);
    ack.disabled = busy;
    ack.addEventListener("click", () => acknowledge(alert));
    cell.append(ack);
  }
  const resolve = el("button", "act resolve-button", "Resolve…");
  resolve.type = "button";
  resolve.dataset.focus = `resolve-${alert.alert_id}`;
  resolve.setAttribute("aria-label", `Resolve ${where}`);
  resolve.disabled = busy;
  resolve.addEventListener("click", () => askResolve(alert));
  cell.append(resolve);
  if (busy) {
    const words = state.action === "ack" ? "Acknowledging… waiting for the scorer" : "Resolving… waiting for the scorer";
    const note = el("span", "row-note pending", words);
    note.setAttribute("role", "status");
    cell.append(note);
  } else if (state && state.error) {
    cell.append(el("span", "row-note error", state.error));
  }
  return cell;
}

function render() {
  keepFocus(() => {
    const sorted = [...alerts.values()].sort(compareAlerts);
    const table = document.getElementById("alerts");
    table.tBodies[0].replaceChildren(...sorted.map((alert) => {
      const tr = row(alert);
      const state = pending.get(alert.alert_id);
      if (state && !state.error) tr.setAttribute("aria-busy", "true");
      return tr;
    }));
    table.hidden = sorted.length === 0;
    document.getElementById("empty").hidden = sorted.length > 0;
    const waiting = sorted.filter((a) => a.state !== "acknowledged").length;
    const severe = sorted.filter((a) => isCritical(a.severity)).length;
    setText(document.getElementById("summary"),
      `${sorted.length} open alert${sorted.length === 1 ? "" : "s"} · ${severe} emergency or rapid review · ${waiting} not acknowledged`);
  });
}

function tickAges() {
  const t = now();
  for (const cell of document.querySelectorAll("#alerts td.age")) {
    setText(cell, duration(t - Number(cell.dataset.start)));
  }
}

// ---- actions -----------------------------------------------------------------------------

async function acknowledge(alert) {
  const by = actor();
  if (!by) return;
  showNotice(null);
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
  pending.start(alert.alert_id, "resolve", alert.state);
  const result = await alertAction(alert.alert_id, "resolve", { by, reason, via: "outreach", severity: alert.severity });
  if (result.ok) pending.sent(alert.alert_id);
  else pending.fail(alert.alert_id, `Not resolved: HTTP ${result.status || "error"}: ${result.detail}`);
});
dialog.addEventListener("close", () => { resolving = null; });

// ---- live --------------------------------------------------------------------------------

startClock();
followStream("/ws/outreach", {
  snapshot(message) {
    alerts.clear();
    for (const alert of message.alerts) alerts.set(alert.alert_id, alert);
    for (const id of [...pending.items.keys()]) pending.seen(id, alerts.get(id) || null);
    render();
  },
  changes(message) {
    for (const alert of message.alerts) {
      if (alert.open === false || alert.state === "resolved") alerts.delete(alert.alert_id);
      else alerts.set(alert.alert_id, alert);
      pending.seen(alert.alert_id, alerts.get(alert.alert_id) || null);
    }
    render();
  },
});
every(30000, render);
setInterval(tickAges, 1000);
