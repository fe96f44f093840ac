"""Login, sessions and wall-screen credentials: the I/O around `wallboard._access` (issue 14).

People log in through the hospital's identity provider over OpenID Connect, authorization
code flow with PKCE (S256) and a nonce, the wallboard server being the confidential client
(authlib's Starlette client: discovery, the token endpoint and the ID token's checks:
signature against the issuer's published keys, issuer, audience, expiry, nonce). Tokens stay
on the server, in the session; the browser holds only `wb_session`, a random id in an
HTTP-only, SameSite=Lax cookie (Secure when the redirect URL is https). Sessions are kept in
this process's memory: a restart logs everyone out, and behind a load balancer each person
needs a sticky route (or logs in once per server). They expire after `session_seconds`; a
step-up login on a wall screen after `stepup_seconds`.

Routes (all anonymous: this is how one stops being anonymous):
- `GET /auth/login?next=/path[&stepup=1]`: to the identity provider;
- `GET /auth/callback`: back from it; the session starts; on to `next`;
- `POST /auth/logout`: the session ends (CSRF-checked like every POST);
- `GET /auth/me`: who this is (401 if nobody), the CSRF token and the banner;
- `GET /auth/display/enrol?code=...`: a wall screen exchanges its one-time code for its
  credential (`wb_display`, HTTP-only, a year) and opens its ward.

Without `[auth]` (`surveillance demo`, or `--auth none`), everyone is the same `open`
principal and every page carries a banner saying so.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from wallboard._access import (
    Principal,
    RequestFacts,
    RoleMapping,
    check_unsafe,
    display_principal,
    open_principal,
    origin_allowed,
)
from wallboard._displays import DisplayRegistry

log = logging.getLogger(__name__)

SESSION_COOKIE: Final = "wb_session"
LOGIN_COOKIE: Final = "wb_login"
DISPLAY_COOKIE: Final = "wb_display"
LOGIN_SECONDS: Final = 600.0
"""How long a login may take at the identity provider before it must start again."""
DISPLAY_COOKIE_SECONDS: Final = 365 * 24 * 3600
ID_TOKEN_LEEWAY: Final = 60
"""Seconds of clock difference allowed on the ID token's `exp`, `iat` and `nbf`."""

Mode = Literal["oidc", "demo", "none"]

BANNERS: Final[dict[Mode, str | None]] = {
    "oidc": None,
    "demo": "DEMO – no login: simulated wards; anyone who can reach this page can act",
    "none": (
        "NO LOGIN (--auth none): for a closed development network only; "
        "anyone who can reach this page can see every ward and act"
    ),
}


@dataclass(frozen=True, slots=True)
class OidcClient:
    """The wallboard as the identity provider's confidential client.

    `metadata` replaces discovery (`{issuer}/.well-known/openid-configuration`) when given.
    """

    issuer: str
    client_id: str
    client_secret: str
    redirect_url: str
    scope: str = "openid profile email"
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How the wallboard knows who is asking (`[auth]` in the settings)."""

    mode: Mode
    oidc: OidcClient | None = None
    mapping: RoleMapping = field(default_factory=RoleMapping)
    allowed_origins: frozenset[str] = frozenset()
    session_seconds: float = 8 * 3600.0
    stepup_seconds: float = 300.0
    displays: DisplayRegistry | None = None

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `Secure` when the wallboard is served over https."""
        return self.oidc is not None and self.oidc.redirect_url.startswith("https:")


@dataclass(slots=True)
class Session:
    """A logged-in person, kept on the server; the browser has only `id`."""

    id: str
    principal: Principal
    csrf: str
    expires: float
    stepup: bool = False
    tokens: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(slots=True)
class _Pending:
    data: dict[str, Any]
    expires: float


class Auth:
    """Who a request or websocket comes from, and the login flow's routes."""

    def __init__(self, config: AuthConfig, *, clock: Callable[[], float] = time.time) -> None:
        if config.mode == "oidc" and config.oidc is None:
            msg = "OIDC mode needs the identity provider's client settings"
            raise ValueError(msg)
        self.config = config
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self._pending: dict[str, _Pending] = {}
        self._open = open_principal(
            "unverified (demo, no login)" if config.mode == "demo" else "unverified (no login)"
        )
        self._open_csrf = secrets.token_urlsafe(32)
        self.client: StarletteOAuth2App | None = None
        if config.oidc is not None:
            # authlib logs the PKCE code verifier and tokens at DEBUG: never, whatever the
            # service's own level (logs carry no secrets).
            logging.getLogger("authlib").setLevel(
                max(logging.INFO, logging.getLogger("authlib").level)
            )
            oauth = OAuth()
            extra = dict(config.oidc.metadata or {})
            discovery = (
                None
                if config.oidc.metadata
                else config.oidc.issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            self.client = oauth.register(
                "idp",
                client_id=config.oidc.client_id,
                client_secret=config.oidc.client_secret,
                server_metadata_url=discovery,
                client_kwargs={"scope": config.oidc.scope, "code_challenge_method": "S256"},
                **extra,
            )

    @classmethod
    def without_login(cls, mode: Literal["demo", "none"]) -> Auth:
        """Everyone may see and do everything: `surveillance demo`, or `--auth none`."""
        return cls(AuthConfig(mode=mode))

    @property
    def mode(self) -> Mode:
        return self.config.mode

    @property
    def banner(self) -> str | None:
        """What every page says at the top when there is no login."""
        return BANNERS[self.config.mode]

    # ---- who is asking --------------------------------------------------------------------

    def session(self, connection: HTTPConnection) -> Session | None:
        """The connection's live session, if any (an expired one is forgotten)."""
        session_id = connection.cookies.get(SESSION_COOKIE)
        if not session_id:
            return None
        session = self.sessions.get(session_id)
        if session is None:
            return None
        if session.expires <= self.clock():
            del self.sessions[session_id]
            return None
        return session

    def principal(self, connection: HTTPConnection) -> Principal | None:
        """Who the request or websocket comes from: a person's session first (a step-up on a
        wall screen), else an enrolled screen, else nobody (None)."""
        if self.config.mode != "oidc":
            return self._open
        session = self.session(connection)
        if session is not None:
            return session.principal
        return self.display(connection)

    def display(self, connection: HTTPConnection) -> Principal | None:
        """The enrolled screen this connection's credential names, unless revoked."""
        credential = connection.cookies.get(DISPLAY_COOKIE)
        registry = self.config.displays
        if not credential or registry is None:
            return None
        try:
            found = registry.check(credential)
        except (OSError, ValueError) as error:
            log.error("display enrolments cannot be read (%s): every screen is refused", error)
            return None
        return display_principal(found.id, found.ward, found.label) if found else None

    def still_valid(self, connection: HTTPConnection, principal: Principal) -> bool:
        """Whether the principal an open websocket was accepted for still holds (a session
        not expired or logged out; a screen not revoked)."""
        if principal.kind == "open":
            return True
        now = self.principal(connection)
        return now is not None and now.kind == principal.kind and now.subject == principal.subject

    def refuse_unsafe(self, request: Request) -> JSONResponse | None:
        """The CSRF defence of a state-changing request (see `check_unsafe`); None if it may go
        on. The token is the session's (a server without login has one for all)."""
        if self.config.mode == "oidc":
            session = self.session(request)
            csrf = session.csrf if session is not None else None
        else:
            csrf = self._open_csrf
        refused = check_unsafe(
            RequestFacts(request.method, {k.lower(): v for k, v in request.headers.items()}),
            csrf_token=csrf,
            allowed_origins=self.config.allowed_origins,
            own=_own_origin(request),
        )
        if refused is None:
            return None
        status, detail = refused
        return JSONResponse({"detail": detail}, status_code=status)

    def websocket_origin_ok(self, connection: HTTPConnection) -> bool:
        """A websocket's `Origin` must be an allowed one (with login), or this server's own
        (without login, where no list is configured)."""
        own = (
            None
            if self.config.mode == "oidc" and self.config.allowed_origins
            else _own_origin(connection)
        )
        return origin_allowed(
            connection.headers.get("origin"),
            allowed_origins=self.config.allowed_origins,
            own=own,
        )

    # ---- the routes of the login flow -----------------------------------------------------

    async def login(self, request: Request) -> Response:
        """To the identity provider (authorization code, PKCE S256, state and nonce)."""
        if self.client is None or self.config.oidc is None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), 302)
        self._sweep()
        login_id = secrets.token_urlsafe(32)
        pending = _Pending(
            {
                "next": _safe_next(request.query_params.get("next")),
                "stepup": request.query_params.get("stepup") == "1",
            },
            self.clock() + LOGIN_SECONDS,
        )
        self._pending[login_id] = pending
        request.scope["session"] = pending.data
        response: Response = await self.client.authorize_redirect(
            request, self.config.oidc.redirect_url
        )
        self._cookie(response, LOGIN_COOKIE, login_id, int(LOGIN_SECONDS))
        return response

    async def callback(self, request: Request) -> Response:
        """Back from the identity provider: check everything, start the session."""
        if self.client is None:
            return _page(404, "There is no login on this server.")
        login_id = request.cookies.get(LOGIN_COOKIE, "")
        pending = self._pending.pop(login_id, None)
        if pending is None or pending.expires <= self.clock():
            return _page(400, "This login has expired or was not started here: start again.")
        request.scope["session"] = pending.data
        try:
            token = await self.client.authorize_access_token(request, leeway=ID_TOKEN_LEEWAY)
        except (OAuthError, JoseError, ValueError, KeyError) as error:
            log.warning("login refused: %s", type(error).__name__)
            return _page(401, f"Login refused: {_why(error)}")
        except (httpx2.HTTPError, OSError) as error:
            log.error(
                "login failed: the identity provider cannot be reached or answered badly: %s",
                type(error).__name__,
            )
            return _page(502, "The identity provider did not answer as expected: try again.")
        claims = token.get("userinfo")
        if not claims:
            log.warning("login refused: the identity provider sent no ID token")
            return _page(401, "Login refused: the identity provider sent no ID token.")
        principal = self.config.mapping.principal(claims)
        if principal is None:
            return _page(401, "Login refused: the ID token names nobody.")
        if not principal.grants:
            log.warning("login by a person with no role on any ward (subject withheld)")
            return _page(
                403,
                "You are logged in, but no role on any ward is mapped to your account: "
                "ask the wallboard's administrators.",
            )
        stepup = bool(pending.data.get("stepup"))
        tokens = {key: token.get(key) for key in ("access_token", "refresh_token", "id_token")}
        session = self.start_session(principal, stepup=stepup, tokens=tokens)
        log.info("login: a session started (%s)", "step-up" if stepup else "full")
        response = RedirectResponse(str(pending.data.get("next") or "/"), 302)
        self._cookie(response, SESSION_COOKIE, session.id, int(session.expires - self.clock()))
        response.delete_cookie(LOGIN_COOKIE, path="/auth/")
        return response

    def start_session(
        self, principal: Principal, *, stepup: bool = False, tokens: dict[str, Any] | None = None
    ) -> Session:
        """A new session for a verified person (its `id` goes in the `wb_session` cookie)."""
        self._sweep()
        lifetime = self.config.stepup_seconds if stepup else self.config.session_seconds
        session = Session(
            id=secrets.token_urlsafe(32),
            principal=principal,
            csrf=secrets.token_urlsafe(32),
            expires=self.clock() + lifetime,
            stepup=stepup,
            tokens=dict(tokens or {}),
        )
        self.sessions[session.id] = session
        return session

    async def logout(self, request: Request) -> Response:
        """End the session (a wall screen drops back to display mode)."""
        refused = self.refuse_unsafe(request)
        if refused is not None:
            return refused
        session = self.session(request)
        if session is not None:
            self.sessions.pop(session.id, None)
        response = JSONResponse({"logged_out": session is not None})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def me(self, request: Request) -> Response:
        """Who this is, what they may do where, and the CSRF token for their POSTs."""
        body: dict[str, Any] = {"mode": self.config.mode, "banner": self.banner}
        principal = self.principal(request)
        if principal is None:
            return JSONResponse({**body, "detail": "log in first"}, status_code=401)
        session = self.session(request) if self.config.mode == "oidc" else None
        if self.config.mode != "oidc":
            csrf: str | None = self._open_csrf
        else:
            csrf = session.csrf if session is not None else None
        return JSONResponse(
            {
                **body,
                "kind": principal.kind,
                "name": principal.name,
                "role": principal.role(),
                "wards": sorted(principal.wards()),
                "acts": principal.kind != "display",
                "stepup": bool(session and session.stepup),
                "display": self.display(request) is not None,
                "csrf": csrf,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def enrol_display(self, request: Request) -> Response:
        """A wall screen redeems its one-time code: its credential goes into a cookie."""
        registry = self.config.displays
        code = request.query_params.get("code", "")
        found = registry.redeem(code) if registry is not None and code else None
        if found is None:
            return _page(403, "This enrolment code is unknown, used, expired or revoked.")
        display, credential = found
        log.info("display %s enrolled for ward %s", display.id, display.ward)
        response = RedirectResponse(f"/wards/{display.ward}", 302)
        self._cookie(response, DISPLAY_COOKIE, credential, DISPLAY_COOKIE_SECONDS)
        return response

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token after every check authlib makes on the callback
        (signature against the issuer's keys, issuer, audience, expiry, nonce); raises
        `JoseError` (or `OAuthError`) when one fails."""
        if self.client is None:
            msg = "no identity provider configured"
            raise ValueError(msg)
        claims = await self.client.parse_id_token(
            {"id_token": id_token}, nonce=nonce, leeway=ID_TOKEN_LEEWAY
        )
        return dict(claims)

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/auth/" if name == LOGIN_COOKIE else "/",
            secure=self.config.secure_cookies,
            httponly=True,
            samesite="lax",  # sent on the identity provider's top-level redirect back
        )

    def _sweep(self) -> None:
        now = self.clock()
        for key in [key for key, item in self._pending.items() if item.expires <= now]:
            del self._pending[key]
        for key in [key for key, item in self.sessions.items() if item.expires <= now]:
            del self.sessions[key]


def _own_origin(connection: HTTPConnection) -> str:
    scheme = connection.url.scheme
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{connection.headers.get('host', '')}"


def _safe_next(target: str | None) -> str:
    """Only a path on this server (no `//host`, no scheme): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _why(error: Exception) -> str:
    text = getattr(error, "description", None) or getattr(error, "error", None) or str(error)
    return f"{type(error).__name__}: {text}"[:200]


def auth_page(status: int, text: str) -> Response:
    """A plain page saying why (a refused login, a ward one may not see)."""
    return _page(status, text)


def _page(status: int, text: str) -> Response:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Wallboard login</title>"
        f"<link rel=stylesheet href=/static/app.css><main class=auth-page><h1>Wallboard</h1>"
        f"<p role=alert>{escape(text)}</p><p><a href=/auth/login>Log in</a></p></main></html>"
    )
    return Response(body, status_code=status, media_type="text/html; charset=utf-8")
