"""The patient view's history, read back from a real store through the online scorer's output."""

from __future__ import annotations

from pathlib import Path

from scoring import ChartSet
from surveillance import OnlineScorer, OnlineSettings, StoreHistory
from surveillance.store import open_store
from tests.surveillance.test_online import NORMAL, admit, at, device, obs


async def test_device_scores_plot_only_what_the_device_measured(
    charts: ChartSet, tmp_path: Path
) -> None:
    scorer = OnlineScorer(charts, OnlineSettings(device_persistence=0))
    out = scorer.handle([admit(), obs(NORMAL, t=0, msg_id="set"), device({"heart_rate": 99}, t=60)])
    async with open_store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        await store.write(out.batch)
        history = StoreHistory()
        history.store = store
        manual, wearable = await history.scores("P1", at(-1), viewer="Dr A")
        alerts = await history.alerts("P1", at(-1), viewer="Dr A")
        assert await history.scores("P1", at(61), viewer="Dr A") == []  # since: nothing older
    assert (manual["source"], manual["vitals"]["temperature"]) == ("manual", 37.0)
    assert (wearable["source"], wearable["vitals"]) == ("wearable", {"heart_rate": 99})
    assert wearable["scored_vitals"]["temperature"] == 37.0  # the snapshot scored, kept too
    assert wearable["total"] == manual["total"] + 1  # HR 99: 1 point
    assert alerts == []
