"""ID tokens the wallboard refuses (issue 14, item 7): crafted and signed here, with the
issuer's key (published in its JWKS) or a key of an attacker's own, and checked by the very
call the login's callback makes (authlib's `parse_id_token`, through `Auth.verify_id_token`)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from wallboard import Auth, AuthConfig, OidcClient

ISSUER = "https://idp.test"
CLIENT = "wallboard"
NONCE = "n-0123456789"

ISSUERS_KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-1"}, private=True)
ATTACKERS_KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-1"}, private=True)  # same kid


def auth() -> Auth:
    return Auth(
        AuthConfig(
            mode="oidc",
            oidc=OidcClient(
                issuer=ISSUER,
                client_id=CLIENT,
                client_secret="secret",  # noqa: S106  (a test's)
                redirect_url="https://wallboard.test/auth/callback",
                metadata={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks": {"keys": [ISSUERS_KEY.as_dict(private=False)]},
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            ),
        )
    )


def token(key: RSAKey = ISSUERS_KEY, alg: str = "RS256", **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "user-42",
        "name": "Sam Patel",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "groups": ["ward-7a"],
    } | changes
    claims = {key_: value for key_, value in claims.items() if value is not None}
    return jwt.encode({"alg": alg, "kid": "idp-1"}, claims, key)


async def test_a_token_from_the_issuer_for_this_client_is_accepted() -> None:
    claims = await auth().verify_id_token(token(), NONCE)
    assert (claims["sub"], claims["iss"], claims["name"]) == ("user-42", ISSUER, "Sam Patel")


REFUSED: dict[str, dict[str, Any]] = {
    "wrong audience": {"aud": "another-client"},
    "no audience": {"aud": None},
    "wrong issuer": {"iss": "https://evil.example"},
    "expired an hour ago": {"exp": int(time.time()) - 3600},
    "issued in the future": {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200},
    "wrong nonce (a replayed token)": {"nonce": "another-nonce"},
    "no subject": {"sub": None},
}


@pytest.mark.parametrize("what", sorted(REFUSED))
async def test_a_token_with_a_wrong_claim_is_refused(what: str) -> None:
    with pytest.raises(JoseError):
        await auth().verify_id_token(token(**REFUSED[what]), NONCE)


async def test_a_token_signed_by_another_key_is_refused() -> None:
    with pytest.raises(JoseError):
        await auth().verify_id_token(token(ATTACKERS_KEY), NONCE)


async def test_an_unsigned_token_is_refused() -> None:
    header = jwt.encode({"alg": "RS256", "kid": "idp-1"}, {"sub": "x"}, ISSUERS_KEY)
    head, body, _ = header.split(".")
    none_header = "eyJhbGciOiJub25lIiwia2lkIjoiaWRwLTEifQ"  # {"alg":"none","kid":"idp-1"}
    for forged in (f"{none_header}.{body}.", f"{head}.{body}."):
        with pytest.raises((JoseError, ValueError)):
            await auth().verify_id_token(forged, NONCE)
