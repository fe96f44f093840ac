"""Who may do what where, and the CSRF and Origin decisions: tables of cases (issue 14)."""

from __future__ import annotations

import pytest

from wallboard import (
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

MAPPING = RoleMapping(
    claim="groups",
    rules=(
        ClaimRule("nurses-7a", "nurse", frozenset({"7A"})),
        ClaimRule("sisters-7a", "nurse-in-charge", frozenset({"7A"})),
        ClaimRule("doctors-med", "doctor", frozenset({"7A", "7B"})),
        ClaimRule("clerks-7b", "viewer", frozenset({"7B"})),
        ClaimRule("outreach-team", "outreach", frozenset({"*"})),
    ),
)


def claims(*groups: str, **extra: object) -> dict[str, object]:
    return {"iss": "https://idp", "sub": "s-1", "name": "Sam", "groups": list(groups), **extra}


# (groups, permission, ward) -> may
CASES = [
    (("nurses-7a",), "view", "7A", True),
    (("nurses-7a",), "view", "7B", False),
    (("nurses-7a",), "acknowledge", "7A", True),
    (("nurses-7a",), "acknowledge", "7B", False),
    (("nurses-7a",), "resolve", "7A", False),
    (("nurses-7a",), "plan", "7A", False),
    (("nurses-7a",), "identifiers", "7A", True),
    (("nurses-7a",), "view", None, False),  # not the whole hospital
    (("sisters-7a",), "resolve", "7A", True),
    (("sisters-7a",), "plan", "7A", True),
    (("sisters-7a",), "resolve", "7B", False),
    (("doctors-med",), "resolve", "7B", True),
    (("doctors-med",), "view", "9C", False),
    (("clerks-7b",), "view", "7B", True),
    (("clerks-7b",), "identifiers", "7B", False),
    (("clerks-7b",), "acknowledge", "7B", False),
    (("outreach-team",), "view", None, True),
    (("outreach-team",), "resolve", "any ward", True),
    (("outreach-team",), "plan", "9C", True),
    (("nurses-7a", "clerks-7b"), "acknowledge", "7A", True),
    (("nurses-7a", "clerks-7b"), "acknowledge", "7B", False),
    (("nurses-7a", "clerks-7b"), "view", "7B", True),
    # the safety dashboard: managers (viewer), nurses in charge, outreach; per ward, and the
    # whole hospital only with a grant on every ward
    (("clerks-7b",), "dashboard", "7B", True),
    (("clerks-7b",), "dashboard", "7A", False),
    (("clerks-7b",), "dashboard", None, False),
    (("sisters-7a",), "dashboard", "7A", True),
    (("nurses-7a",), "dashboard", "7A", False),
    (("doctors-med",), "dashboard", "7A", False),
    (("outreach-team",), "dashboard", None, True),
    (("outreach-team",), "dashboard", "9C", True),
    (("unknown-group",), "view", "7A", False),
    ((), "view", "7A", False),
]


@pytest.mark.parametrize(("groups", "permission", "ward", "may"), CASES)
def test_roles_from_claims_decide_per_ward(
    groups: tuple[str, ...], permission: str, ward: str | None, may: bool
) -> None:
    principal = MAPPING.principal(claims(*groups))
    assert principal is not None
    assert principal.may(permission, ward) is may  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "permission", ["acknowledge", "resolve", "plan", "identifiers", "dashboard"]
)
def test_a_display_never_acts_even_if_granted_more(permission: str) -> None:
    display = display_principal("d-1", "7A")
    assert display.may("view", "7A")
    assert not display.may("view", "7B")
    assert not display.may(permission, "7A")  # type: ignore[arg-type]
    overgranted = Principal(kind="display", name="d", grants=(Grant("outreach", frozenset("*")),))
    assert overgranted.may("view", "9Z")
    assert not overgranted.may(permission, "7A")  # type: ignore[arg-type]


def test_no_login_may_do_everything_and_says_who_it_is_not() -> None:
    anyone = open_principal("unverified (no login)")
    assert all(anyone.may(p, "7A") for p in ("view", "acknowledge", "resolve", "plan", "dashboard"))
    assert anyone.may("dashboard", None)  # the demo's dashboard is open like its other pages
    assert anyone.actor() == "unverified (no login)"
    assert not anyone.may("identifiers", "7A")  # only a logged-in clinician sees those


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (claims(), "Sam"),
        ({"iss": "i", "sub": "s", "preferred_username": "spatel"}, "spatel"),
        ({"iss": "i", "sub": "s", "email": "s@x.nhs.uk"}, "s@x.nhs.uk"),
        ({"iss": "i", "sub": "s", "name": "  "}, "s"),
    ],
)
def test_the_name_shown_comes_from_the_first_name_claim_present(
    given: dict[str, object], expected: str
) -> None:
    principal = MAPPING.principal(given)
    assert principal is not None
    assert principal.name == expected


@pytest.mark.parametrize(
    "given", [{"sub": "s"}, {"iss": "i"}, {"iss": "i", "sub": ""}, {"iss": 3, "sub": "s"}]
)
def test_no_principal_without_subject_and_issuer(given: dict[str, object]) -> None:
    assert MAPPING.principal(given) is None


@pytest.mark.parametrize(
    ("value", "groups"),
    [("nurses-7a", {"nurses-7a"}), ("nurses-7a clerks-7b", {"nurses-7a", "clerks-7b"}), (7, set())],
)
def test_the_roles_claim_may_be_a_string_a_spaced_string_or_a_list(
    value: object, groups: set[str]
) -> None:
    principal = MAPPING.principal({"iss": "i", "sub": "s", "groups": value})
    assert principal is not None
    assert {g.role for g in principal.grants} == {
        r.role for r in MAPPING.rules if r.value in groups
    }


def test_by_names_the_person_and_their_roles() -> None:
    principal = MAPPING.principal(claims("nurses-7a", "clerks-7b"))
    assert principal is not None
    assert principal.actor() == "Sam (nurse on 7A; viewer on 7B)"


def test_every_role_is_described() -> None:
    assert set(ROLES) == {"display", "viewer", "nurse", "nurse-in-charge", "doctor", "outreach"}


OWN = "https://wallboard.test"
JSON = {"origin": OWN, "content-type": "application/json", "x-csrf-token": "tok"}


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {}, None),
        ("HEAD", {}, None),
        ("POST", JSON, None),
        ("POST", JSON | {"content-type": "application/json; charset=utf-8"}, None),
        ("POST", JSON | {"sec-fetch-site": "same-origin"}, None),
        ("POST", JSON | {"sec-fetch-site": "cross-site"}, 403),
        ("POST", JSON | {"sec-fetch-site": "same-site"}, 403),
        ("POST", JSON | {"origin": "https://evil.example"}, 403),
        ("POST", JSON | {"origin": "null"}, 403),
        ("POST", {k: v for k, v in JSON.items() if k != "origin"}, 403),
        ("POST", JSON | {"x-csrf-token": "nope"}, 403),
        ("POST", {k: v for k, v in JSON.items() if k != "x-csrf-token"}, 403),
        ("POST", JSON | {"content-type": "text/plain"}, 415),
        ("POST", JSON | {"content-type": "application/x-www-form-urlencoded"}, 415),
        ("POST", JSON | {"content-type": "multipart/form-data; boundary=x"}, 415),
        ("PUT", JSON | {"origin": "https://evil.example"}, 403),
        ("DELETE", JSON | {"x-csrf-token": ""}, 403),
        ("POST", JSON | {"origin": "https://other.allowed"}, None),
    ],
)
def test_state_changing_requests_pass_the_csrf_defence_only_from_the_page(
    method: str, headers: dict[str, str], status: int | None
) -> None:
    refused = check_unsafe(
        RequestFacts(method, headers),
        csrf_token="tok",  # noqa: S106
        allowed_origins=frozenset({"https://other.allowed"}),
        own=OWN,
    )
    assert (refused[0] if refused else None) == status


def test_no_session_token_refuses_every_post() -> None:
    refused = check_unsafe(
        RequestFacts("POST", JSON), csrf_token=None, allowed_origins=frozenset(), own=OWN
    )
    assert refused is not None
    assert refused[0] == 403


@pytest.mark.parametrize(
    ("origin", "own", "allowed"),
    [
        ("https://wallboard.test", None, True),
        ("https://evil.example", None, False),
        ("https://evil.example", "https://evil.example", True),  # without login only
        ("null", None, False),
        (None, None, True),  # not a browser: still needs its credential
    ],
)
def test_websocket_origins(origin: str | None, own: str | None, allowed: bool) -> None:
    assert (
        origin_allowed(origin, allowed_origins=frozenset({"https://wallboard.test"}), own=own)
        is allowed
    )
