"""Who may see and who may act (issue 14): pure decisions, no I/O.

A `Principal` is whoever a request comes from: a person logged in through the hospital's
identity provider, an enrolled wall screen (`display`), or nobody in particular on a server
run without login (`open`: `surveillance demo`, or `--auth none` on a closed development
network). What a principal may do is the union of its `Grant`s: a role on some wards (`*`: all
of them). Roles come from the identity provider's claims through a local mapping in the
settings (identity providers rarely carry ward memberships), never from the provider alone.

Permissions:
- `view`: a ward's board, its websocket and the patient view's history (initials only);
- `identifiers`: the patient's id in the patient view (a clinician of that ward);
- `acknowledge`, `resolve`: act on an alert of that ward;
- `plan`: set a patient's escalation plan (no page sets one yet; the decision is here for the
  gateway that will);
- `dashboard`: the safety dashboard (`/dashboard`, issue 16) of that ward, or of the whole
  hospital with a grant on every ward (`*`). Its equity tables are aggregate and suppressed,
  but it still ranks a ward's performance, so it is for those who manage it: `viewer` (the
  manager's role), `nurse-in-charge` and `outreach`; not a ward's nurses and doctors at the
  bedside, and never a wall screen (a display only ever has `view`).

`check_unsafe` is the CSRF defence of every state-changing request; `origin_allowed` the
`Origin` check of every websocket.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

ALL_WARDS: Final = "*"

Permission = Literal["view", "identifiers", "acknowledge", "resolve", "plan", "dashboard"]
PERMISSIONS: Final[tuple[Permission, ...]] = (
    "view",
    "identifiers",
    "acknowledge",
    "resolve",
    "plan",
    "dashboard",
)

ROLES: Final[Mapping[str, frozenset[Permission]]] = {
    # A screen on the wall: sees its ward, never acts, never sees identifiers.
    "display": frozenset({"view"}),
    # Someone who may look (a ward clerk, a manager): initials only, never acts.
    "viewer": frozenset({"view", "dashboard"}),
    "nurse": frozenset({"view", "identifiers", "acknowledge"}),
    "nurse-in-charge": frozenset(
        {"view", "identifiers", "acknowledge", "resolve", "plan", "dashboard"}
    ),
    "doctor": frozenset({"view", "identifiers", "acknowledge", "resolve", "plan"}),
    # The critical care outreach team: normally granted on every ward (`*`).
    "outreach": frozenset({"view", "identifiers", "acknowledge", "resolve", "plan", "dashboard"}),
}
"""What each role may do on the wards it is granted. The mapping in the settings names these."""

Kind = Literal["person", "display", "open"]


@dataclass(frozen=True, slots=True)
class Grant:
    """A role on some wards (`*`: every ward)."""

    role: str
    wards: frozenset[str]

    def covers(self, ward: str | None) -> bool:
        """Whether the grant reaches `ward` (None: every ward, as the outreach console needs)."""
        if ALL_WARDS in self.wards:
            return True
        return ward is not None and ward in self.wards


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request comes from, with what they may do.

    `subject` and `issuer` are the identity provider's (`sub`, `iss`) for a person, the
    enrolment id for a display, empty for `open`.
    """

    kind: Kind
    name: str
    subject: str = ""
    issuer: str = ""
    grants: tuple[Grant, ...] = ()

    def may(self, permission: Permission, ward: str | None) -> bool:
        """Whether this principal may do `permission` on `ward` (None: on every ward)."""
        if self.kind == "display" and permission != "view":
            return False  # a wall screen never acts, whatever a mapping says
        if self.kind != "person" and permission == "identifiers":
            return False  # identifiers only to a logged-in clinician (never without login)
        return any(
            grant.covers(ward) and permission in ROLES.get(grant.role, frozenset())
            for grant in self.grants
        )

    def wards(self) -> frozenset[str]:
        """The wards named in the grants (`*` among them when all)."""
        return frozenset(ward for grant in self.grants for ward in grant.wards)

    def role(self) -> str:
        """The roles, for people to read (`nurse on 7A; viewer on 7B`)."""
        parts = []
        for grant in self.grants:
            wards = "all wards" if ALL_WARDS in grant.wards else ", ".join(sorted(grant.wards))
            parts.append(f"{grant.role} on {wards}")
        return "; ".join(parts) or "no role"

    def actor(self) -> str:
        """`by` on what this principal does: the name and the roles that let them act."""
        if self.kind == "open":
            return self.name
        return f"{self.name} ({self.role()})"[:100]


def open_principal(label: str) -> Principal:
    """Everyone, on a server without login (`demo`, `--auth none`): may see and do anything
    but see a patient's identifiers in the patient view (nobody is logged in)."""
    return Principal(kind="open", name=label, grants=(Grant("outreach", frozenset({ALL_WARDS})),))


def display_principal(enrolment_id: str, ward: str, label: str = "") -> Principal:
    """An enrolled wall screen: sees one ward, acts never."""
    return Principal(
        kind="display",
        name=label or f"display {enrolment_id} on {ward}",
        subject=enrolment_id,
        grants=(Grant("display", frozenset({ward})),),
    )


@dataclass(frozen=True, slots=True)
class ClaimRule:
    """A value of the roles claim (e.g. a group) and what it grants."""

    value: str
    role: str
    wards: frozenset[str]


@dataclass(frozen=True, slots=True)
class RoleMapping:
    """Claim values to grants: `claim` is the ID token's claim holding groups or roles (a
    string or a list of strings); `name_claims` are tried in order for the name shown."""

    claim: str = "groups"
    rules: tuple[ClaimRule, ...] = ()
    name_claims: tuple[str, ...] = ("name", "preferred_username", "email")

    def grants(self, claims: Mapping[str, object]) -> tuple[Grant, ...]:
        """The grants a person's claims give (none: the person may not use the wallboard)."""
        values = _strings(claims.get(self.claim))
        return tuple(Grant(rule.role, rule.wards) for rule in self.rules if rule.value in values)

    def principal(self, claims: Mapping[str, object]) -> Principal | None:
        """The person the verified ID token's claims name, or None without `sub` or `iss`."""
        subject, issuer = claims.get("sub"), claims.get("iss")
        if not isinstance(subject, str) or not subject or not isinstance(issuer, str):
            return None
        name = next(
            (
                value.strip()
                for key in self.name_claims
                if isinstance(value := claims.get(key), str) and value.strip()
            ),
            subject,
        )
        return Principal(
            kind="person",
            name=name[:60],
            subject=subject,
            issuer=issuer,
            grants=self.grants(claims),
        )


def _strings(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split()) if " " in value else frozenset({value})
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def check_rules(rules: Iterable[ClaimRule]) -> list[str]:
    """What is wrong with a mapping (an unknown role, no wards), for the settings check."""
    problems = []
    for rule in rules:
        if rule.role not in ROLES:
            problems.append(f"{rule.value!r}: unknown role {rule.role!r} (known: {sorted(ROLES)})")
        if not rule.wards:
            problems.append(f'{rule.value!r}: no wards (give the wards, or ["*"] for all)')
    return problems


# ---- the CSRF defence and the websockets' Origin check ------------------------------------


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the CSRF decision reads of a request (header names in lower case)."""

    method: str
    headers: Mapping[str, str] = field(default_factory=dict)


SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER: Final = "x-csrf-token"


def check_unsafe(
    facts: RequestFacts, *, csrf_token: str | None, allowed_origins: frozenset[str], own: str
) -> tuple[int, str] | None:
    """Why a state-changing request must be refused (status and reason), or None to go on.

    A request from another site cannot pass: the browser says where it comes from (`Origin`,
    and `Sec-Fetch-Site` in browsers that send it), which must be this server (`own`, as the
    request's scheme and host give it) or an allowed origin; it must carry the session's CSRF
    token in `X-CSRF-Token` (a custom header, which no cross-site form or simple request can
    send), and a JSON body (`Content-Type: application/json`): a `text/plain` or form body is
    refused before it is read.
    """
    if facts.method.upper() in SAFE_METHODS:
        return None
    headers = facts.headers
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return 403, f"refused: a {site} request cannot act here (cross-site request forgery)"
    origin = headers.get("origin")
    if origin is None or (origin != own and origin not in allowed_origins):
        return 403, f"refused: origin {origin or 'missing'} is not this wallboard's"
    if not csrf_token or not _same(headers.get(CSRF_HEADER, ""), csrf_token):
        return 403, "refused: the CSRF token is missing or wrong: reload the page"
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return (
            415,
            f"refused: the body must be JSON (Content-Type: application/json), not {media or 'none'}",
        )
    return None


def origin_allowed(origin: str | None, *, allowed_origins: frozenset[str], own: str | None) -> bool:
    """Whether a websocket from `origin` may open: an allowed origin, or this server's own
    (`own`, None when only the list counts). Every browser sends `Origin` with a websocket
    handshake, so none (`None`) is a program, not a page another site opened in someone's
    browser: it is let through here, and still needs its session or screen credential."""
    if origin is None:
        return True
    return origin in allowed_origins or (own is not None and origin == own)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
