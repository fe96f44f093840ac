"""`surveillance run` and `wallboard` without a login, and `surveillance display` (issue 14)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from surveillance import Settings, SettingsError, build_auth, load_settings
from surveillance.cli import main
from tests import ROOT
from wallboard import DisplayRegistry

EXAMPLE = ROOT / "config" / "service.toml"


@pytest.mark.parametrize("command", ["run", "wallboard"])
def test_the_wallboard_is_not_served_without_a_login_unless_asked(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "service.toml"
    config.write_text('[http]\nport = 8123\n[store]\nurl = "sqlite:///x.db"\n')
    assert main([command, "--config", str(config)]) == 2
    said = capsys.readouterr().err
    assert "needs a login" in said
    assert "--auth none" in said


def test_the_example_auth_section_is_valid_when_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("# [auth]\n")
    lines = text[start:].splitlines()
    auth = "\n".join(line.removeprefix("# ") for line in lines if not line.startswith("# #"))
    config = tmp_path / "service.toml"
    config.write_text(auth + "\n")
    monkeypatch.setenv("SURVEILLANCE_OIDC_SECRET", "s3cret")
    settings = load_settings(config)
    assert settings.auth is not None
    assert settings.auth.client_secret() == "s3cret"
    assert settings.auth.origins() == ["https://wallboard.example.nhs.uk"]
    assert {rule.role for rule in settings.auth.roles} == {
        "nurse",
        "nurse-in-charge",
        "doctor",
        "viewer",
        "outreach",
    }
    assert "s3cret" not in settings.describe()


@pytest.mark.parametrize(
    ("auth", "says"),
    [
        ('role = "matron"', "unknown role 'matron'"),
        ("wards = []", "no wards"),
        ('issuer = "idp"', "auth.issuer"),
        ('client_secret_env = "NOT_SET_ANYWHERE"', "NOT_SET_ANYWHERE is not set"),
    ],
)
def test_a_wrong_auth_section_is_refused_with_the_field_named(
    auth: str, says: str, tmp_path: Path
) -> None:
    fields = {
        "issuer": '"https://idp.test"',
        "client_id": '"wb"',
        "client_secret_file": '"/nonexistent"',
        "redirect_url": '"https://wb.test/auth/callback"',
    }
    key, _, value = auth.partition(" = ")
    rule = {"value": '"g"', "role": '"nurse"', "wards": '["7A"]'}
    if key in rule:
        rule[key] = value
    else:
        fields[key] = value
    body = "\n".join(f"{k} = {v}" for k, v in fields.items())
    roles = "{ " + ", ".join(f"{k} = {v}" for k, v in rule.items()) + " }"
    config = tmp_path / "service.toml"
    config.write_text(f"[auth]\n{body}\nroles = [{roles}]\n")
    with pytest.raises(SettingsError, match=r"(?s).*" + says.replace("(", r"\(")):
        load_settings(config)


def test_display_enrol_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "displays.json"
    base = ["display", "--file", str(file)]
    assert main([*base, "enrol", "--ward", "7A", "--url", "https://wb.test", "--label", "bay"]) == 0
    printed = capsys.readouterr().out
    assert "https://wb.test/auth/display/enrol?code=" in printed
    code = printed.rsplit("code=", 1)[1].strip()
    registry = DisplayRegistry(file)
    [display] = registry.displays()
    assert (display.ward, display.label, display.secret_sha256) == ("7A", "bay", None)
    assert code not in file.read_text()  # only its digest is kept
    found = registry.redeem(code)
    assert found is not None
    credential = found[1]
    assert registry.check(credential) is not None
    assert registry.redeem(code) is None  # once
    assert main([*base, "list"]) == 0
    assert "enrolled" in capsys.readouterr().out
    assert main([*base, "revoke", display.id]) == 0
    assert registry.check(credential) is None
    assert main([*base, "revoke", "d-nope"]) == 1


def test_an_enrolment_code_expires(tmp_path: Path) -> None:
    now = [1000.0]
    registry = DisplayRegistry(tmp_path / "d.json", clock=lambda: now[0])
    _, code = registry.enrol("7A", code_seconds=60)
    now[0] += 61
    assert registry.redeem(code) is None
    assert registry.check("d-x.guess") is None


def test_no_login_is_said_in_the_log_and_the_demo_says_so_on_its_pages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="surveillance"):
        none = build_auth(Settings(), "none")
    assert "WITHOUT LOGIN (--auth none)" in caplog.text
    assert (none.mode, none.banner is not None) == ("none", True)
    demo = build_auth(Settings(), "demo")
    assert demo.banner is not None
    assert demo.banner.startswith("DEMO – no login")
    with pytest.raises(SettingsError, match=r"\[auth\]"):
        build_auth(Settings(), None)
