"""The command line's broker identities: `run` gives its board an identity of its own, and
`simulate`/`replay` take the password from the environment and trust a private CA."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance.cli import main


def test_run_refuses_to_share_the_scorers_identity_with_its_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "service.toml"
    config.write_text("[broker]\nurl = 'mqtt://ward-surveillance:pw@127.0.0.1:1'\n")
    assert main(["run", "--config", str(config), "--auth", "none"]) == 2
    assert "broker.wallboard_username" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["simulate", "replay"])
def test_a_missing_password_variable_or_ca_file_is_a_usage_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.delenv("NO_SUCH_PASSWORD_VAR", raising=False)
    recording = tmp_path / "r.jsonl"
    recording.write_text("")
    source = ["simulate", "--hours", "1"] if command == "simulate" else ["replay", str(recording)]
    broker = ["--broker", "mqtts://simulator@127.0.0.1:1", "--no-progress"]
    assert main([*source, *broker, "--password-env", "NO_SUCH_PASSWORD_VAR"]) == 2
    assert "NO_SUCH_PASSWORD_VAR" in capsys.readouterr().err
    assert main([*source, *broker, "--ca-file", str(tmp_path / "none.pem")]) == 2
    assert "none.pem" in capsys.readouterr().err


@pytest.mark.parametrize("board", ["ward-surveillance", ""])
def test_run_refuses_a_board_identity_that_is_the_scorers_own_or_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], board: str
) -> None:
    """Review of issue 14: naming the scorer's own user (or an empty one) as the board's passed
    the check; on the locked broker (use_username_as_clientid) the two connections then share
    one client id and cut each other off, the scorer's session included, for ever."""
    config = tmp_path / "service.toml"
    config.write_text(
        "[broker]\nurl = 'mqtt://ward-surveillance:pw@127.0.0.1:1'\n"
        f"wallboard_username = '{board}'\n"
    )
    assert main(["run", "--config", str(config), "--auth", "none"]) == 2
    assert "not the scorer's" in capsys.readouterr().err
