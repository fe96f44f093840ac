// Which open alerts call for this person's attention on the outreach console, and when the
// console should sound (issue 18, item 2). Pure: no DOM, no clock, no storage, no audio; the
// console (outreach.js) keeps the state and makes the sound. Tested exhaustively in the browser
// (tests/wallboard/test_outreach_console.py).
//
// Which ladder roles each login role answers is the server's (`ANSWERS` in /vocabulary.js,
// beside the ladders' roles): none is typed here.
//
// An alert *calls* a person when it is open and not acknowledged (raised or escalated), the
// role its current rung notifies (`notify`) is one they answer, and they may act on its ward.
// Each call is a *notice*: the alert, at its severity, rung and re-notification count. A notice
// rings until it is seen: the alert acknowledged (by anyone), resolved, moved to a role they do
// not answer, or the person taps "Seen". A new notice (a new alert, an upgrade, an escalation to
// a rung they answer, the ladder re-notifying them) sounds at once; the same notices again (a
// snapshot replayed on reconnect) sound nothing new.

/** How often a notice not yet seen sounds again, ms. */
export const REPEAT_MS = 12000;

/**
 * The grants in a session's `role` text ("outreach on all wards; nurse on 7A, 7B"), as
 * [{role, wards}] with `wards` "*" for every ward. Text it cannot read gives no grant.
 */
export function parseGrants(text) {
  if (typeof text !== "string") return [];
  const grants = [];
  for (const part of text.split("; ")) {
    const at = part.indexOf(" on ");
    if (at <= 0) continue;
    const role = part.slice(0, at).trim();
    const where = part.slice(at + 4).trim();
    if (!role || !where) continue;
    grants.push({ role, wards: where === "all wards" ? "*" : where.split(", ").map((w) => w.trim()) });
  }
  return grants;
}

/**
 * Who is looking, for the attention decisions: `answers` the ladder roles they answer, `grants`
 * where they may act. `grants` as `parseGrants` gives them; `answersOf` the ladder roles each
 * login role that may act answers (the server's `ANSWERS`: a role absent from it never acts);
 * `picked` a ladder role chosen on the console (only without login: then it replaces the roles
 * the grants give); `acts` false for a wall screen.
 */
export function person(grants, { answersOf = {}, picked = null, acts = true } = {}) {
  const acting = acts ? grants.filter((g) => Object.hasOwn(answersOf, g.role)) : [];
  let answers;
  if (picked) answers = [picked];
  else answers = [...new Set(acting.flatMap((g) => [...answersOf[g.role], g.role]))];
  return { answers: acting.length ? answers : [], grants: acting };
}

/** Whether `who` may act on an alert of `ward`. */
export function mayAct(who, ward) {
  return who.grants.some((g) => g.wards === "*" || g.wards.includes(ward));
}

/** Whether the alert is open and waiting for someone (not acknowledged, not resolved). */
export function waiting(alert) {
  return alert.open !== false && (alert.state === "raised" || alert.state === "escalated");
}

/** Whether `role` (a ladder role) is one `who` answers. */
export function answers(who, role) {
  return typeof role === "string" && who.answers.includes(role);
}

/** Whether the alert calls `who` now: waiting, its current rung names a role they answer, on
 *  a ward they may act on. */
export function calls(alert, who) {
  return waiting(alert) && answers(who, alert.notify) && mayAct(who, alert.ward);
}

/** Whether the alert is "mine" for the filter: it names (now, or at a rung this console saw
 *  earlier: `told`) a role `who` answers, on a ward they may act on. */
export function mine(alert, who, told = []) {
  if (!mayAct(who, alert.ward)) return false;
  return answers(who, alert.notify) || told.some((role) => answers(who, role));
}

/** The notice an alert is now: the same alert at another severity, rung or re-notification is
 *  a new notice. */
export function noticeKey(alert) {
  return JSON.stringify([alert.alert_id, alert.severity || "", alert.rung ?? 0, alert.renotified ?? 0]);
}

/**
 * The console's attention after an update. `alerts`: every open alert now (after a snapshot or
 * a frame is applied); `who`: as `person` gives; `seen`: the notice keys already seen;
 * `before`: the keys that were ringing before this update.
 * Returns `ringing` (keys calling `who`, not seen, most recent set), `fresh` (those of them not
 * ringing before: the update's own news, which sounds at once), and `sound` (fresh is not
 * empty).
 */
export function attend(alerts, who, seen, before) {
  const ringing = [];
  for (const alert of alerts) {
    if (!calls(alert, who)) continue;
    const key = noticeKey(alert);
    if (!seen.has(key)) ringing.push(key);
  }
  const fresh = ringing.filter((key) => !before.has(key));
  return { ringing, fresh, sound: fresh.length > 0 };
}

/** The notice keys to forget: those of alerts no longer open (keeps the seen set small). */
export function forget(seen, alerts) {
  const open = new Set(alerts.map((a) => a.alert_id));
  return [...seen].filter((key) => {
    try { return !open.has(JSON.parse(key)[0]); } catch { return true; }
  });
}
