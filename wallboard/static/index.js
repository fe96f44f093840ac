// The ward picker: every ward seen on the broker, with a one-line summary of each.
import { el, every, isHigh, setBanner, setText, startClock, wardHref } from "/static/common.js";

async function json(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

function describe(snapshot) {
  const beds = snapshot.beds || [];
  const occupied = beds.filter((b) => b.patient).length;
  const high = beds.filter((b) => isHigh(b.score)).length;
  const late = beds.filter((b) => b.obs && (b.obs.status === "late" || b.obs.status === "missed")).length;
  const alerts = beds.reduce((n, b) => n + b.open_alerts.length, 0);
  return { text: `${beds.length} beds · ${occupied} occupied · ${high} high · ${late} late obs · ${alerts} open alert${alerts === 1 ? "" : "s"}`,
    attention: high + late + alerts > 0 };
}

async function load() {
  try {
    const { wards } = await json("/api/wards");
    const snapshots = await Promise.all(wards.map((ward) => json(`/api/wards/${encodeURIComponent(ward)}`).catch(() => null)));
    document.getElementById("wards").replaceChildren(...wards.map((ward, i) => {
      const item = el("li");
      const link = el("a");
      link.href = wardHref(ward);
      link.append(el("span", "ward-title", `Ward ${ward}`));
      if (snapshots[i]) {
        const { text, attention } = describe(snapshots[i]);
        link.append(el("span", `ward-summary${attention ? " attention" : ""}`, text));
      }
      item.append(link);
      return item;
    }));
    document.getElementById("empty").hidden = wards.length > 0;
    setText(document.getElementById("summary"), `${wards.length} ward${wards.length === 1 ? "" : "s"}`);
    setBanner("http", null);
  } catch (error) {
    setBanner("http", `⚠ Cannot reach the wallboard server (${error.message}); retrying.`);
  }
}

startClock();
every(15000, load);
