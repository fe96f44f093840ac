// Ward wallboard pages: ward picker, ward grid and outreach list. Plain JS, same origin only.
// Websocket protocol (wallboard/_app.py): a snapshot first, then changes in `seq` order; on
// reconnection `?since=SEQ&epoch=E` gets the missed changes, or a fresh snapshot.
"use strict";

// Risk words of each system, lowest first; the index is the colour class r0..r4.
const RISK_RANK = {
  NEWS2: ["low", "low-medium", "medium", "high"],
  PEWS: ["none", "low", "medium", "high", "emergency"],
};

// The colour class of a score (-1: none, for a risk word this page does not know: it is still
// written out). MEWS charts use the NEWS2 words.
function riskRank(score) {
  if (!score) return -1;
  return (RISK_RANK[score.system] || RISK_RANK.NEWS2).indexOf(score.risk);
}

function naturalCompare(a, b) {
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function minutesBetween(later, earlier) {
  return Math.round((later - earlier) / 60000);
}

function duration(minutes) {
  const m = Math.abs(minutes);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

function shortId(id) {
  return id.length <= 8 ? id : "…" + id.slice(-6);
}

function clockText() {
  return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function setBanner(text) {
  const banner = document.getElementById("banner");
  banner.hidden = !text;
  banner.textContent = text || "";
}

// ---- live stream with reconnection -------------------------------------------------------

function liveStream(path, onSnapshot, onChanges) {
  let seq = null;
  let epoch = null;
  let delay = 1000;
  let pending = [];
  let scheduled = false;

  function flush() {
    scheduled = false;
    const batch = pending;
    pending = [];
    onChanges(batch);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let url = `${scheme}://${location.host}${path}`;
    if (seq !== null && epoch !== null) url += `?since=${seq}&epoch=${encodeURIComponent(epoch)}`;
    const socket = new WebSocket(url);
    socket.onopen = () => { delay = 1000; };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") {
        seq = message.seq;
        epoch = message.epoch;
        pending = [];
        setBanner("");
        onSnapshot(message);
      } else if (message.type === "change") {
        if (message.seq <= seq) return;              // already applied
        if (message.seq !== seq + 1) { socket.close(); return; }  // a gap: resynchronise
        seq = message.seq;
        setBanner("");
        pending.push(message);
        if (!scheduled) { scheduled = true; requestAnimationFrame(flush); }
      }
    };
    socket.onclose = () => {
      setBanner(`Disconnected from the wallboard server: information may be out of date. Reconnecting… (since ${clockText()})`);
      setTimeout(connect, delay * (0.5 + Math.random() / 2));
      delay = Math.min(delay * 2, 15000);
    };
  }
  connect();
}

// ---- ward page -------------------------------------------------------------------------

function wardPage() {
  const ward = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
  document.getElementById("ward-name").textContent = ward;
  document.title = `Ward ${ward}`;
  const beds = new Map();

  function render() {
    const now = Date.now();
    document.getElementById("clock").textContent = clockText();
    const list = document.getElementById("beds");
    const sorted = [...beds.values()].sort((a, b) =>
      riskRank(b.score) - riskRank(a.score) || naturalCompare(a.bed, b.bed));
    list.replaceChildren(...sorted.map((view) => bedTile(view, now)));
    document.getElementById("empty").hidden = beds.size > 0;
    const occupied = sorted.filter((v) => v.patient).length;
    const alerts = sorted.reduce((n, v) => n + v.open_alerts.length, 0);
    const overdue = sorted.filter((v) => v.patient && v.next_obs_due && Date.parse(v.next_obs_due) < now).length;
    document.getElementById("summary").textContent =
      `${occupied} patients · ${alerts} open alerts · ${overdue} obs overdue`;
  }

  liveStream(`/ws/wards/${encodeURIComponent(ward)}`, (snapshot) => {
    beds.clear();
    for (const view of snapshot.beds) beds.set(view.bed, view);
    render();
  }, (changes) => {
    for (const change of changes) beds.set(change.bed, change.data);
    render();
  });
  setInterval(render, 30000);
  render();
}

function bedTile(view, now) {
  const tile = el("li", "bed");
  const top = el("div", "top");
  top.append(el("span", "bed-no", `Bed ${view.bed}`));
  tile.append(top);
  const patient = view.patient;
  if (!patient) {
    tile.classList.add("empty");
    tile.append(el("div", "state", "Empty"));
    appendAlerts(tile, view, now);
    return tile;
  }
  const pid = el("span", "pid", shortId(patient.patient_id));
  pid.title = `Patient ${patient.patient_id}`;
  top.append(pid);
  const score = view.score;
  if (!score) {
    tile.classList.add("noscore");
    tile.append(el("div", "state", "No score yet"));
  } else {
    const rank = riskRank(score);
    if (rank >= 0) tile.classList.add(`r${rank}`);
    const line = el("div", "score");
    const total = el("span", "total", score.complete ? score.total : `≥${score.total}`);
    total.setAttribute("aria-label", `${score.system} ${score.complete ? "" : "at least "}${score.total}`);
    line.append(total, el("span", "risk", `${score.risk} risk`));
    tile.append(line);
    const chart = el("div", "chart", `${score.system} · ${score.chart} `);
    if (score.spo2_scale === 2) chart.append(el("span", "flag", "Scale 2"));
    if (!score.complete) {
      const missing = score.missing && score.missing.length ? `: missing ${score.missing.join(", ")}` : "";
      chart.append(el("span", "flag", `incomplete${missing}`));
    }
    tile.append(chart);
    const times = el("div", "times");
    const age = minutesBetween(now, Date.parse(score.time));
    times.append(el("div", null, `Scored ${duration(age)} ago`));
    if (view.next_obs_due) {
      const due = minutesBetween(Date.parse(view.next_obs_due), now);
      times.append(due < 0
        ? el("div", "overdue", `Obs OVERDUE by ${duration(due)}`)
        : el("div", null, `Obs due in ${duration(due)}`));
    }
    tile.append(times);
  }
  appendAlerts(tile, view, now);
  return tile;
}

function appendAlerts(tile, view, now) {
  if (!view.open_alerts.length) return;
  const list = el("ul", "bed-alerts");
  const current = view.patient ? view.patient.patient_id : null;
  for (const alert of view.open_alerts) {
    const age = duration(minutesBetween(now, Date.parse(alert.time)));
    let text = `ALERT ${alert.severity} (${alert.kind}, ${alert.state}) ${age}: ${alert.message}`;
    if (alert.patient_id && alert.patient_id !== current) text += ` [patient ${alert.patient_id}]`;
    list.append(el("li", null, text));
  }
  tile.append(list);
}

// ---- outreach page -----------------------------------------------------------------------

const SEVERITY_ORDER = ["emergency", "urgent", "high", "medium", "low"];

function outreachPage() {
  const alerts = new Map();

  function render() {
    const now = Date.now();
    document.getElementById("clock").textContent = clockText();
    const rank = (a) => { const i = SEVERITY_ORDER.indexOf(a.severity); return i < 0 ? SEVERITY_ORDER.length : i; };
    const sorted = [...alerts.values()].sort((a, b) =>
      (b.state === "escalated") - (a.state === "escalated") || rank(a) - rank(b) ||
      Date.parse(a.time) - Date.parse(b.time));
    const table = document.getElementById("alerts");
    const rows = sorted.map((a) => {
      const row = el("tr", a.state === "escalated" ? "escalated" : null);
      const wardCell = el("td");
      const link = el("a", null, a.ward);
      link.href = `/wards/${encodeURIComponent(a.ward)}`;
      wardCell.append(link);
      row.append(el("td", "sev", a.severity), wardCell, el("td", null, a.bed ?? "–"),
        el("td", null, a.patient_id ?? "–"), el("td", null, a.kind), el("td", null, a.state),
        el("td", null, a.message), el("td", null, duration(minutesBetween(now, Date.parse(a.time)))));
      return row;
    });
    table.tBodies[0].replaceChildren(...rows);
    table.hidden = alerts.size === 0;
    document.getElementById("empty").hidden = alerts.size > 0;
    document.getElementById("summary").textContent = `${alerts.size} open alerts`;
  }

  liveStream("/ws/outreach", (snapshot) => {
    alerts.clear();
    for (const a of snapshot.alerts) alerts.set(a.alert_id, a);
    render();
  }, (changes) => {
    for (const change of changes) {
      if (change.alert.open) alerts.set(change.alert_id, change.alert);
      else alerts.delete(change.alert_id);
    }
    render();
  });
  setInterval(render, 30000);
}

// ---- ward picker -------------------------------------------------------------------------

function indexPage() {
  async function load() {
    try {
      const response = await fetch("/api/wards", { cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      const { wards } = await response.json();
      const list = document.getElementById("wards");
      list.replaceChildren(...wards.map((ward) => {
        const item = el("li");
        const link = el("a", null, `Ward ${ward}`);
        link.href = `/wards/${encodeURIComponent(ward)}`;
        item.append(link);
        return item;
      }));
      document.getElementById("empty").hidden = wards.length > 0;
      setBanner("");
    } catch (error) {
      setBanner(`Cannot reach the wallboard server (${error.message}); retrying.`);
    }
  }
  load();
  setInterval(load, 10000);
}

const PAGES = { index: indexPage, ward: wardPage, outreach: outreachPage };
PAGES[document.body.dataset.page]();
