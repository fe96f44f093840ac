"""The service's settings: a TOML file, typed and checked before anything starts.

Secrets never appear in logs or error messages: `Settings.describe()` is what gets logged, and
it shows URLs without passwords. A password may stay out of the file altogether: name an
environment variable in `password_env` and the service reads it from there.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from ingest import EVENT_KINDS, MAX_PAYLOAD, BrokerURL, Location, LocationMap, parse_broker_url
from surveillance.dashboard import check_targets
from surveillance.online import (
    DEFAULT_ALERT_RESPONSES,
    DEFAULT_FRESHNESS,
    DEFAULT_LADDERS,
    DEFAULT_MODEL_OUTCOMES,
    Ladder,
    LadderSpec,
    OnlineSettings,
)
from wallboard import ROLES

Seconds = Annotated[float, msgspec.Meta(ge=0)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]

_SCORER: Final = OnlineSettings()
"""The online scorer's own defaults: a default here refers to one of these, never a copy."""


class SettingsError(ValueError):
    """The settings are wrong; the message names the file and the field."""


class BrokerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[broker]`: where the MQTT broker is and who the service is there."""

    url: str = "mqtt://127.0.0.1:1883"
    password_env: str | None = None
    client_id: Annotated[str, msgspec.Meta(min_length=1)] = "ward-surveillance"
    client_id_env: str | None = None
    """The scorer's MQTT client id from this environment variable, kept secret like a password
    (`client_id` is then only the service's public name: heartbeat, spool, logs). For a broker
    that cannot reserve a client id for one user (NATS 2.9): whoever knows the scorer's client
    id can take its session over, so it must not be guessable nor published."""
    action_key_env: str | None = None
    """The key the wallboard servers sign a verified person's identity with and the scorer
    checks it by (`ingest.sign_identity`), from this environment variable (32 characters or
    more), the same for the scorer and every wallboard server. Without it `surveillance run`
    makes one for itself and its own board; identities from other servers are then recorded
    as not verified."""
    prefix: str = ""
    keepalive: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    ca_file: str | None = None
    wallboard_username: str | None = None
    wallboard_password_env: str | None = None
    wallboard_wards: list[str] = msgspec.field(default_factory=lambda: ["+"])


class StoreSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[store]`: the database, and how writes are batched."""

    url: str = "sqlite:///surveillance.db"
    password_env: str | None = None
    flush_records: Annotated[int, msgspec.Meta(ge=1)] = 5000
    flush_interval: Seconds = 0.05
    spool: str | None = None


class HttpSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[http]`: the wallboard server (CONTRACT §8); port 0 turns it off."""

    host: str = "127.0.0.1"
    port: Port = 8000


class ScorerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[scorer]`: the online scorer (see `surveillance.online`)."""

    charts: list[str] = msgspec.field(default_factory=list)
    timezone: str = "Europe/London"
    device_persistence: Seconds = 60.0
    feed_timeout: Seconds = _SCORER.feed_timeout
    dedupe_window: Seconds = 900.0
    dedupe_max: Annotated[int, msgspec.Meta(ge=1000)] = 1_000_000
    max_skew: Seconds = 300.0
    max_age: Seconds = 7 * 24 * 3600.0
    event_grace: Seconds = _SCORER.event_grace
    flood_per_minute: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    alert_responses: list[str] = msgspec.field(
        default_factory=lambda: sorted(DEFAULT_ALERT_RESPONSES)
    )
    freshness: dict[str, Seconds] = msgspec.field(default_factory=dict)


class AlertSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[alerts]`: the alert lifecycle (see `surveillance.online._lifecycle`)."""

    hysteresis: Seconds = 3600.0
    quiet_after_ack: Seconds = 1800.0
    overdue: bool = True
    first_set: Seconds = _SCORER.first_set
    ladders: dict[str, LadderSpec] = msgspec.field(default_factory=dict)


class ModelSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[model]`: the learned deterioration risk (issue 15), in shadow unless `alerts`."""

    enabled: bool = True
    path: str = ""
    """The model to start from; "": the default one shipped with the project."""
    state: str = ""
    """Where the model, what it has learned and its pending predictions are kept (and loaded
    from at start when there); "": beside a SQLite store, else in the working directory."""
    save_every: Annotated[float, msgspec.Meta(ge=10)] = 900.0
    learn: bool = True
    alerts: bool = False
    threshold: Annotated[float, msgspec.Meta(gt=0, le=1)] = _SCORER.model_threshold
    outcome: list[str] = msgspec.field(default_factory=lambda: sorted(DEFAULT_MODEL_OUTCOMES))


class DashboardSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[dashboard]`: the safety dashboard (issue 16); its time zone is `scorer.timezone`."""

    targets: dict[str, Any] = msgspec.field(default_factory=dict)
    """Each measure's target by id (`obs_on_time = 95`), for the SPC assurance icon: checked
    by `surveillance.dashboard.check_targets` (a known measure, a finite number)."""

    def checked_targets(self) -> dict[str, float]:
        """The targets, checked.

        Raises:
            SettingsError: an unknown measure, or a target that is not a finite number.
        """
        try:
            return check_targets(self.targets)
        except ValueError as error:
            raise SettingsError(f"dashboard.targets: {error}") from None


class OutboundSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[outbound]`: scores and alert events out to the patient record and alert managers
    (issue 17; `surveillance._outbound`). Nothing is sent unless an endpoint is given."""

    topics: bool = False
    """Publish each bed's latest score as FHIR (`.../score/fhir`) and HL7 v2 (`.../score/hl7v2`),
    retained, and each alert event as an IHE PCD-04 ORU^R40 on `wards/{ward}/alerts/acm`."""
    mllp_host: str | None = None
    """The HL7 v2 (MLLP) endpoint that takes every score as an ORU^R01 (e.g. the EPR's engine)."""
    mllp_port: Port = 2575
    acm_host: str | None = None
    """An IHE ACM alert manager or paging gateway (MLLP) that takes every alert event as ORU^R40."""
    acm_port: Port = 2575
    fhir_base: str | None = None
    """A FHIR R4 server's base URL: each score is PUT as `Observation/{id}` (stable id)."""
    fhir_token_file: str | None = None
    """A file holding the token sent as `Authorization: Bearer <token>` (read at each start)."""
    fhir_token_env: str | None = None
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    retry_first: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    retry_cap: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    queue: str | None = None
    """The durable outbound queue (SQLite); default beside the spool (`<spool>-outbound`)."""
    nhs_number: bool = False
    """Name the patient by the NHS number system when the patient id is a valid NHS number."""
    patient_system: str = ""
    """The FHIR identifier system of patient ids otherwise ("" = ours, a URN)."""
    sending_application: str = "WARD-SURVEILLANCE"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    assigning_authority: str = ""

    @property
    def delivers(self) -> bool:
        """Whether any endpoint is configured (the queue and its senders run only then)."""
        return bool(self.mllp_host or self.acm_host or self.fhir_base)

    def token(self) -> str | None:
        """The FHIR server's bearer token, from `fhir_token_env` or `fhir_token_file`."""
        if self.fhir_token_env:
            return _secret(self.fhir_token_env)
        if self.fhir_token_file:
            try:
                return Path(self.fhir_token_file).read_text(encoding="utf-8").strip()
            except OSError as error:
                msg = f"outbound.fhir_token_file: {error.strerror}"
                raise SettingsError(msg) from None
        return None


class RoleRule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[[auth.roles]]`: people whose roles claim holds `value` get `role` on `wards`."""

    value: Annotated[str, msgspec.Meta(min_length=1)]
    role: str
    wards: list[str]


class AuthSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[auth]`: login through the hospital's identity provider (OpenID Connect), and who may
    do what on which ward. Without it, `run` and `wallboard` refuse to serve the wallboard
    unless `--auth none` is given."""

    issuer: Annotated[str, msgspec.Meta(min_length=1)]
    client_id: Annotated[str, msgspec.Meta(min_length=1)]
    client_secret_env: str | None = None
    client_secret_file: str | None = None
    redirect_url: Annotated[str, msgspec.Meta(min_length=1)]
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    scope: str = "openid profile email"
    session_seconds: Annotated[float, msgspec.Meta(ge=60)] = 8 * 3600.0
    stepup_seconds: Annotated[float, msgspec.Meta(ge=30)] = 300.0
    roles_claim: str = "groups"
    name_claims: list[str] = msgspec.field(
        default_factory=lambda: ["name", "preferred_username", "email"]
    )
    roles: list[RoleRule] = msgspec.field(default_factory=list)
    displays: str | None = None

    def client_secret(self) -> str:
        """The client secret, from `client_secret_env` or `client_secret_file`."""
        if self.client_secret_env:
            return _secret(self.client_secret_env)
        if self.client_secret_file:
            try:
                return Path(self.client_secret_file).read_text(encoding="utf-8").strip()
            except OSError as error:
                msg = f"auth.client_secret_file: {error.strerror}"
                raise SettingsError(msg) from None
        msg = "auth: give client_secret_env or client_secret_file"
        raise SettingsError(msg)

    def origins(self) -> list[str]:
        """The allowed origins: those listed, else the redirect URL's."""
        if self.allowed_origins:
            return [origin.rstrip("/") for origin in self.allowed_origins]
        parts = urlsplit(self.redirect_url)
        return [f"{parts.scheme}://{parts.netloc}"]


class MllpSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[mllp]`: the HL7 v2 listener of `surveillance mllp` (README, "HL7 v2 over MLLP")."""

    host: str = "127.0.0.1"
    port: Port = 2575
    max_frame_bytes: Annotated[int, msgspec.Meta(ge=1024, le=MAX_PAYLOAD)] = MAX_PAYLOAD
    idle_timeout: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    frame_timeout: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    """Seconds a frame may take from its first byte to its end (a sender trickling bytes
    cannot hold a connection for ever)."""
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 64
    allowed_peers: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1/8", "::1/128"])
    """The addresses (IP networks) a sender may connect from; any other connection is closed
    unanswered and logged. MLLP has no login: this, the network and the bind address are
    what stop anyone else from moving patients."""
    publish_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    journal: str = ""
    """The listener's journal (SQLite): "" puts it beside a SQLite store, else
    `surveillance-mllp-<client_id>.db` in the working directory."""
    journal_days: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    client_id: str = ""
    """Its MQTT client id ("": `<broker.client_id>-mllp`)."""
    username: str | None = None
    """Its own MQTT user on a locked-down broker (else the broker URL's)."""
    password_env: str | None = None
    locations: list[Location] = msgspec.field(default_factory=list)

    def peers(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """`allowed_peers` as networks.

        Raises:
            SettingsError: an entry that is not an IP address or network.
        """
        try:
            return [ipaddress.ip_network(peer, strict=False) for peer in self.allowed_peers]
        except ValueError as error:
            raise SettingsError(f"mllp.allowed_peers: {error}") from None

    def location_map(self) -> LocationMap:
        """The location map.

        Raises:
            SettingsError: an entry repeats another or names an impossible id.
        """
        try:
            return LocationMap(self.locations)
        except ValueError as error:
            raise SettingsError(f"mllp.locations: {error}") from None


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything `surveillance run` needs."""

    broker: BrokerSettings = msgspec.field(default_factory=BrokerSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    scorer: ScorerSettings = msgspec.field(default_factory=ScorerSettings)
    alerts: AlertSettings = msgspec.field(default_factory=AlertSettings)
    model: ModelSettings = msgspec.field(default_factory=ModelSettings)
    dashboard: DashboardSettings = msgspec.field(default_factory=DashboardSettings)
    outbound: OutboundSettings = msgspec.field(default_factory=OutboundSettings)
    auth: AuthSettings | None = None
    mllp: MllpSettings = msgspec.field(default_factory=MllpSettings)
    log_level: str = "INFO"

    def broker_url(self) -> BrokerURL:
        """The broker, with its password from `password_env` when one is named, and the
        authorities to trust from `ca_file`."""
        url = dataclasses.replace(parse_broker_url(self.broker.url), ca_file=self.broker.ca_file)
        if self.broker.password_env:
            url = dataclasses.replace(url, password=_secret(self.broker.password_env))
        return url

    def action_key(self) -> bytes | None:
        """The identity-signing key from `action_key_env`, if one is named."""
        env = self.broker.action_key_env
        return _secret(env).encode() if env else None

    def mqtt_client_id(self) -> str:
        """The scorer's MQTT client id: the secret in `client_id_env` when one is named, else
        `client_id`."""
        env = self.broker.client_id_env
        return _secret(env) if env else self.broker.client_id

    def board_broker_url(self) -> BrokerURL:
        """The broker as the wallboard server meets it: as `wallboard_username` (password from
        `wallboard_password_env`) when one is given, else as `broker_url()`.

        A locked-down broker (config/mosquitto-secure.conf) makes each connection's client id
        its user name, so the scorer and the board it serves beside it need an identity each.
        """
        url = self.broker_url()
        if self.broker.wallboard_username is None:
            return url
        env = self.broker.wallboard_password_env
        return dataclasses.replace(
            url, username=self.broker.wallboard_username, password=_secret(env) if env else None
        )

    def store_url(self) -> str:
        """The store URL, with its password from `password_env` when one is named."""
        if not self.store.password_env:
            return self.store.url
        parts = urlsplit(self.store.url)
        user = quote(parts.username or "", safe="")
        password = quote(_secret(self.store.password_env), safe="")
        host = parts.hostname or ""
        netloc = f"{user}:{password}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))

    def mllp_broker_url(self) -> BrokerURL:
        """The broker as the MLLP listener meets it: as `mllp.username` when one is given."""
        url = self.broker_url()
        if self.mllp.username is None:
            return url
        env = self.mllp.password_env
        return dataclasses.replace(
            url, username=self.mllp.username, password=_secret(env) if env else None
        )

    def mllp_journal_path(self) -> Path:
        """The MLLP listener's journal (`mllp.journal`)."""
        if self.mllp.journal:
            return Path(self.mllp.journal)
        url = self.store.url
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            return Path(url.removeprefix("sqlite:///") + "-mllp")
        return Path(f"surveillance-mllp-{self.broker.client_id}.db")

    def spool_path(self) -> Path:
        """The local spool (`store.spool`): by default beside a SQLite store, else
        `surveillance-spool-<client_id>.db` in the working directory."""
        if self.store.spool:
            return Path(self.store.spool)
        url = self.store.url
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            return Path(url.removeprefix("sqlite:///") + "-spool")
        return Path(f"surveillance-spool-{self.broker.client_id}.db")

    def outbound_queue_path(self) -> Path:
        """The durable outbound queue (`outbound.queue`): by default beside the spool."""
        if self.outbound.queue:
            return Path(self.outbound.queue)
        spool = self.spool_path()
        return spool.with_name(spool.name + "-outbound")

    def model_state_path(self) -> Path | None:
        """Where the learned model is kept (`model.state`): by default beside a SQLite store
        (`<store>-model`); with an in-memory store nowhere (None: a store that forgets at
        exit keeps no model either, and never picks up one another run left in the working
        directory); else `surveillance-model-<client_id>` in the working directory."""
        if self.model.state:
            return Path(self.model.state)
        url = self.store.url
        if url.startswith("sqlite:///") and url.endswith(":memory:"):
            return None
        if url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///") + "-model")
        return Path(f"surveillance-model-{self.broker.client_id}")

    def online(self, *, action_key: bytes | None = None) -> OnlineSettings:
        """The online scorer's settings (`action_key`: the identity-signing key when it is not
        in the settings, e.g. one `surveillance run` made for itself and its board)."""
        scorer = self.scorer
        return OnlineSettings(
            action_key=action_key or self.action_key(),
            freshness={**DEFAULT_FRESHNESS, **scorer.freshness},
            device_persistence=scorer.device_persistence,
            feed_timeout=scorer.feed_timeout,
            dedupe_window=scorer.dedupe_window,
            dedupe_max=scorer.dedupe_max,
            max_skew=scorer.max_skew,
            max_age=scorer.max_age,
            event_grace=scorer.event_grace,
            flood_per_minute=scorer.flood_per_minute,
            alert_responses=frozenset(scorer.alert_responses),
            ladders={**DEFAULT_LADDERS, **self.ladders()},
            hysteresis=self.alerts.hysteresis,
            quiet_after_ack=self.alerts.quiet_after_ack,
            overdue_alerts=self.alerts.overdue,
            first_set=self.alerts.first_set,
            model_alerts=self.model.enabled and self.model.alerts,
            model_threshold=self.model.threshold,
            model_outcomes=frozenset(self.model.outcome),
            model_learn=self.model.learn,
            prefix=self.broker.prefix,
            tz=ZoneInfo(scorer.timezone),
        )

    def ladders(self) -> dict[str, Ladder]:
        """The ladders the settings file sets (each replaces the default of its key)."""
        ladders = {}
        for key, spec in self.alerts.ladders.items():
            try:
                ladders[key] = spec.ladder()
            except ValueError as error:
                msg = f"alerts.ladders.{key}: {error}"
                raise SettingsError(msg) from None
        return ladders

    def describe(self) -> str:
        """One line for the log: where everything is, with no secrets."""
        http = "off" if self.http.port == 0 else f"http://{self.http.host}:{self.http.port}"
        board = self.broker.wallboard_username
        board = f", wallboard as {board!r}" if board else ""
        login = f"login at {self.auth.issuer}" if self.auth is not None else "no [auth]"
        return (
            f"broker {parse_broker_url(self.broker.url)} (client id {self.broker.client_id!r}"
            f"{f', the secret one in ${self.broker.client_id_env}' if self.broker.client_id_env else ''}, "
            f"prefix {self.broker.prefix!r}{board}), store {redact(self.store.url)}, wallboard {http} "
            f"({login})"
        )


def load_settings(path: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read and check the settings file (or the defaults), then apply `overrides`.

    `overrides` maps dotted names (`broker.url`, `store.url`, `http.port`) to values, as the
    command line's flags give them.

    Raises:
        SettingsError: the file cannot be read or a value is wrong (file and field named).
    """
    where = str(path) if path is not None else "the defaults"
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            msg = f"{path}: {exc}"
            raise SettingsError(msg) from exc
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        raw.setdefault(section, {})[key] = value
    try:
        settings = msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:
        msg = f"{where}: {exc}"
        raise SettingsError(msg) from exc
    _check(settings, where)
    return settings


def _check(settings: Settings, where: str) -> None:
    problems = []
    try:
        parse_broker_url(settings.broker.url)
    except ValueError:  # its message quotes the URL, password and all
        problems.append(
            f"broker.url: {redact(settings.broker.url)!r} is not "
            "mqtt://[user[:password]@]host[:port] or mqtts://..."
        )
    scheme = urlsplit(settings.store.url).scheme
    if scheme not in ("sqlite", "postgresql", "postgres"):
        problems.append(
            f"store.url: {redact(settings.store.url)!r} is not sqlite:///PATH or postgresql://..."
        )
    try:
        ZoneInfo(settings.scorer.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"scorer.timezone: unknown time zone {settings.scorer.timezone!r}")
    unknown = set(settings.scorer.freshness) - set(DEFAULT_FRESHNESS)
    if unknown:
        problems.append(
            f"scorer.freshness: unknown keys {sorted(unknown)} (known: {sorted(DEFAULT_FRESHNESS)})"
        )
    for name, env in (
        ("broker.password_env", settings.broker.password_env),
        ("broker.wallboard_password_env", settings.broker.wallboard_password_env),
        ("broker.client_id_env", settings.broker.client_id_env),
        ("broker.action_key_env", settings.broker.action_key_env),
        ("store.password_env", settings.store.password_env),
        ("mllp.password_env", settings.mllp.password_env),
    ):
        if env and env not in os.environ:
            problems.append(f"{name}: environment variable {env} is not set")
    key_env = settings.broker.action_key_env
    if key_env and len(os.environ.get(key_env, "x" * 32)) < 32:
        problems.append(f"broker.action_key_env: {key_env} holds fewer than 32 characters")
    if settings.broker.ca_file is not None and not Path(settings.broker.ca_file).is_file():
        problems.append(f"broker.ca_file: no file {settings.broker.ca_file!r}")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append("log_level: one of DEBUG, INFO, WARNING, ERROR")
    try:
        settings.ladders()
    except SettingsError as error:
        problems.append(str(error))
    unknown_events = set(settings.model.outcome) - set(EVENT_KINDS)
    if unknown_events:
        problems.append(
            f"model.outcome: unknown clinical events {sorted(unknown_events)} (known: "
            f"{sorted(EVENT_KINDS)})"
        )
    if not settings.model.outcome:
        problems.append("model.outcome: name at least one clinical event (the model's outcome)")
    try:
        settings.dashboard.checked_targets()
    except SettingsError as error:
        problems.append(str(error))
    problems += _check_outbound(settings.outbound)
    if settings.auth is not None:
        problems += _check_auth(settings.auth)
    for check in (settings.mllp.location_map, settings.mllp.peers):
        try:
            check()
        except SettingsError as error:
            problems.append(str(error))
    if problems:
        raise SettingsError(f"{where}: " + "; ".join(problems))


def _check_outbound(outbound: OutboundSettings) -> list[str]:
    problems = []
    if outbound.fhir_base is not None:
        parts = urlsplit(outbound.fhir_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                f"outbound.fhir_base: {redact(outbound.fhir_base)!r} is not an http(s) URL"
            )
    if outbound.fhir_token_env and outbound.fhir_token_env not in os.environ:
        problems.append(
            f"outbound.fhir_token_env: environment variable {outbound.fhir_token_env} is not set"
        )
    if outbound.fhir_token_file and not Path(outbound.fhir_token_file).is_file():
        problems.append(f"outbound.fhir_token_file: no file {outbound.fhir_token_file!r}")
    if outbound.retry_cap < outbound.retry_first:
        problems.append("outbound.retry_cap: less than retry_first")
    return problems


def _check_auth(auth: AuthSettings) -> list[str]:
    problems = []
    for name, url in (("issuer", auth.issuer), ("redirect_url", auth.redirect_url)):
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            problems.append(f"auth.{name}: {url!r} is not an http(s) URL")
    if not auth.client_secret_env and not auth.client_secret_file:
        problems.append("auth: give client_secret_env or client_secret_file (never the secret)")
    if auth.client_secret_env and auth.client_secret_env not in os.environ:
        problems.append(
            f"auth.client_secret_env: environment variable {auth.client_secret_env} is not set"
        )
    for rule in auth.roles:
        if rule.role not in ROLES:
            problems.append(
                f"auth.roles: {rule.value!r}: unknown role {rule.role!r} (known: {sorted(ROLES)})"
            )
        if not rule.wards:
            problems.append(f'auth.roles: {rule.value!r}: no wards (list them, or ["*"] for all)')
    return problems


_SECRET_QUERY: Final = re.compile(r"(?i)((?:^|&)(?:ssl)?password=)[^&]*")
"""A store URL may carry its password in the query too (libpq: `?password=`, `?sslpassword=`)."""


def redact(url: str) -> str:
    """A URL with its password replaced by `***`, in the user part or the query (for logs
    and messages)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return _redact_query(url)
    except ValueError:
        return "<unparseable URL>"
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return _redact_query(urlunsplit(parts._replace(netloc=f"{user}:***@{host}")))


def _redact_query(url: str) -> str:
    """`url` with the values of `password` and `sslpassword` in its query replaced by `***`
    (the rest of the text as it was)."""
    head, sep, query = url.partition("?")
    return head + sep + _SECRET_QUERY.sub(r"\1***", query) if sep else url


def _secret(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        msg = f"environment variable {name} (a password_env) is not set"
        raise SettingsError(msg) from None
