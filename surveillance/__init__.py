"""Ward safety surveillance: the composition of scoring, ingest, the wallboard and the store.

- `Service` runs the scorer against a broker and a store (`Settings`, from `load_settings`);
  `live` runs it with its wallboard; the `surveillance` command line is `surveillance.cli`.
- `OnlineScorer` (`surveillance.online`) is its pure core: `Arrival`s in, an `Output` (publications, records,
  `AlertEvent`s) out, with the alert lifecycle (`Ladder`, `Plan`, `raise_alert`, ...).
- The alert-response report: `alert_report` (pure), `report_from_store`, `format_table`.
- The store is `surveillance.store`.
- The locked-down broker's identities: a roster (`load_roster`) gives Mosquitto's ACL file
  (`render_acl`) and password file (`update_password_file`), and NATS's users file with the
  same rules on subjects (`render_nats_users`, `update_nats_users`); `surveillance
  broker-identities`.
- `in_process_broker`: the demo's open MQTT broker, on 127.0.0.1 only.
"""

from surveillance._broker_identities import (
    BrokerIdentity,
    BrokerRole,
    BrokerRoster,
    RosterError,
    acl_rules,
    check_roster,
    hash_password,
    load_roster,
    render_acl,
    update_password_file,
)
from surveillance._demo_broker import in_process_broker
from surveillance._history import (
    DASHBOARD_DAYS,
    DASHBOARD_MAX_DAYS,
    FETCH_MARGIN,
    NoStore,
    StoreHistory,
    dashboard_report,
    dashboard_window,
    read_report,
    report_from_store,
)
from surveillance._mllp import MllpListener
from surveillance._nats_identities import (
    hash_nats_password,
    mqtt_to_subject,
    nats_permissions,
    read_nats_hashes,
    render_nats_users,
    update_nats_users,
)
from surveillance._outbound import FhirEndpoint, MllpEndpoint, Outbound, without_answer
from surveillance._outbound_queue import OutboundQueue, Outgoing, Queued
from surveillance._report import (
    DEFAULT_SHIFTS,
    NO_REASON,
    Report,
    Shift,
    alert_report,
    percentile,
    shift_of,
)
from surveillance._report_table import format_duration, format_table
from surveillance._runtime import GC_THRESHOLDS, build_auth, live, settle_gc
from surveillance._service import Service
from surveillance._settings import Settings, SettingsError, load_settings
from surveillance.online import (
    DEFAULT_ALERT_RESPONSES,
    DEFAULT_LADDERS,
    SENIORITY,
    SYSTEM,
    AlertDesk,
    AlertEvent,
    Arrival,
    Ladder,
    LifecycleError,
    OnlineScorer,
    OnlineSettings,
    OpenAlert,
    Output,
    Plan,
    Publication,
    Rung,
    State,
    acknowledge,
    advance,
    content_digest,
    digest,
    ladder_for,
    merge,
    raise_alert,
    resolve,
)

__all__ = [
    "DASHBOARD_DAYS",
    "DASHBOARD_MAX_DAYS",
    "DEFAULT_ALERT_RESPONSES",
    "DEFAULT_LADDERS",
    "DEFAULT_SHIFTS",
    "FETCH_MARGIN",
    "GC_THRESHOLDS",
    "NO_REASON",
    "SENIORITY",
    "SYSTEM",
    "AlertDesk",
    "AlertEvent",
    "Arrival",
    "BrokerIdentity",
    "BrokerRole",
    "BrokerRoster",
    "FhirEndpoint",
    "Ladder",
    "LifecycleError",
    "MllpEndpoint",
    "MllpListener",
    "NoStore",
    "OnlineScorer",
    "OnlineSettings",
    "OpenAlert",
    "Outbound",
    "OutboundQueue",
    "Outgoing",
    "Output",
    "Plan",
    "Publication",
    "Queued",
    "Report",
    "RosterError",
    "Rung",
    "Service",
    "Settings",
    "SettingsError",
    "Shift",
    "State",
    "StoreHistory",
    "acknowledge",
    "acl_rules",
    "advance",
    "alert_report",
    "build_auth",
    "check_roster",
    "content_digest",
    "dashboard_report",
    "dashboard_window",
    "digest",
    "format_duration",
    "format_table",
    "hash_nats_password",
    "hash_password",
    "in_process_broker",
    "ladder_for",
    "live",
    "load_roster",
    "load_settings",
    "merge",
    "mqtt_to_subject",
    "nats_permissions",
    "percentile",
    "raise_alert",
    "read_nats_hashes",
    "read_report",
    "render_acl",
    "render_nats_users",
    "report_from_store",
    "resolve",
    "settle_gc",
    "shift_of",
    "update_nats_users",
    "update_password_file",
    "without_answer",
]
