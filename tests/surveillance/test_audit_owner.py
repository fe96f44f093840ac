"""The history-access audit against the service's own database role (review of issue 14).

Migration 0004 says updates and deletes are refused "so the audit cannot be edited through
the service's own connection". But the service runs the migrations, so its role owns the table
and its triggers, and an owner may disable a trigger: two statements through the service's
connection (a leaked store password, an injection) erase who read which patient's record.
Here the store is opened as an ordinary role that owns its database, as a deployment's service
role does. Strict xfail: it passes once the service's role can no longer erase the audit (a
table owned by another role, the service granted INSERT and SELECT only).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from surveillance.store import AccessRecord, Batch, open_store
from tests.postgres import server_url

VIEWED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def service_role_url(fresh_postgres_url: str) -> Iterator[str]:
    """`fresh_postgres_url`'s database, owned by a new login role without superuser rights;
    the URL logs in as that role."""
    role = f"svc_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    database = urlsplit(fresh_postgres_url).path.lstrip("/")
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
    parts = urlsplit(fresh_postgres_url)
    host = parts.netloc.rpartition("@")[2]
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}:{password}@{host}"))
    finally:
        with psycopg.connect(server_url(), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="review14 F8: the service's role owns history_access and its triggers, so it can "
    "disable the append-only trigger and delete the audit",
)
async def test_the_services_role_cannot_erase_the_audit(service_role_url: str) -> None:
    record = AccessRecord("a1", VIEWED, "Dr Ada", "P1", "scores", VIEWED - timedelta(hours=24))
    async with open_store(service_role_url) as store:  # migrates, as the service does
        await store.write(Batch(access=[record]))
    with psycopg.connect(service_role_url, autocommit=True) as service:
        row = service.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False,)  # an ordinary role, as a service's is
        erased = True
        try:
            service.execute("ALTER TABLE history_access DISABLE TRIGGER USER")
            service.execute("DELETE FROM history_access")
        except psycopg.Error:
            erased = False
    async with open_store(service_role_url) as store:
        kept = await store.fetch(AccessRecord)
    assert not erased
    assert kept == [record]
