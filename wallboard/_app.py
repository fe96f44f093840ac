"""The wallboard's HTTP and websocket endpoints (CONTRACT §8), over a `BrokerFeed`.

Websocket protocol (both streams): the server first sends a snapshot,
`{"type": "snapshot", "epoch", "seq", "server_time", ..., "feed"}`, then frames
`{"type": "changes", "seq", "server_time", "beds" | "alerts"}`, each carrying the whole latest
view of every bed (or alert) changed since the frame before, and every few seconds
`{"type": "status", "server_time", "feed"}` (is the live feed stale, and why). A client that
reconnects with `?since=SEQ&epoch=EPOCH` (the last `seq` it applied, and the snapshot's
`epoch`) gets one frame with what changed after SEQ when the server still keeps it all, else a
fresh snapshot; a client too slow to keep up also gets a fresh snapshot instead of the frames it
missed. The client sends nothing; anything it sends is ignored.

People's actions on alerts (`POST /api/alerts/{id}/ack`, `/resolve`) are checked against the
board and sent to the scorer over MQTT, which owns alert state: the new state reaches every
screen, on every wallboard server, as the alert's next event.

Who may see and act (issue 14, `wallboard._access` and `wallboard._auth`): only `/healthz`,
the login flow (`/auth/...`) and the static assets (code, no data) are anonymous. Every other
route and websocket asks who is asking and whether they may, for that ward; pages send the
anonymous to the login; every state-changing request passes the CSRF defence first (the
`unsafe_methods` middleware, so a route added later cannot forget it). `by` on an action is the
verified identity, with the identity provider's subject and issuer in `identity`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import re
import tomllib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import quote

import msgspec
from fastapi import FastAPI, HTTPException, Query, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

from ingest import ActorIdentity, AlertCommand, failure_site, sign_identity, vocabulary
from scoring import ChartSet, chart_display, load_charts
from wallboard._access import Permission, Principal
from wallboard._auth import Auth, auth_page
from wallboard._feed import BrokerFeed, Stream, Subscription
from wallboard._state import JSON

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

# The console's web app manifest (issue 18): its registered type, even on a machine whose
# /etc/mime.types lacks it (Python's own table does not have it before 3.13).
mimetypes.add_type("application/manifest+json", ".webmanifest")

_HEADERS = {
    # Nothing but this origin: no CDN, no third-party request, no framing by other sites.
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_ENCODER = msgspec.json.Encoder()

_VOCABULARY = vocabulary()
_VOCABULARY_JSON = _ENCODER.encode(_VOCABULARY)


def _ladder_roles() -> list[str]:
    """The escalation ladders' built-in roles, from the ward outwards (`seniority` of
    `scoring/rules/ladders.toml`, the file the scorer reads)."""
    text = (resources.files("scoring") / "rules" / "ladders.toml").read_text(encoding="utf-8")
    roles: list[str] = tomllib.loads(text)["seniority"]
    return roles


LADDER_ROLES: tuple[str, ...] = tuple(_ladder_roles())

ANSWERS: dict[str, tuple[str, ...]] = {
    "nurse": ("bedside-nurse",),
    "nurse-in-charge": ("nurse-in-charge",),
    "doctor": ("medical-team", "consultant"),
    "outreach": ("rapid-review", "outreach", "critical-care", "2222-paediatric-emergency"),
}
"""Which ladder roles (an alert's `notify`) each login role that may acknowledge answers: the
outreach console sounds for those, and "mine" shows them (issue 18). The critical care
outreach team answers every rung from the rapid review up; a ladder role named like a login
role (a trust's own) is that role's too."""

_unknown = sorted({role for roles in ANSWERS.values() for role in roles} - set(LADDER_ROLES))
if _unknown:  # ladders.toml renamed a role: fail at import, not silently at the bedside
    raise RuntimeError(f"ANSWERS names roles no ladder has: {_unknown}")

_VOCABULARY_JS = (
    b"// The contract's words, served by the wallboard from ingest's vocabulary (generated).\n"
    b"export const VOCABULARY = " + _VOCABULARY_JSON + b";\n"
    b"// The escalation ladders' roles, and which of them each login role answers (issue 18).\n"
    b"export const LADDER_ROLES = " + _ENCODER.encode(LADDER_ROLES) + b";\n"
    b"export const ANSWERS = " + _ENCODER.encode(ANSWERS) + b";\n"
)
_HISTORY_KEYS: tuple[str, ...] = tuple(_VOCABULARY["history_keys"])
"""What the patient view needs of each past score."""


def _text(message: Any) -> str:
    return _ENCODER.encode(message).decode()


class History(Protocol):
    """Where the patient view's past comes from (the service's store).

    Reading a patient's history is itself audited: each call records who (`viewer`) read
    what of which patient, and the window, before it returns anything (and fails if the
    access cannot be recorded).
    """

    async def scores(self, patient_id: str, since: datetime, *, viewer: str) -> list[JSON]:
        """The patient's score results since `since`, oldest first; the access recorded."""
        ...

    async def alerts(self, patient_id: str, since: datetime, *, viewer: str) -> list[JSON]:
        """The patient's alert events since `since`, oldest first; the access recorded."""
        ...

    async def events(self, patient_id: str, since: datetime, *, viewer: str) -> list[JSON]:
        """The patient's clinical events (CONTRACT §9) since `since`, oldest first; the
        access recorded."""
        ...

    async def report(self, since: datetime, until: datetime, wards: list[str]) -> JSON:
        """The alert-response report of alerts raised in `[since, until)` (`surveillance
        report`): time to acknowledge and share escalated, per ward and shift."""
        ...


DASHBOARD_PERIODS: tuple[str, ...] = ("day", "week", "month")
DASHBOARD_FORMATS: tuple[str, ...] = ("json", "csv")


class DashboardSource(Protocol):
    """Where the safety dashboard comes from (issue 16): the service injects it (its store's
    measures); the wallboard never computes them itself.

    `ward` is one ward, or None for the hospital (every ward); `since` and `until` are the
    window `[since, until)`, a time without an offset read in the hospital's time zone, None:
    the default (the 28 days before now). Returns the document, JSON or CSV as `form` says.
    Raises `ValueError` for a request it cannot answer (the message is shown as a 400).
    """

    async def __call__(
        self,
        ward: str | None,
        period: str,
        since: datetime | None,
        until: datetime | None,
        form: str,
    ) -> bytes: ...


class ReportSource(Protocol):
    """Where the monthly "ward to board" report comes from (issue 16): the service injects it
    (`surveillance.dashboard.render_report` over its store's dashboard).

    `ward` is one ward, or None for the hospital; `month` is `YYYY-MM`. Returns the report, a
    complete HTML page (linking `/static/report.css`: no inline style or script). Raises
    `ValueError` for a month it cannot report (the message is shown as a 400).
    """

    async def __call__(self, ward: str | None, month: str) -> bytes: ...


_REPORT_MONTH = re.compile(r"\d{4}-\d{2}")


class _Action(msgspec.Struct, forbid_unknown_fields=True):
    # Read only on a server without login (demo, `--auth none`), and marked unverified there;
    # with login, `by` is the verified identity and a `by` in the body is ignored.
    by: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    via: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    severity: Annotated[str, msgspec.Meta(max_length=40)] | None = None  # what the person saw


_ACTION = msgspec.json.Decoder(_Action)

MAX_HISTORY_HOURS = 168
"""The patient view looks back at most a week."""

MAX_REPORT_HOURS = 31 * 24
"""The report API covers at most a month (the CLI, any window)."""

Hours = Annotated[float, Query(gt=0, allow_inf_nan=False)]
"""A window in hours: a finite number above 0 (`nan`, `inf`, `1e309`, `-1`, `0` and an empty
value are refused with 400), then clamped to the endpoint's range."""


IDENTIFIERS: tuple[str, ...] = ("patient_id", "birth_year", "birth_date")
"""What the patient view shows only to a clinician of that ward (the `identifiers` permission)."""

ANONYMOUS_PATHS = ("/healthz", "/auth/", "/static/", "/favicon.ico")
"""The only places an anonymous client may reach (the route test walks every route)."""


class _Refused(Exception):
    """The principal may not do this: the response says why."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def create_app(
    feed: BrokerFeed,
    *,
    auth: Auth,
    health: Callable[[], dict[str, Any]] | None = None,
    history: History | None = None,
    charts: ChartSet | None = None,
    action_key: bytes | None = None,
    dashboard: DashboardSource | None = None,
    monthly_report: ReportSource | None = None,
) -> FastAPI:
    """The wallboard app, reading `feed` (which the caller starts and stops).

    Args:
        feed: where the wards' state and changes come from.
        auth: who is asking and what they may do (`Auth.without_login` for the demo and
            `--auth none`: a banner on every page says so).
        health: more for `/healthz`, e.g. the store's state: its items are added to the
            response, and a falsy `"ok"` among them makes the status 503.
        history: the store, for the patient view's history (without it that API says 503).
        charts: the charts the scorer uses, for drawing their bands (default: the built-in).
        dashboard: the safety dashboard's measures (without it `/api/dashboard` says 503).
        monthly_report: the monthly report (without it `/dashboard/report` says 503).
    """
    chart_set = charts if charts is not None else load_charts()
    app = FastAPI(title="Ward wallboard", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(_HEADERS)
        if request.url.path.startswith("/api/") or request.url.path == "/healthz":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.middleware("http")
    async def unsafe_methods(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every state-changing request passes the CSRF defence before any route sees it."""
        refused = auth.refuse_unsafe(request)
        if refused is not None:
            return refused
        return await call_next(request)

    @app.exception_handler(_Refused)
    async def refused(request: Request, error: _Refused) -> Response:
        return error.response

    def allow(request: Request, permission: Permission, ward: str | None) -> Principal:
        """The principal, if it may do `permission` on `ward`; else refused (401 nobody, 403
        not allowed; a page sends nobody to the login instead)."""
        principal = auth.principal(request)
        page = not request.url.path.startswith("/api/")
        if principal is None:
            if page:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise _Refused(RedirectResponse(f"/auth/login?next={quote(target)}", 302))
            raise _Refused(_error(401, "log in first"))
        if not principal.may(permission, ward):
            where = f"ward {ward}" if ward is not None else "every ward"
            why = f"{principal.role()}: may not {permission} on {where}"
            raise _Refused(auth_page(403, f"Not for you: {why}.") if page else _error(403, why))
        return principal

    @app.get("/auth/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        return await auth.login(request)

    @app.get("/auth/callback", include_in_schema=False)
    async def callback(request: Request) -> Response:
        return await auth.callback(request)

    @app.post("/auth/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        return await auth.logout(request)

    @app.get("/auth/me", include_in_schema=False)
    async def me(request: Request) -> Response:
        return await auth.me(request)

    @app.get("/auth/display/enrol", include_in_schema=False)
    async def enrol_display(request: Request) -> Response:
        return await auth.enrol_display(request)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        """A query parameter that cannot be read is the client's mistake (400), said plainly."""
        return _error(400, _explain(error))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> FileResponse:
        allow_any(request)
        return FileResponse(STATIC / "index.html")

    @app.get("/wards/{ward}", include_in_schema=False)
    async def ward_page(request: Request, ward: str) -> FileResponse:
        allow(request, "view", ward)
        return FileResponse(STATIC / "ward.html")  # the script reads the ward from the path

    @app.get("/wards/{ward}/beds/{bed}", include_in_schema=False)
    async def bed_page(request: Request, ward: str, bed: str) -> FileResponse:
        allow(request, "view", ward)
        return FileResponse(STATIC / "bed.html")

    @app.get("/outreach", include_in_schema=False)
    async def outreach_page(request: Request) -> FileResponse:
        allow(request, "view", None)
        return FileResponse(STATIC / "outreach.html")

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard_page(request: Request) -> FileResponse:
        # The page itself for anyone who may see some ward's dashboard; the API checks which.
        principal = auth.principal(request)
        if principal is None or not any(
            principal.may("dashboard", w) for w in (None, *principal.wards())
        ):
            allow(request, "dashboard", None)  # refused: to the login, or 403 with the reason
        return FileResponse(STATIC / "dashboard.html")

    @app.get("/dashboard/report", include_in_schema=False)
    async def dashboard_report(
        request: Request, ward: str | None = None, month: str | None = None
    ) -> Response:
        """The monthly "ward to board" report of one ward or of the hospital (`ward` absent or
        empty: every ward needed), for the calendar month `month` (`YYYY-MM`), to print."""
        one = ward.strip() if ward and ward.strip() else None
        allow(request, "dashboard", one)
        if one is not None and len(one) > 100:
            raise HTTPException(400, f"`ward` is {_shown(one)}: at most 100 characters")
        chosen = (month or "").strip()
        if not chosen:
            raise HTTPException(400, "`month` is missing: expected YYYY-MM, e.g. 2026-11")
        if not _REPORT_MONTH.fullmatch(chosen):
            raise HTTPException(
                400, f"`month` is {_shown(month or '')}: expected YYYY-MM, e.g. 2026-11"
            )
        if monthly_report is None:
            raise HTTPException(503, "this wallboard server has no store: no report to give")
        try:
            body = await monthly_report(one, chosen)
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        except Exception as error:
            log.warning("dashboard report unavailable: %s", failure_site(error))
            raise HTTPException(503, "the report cannot be read now; try again") from error
        return Response(
            body, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"}
        )

    def allow_any(request: Request) -> Principal:
        """Anyone logged in, or an enrolled screen (the vocabulary, the ward picker, charts)."""
        principal = auth.principal(request)
        return principal if principal is not None else allow(request, "view", None)

    @app.get("/api/vocabulary")
    async def vocabulary_json(request: Request) -> Response:
        """The contract's words: alert severities (most urgent first), kinds and states, each
        system's risks, the vital signs' labels, the history's keys, with labels and tones."""
        allow_any(request)
        return Response(_VOCABULARY_JSON, media_type="application/json")

    @app.get("/vocabulary.js", include_in_schema=False)
    async def vocabulary_module(request: Request) -> Response:
        """The same, as the ES module every page imports (through `common.js`)."""
        allow_any(request)
        return Response(_VOCABULARY_JS, media_type="text/javascript; charset=utf-8")

    @app.get("/api/wards")
    async def wards(request: Request) -> dict[str, Any]:
        """The wards this principal may see (all of them for outreach)."""
        principal = allow_any(request)
        return {"wards": [w for w in feed.board.wards() if principal.may("view", w)]}

    @app.get("/api/wards/{ward}")
    async def ward(request: Request, ward: str) -> dict[str, Any]:
        allow(request, "view", ward)
        if ward not in feed.board.wards():
            raise HTTPException(404, f"no ward {ward!r} seen on the broker")
        return feed.board.snapshot(ward)

    @app.get("/api/wards/{ward}/beds/{bed}/history")
    async def bed_history(
        request: Request, ward: str, bed: str, hours: Hours = 24
    ) -> dict[str, Any]:
        principal = allow(request, "view", ward)
        occupant = feed.board.occupant(ward, bed)
        if occupant is None:
            raise HTTPException(404, f"no patient in bed {bed!r} of ward {ward!r}")
        if history is None:
            raise HTTPException(503, "this wallboard server has no store: no history to show")
        hours = min(max(hours, 1.0), MAX_HISTORY_HOURS)
        since = feed.clock() - timedelta(hours=hours)
        patient_id, viewer = occupant["patient_id"], _viewer(principal, request)
        try:
            scores = await history.scores(patient_id, since, viewer=viewer)
            alerts = await history.alerts(patient_id, since, viewer=viewer)
            events = await history.events(patient_id, since, viewer=viewer)
        except Exception as error:
            # Not the error's text: a database's can quote the row (identifiers) back.
            log.warning("history of %s/%s unavailable: %s", ward, bed, failure_site(error))
            raise HTTPException(503, "the history cannot be read now; try again") from error
        chart_id = scores[-1]["chart"] if scores else None
        chart = chart_set.charts.get(chart_id) if chart_id is not None else None
        if not principal.may("identifiers", ward):  # alert events and §9 events name him too
            occupant, alerts, events = (
                _unnamed(occupant),
                [_unnamed(alert) for alert in alerts],
                [_unnamed(event) for event in events],
            )
        return {
            "ward": ward,
            "bed": bed,
            "hours": hours,
            "patient": occupant,
            "scores": [{key: result.get(key) for key in _HISTORY_KEYS} for result in scores],
            "alerts": alerts,
            "events": events,
            "chart": chart_display(chart) if chart is not None else None,
        }

    @app.get("/api/report")
    async def report(
        request: Request,
        hours: Hours = 24,
        until: datetime | None = None,
        ward: Annotated[list[str] | None, Query()] = None,
    ) -> dict[str, Any]:
        asked: list[str | None] = list(ward) if ward else [None]  # None: the whole hospital
        for one in asked:
            allow(request, "view", one)
        if history is None:
            raise HTTPException(503, "this wallboard server has no store: no report to give")
        end = until or feed.clock()
        if end.tzinfo is None:
            raise HTTPException(400, "`until` needs a UTC offset, e.g. 2026-11-23T08:00:00Z")
        hours = min(max(hours, 1.0), MAX_REPORT_HOURS)
        try:
            since = end - timedelta(hours=hours)
        except OverflowError as error:
            raise HTTPException(400, f"`until` {end.isoformat()} is too early: {error}") from error
        try:
            return await history.report(since, end, ward or [])
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        except Exception as error:
            log.warning("report unavailable: %s", failure_site(error))
            raise HTTPException(503, "the report cannot be read now; try again") from error

    @app.get("/api/dashboard")
    async def dashboard_api(
        request: Request,
        *,
        ward: str | None = None,
        period: str = "week",
        since: str | None = None,
        until: str | None = None,
        format: str = "json",
    ) -> Response:
        """The safety dashboard of one ward (with the hospital beside it) or of the hospital
        (`ward` absent or empty): every measure's series with its SPC chart, its denominators
        and equity table, as JSON or CSV (`format=csv`: every chart's numbers, downloaded)."""
        one = ward.strip() if ward and ward.strip() else None
        allow(request, "dashboard", one)
        if period not in DASHBOARD_PERIODS:
            raise HTTPException(
                400, f"`period` is {_shown(period)}: expected one of {', '.join(DASHBOARD_PERIODS)}"
            )
        if format not in DASHBOARD_FORMATS:
            raise HTTPException(
                400, f"`format` is {_shown(format)}: expected one of {', '.join(DASHBOARD_FORMATS)}"
            )
        if one is not None and len(one) > 100:
            raise HTTPException(400, f"`ward` is {_shown(one)}: at most 100 characters")
        start, end = _moment("since", since), _moment("until", until)
        if start is not None and end is not None:
            if (start.tzinfo is None) != (end.tzinfo is None):
                raise HTTPException(
                    400, "`since` and `until` must both have a UTC offset, or neither"
                )
            if start >= end:
                raise HTTPException(
                    400, f"the window is empty: `since` {since} is not before `until` {until}"
                )
        if dashboard is None:
            raise HTTPException(503, "this wallboard server has no store: no dashboard to show")
        try:
            body = await dashboard(one, period, start, end, format)
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        except Exception as error:
            log.warning("dashboard unavailable: %s", failure_site(error))
            raise HTTPException(503, "the dashboard cannot be read now; try again") from error
        if format == "csv":
            name = f"dashboard-{one or 'hospital'}-{period}.csv"
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            return Response(
                body,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{safe}"'},
            )
        return Response(body, media_type="application/json")

    @app.get("/api/charts/{chart_id}")
    async def chart(request: Request, chart_id: str) -> dict[str, Any]:
        allow_any(request)
        found = chart_set.charts.get(chart_id)
        if found is None:
            raise HTTPException(404, f"no chart {chart_id!r}")
        return chart_display(found)

    @app.post("/api/alerts/{alert_id}/ack", status_code=202)
    async def acknowledge(alert_id: str, request: Request) -> JSONResponse:
        return await _act(
            feed, alert_id, "ack", await request.body(), actor(request), key=action_key
        )

    @app.post("/api/alerts/{alert_id}/resolve", status_code=202)
    async def resolve(alert_id: str, request: Request) -> JSONResponse:
        return await _act(
            feed, alert_id, "resolve", await request.body(), actor(request), key=action_key
        )

    def actor(request: Request) -> Callable[[str, Permission], Principal]:
        """The check `_act` makes once it knows the alert's ward."""
        return lambda ward, permission: allow(request, permission, ward)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        last = feed.last_message_at
        body: dict[str, Any] = {
            "broker": {
                "host": feed.host,
                "port": feed.port,
                "connected": feed.connected,
                "last_message_at": last.isoformat() if last is not None else None,
                "reconnects": feed.reconnects,
            },
            "board": feed.board.stats(),
            "subscribers": feed.subscribers,
        }
        extra = health() if health is not None else {}
        ok = feed.connected and bool(extra.get("ok", True))
        body |= {key: value for key, value in extra.items() if key != "ok"}
        body = {"ok": ok, **body}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.websocket("/ws/wards/{ward}")
    async def ward_stream(
        websocket: WebSocket, ward: str, since: int | None = None, epoch: str | None = None
    ) -> None:
        principal = await _admit(websocket, auth, ward)
        if principal is not None:
            await _stream(
                websocket, feed, ward, since, epoch, lambda: auth.still_valid(websocket, principal)
            )

    @app.websocket("/ws/outreach")
    async def outreach_stream(
        websocket: WebSocket, since: int | None = None, epoch: str | None = None
    ) -> None:
        principal = await _admit(websocket, auth, None)
        if principal is not None:
            await _stream(
                websocket, feed, None, since, epoch, lambda: auth.still_valid(websocket, principal)
            )

    return app


async def _admit(websocket: WebSocket, auth: Auth, ward: str | None) -> Principal | None:
    """The principal a websocket may stream to, or None after refusing it (HTTP 403 before
    the handshake: a foreign `Origin`, nobody, or no right to view that ward)."""
    principal = auth.principal(websocket)
    if (
        not auth.websocket_origin_ok(websocket)
        or principal is None
        or not principal.may("view", ward)
    ):
        await websocket.close(code=1008)
        return None
    return principal


async def _act(
    feed: BrokerFeed,
    alert_id: str,
    action: str,
    body: bytes,
    allow: Callable[[str, Permission], Principal],
    *,
    key: bytes | None = None,
) -> JSONResponse:
    """Check a person's action against the board and their rights on its ward, then send it
    to the scorer over MQTT, named by the verified identity, signed with `key` (the scorer
    believes an identity only so signed: other identities may publish actions too).

    The scorer decides (and publishes the alert's new state to every screen); this only
    refuses what cannot apply now, with the reason, and says 202 once the broker has it.
    """
    try:
        request = _ACTION.decode(body)
    except msgspec.DecodeError as error:
        return _error(400, f"expected a JSON object: {error}")
    reason = (request.reason or "").strip()
    if action == "resolve" and not reason:
        return _error(400, "`reason` is required to resolve an alert: say why it is closed")
    alert = feed.board.alert(alert_id)
    if alert is None:
        if feed.board.closed(alert_id):
            return _error(409, f"alert {alert_id!r} is already resolved")
        return _error(404, f"no open alert {alert_id!r}")
    principal = allow(alert["ward"], "acknowledge" if action == "ack" else "resolve")
    identity: ActorIdentity | None = None
    if principal.kind == "open":
        typed = (request.by or "").strip()
        if not typed:
            return _error(400, "`by` is blank: name who acts")
        by = f"{typed} (unverified)"[:100]
    else:
        by = principal.actor()
        identity = ActorIdentity(
            subject=principal.subject,
            issuer=principal.issuer,
            name=principal.name,
            role=principal.role(),
        )
    if request.severity is not None and request.severity != alert["severity"]:
        return _error(
            409,
            f"alert {alert_id!r} is {alert['severity']} now, not {request.severity}: it was "
            "raised again since; nothing was sent: look at it again",
        )
    if action == "ack" and alert["state"] == "acknowledged":
        return _error(409, f"alert {alert_id!r} is already acknowledged by {alert['by']}")
    msg_id = f"wallboard-{uuid.uuid4().hex}"
    command = AlertCommand(
        msg_id=msg_id,
        time=feed.clock(),
        by=by,
        reason=reason or None,
        via=request.via or "wallboard",
        severity=request.severity,
        identity=identity,
    )
    if identity is not None and key is not None:
        signature = sign_identity(key, alert_id, action, command)
        command = msgspec.structs.replace(command, identity_sig=signature)
    try:
        await feed.publish_action(alert["ward"], alert_id, action, command)
    except ConnectionError as error:
        return _error(503, f"could not reach the broker ({error}); nothing was sent: try again")
    name = "acknowledge" if action == "ack" else "resolve"
    return JSONResponse({"alert_id": alert_id, "action": name, "msg_id": msg_id}, status_code=202)


def _viewer(principal: Principal, request: Request) -> str:
    """Who reads a patient's history, for its audit: the verified person (name, role, and the
    identity provider's subject and issuer), an enrolled screen, or without login
    `unauthenticated@` and where from."""
    if principal.kind == "person":
        return f"{principal.actor()} sub={principal.subject} iss={principal.issuer}"
    if principal.kind == "display":
        return f"display {principal.subject} ({principal.role()})"
    client = request.client
    return f"unauthenticated@{client.host if client is not None else 'unknown'}"


def _moment(name: str, text: str | None) -> datetime | None:
    """A query parameter's time (ISO 8601: a date, or a date and time with or without an
    offset), None when absent or empty; a 400 saying what is wrong otherwise."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(
            400,
            f"`{name}` is {_shown(text)}: expected an ISO 8601 date or time, e.g. 2026-11-01 "
            "or 2026-11-01T08:00:00Z",
        ) from None
    if moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise HTTPException(400, f"`{name}` is {_shown(text)}: out of range") from None
    return moment


def _unnamed(record: JSON) -> JSON:
    """`record` without the keys that identify a patient (`IDENTIFIERS`)."""
    return {key: value for key, value in record.items() if key not in IDENTIFIERS}


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _explain(error: RequestValidationError) -> str:
    """Each parameter that cannot be read, what was sent and what is expected, in a sentence."""
    parts = []
    for problem in error.errors():
        where = [str(part) for part in problem.get("loc", ())]
        place, name = (where[0], ".".join(where[1:])) if len(where) > 1 else ("request", "")
        given = problem.get("input")
        sent = f" is {_shown(given)}" if isinstance(given, str) else " is missing"
        kind = problem.get("type")
        if kind == "finite_number":
            expected = "expected a finite number (not nan or infinity)"
        elif kind in ("float_parsing", "int_parsing"):
            expected = "expected a number"
        elif kind == "greater_than":
            low = problem.get("ctx", {}).get("gt")
            expected = f"expected a number greater than {low:g}" if low is not None else "too low"
        else:
            expected = str(problem.get("msg", "not valid"))
        parts.append(f"{place} parameter `{name}`{sent}: {expected}")
    return "; ".join(parts) or "the request cannot be read"


def _shown(text: str, most: int = 40) -> str:
    """A value as sent, quoted, and cut if long."""
    return repr(text) if len(text) <= most else f"{text[:most]!r}… ({len(text)} characters)"


async def _stream(  # noqa: PLR0917
    websocket: WebSocket,
    feed: BrokerFeed,
    stream: Stream,
    since: int | None,
    epoch: str | None,
    valid: Callable[[], bool],
) -> None:
    """Send the snapshot (or the changes since `since`), then every frame, until closed."""
    await websocket.accept()
    with feed.subscribe(stream) as subscription:
        # No await between subscribing and reading the state: nothing can fall in between.
        backlog = (
            feed.changes_since(stream, since) if since is not None and epoch == feed.epoch else None
        )
        if backlog is None:
            first = _text(feed.snapshot(stream))
        elif backlog:
            first = _text(feed.frame(stream, backlog))
        else:
            first = _text(
                {"type": "status", "server_time": feed.clock(), "feed": feed.feed_state()}
            )
        sender = asyncio.create_task(_send(websocket, feed, subscription, first, valid))
        reader = asyncio.create_task(_until_closed(websocket))
        try:
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError):
                    await task
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.close()


async def _send(
    websocket: WebSocket,
    feed: BrokerFeed,
    subscription: Subscription,
    first: str,
    valid: Callable[[], bool],
) -> None:
    await websocket.send_text(first)
    while True:
        frames = await subscription.next()
        if not valid():  # logged out, session expired, screen revoked: at the latest in 2 s
            await websocket.close(code=4401, reason="credential no longer valid")
            return
        if frames is None:  # dropped for slowness: a snapshot covers them (taken before await)
            frames = [_text(feed.snapshot(subscription.stream))]
        for frame in frames:
            await websocket.send_text(frame)


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
