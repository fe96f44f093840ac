"""Service settings: the shipped example, checks with the field named, and no secret ever shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance import OnlineSettings, Settings, SettingsError, load_settings
from tests import ROOT

EXAMPLE = ROOT / "config" / "service.toml"


def test_the_commented_example_is_valid_and_matches_the_defaults() -> None:
    example, defaults = load_settings(EXAMPLE), Settings()
    assert (example.broker, example.store, example.http, example.model) == (
        defaults.broker,
        defaults.store,
        defaults.http,
        defaults.model,
    )
    assert example.online() == defaults.online()


def test_the_learned_risk_runs_in_shadow_by_default_and_its_settings_reach_the_scorer(
    tmp_path: Path,
) -> None:
    defaults = Settings()
    assert defaults.model.enabled
    assert not defaults.online().model_alerts  # shadow
    assert defaults.online().model_outcomes == {"icu-admission", "cardiac-arrest", "death"}
    path = tmp_path / "service.toml"
    path.write_text(
        "[model]\nalerts = true\nthreshold = 0.35\nlearn = false\noutcome = ['death']\n"
    )
    online = load_settings(path).online()
    assert (online.model_alerts, online.model_threshold, online.model_learn) == (True, 0.35, False)
    assert online.model_outcomes == {"death"}
    path.write_text("[model]\nenabled = false\nalerts = true\n")
    assert not load_settings(path).online().model_alerts  # no model, no model alerts


@pytest.mark.parametrize(
    ("store", "state", "kept"),
    [
        ("sqlite:///var/lib/s/surveillance.db", "", "var/lib/s/surveillance.db-model"),
        ("sqlite:////var/lib/s/surveillance.db", "", "/var/lib/s/surveillance.db-model"),
        ("postgresql://db/s", "", "surveillance-model-ward-surveillance"),
        ("postgresql://db/s", "/srv/model.bin", "/srv/model.bin"),
        ("sqlite:///:memory:", "", None),
        ("sqlite:///:memory:", "/srv/model.bin", "/srv/model.bin"),
    ],
)
def test_the_learned_model_is_kept_beside_the_store_unless_told(
    store: str, state: str, kept: str | None
) -> None:
    settings = load_settings(None, {"store.url": store, "model.state": state})
    assert settings.model_state_path() == (None if kept is None else Path(kept))


def test_flags_override_the_file() -> None:
    settings = load_settings(
        EXAMPLE, {"broker.url": "mqtt://broker:1884", "store.url": "sqlite:///x.db", "http.port": 0}
    )
    assert (settings.broker_url().host, settings.broker_url().port) == ("broker", 1884)
    assert (settings.store.url, settings.http.port) == ("sqlite:///x.db", 0)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[broker]\nurll = 'mqtt://x'\n", "urll"),
        ("[scorer]\nfeed_timeout = -1\n", "feed_timeout"),
        ("[scorer.freshness]\npulse = 10\n", "pulse"),
        ("[scorer]\ntimezone = 'Mars/Olympus'\n", "timezone"),
        ("[http]\nport = 70000\n", "port"),
        ("[store]\nurl = 'mysql://db'\n", "store.url"),
        ("[broker]\nurl = 'http://x'\n", "broker.url"),
        ("[broker]\npassword_env = 'NO_SUCH_VARIABLE_X'\n", "NO_SUCH_VARIABLE_X"),
        ("[broker\n", "service.toml"),
        ("[alerts.ladders.urgent]\nrenotify = 60.0\nrungs = []\n", "alerts.ladders.urgent"),
        (
            "[alerts.ladders.urgent]\nrenotify = 60.0\nrungs = [{after = 5.0, notify = 'x'}]\n",
            "the first at 0 seconds",
        ),
        ("[alerts]\nquiet_after_ack = -1.0\n", "alerts.quiet_after_ack"),
        ("[model]\nthreshold = 0.0\n", "model.threshold"),
        ("[model]\nthreshold = 1.5\n", "model.threshold"),
        ("[model]\nsave_every = 1.0\n", "model.save_every"),
        ("[model]\noutcome = ['icu-admission', 'icu-transfer']\n", "icu-transfer"),
        ("[model]\noutcome = []\n", "model.outcome"),
        ("[model]\nalert = true\n", "alert"),
    ],
)
def test_a_wrong_setting_is_refused_with_the_file_and_field_named(
    tmp_path: Path, text: str, named: str
) -> None:
    path = tmp_path / "service.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"service\.toml") as caught:
        load_settings(path)
    assert named in str(caught.value)


def test_passwords_never_appear_in_descriptions_or_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "s3cret-db")
    path = tmp_path / "service.toml"
    path.write_text(
        "[broker]\nurl = 'mqtt://scorer:s3cret-mq@broker:1883'\n"
        "[store]\nurl = 'postgresql://svc@db:5432/wards'\npassword_env = 'DB_PASSWORD'\n"
    )
    settings = load_settings(path)
    assert settings.broker_url().password == "s3cret-mq"  # noqa: S105 - a test password
    assert "s3cret-db" in settings.store_url()
    text = settings.describe() + repr(settings.broker_url())
    assert "s3cret" not in text
    path.write_text("[broker]\nurl = 'ftp://scorer:s3cret-mq@broker'\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)


def test_a_ladder_in_the_settings_replaces_that_key_only(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(
        "[alerts]\nquiet_after_ack = 600.0\n"
        "[alerts.ladders.urgent]\nrenotify = 300.0\n"
        "rungs = [{after = 0.0, notify = 'nurse-in-charge'}, {after = 900.0, notify = 'outreach'}]\n"
    )
    online = load_settings(path).online()
    assert [(r.after, r.notify) for r in online.ladders["urgent"].rungs] == [
        (0.0, "nurse-in-charge"),
        (900.0, "outreach"),
    ]
    assert online.ladders["emergency"].rungs[0].notify == "outreach"  # the default kept
    assert online.quiet_after_ack == 600.0


def test_the_settings_defaults_are_the_scorers_own() -> None:
    """One default per setting (issue 13: `feed_timeout` was 120 s in one place, 300 s in
    another): the service with no settings file runs the scorer exactly as its defaults say."""
    assert Settings().online() == OnlineSettings()
    assert load_settings(None).scorer.feed_timeout == OnlineSettings().feed_timeout


def test_the_board_beside_the_scorer_has_an_identity_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the locked-down broker each connection's client id is its user name: the board that
    `surveillance run` serves logs in as `wallboard_username`, with the same CA."""
    monkeypatch.setenv("SCORER_PW", "s3cret-scorer")
    monkeypatch.setenv("BOARD_PW", "s3cret-board")
    ca = tmp_path / "hospital-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "service.toml"
    path.write_text(
        "[broker]\nurl = 'mqtts://ward-surveillance@broker.example:8883'\n"
        f"password_env = 'SCORER_PW'\nca_file = '{ca}'\n"
        "wallboard_username = 'ward-surveillance-board'\nwallboard_password_env = 'BOARD_PW'\n"
    )
    settings = load_settings(path)
    scorer, board = settings.broker_url(), settings.board_broker_url()
    assert (scorer.username, scorer.password, scorer.ca_file) == (
        "ward-surveillance",
        "s3cret-scorer",
        str(ca),
    )
    assert (board.username, board.password, board.ca_file, board.tls) == (
        "ward-surveillance-board",
        "s3cret-board",
        str(ca),
        True,
    )
    assert "s3cret" not in repr(board) + str(board) + settings.describe()
    # Without one, the board is the process's own identity (a `surveillance wallboard`).
    assert load_settings(EXAMPLE).board_broker_url() == load_settings(EXAMPLE).broker_url()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[broker]\nca_file = '/no/such/ca.pem'\n", "broker.ca_file"),
        ("[broker]\nwallboard_password_env = 'NO_SUCH_VARIABLE_Y'\n", "NO_SUCH_VARIABLE_Y"),
    ],
)
def test_a_missing_ca_file_or_board_password_is_refused(
    tmp_path: Path, text: str, named: str
) -> None:
    path = tmp_path / "service.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=named):
        load_settings(path)


def test_the_scorers_client_id_may_be_a_secret_kept_out_of_sight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`[broker] client_id_env`: the MQTT client id from the environment (NATS 2.9 cannot
    reserve one for a user), never in the settings' description, the heartbeat or the log."""
    from scoring import load_charts  # noqa: PLC0415
    from surveillance import Service  # noqa: PLC0415

    monkeypatch.setenv("SCORER_CLIENT_ID", "ward-surveillance-6f1c0e9a2b7d")
    settings = load_settings(None, {"broker.client_id_env": "SCORER_CLIENT_ID"})
    assert settings.mqtt_client_id() == "ward-surveillance-6f1c0e9a2b7d"
    assert "6f1c0e9a2b7d" not in settings.describe()
    assert "$SCORER_CLIENT_ID" in settings.describe()
    service = Service(settings, load_charts())
    assert service.link.client_id == "ward-surveillance-6f1c0e9a2b7d"
    beat = service._heartbeat(service.clock())
    assert b"6f1c0e9a2b7d" not in beat.payload
    assert load_settings(None).mqtt_client_id() == "ward-surveillance"
    monkeypatch.delenv("SCORER_CLIENT_ID")
    with pytest.raises(SettingsError, match="SCORER_CLIENT_ID"):
        load_settings(None, {"broker.client_id_env": "SCORER_CLIENT_ID"})
