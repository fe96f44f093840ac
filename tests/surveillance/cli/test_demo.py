"""`surveillance demo` end to end: one process, nothing external, a live ward at the printed URL."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest

pytestmark = pytest.mark.process


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own http URL
        return json.load(response)


def test_the_demo_shows_live_wards_and_stops_cleanly() -> None:
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "surveillance.cli",
            "demo",
            "--http",
            "0",
            "--history",
            "2",
            "--seed",
            "3",
            "--speed",
            "30",  # the simulated staff answer within seconds
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert demo.stdout is not None
        url = None
        for line in demo.stdout:
            if found := re.search(r"http://127\.0\.0\.1:\d+/", line):
                url = found.group(0)
                break
        assert url, "the demo printed no URL"
        deadline = time.monotonic() + 60
        scored: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            wards = get(f"{url}api/wards")["wards"]
            scored = [b for w in wards for b in get(f"{url}api/wards/{w}")["beds"] if b["score"]]
            if len(wards) == 4 and len(scored) >= 20:
                break
            time.sleep(1)
        assert sorted(wards) == ["MAT1", "MED1", "PAED1", "SURG1"]
        assert len(scored) >= 20
        assert {b["score"]["system"] for b in scored} == {"NEWS2", "PEWS", "MEWS"}
        with urllib.request.urlopen(f"{url}wards/MED1", timeout=5) as page:  # noqa: S310
            assert b"<html" in page.read().lower()
        me = get(f"{url}auth/me")  # every page shows this banner (issue 14)
        assert (me["mode"], me["banner"][:15]) == ("demo", "DEMO – no login")
        health = get(f"{url}healthz")
        assert health["ok"] is True
        assert health["scorer"]["store_ok"] is True
        # The simulated staff close the loop: some alert is acknowledged by one of them.
        acked: list[dict[str, Any]] = []
        while time.monotonic() < deadline + 30 and not acked:
            alerts = get(f"{url}api/report?hours=12")["total"]
            acked = [alerts] if alerts["acknowledged"] else []
            time.sleep(1)
        assert acked, "no alert was acknowledged by the demo's responders"
    finally:
        demo.send_signal(signal.SIGINT)
        _, err = demo.communicate(timeout=30)
    assert demo.returncode == 0, err
    assert "Traceback" not in err
