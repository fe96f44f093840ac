"""The dashboard's targets in the service settings (`[dashboard] targets`), the service and the
command line reading them, and `surveillance dashboard --report` (issue 16 items 2 and 5)."""

from __future__ import annotations

import asyncio
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from surveillance import SettingsError, load_settings
from surveillance.cli import main
from surveillance.store import open_store
from tests.surveillance.dashboard.builder import Hospital, at
from tests.surveillance.dashboard.test_measures import three_patients


def _settings(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "service.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_targets_in_the_settings_are_read_and_checked(tmp_path: Path) -> None:
    path = _settings(
        tmp_path,
        "[dashboard]\ntargets = { obs_on_time = 95, sepsis_treated_1h = 90.5, "
        "fall_per_1000_bed_days = 0 }\n",
    )
    assert load_settings(path).dashboard.checked_targets() == {
        "obs_on_time": 95.0,
        "sepsis_treated_1h": 90.5,
        "fall_per_1000_bed_days": 0.0,
    }
    assert load_settings(None).dashboard.checked_targets() == {}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("targets = { obs_on_tme = 95 }", "unknown measure 'obs_on_tme'"),
        ('targets = { obs_on_time = "95" }', "target for obs_on_time: '95' is not a finite number"),
        ("targets = { obs_on_time = true }", "target for obs_on_time: True is not a finite number"),
        ("targets = { obs_on_time = nan }", "target for obs_on_time: nan is not a finite number"),
        ("targets = { obs_on_time = inf }", "target for obs_on_time: inf is not a finite number"),
        ("targets = { obs_on_time = [95] }", "is not a finite number"),
        ("timezone = 'Europe/London'", "timezone"),  # the hospital's zone is [scorer] timezone
        ("targets = 95", "dashboard.targets"),
    ],
)
def test_a_wrong_target_is_refused_at_start_with_the_file_and_field_named(
    tmp_path: Path, text: str, said: str
) -> None:
    path = _settings(tmp_path, f"[dashboard]\n{text}\n")
    with pytest.raises(SettingsError, match=r"service\.toml") as caught:
        load_settings(path)
    assert said in str(caught.value)


def test_the_service_refuses_to_start_on_a_wrong_target(tmp_path: Path, capsys) -> None:
    path = _settings(tmp_path, "[dashboard]\ntargets = { falls = 5 }\n")
    assert main(["run", "--config", str(path)]) == 2
    assert "dashboard.targets: target for an unknown measure 'falls'" in capsys.readouterr().err


@pytest.fixture
def store(tmp_path: Path) -> str:
    h = Hospital()
    three_patients(h)
    h.event("P2", "A", "fall", at(40))
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def write() -> None:
        async with open_store(url) as s:
            await s.write(h.batch)

    asyncio.run(write())
    return url


WINDOW = ["--since", "2026-11-02T00:00Z", "--until", "2026-11-09T00:00Z"]


def _targets(document: dict[str, Any]) -> dict[str, float | None]:
    return {m["id"]: m["target"] for m in document["measures"] if m["target"] is not None}


def test_the_command_uses_the_settings_targets_unless_given_a_file(
    tmp_path: Path, store: str, capsys
) -> None:
    config = _settings(
        tmp_path,
        f'[store]\nurl = "{store}"\n[dashboard]\ntargets = {{ obs_on_time = 95 }}\n',
    )
    assert main(["dashboard", "--config", str(config), *WINDOW]) == 0
    assert _targets(json.loads(capsys.readouterr().out)) == {"obs_on_time": 95}
    given = tmp_path / "targets.toml"
    given.write_text("aki_acknowledged = 99\n")
    assert main(["dashboard", "--config", str(config), "--targets", str(given), *WINDOW]) == 0
    assert _targets(json.loads(capsys.readouterr().out)) == {"aki_acknowledged": 99}


class _Text(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def words(self) -> str:
        return " ".join(" ".join(self.parts).split())


def test_the_command_prints_the_monthly_report_as_one_standalone_page(
    tmp_path: Path, store: str, capsys
) -> None:
    config = _settings(
        tmp_path, f'[store]\nurl = "{store}"\n[dashboard]\ntargets = {{ obs_on_time = 95 }}\n'
    )
    assert main(["dashboard", "--config", str(config), "--report", "2026-11", "--ward", "A"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    page = _Text(out)
    assert "style" in page.tags  # its stylesheet inside: no server beside a file
    assert "link" not in page.tags
    assert "script" not in page.tags
    words = page.words()
    assert "Ward A · November 2026" in words
    assert "Falls 1 " in words  # the harms table: the fall on ward A
    assert "target 95 %" in words


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--report", "2026-13"], "13 is not a month"),
        (["--report", "11/2026"], "is not YYYY-MM"),
        (["--report", "9000-01"], "has not begun yet"),
        (["--report", "0001-01"], "starts in 0002"),
        (["--report", "2026-11", "--ward", "A", "--ward", "B"], "one --ward at most"),
        (["--report", "2026-11", "--format", "csv"], "do not apply"),
        (["--report", "2026-11", "--days", "3"], "do not apply"),
    ],
)
def test_a_report_that_cannot_be_made_is_exit_status_2(store: str, capsys, args, said) -> None:
    assert main(["dashboard", "--store", store, *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert said in err
