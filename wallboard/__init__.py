"""The ward wallboard (CONTRACT §8): live ward state from the broker, over HTTP and websockets.

`WardBoard` is the pure state; `BrokerFeed` keeps one up to date from MQTT and fans its
changes out to subscribers; `create_app` serves it; `serve` runs the app in the current event
loop (`bind` gives the port before it starts). `ScoreReader`, `AlertReader` and
`HeartbeatReader` are the types the wallboard decodes the scorer's messages with (the contract
tests decode what the scorer writes with them).

Who may see and act (issue 14): `Auth` is the login (OpenID Connect through the hospital's
identity provider, `AuthConfig`/`OidcClient`; or `Auth.without_login` for the demo and
`--auth none`), `RoleMapping` turns the ID token's claims into per-ward `Grant`s of `ROLES`,
`Principal.may` decides (pure), `check_unsafe` and `origin_allowed` are the CSRF and websocket
`Origin` rules, and `DisplayRegistry` keeps the enrolled wall screens.
"""

from wallboard._access import (
    ROLES,
    ClaimRule,
    Grant,
    Principal,
    RequestFacts,
    RoleMapping,
    check_unsafe,
    display_principal,
    open_principal,
    origin_allowed,
)
from wallboard._app import DashboardSource, History, ReportSource, create_app
from wallboard._auth import DISPLAY_COOKIE, SESSION_COOKIE, Auth, AuthConfig, OidcClient, Session
from wallboard._displays import DisplayRegistry
from wallboard._feed import BrokerFeed, Subscription
from wallboard._feed import _Heartbeat as HeartbeatReader
from wallboard._server import bind, serve
from wallboard._state import Change, Rejection, WardBoard
from wallboard._state import _Alert as AlertReader
from wallboard._state import _Score as ScoreReader

__all__ = [
    "DISPLAY_COOKIE",
    "ROLES",
    "SESSION_COOKIE",
    "AlertReader",
    "Auth",
    "AuthConfig",
    "BrokerFeed",
    "Change",
    "ClaimRule",
    "DashboardSource",
    "DisplayRegistry",
    "Grant",
    "HeartbeatReader",
    "History",
    "OidcClient",
    "Principal",
    "Rejection",
    "ReportSource",
    "RequestFacts",
    "RoleMapping",
    "ScoreReader",
    "Session",
    "Subscription",
    "WardBoard",
    "bind",
    "check_unsafe",
    "create_app",
    "display_principal",
    "open_principal",
    "origin_allowed",
    "serve",
]
