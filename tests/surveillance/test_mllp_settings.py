"""`[mllp]` settings and `surveillance mllp`'s refusals to start (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance import SettingsError, load_settings
from surveillance.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _example_mllp() -> str:
    """The commented `[mllp]` example of config/service.toml, uncommented."""
    text = (ROOT / "config" / "service.toml").read_text(encoding="utf-8")
    section = text[text.index("# [mllp]\n") :].split("\n\n", 1)[0]
    lines = [
        line[2:]
        for line in section.splitlines()
        if line.startswith("# ") and not line.startswith("# #")
    ]
    return "\n".join(lines) + "\n"


def test_the_example_in_config_loads(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text(_example_mllp().replace('username = "mllp"', ""))
    settings = load_settings(config)
    assert settings.mllp.port == 2575
    assert len(settings.mllp.location_map()) == 3
    assert [loc.cohort for loc in settings.mllp.locations] == ["adult", "child", "maternity"]


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[mllp]\nmax_frame_bytes = 300000\n", "max_frame_bytes"),
        ("[mllp]\nidle_timeout = 0\n", "idle_timeout"),
        ("[mllp]\nfoo = 1\n", "foo"),
        ('[[mllp.locations]]\npoint_of_care = "A"\nward = "W"\ncohort = "elderly"\n', "cohort"),
        (
            '[[mllp.locations]]\npoint_of_care = "A"\nward = "W"\ncohort = "adult"\nbed = "x"\n',
            "bed",
        ),
        (
            '[[mllp.locations]]\npoint_of_care = "A"\nward = "W"\ncohort = "adult"\n' * 2,
            "repeat",
        ),
        ('[mllp]\npassword_env = "NO_SUCH_VARIABLE_HERE"\n', "mllp.password_env"),
        ('[mllp]\nallowed_peers = ["10.0.0.0/8", "pas.example"]\n', "mllp.allowed_peers"),
    ],
)
def test_wrong_settings_are_refused_with_the_field_named(
    tmp_path: Path, toml: str, words: str
) -> None:
    config = tmp_path / "s.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError, match=words):
        load_settings(config)


def test_the_command_refuses_to_start_without_a_location_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "s.toml"
    config.write_text("[mllp]\nport = 2575\n")
    assert main(["mllp", "--config", str(config)]) == 2
    assert "[[mllp.locations]] is empty" in capsys.readouterr().err
    config.write_text(
        '[[mllp.locations]]\npoint_of_care = "A"\nward = "bad/ward"\ncohort = "adult"\n'
    )
    assert main(["mllp", "--config", str(config)]) == 2
    assert "mllp.locations" in capsys.readouterr().err
